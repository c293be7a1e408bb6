"""Analytics page state: every chart of `jobs.analytics` for the filters in the URL.

The figures are computed from the process's in-memory frames
(`shared_analytics().frames()`, a thread-safe snapshot) in a worker thread, once per
filter change, so the event loop never waits on polars or SQL. Every handler re-checks
the session and passes the viewer's brand scope to the domain, which refuses a vendor
any brand but theirs whatever the URL or a tampered event says.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
import polars as pl
import reflex as rx

from dashboard import routes
from dashboard.states.analytics_filters import (
    FilterBar,
    FilterChoices,
    FilterParams,
    Replies,
    filter_choices,
    period_label,
    resolve,
)
from dashboard.states.auth import RoleGuard
from dashboard.states.chart_panels import ChartPanels
from dashboard.states.charting import ChartView, chart_view
from jobs.analytics import charts
from jobs.analytics import metrics as m
from jobs.analytics.accuracy import (
    ACCURACY_COLUMNS,
    count_accuracy,
    count_lines,
    first_count_day,
)
from jobs.analytics.frames import Frames, shared_analytics
from models.db import read_session
from models.errors import InvalidQuantity

ROUTE = "/analytics"
#: Who may read analytics. A vendor sees only their own brand (the domain enforces it).

#: The charts of the page, in the order they are shown.
CHARTS: tuple[str, ...] = (
    "trend",
    "velocity",
    "movers_top",
    "movers_bottom",
    "cover",
    "sell_through",
    "slow",
    "ageing",
    "size_curve",
    "history",
    "accuracy",
)
#: None computed together: each chart is computed and shown on its own, in page order
#: (`ONE_AT_A_TIME`), so the browser draws the top chart while the next is computed.
FIRST_WAVE: tuple[str, ...] = ()
LEVELS = ("brand", "product", "variant", "warehouse")
WINDOWS = ("7", "28", "90")
HISTORY_BY = ("total", "brand", "warehouse")
SLOW_DAYS = 60

_LEVEL_COLUMNS: dict[str, list[str]] = {
    "brand": ["brand", "brand_name"],
    "product": ["brand", "style_code", "product", "category"],
    "variant": ["sku", "product", "colour", "size"],
    "warehouse": ["warehouse", "warehouse_name"],
}
_VARIANT = ["sku", "product", "size"]
UNEXPECTED = "The figures could not be computed. Refresh to try again."


@dataclasses.dataclass(frozen=True, slots=True)
class ChartOptions:
    """Per-chart choices that are not filters (not in the URL)."""

    level: str = "variant"
    window: int = 28
    history_by: str = "total"

    def query(self) -> dict[str, str]:
        """The choices as an export link's parameters, defaults left out."""
        values = {"level": self.level, "window": str(self.window), "by": self.history_by}
        defaults = {"level": "variant", "window": "28", "by": "total"}
        return {k: v for k, v in values.items() if v != defaults[k]}

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ChartOptions:
        """The choices an export link names; InvalidQuantity naming a value not offered."""
        found = {}
        for name, allowed, default in (("level", LEVELS, "variant"), ("window", WINDOWS, "28"),
                                       ("by", HISTORY_BY, "total")):
            value = str(query.get(name, "") or default)
            if value not in allowed:
                raise InvalidQuantity(
                    f"{name} must be one of {', '.join(allowed)}, not {value[:40]!r}.",
                    field=name,
                )
            found[name] = value
        return cls(level=found["level"], window=int(found["window"]), history_by=found["by"])


