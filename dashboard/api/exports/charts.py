"""`GET /exports/analytics/{chart}.csv` and `GET /exports/demand/{chart}.csv`: one chart's
whole table for the filters in the query (the page's own filter URL) and the chart's
choices (velocity level and window, history grouping; the poll and bucket of votes);
`GET /exports/markdowns.csv`: the markdown suggestions' table, the same way.

The tables come from the page states' own blocking functions, so the file holds what
the page shows; `resolve` refuses a vendor any brand but theirs (403) and scopes the
rest to it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import polars as pl
from fastapi import Request
from starlette.responses import PlainTextResponse, Response

from dashboard import routes
from dashboard.api.exports.common import first_then_rest, refused, router, signed_in
from dashboard.states import analytics, demand, markdowns
from dashboard.states.analytics_filters import FilterParams
from dashboard.states.chart_panels import export_size, off_loop
from jobs.analytics.export import iter_csv
from models.errors import DomainError, InvalidQuantity

#: The blocking call giving (file name, frame) for a chart, the query and a brand scope.
Table = Callable[[], tuple[str, pl.DataFrame]]


def _analytics_table(chart: str, query: Mapping[str, str], scope: int | None) -> Table:
    options = analytics.ChartOptions.from_query(query)
    return functools.partial(analytics.chart_table, chart, FilterParams.from_query(query),
                             scope, options)


def _demand_table(chart: str, query: Mapping[str, str], scope: int | None) -> Table:
    poll, bucket = query.get("poll", ""), query.get("bucket", "") or "day"
    if chart == "votes" and not (poll.isdigit() and len(poll) < 10):
        raise InvalidQuantity(f"poll must be a poll's number, not {poll[:40]!r}.",
                              field="poll")
    if bucket not in ("day", "week"):
        raise InvalidQuantity(f"bucket must be day or week, not {bucket[:40]!r}.",
                              field="bucket")
    return functools.partial(demand.demand_table, chart, FilterParams.from_query(query),
                             scope, int(poll or 0), bucket)


def _markdowns_table(chart: str, query: Mapping[str, str], scope: int | None) -> Table:
    return functools.partial(markdowns.markdown_table, markdowns.params_of(query), scope)


async def _chart_csv(
    request: Request, chart: str, action: str, charts: tuple[str, ...],
    table: Callable[[str, Mapping[str, str], int | None], Table],
) -> Response:
    user = await signed_in(request, action)
    if isinstance(user, Response):
        return user
    if chart not in charts:
        return PlainTextResponse(f"There is no chart {chart[:40]!r}.", status_code=404)
    try:
        run = table(chart, request.query_params, user.brand_scope)
        name, frame = await off_loop(run)
        export_size(frame)
    except DomainError as error:
        return refused(error)
    return await first_then_rest(name, iter_csv(frame, bom=True))


@router.get(routes.ANALYTICS_EXPORT)
async def analytics_csv(request: Request, chart: str) -> Response:
    """An /analytics chart's whole table, as CSV."""
    return await _chart_csv(request, chart, "analytics.export", analytics.CHARTS,
                            _analytics_table)


@router.get(routes.DEMAND_EXPORT)
async def demand_csv(request: Request, chart: str) -> Response:
    """A /demand chart's whole table, as CSV."""
    return await _chart_csv(request, chart, "demand.export", demand.CHARTS, _demand_table)


@router.get(routes.MARKDOWNS_EXPORT)
async def markdowns_csv(request: Request) -> Response:
    """The /analytics/markdowns suggestions for the brand and category in the query."""
    return await _chart_csv(request, markdowns.TABLE, "markdowns.export", (markdowns.TABLE,),
                            _markdowns_table)
