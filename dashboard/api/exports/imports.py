"""`GET /exports/imports/{run_id}/errors.csv`: the errors stored with a past import
(`imports.read`; a vendor only their own brand's imports, others are "not found")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Path, Request
from sqlmodel import Session
from starlette.responses import Response

from dashboard import routes
from dashboard.api.exports.common import router, signed_in, streamed
from dashboard.states.import_files import run_with_errors
from dashboard.states.imports_history import NOT_YOURS
from jobs.imports import errors_csv
from models.errors import NotFound


@router.get(routes.IMPORT_ERRORS_EXPORT)
async def import_errors_csv(
    request: Request, run_id: Annotated[int, Path(ge=1, lt=2**31)]
) -> Response:
    """Every stored error of the import (row, column, value, reason), as CSV."""
    user = await signed_in(request, "imports.read")
    if isinstance(user, Response):
        return user
    scope = user.brand_scope

    def produce(session: Session) -> Iterator[str]:
        found = run_with_errors(session, run_id, scope)
        if found is None:
            raise NotFound(NOT_YOURS, run_id=run_id)
        yield errors_csv(found[1])  # at most STORED_ERRORS rows

    return await streamed(f"import-{run_id}-errors", produce)