def compute_chart(
    key: str, frames: Frames, filters: m.Filters, brand_scope: int | None,
    options: ChartOptions,
) -> tuple[go.Figure, pl.DataFrame, list[str]]:
    """One chart: its figure, the frame behind its table and CSV, the table's columns."""
    scope = {"brand_scope": brand_scope}
    if key == "trend":
        trend = m.sales_trend(frames, filters, **scope)
        return (charts.trend_chart(trend), trend.sort("day", descending=True),
                ["day", "units", "moving_average", "last_year_units"])
    if key == "velocity":
        velocity = m.sales_velocity(frames, filters, level=options.level, **scope)
        table = velocity.sort([f"units_{options.window}d"], descending=True, maintain_order=True)
        values = [c for n in m.VELOCITY_WINDOWS for c in (f"units_{n}d", f"per_day_{n}d")]
        return (charts.velocity_chart(velocity, window=options.window), table,
                _LEVEL_COLUMNS[options.level] + values)
    if key in ("movers_top", "movers_bottom"):
        movers = m.movers(frames, filters, level="product", **scope)
        columns = [*_LEVEL_COLUMNS["product"][:3], "units", "previous_units", "change", "available"]
        if key == "movers_top":
            return charts.movers_chart(movers), movers.top, columns
        return charts.bottom_movers_chart(movers), movers.bottom, columns
    if key == "cover":
        cover = m.weeks_of_cover(frames, filters, level="variant", **scope)
        return (charts.cover_chart(cover), cover,
                [*_VARIANT, "available", "units_sold", "weekly_velocity", "weeks_of_cover"])
    if key == "sell_through":
        table = m.sell_through(frames, filters, level="product", **scope)
        return (charts.sell_through_chart(table), table,
                [*_LEVEL_COLUMNS["product"][:3], "units_sold", "on_hand", "sell_through"])
    if key == "slow":
        slow = m.slow_movers(frames, filters, days=SLOW_DAYS, **scope)
        return (charts.slow_movers_chart(slow, days=SLOW_DAYS), slow,
                [*_VARIANT, "on_hand", "available", "last_sold_at", "days_since_last_sale"])
    if key == "ageing":
        summary = m.ageing_summary(frames, filters, **scope)
        detail = m.stock_ageing(frames, filters, **scope)
        return (charts.ageing_chart(summary), detail,
                [*_VARIANT, "warehouse", "on_hand", "last_receipt_at", "age_days", "age_bucket"])
    if key == "size_curve":
        curve = m.size_curve(frames, filters, **scope)
        return (charts.size_curve_chart(curve), curve,
                ["size_system", "size", "units_sold", "on_hand", "sales_share", "stock_share",
                 "gap"])
    if key == "history":
        with read_session() as session:
            history = m.stock_history(session, filters, by=options.history_by, **scope)
            first = m.first_snapshot_day(session, filters, **scope) if history.is_empty() \
                else None
        return (charts.stock_history_chart(history, first_day=first),
                history.sort(["day", "series"], descending=[True, False]),
                ["day", "series", "on_hand", "reserved", "available", "incoming"])
    if key == "accuracy":
        with read_session() as session:
            table = count_accuracy(count_lines(session, filters, **scope))
            first = first_count_day(session, filters, **scope) if table.is_empty() else None
        return (charts.count_accuracy_chart(table, first_day=first),
                table.sort(["week", "warehouse"], descending=[True, False]), ACCURACY_COLUMNS)
    raise KeyError(key)


@dataclasses.dataclass(frozen=True, slots=True)
class AnalyticsResult:
    filters: m.Filters
    choices: FilterChoices
    views: dict[str, ChartView]


def compute_views(
    params: FilterParams,
    brand_scope: int | None,
    options: ChartOptions,
    keys: tuple[str, ...] = CHARTS,
    pages: Mapping[str, int] | None = None,
) -> AnalyticsResult:
    """The charts `keys` for `params` as `brand_scope` may see them. Blocking: run it in
    a worker thread. Raises PermissionDenied, NotFound or InvalidQuantity for filters
    this viewer cannot use."""
    frames = shared_analytics().frames()
    filters = resolve(frames, params, brand_scope)
    pages = pages or {}
    views = {}
    stamp = urlencode(params.query())
    for key in keys:
        fig, frame, columns = compute_chart(key, frames, filters, brand_scope, options)
        view = chart_view(key, fig, frame, columns=columns, page=pages.get(key, 1))
        views[key] = dataclasses.replace(view, filter_key=stamp)
    return AnalyticsResult(filters, filter_choices(frames, brand_scope), views)


def chart_table(
    key: str, params: FilterParams, brand_scope: int | None, options: ChartOptions
) -> tuple[str, pl.DataFrame]:
    """(file name, frame) of one chart's whole table, for its CSV. Blocking."""
    frames = shared_analytics().frames()
    filters = resolve(frames, params, brand_scope)
    _, frame, _ = compute_chart(key, frames, filters, brand_scope, options)
    start, end = filters.period()
    return f"rackroom-{key.replace('_', '-')}-{start}-to-{end}.csv", frame


