"""CSV exports for signed-in dashboard users, streamed over plain HTTP.

An export button asks its handler for a link (`rx.download(url=...)`) and the browser
fetches it here, so a 20,000-row file never travels through the websocket or sits in a
tab's state. The session cookie says who asks; the permission table decides; a vendor
gets their own brand whatever the link says. The file is written as the rows are read,
a few hundred at a time, with every text cell neutralised against spreadsheet formulas
(`models.csv_safety`). Not part of the channel API: no API keys, not in the OpenAPI
document.

Here: the stock grid and the audit log; `replenishment` (purchase lists), `charts`
(analytics and demand tables) and `imports` (a past import's errors) beside it; the
shared pieces in `common`, the links and the download event in
`dashboard/states/downloads.py`.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request
from starlette.responses import PlainTextResponse, Response

from dashboard import routes
from dashboard.api.exports.common import router, signed_in, streamed
from dashboard.states.downloads import download, export_href
from models.audit import AuditFilter, iter_audit_csv
from models.errors import DomainError
from models.grid import GridFilter, iter_grid_csv

__all__ = ["STOCK_EXPORT_MAX_ROWS", "audit_export_href", "download", "router",
           "stock_export_href"]

#: The most rows one stock export holds; a larger view is refused, never cut short.
STOCK_EXPORT_MAX_ROWS = 20_000


def stock_export_href(f: GridFilter) -> str:
    """The link that downloads the balances view of `f` (every page of it)."""
    return export_href(routes.STOCK_EXPORT, replace(f, page=1).to_params())


@router.get(routes.STOCK_EXPORT)
async def stock_csv(request: Request) -> Response:
    """The /stock balances view the query describes, every page, as CSV."""
    user = await signed_in(request, "stock.export")
    if isinstance(user, Response):
        return user
    scope = {} if user.brand_scope is None else {"brand_ids": (user.brand_scope,)}
    try:
        f = replace(GridFilter.from_params(request.query_params, **scope), page=1)
    except DomainError as error:
        return PlainTextResponse(error.message, status_code=422)
    return await streamed(
        "stock", lambda session: iter_grid_csv(session, f, max_rows=STOCK_EXPORT_MAX_ROWS)
    )


def audit_export_href(f: AuditFilter) -> str:
    """The link that downloads the audit log entries `f` selects (every page of them)."""
    return export_href(routes.AUDIT_EXPORT, f.to_params())


@router.get(routes.AUDIT_EXPORT)
async def audit_csv(request: Request) -> Response:
    """The audit log entries the query selects (action, actor, from, to), as CSV."""
    user = await signed_in(request, "admin.audit")
    if isinstance(user, Response):
        return user
    params = request.query_params
    try:
        f = AuditFilter.parse(
            params.get("action", ""),
            params.get("actor", ""),
            params.get("from", ""),
            params.get("to", ""),
        )
    except DomainError as error:
        return PlainTextResponse(error.message, status_code=422)
    return await streamed("audit", lambda session: iter_audit_csv(session, f))


# The other exports add their routes to the same router.
from dashboard.api.exports import charts, imports, replenishment  # noqa: E402

__all__ += ["charts", "imports", "replenishment"]
