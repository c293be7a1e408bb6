"""`GET /exports/replenishment.csv?brand=CODE[&per_vote=N]`: one brand's purchase list
(`replenishment.export`), with N units more per customer-poll vote when given."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import Request
from sqlmodel import Session
from starlette.responses import PlainTextResponse, Response

from dashboard import routes
from dashboard.api.exports.common import router, signed_in, streamed
from models.catalog import brand_by_code
from models.errors import DomainError
from models.replenishment import iter_purchase_list_csv, units_per_vote_of

ONE_BRAND = "Pick a brand first: a purchase list goes to one brand."


@router.get(routes.REPLENISHMENT_EXPORT)
async def replenishment_csv(request: Request) -> Response:
    """The purchase list of the brand the query names (a vendor's: their own)."""
    user = await signed_in(request, "replenishment.export")
    if isinstance(user, Response):
        return user
    code = request.query_params.get("brand", "").strip().upper()[:40]
    if not code and user.brand_scope is None:
        return PlainTextResponse(ONE_BRAND, status_code=422)
    scope = user.brand_scope
    try:
        per_vote = units_per_vote_of(request.query_params.get("per_vote", ""))
    except DomainError as refused:
        return PlainTextResponse(refused.message, status_code=422)

    def produce(session: Session) -> Iterator[str]:
        brand_id = scope if scope is not None else brand_by_code(session, code).id
        assert brand_id is not None
        return iter_purchase_list_csv(session, brand_id, units_per_vote=per_vote)

    # The name holds the code only as far as it is letters, digits and dashes.
    safe = re.sub(r"[^a-z0-9-]", "", code.lower())
    name = "purchase-list" + (f"-{safe}" if scope is None and safe else "")
    return await streamed(name, produce)
