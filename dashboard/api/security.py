"""Bearer API keys: who is calling, and whether their scopes and brand allow it.

The key is checked inside the request's own transaction (no extra round trips and
no cache, so a revoked key is refused on its very next request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from dashboard.api.errors import ApiError
from dashboard.api.ratelimit import charge, charge_held
from jobs.logs import bind
from models.api_keys import KeyHolder, Scope, key_holder
from models.catalog import Variant

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API key (`Authorization: Bearer rr_…`) or an OAuth2 access token "
    "from /api/v1/oauth/token (`Bearer rrt_…`)",
)


async def bearer_secret(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> str:
    """The bearer credential as sent (an API key or an OAuth2 access token); 401 if none.
    Async: it does no I/O, so FastAPI runs it on the event loop, not in a worker thread."""
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthorized",
            "Send an API key or access token: Authorization: Bearer <key>.",
        )
    return credentials.credentials


async def _counted_secret(request: Request, secret: str = Depends(bearer_secret)) -> str:
    # Most requests of a busy key are counted from this process's lease, on the event
    # loop; only a lookup or a take from the shared bucket goes to a worker thread.
    if not charge_held(request, secret):
        await run_in_threadpool(charge, request, secret)
    return secret


#: The caller's API key, as sent, one token taken from its rate limit; check it with
#: `authorize` inside the transaction.
ApiSecret = Annotated[str, Depends(_counted_secret)]


def authorize(session: Session, secret: str, scope: Scope) -> KeyHolder:
    """The live key behind `secret` if it holds `scope`; else a 401 or 403."""
    holder = key_holder(session, secret)
    if holder is None:
        raise ApiError(401, "unauthorized", "The API key is unknown or has been revoked.")
    bind(api_key_name=holder.name)
    if scope.value not in holder.scopes:
        raise ApiError(
            403, "forbidden", f"This key lacks the {scope.value!r} scope.", scope=scope.value
        )
    return holder


def check_brand(holder: KeyHolder, variant: Variant) -> None:
    """A brand-bound key may only touch its own brand's SKUs; another brand's SKU is
    answered exactly like an unknown one (404), so the key learns nothing of it."""
    if holder.brand_id is not None and variant.brand_id != holder.brand_id:
        raise ApiError(
            404,
            "not_found",
            f"No variant with SKU, alias or barcode {variant.sku!r}.",
            sku=variant.sku,
        )