class AnalyticsState(RoleGuard, FilterBar, ChartPanels, rx.State):
    """What /analytics shows. Every handler re-checks the session and the scope; the
    figures are computed in background events (`ChartPanels`)."""

    ROUTE = ROUTE
    READ = "analytics.read"
    EXPORT = "analytics.export"
    EXPORT_ROUTE = routes.ANALYTICS_EXPORT
    CHARTS = CHARTS
    FIRST_WAVE = FIRST_WAVE
    UNEXPECTED = UNEXPECTED
    ONE_AT_A_TIME = True

    level: str = "variant"
    window: str = "28"
    history_by: str = "total"

    @property
    def charts(self) -> dict[str, ChartView]:
        """Every chart's view by key (read-only: `_put` changes them). The chart states
        must be in the tree (`_fetch_charts` under the lock of a background event)."""
        return {key: self._get_state_from_cache(cls).view for key, cls in CHART_STATES.items()}

    async def _fetch_charts(self, keys: tuple[str, ...] | None = None) -> None:
        for key in CHARTS if keys is None else keys:
            await self.get_state(CHART_STATES[key])

    def _put(self, views: Mapping[str, ChartView]) -> None:
        for key, view in views.items():
            self._get_state_from_cache(CHART_STATES[key]).view = view

    def _options(self) -> ChartOptions:
        return ChartOptions(
            level=self.level if self.level in LEVELS else "variant",
            window=int(self.window) if self.window in WINDOWS else 28,
            history_by=self.history_by if self.history_by in HISTORY_BY else "total",
        )

    # --- ChartPanels ---------------------------------------------------------------------

    def _from_url(self, query: Mapping[str, str]) -> None:
        self._show_params(FilterParams.from_query(query))

    def _work(self, brand_scope: int | None, keys: tuple[str, ...]) -> Callable[[], Any]:
        return functools.partial(compute_views, self._params(), brand_scope, self._options(),
                                 keys, dict(self._pages))

    def _show(self, result: AnalyticsResult, brand_scope: int | None,
              keys: tuple[str, ...]) -> None:
        self._show_choices(result.choices, brand_scope)
        if (text := period_label(result.filters)) != self.period_text:
            self.period_text = text
        self._put({key: result.views[key] for key in keys})

    def _table(self, key: str, brand_scope: int | None
               ) -> Callable[[], tuple[str, pl.DataFrame]]:
        return functools.partial(chart_table, key, self._params(), brand_scope,
                                 self._options())

    def _export_params(self, key: str) -> dict[str, str]:
        return {**self._params().query(), **self._options().query()}

    # --- handlers -------------------------------------------------------------------------

    @rx.event(background=True)
    async def load(self) -> Replies:
        """on_load: the filters come from the URL; the figures from the thread pool."""
        async for event in self._load_page():
            yield event

    @rx.event(background=True)
    async def set_level(self, level: str | list[str]) -> Replies:
        """Velocity per brand, product, variant or warehouse."""
        async for event in self._pick("level", level, LEVELS, "velocity"):
            yield event

    @rx.event(background=True)
    async def set_window(self, window: str | list[str]) -> Replies:
        """The velocity chart's window: 7, 28 or 90 days."""
        async for event in self._pick("window", window, WINDOWS, "velocity"):
            yield event

    @rx.event(background=True)
    async def set_history_by(self, by: str | list[str]) -> Replies:
        """Stock history in total, per brand or per warehouse."""
        async for event in self._pick("history_by", by, HISTORY_BY, "history"):
            yield event


# One state per chart, each with its `view`: a chart's answer re-sends that chart
# alone, and re-renders only the components showing it. With the
# views as vars of AnalyticsState, each of the eleven answers of a filter change
# re-rendered every chart card on the page (whatever reads a state re-renders when any
# of its vars changes), most of the browser's time before the first charts showed.


def _chart_state(key: str) -> type[rx.State]:
    """The state holding chart `key`'s view, a module-level class named for the chart
    ("size_curve": SizeCurveChart), as Reflex names and pickles states by module and
    class name."""
    name = "".join(part.title() for part in key.split("_")) + "Chart"
    state = type(
        name,
        (rx.State,),
        {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"The {key} chart's view.",
            "__annotations__": {"view": ChartView},
            "view": ChartView(key=key),
        },
    )
    globals()[name] = state
    return state


#: The state holding each chart's view.
CHART_STATES: dict[str, type[rx.State]] = {key: _chart_state(key) for key in CHARTS}
assert tuple(CHART_STATES) == CHARTS
