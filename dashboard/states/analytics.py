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
import logging
from collections.abc import Mapping

import plotly.graph_objects as go
import polars as pl
import reflex as rx

from dashboard.states.analytics_filters import (
    FilterBar,
    FilterChoices,
    FilterParams,
    Replies,
    Reply,
    filter_choices,
    period_label,
    resolve,
)
from dashboard.states.auth import RoleGuard
from dashboard.states.charting import ChartView, chart_view
from jobs.analytics import charts
from jobs.analytics import metrics as m
from jobs.analytics.export import csv_bytes
from jobs.analytics.frames import Frames, shared_analytics
from models.db import read_session
from models.errors import DomainError, PermissionDenied
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/analytics"
#: Who may read analytics. A vendor sees only their own brand (the domain enforces it).
READERS = (Role.ADMIN, Role.MANAGER, Role.MERCHANDISER, Role.VENDOR)
READ = "see analytics"

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
)
#: Shown as soon as they are computed, before the rest (they are at the top).
FIRST_WAVE = ("trend", "velocity")
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
        return (charts.stock_history_chart(history),
                history.sort(["day", "series"], descending=[True, False]),
                ["day", "series", "on_hand", "reserved", "available", "incoming"])
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
    for key in keys:
        fig, frame, columns = compute_chart(key, frames, filters, brand_scope, options)
        views[key] = chart_view(key, fig, frame, columns=columns, page=pages.get(key, 1))
    return AnalyticsResult(filters, filter_choices(frames, brand_scope), views)


def chart_csv(
    key: str, params: FilterParams, brand_scope: int | None, options: ChartOptions
) -> tuple[str, bytes]:
    """(file name, CSV bytes) of one chart's whole table. Blocking."""
    frames = shared_analytics().frames()
    filters = resolve(frames, params, brand_scope)
    _, frame, _ = compute_chart(key, frames, filters, brand_scope, options)
    start, end = filters.period()
    return f"rackroom-{key.replace('_', '-')}-{start}-to-{end}.csv", csv_bytes(frame)


class AnalyticsState(RoleGuard, FilterBar, rx.State):
    """What /analytics shows. Every handler re-checks the session and the scope."""

    ROUTE = ROUTE
    READERS = READERS
    READ = READ

    loading: bool = True
    loaded: bool = False
    load_error: str = ""
    level: str = "variant"
    window: str = "28"
    history_by: str = "total"
    charts: dict[str, ChartView] = {key: ChartView(key=key) for key in CHARTS}
    _pages: dict[str, int] = {}

    def _options(self) -> ChartOptions:
        return ChartOptions(
            level=self.level if self.level in LEVELS else "variant",
            window=int(self.window) if self.window in WINDOWS else 28,
            history_by=self.history_by if self.history_by in HISTORY_BY else "total",
        )

    def _clear(self) -> None:
        self.charts = {key: ChartView(key=key) for key in CHARTS}
        self._pages = {}
        self.loaded = False
        self.period_text = ""

    # --- loading ------------------------------------------------------------------------

    @rx.event
    async def load(self) -> Replies:
        """on_load: the filters come from the URL; the figures from a worker thread."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            self._clear()
            self.loading = False
            yield access.page_refusal
            return
        self._show_params(FilterParams.from_query(self.router.url.query_parameters))
        self._pages = {}
        self.loading = True
        yield
        async for event in self._compute(access.user.brand_scope, CHARTS):
            yield event

    async def _compute(self, brand_scope: int | None, keys: tuple[str, ...]) -> Replies:
        """Compute `keys` off the event loop and show them (or say why not). The charts
        at the top come first, so a filter change shows its first answer sooner."""
        self.load_error = ""
        first = tuple(key for key in keys if key in FIRST_WAVE)
        waves = [wave for wave in (first, tuple(k for k in keys if k not in first)) if wave]
        for number, wave in enumerate(waves, start=1):
            try:
                result = await rx.run_in_thread(functools.partial(
                    compute_views, self._params(), brand_scope, self._options(), wave,
                    dict(self._pages),
                ))
            except PermissionDenied as refused:
                self._clear()
                self.refusal, self.filter_error, self.loading = refused.message, "", False
                yield rx.toast.error(refused.message, description="No figures were read.")
                return
            except DomainError as error:  # an unknown code or a bad date in the URL
                self._clear()
                self.refusal, self.filter_error, self.loading = "", error.message, False
                return
            except Exception:
                log.exception("analytics: computing %s failed", ", ".join(wave))
                self.load_error, self.loading = UNEXPECTED, False
                return
            self.refusal = self.filter_error = ""
            self._show_choices(result.choices, brand_scope)
            self.period_text = period_label(result.filters)
            self.charts = {**self.charts, **result.views}
            if number < len(waves):
                yield
        self.loading, self.loaded = False, True

    async def _recompute(self, brand_scope: int | None, *keys: str) -> Replies:
        self.loading = True
        yield
        async for event in self._compute(brand_scope, keys):
            yield event

    # --- per-chart choices, pages and exports ---------------------------------------------

    @rx.event
    async def set_level(self, level: str | list[str]) -> Replies:
        """Velocity per brand, product, variant or warehouse."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            yield access.refusal
            return
        if isinstance(level, str) and level in LEVELS:
            self.level = level
        async for event in self._recompute(access.user.brand_scope, "velocity"):
            yield event

    @rx.event
    async def set_window(self, window: str | list[str]) -> Replies:
        """The velocity chart's window: 7, 28 or 90 days."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            yield access.refusal
            return
        if isinstance(window, str) and window in WINDOWS:
            self.window = window
        async for event in self._recompute(access.user.brand_scope, "velocity"):
            yield event

    @rx.event
    async def set_history_by(self, by: str | list[str]) -> Replies:
        """Stock history in total, per brand or per warehouse."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            yield access.refusal
            return
        if isinstance(by, str) and by in HISTORY_BY:
            self.history_by = by
        async for event in self._recompute(access.user.brand_scope, "history"):
            yield event

    @rx.event
    async def table_page(self, key: str, page: int) -> Replies:
        """Another page of a chart's table."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            yield access.refusal
            return
        if key not in CHARTS:
            return
        self._pages = {**self._pages, key: max(1, int(page))}
        async for event in self._recompute(access.user.brand_scope, key):
            yield event

    @rx.event
    async def export_csv(self, key: str) -> Reply:
        """The chart's whole table as CSV (spreadsheet-safe), for the current filters."""
        access = await self.require_role(*READERS, action="export analytics")
        if not access or access.user is None:
            return access.refusal
        if key not in CHARTS:
            return None
        try:
            name, data = await rx.run_in_thread(functools.partial(
                chart_csv, key, self._params(), access.user.brand_scope, self._options()
            ))
        except DomainError as error:
            return rx.toast.error(error.message, description="Nothing was exported.")
        except Exception:
            log.exception("analytics: exporting %s failed", key)
            return rx.toast.error("The export failed. Try again in a moment.")
        return [
            rx.download(data=data, filename=name, mime_type="text/csv"),
            rx.toast.success(f"Exported {name}", duration=2500),
        ]
