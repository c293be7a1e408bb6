"""Overview page state: stock figures in total, per brand and per warehouse, and the
key charts (sales trend, top demand gaps, open alerts).

The figures stay live while the page is open (`dashboard/states/live.py`): any stock
change moves the ledger's newest id, and the figures are read again, at most every
`SETTLE_SECONDS`. The key charts are read once per visit (a day's sales do not need
a refresh per sale)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import reflex as rx

from dashboard import routes
from dashboard.formatting import plural, units
from dashboard.items import figures_of
from dashboard.states.auth import RoleGuard, SessionUser
from dashboard.states.charting import ChartView, chart_view
from dashboard.states.live import LiveFollow, Watch, follow
from jobs.analytics.charts import trend_chart
from jobs.analytics.demand import wanted_not_stocked
from jobs.analytics.frames import shared_analytics
from jobs.analytics.metrics import Filters, sales_trend
from models.alerts import open_alert_count
from models.db import read_session
from models.reports import StockFigures, StockOverview, stock_overview
from models.stock_view import newest_ledger_id

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclasses.dataclass
class FigureRow:
    """One line of figures, formatted for display (the browser does no arithmetic)."""

    label: str = ""
    on_hand: str = "0"
    reserved: str = "0"
    available: str = "0"
    incoming: str = "0"
    out_of_stock: str = "0"
    has_out_of_stock: bool = False

    @classmethod
    def of(cls, figures: StockFigures) -> FigureRow:
        return cls(
            label=figures.label,
            **figures_of(figures),
            out_of_stock=units(figures.out_of_stock_variants),
            has_out_of_stock=figures.out_of_stock_variants > 0,
        )


#: The figures scan every balance: after a live refresh, wait this long before the next.
SETTLE_SECONDS = 3.0


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    overview: StockOverview
    #: The ledger's newest id when the figures were read (it moves with any stock change).
    marker: int


def read_figures(brand_scope: int | None, marker: int | None = None) -> Figures | None:
    """The figures of one brand (a vendor's) or of every brand, and the ledger marker
    they reflect (read first: a change in between shows on the next check); None when
    `marker` has not moved. Blocking."""
    with read_session() as session:
        now = newest_ledger_id(session)
        if marker is not None and now == marker:
            return None
        return Figures(stock_overview(session, brand_id=brand_scope), now)


#: Gaps listed on the Overview (the Demand page has them all).
TOP_GAPS = 5


@dataclasses.dataclass
class GapItem:
    """An answer customers voted for that we have nothing available of."""

    label: str
    signal: str
    #: "3 votes".
    votes: str
    question: str
    carried: bool


@dataclasses.dataclass(frozen=True, slots=True)
class KeyCharts:
    trend: ChartView
    gaps: list[GapItem]
    gap_count: int
    open_alerts: int


def read_key_charts(brand_scope: int | None) -> KeyCharts:
    """The last 28 days' sales trend, the top gaps and the open alerts. Blocking."""
    frames = shared_analytics().frames()
    filters = Filters()
    trend = sales_trend(frames, filters, brand_scope=brand_scope)
    with read_session() as session:
        gaps = wanted_not_stocked(session, frames, filters, brand_scope=brand_scope)
        alerts = open_alert_count(session, brand_id=brand_scope)
    return KeyCharts(
        trend=chart_view("trend", trend_chart(trend), trend.sort("day", descending=True),
                         columns=["day", "units", "moving_average", "last_year_units"]),
        gaps=[
            GapItem(row["label"], row["signal"], plural(row["votes"], "vote"),
                    row["question"], row["variants"] > 0)
            for row in gaps.head(TOP_GAPS).iter_rows(named=True)
        ],
        gap_count=gaps.height,
        open_alerts=alerts,
    )


async def _in_thread(
    what: str, read: Callable[[int | None], T | None], brand_scope: int | None
) -> T | None:
    """`read(brand_scope)` in a worker thread (the queries scan every balance); None when
    it failed, the failure logged as `what`."""
    try:
        return await rx.run_in_thread(functools.partial(read, brand_scope))
    except Exception:
        log.exception("overview: %s failed", what)
        return None


class OverviewState(RoleGuard, LiveFollow, rx.State):
    """What the Overview page shows. Every load re-checks the session and scope."""

    loading: bool = True
    load_error: str = ""
    scope_description: str = ""
    is_vendor: bool = False
    has_stock: bool = False
    variant_summary: str = ""
    empty_hint: str = ""
    total: FigureRow = FigureRow()
    by_brand: list[FigureRow] = []
    by_warehouse: list[FigureRow] = []
    trend: ChartView = ChartView(key="trend")
    gaps: list[GapItem] = []
    gap_summary: str = ""
    open_alerts: str = ""
    has_open_alerts: bool = False
    key_charts_loading: bool = True
    key_charts_error: str = ""
    # backend only
    _brand_scope: int | None = None
    _marker: int = 0

    @rx.event(background=True)
    async def load(self):
        """Read the figures off the event loop (the queries scan every balance)."""
        async with self:
            access = await self.require("overview.read")
            if not access or access.user is None:
                self.loading = False
                self._clear()
                return access.page_refusal
            user = access.user
            generation = self._next_generation()
            self.loading = True
            self.key_charts_loading = True
            self.load_error = ""
        figures = await _in_thread("reading stock figures", read_figures, user.brand_scope)
        if figures is None:
            async with self:
                self.loading = False
                self.load_error = (
                    "The stock figures could not be read. Refresh to try again; "
                    "if it keeps failing, check that the database is reachable."
                )
            return
        async with self:
            if generation != self._generation:
                return None
            self.loading = False
            self._live_show(figures, user)
        key = await _in_thread("computing the key charts", read_key_charts, user.brand_scope)
        if key is None:
            async with self:
                self.key_charts_loading = False
                self.key_charts_error = "The charts could not be computed. Refresh to try again."
            return
        async with self:
            self.key_charts_loading = False
            self.key_charts_error = ""
            self.trend = key.trend
            self.gaps = key.gaps
            self.gap_summary = (
                plural(key.gap_count, "answer") + " customers voted for, none available"
                if key.gap_count
                else ""
            )
            self.open_alerts = units(key.open_alerts)
            self.has_open_alerts = key.open_alerts > 0
        return OverviewState.watch(generation)

    @rx.event(background=True, supersedes=True)
    async def watch(self, generation: int):
        """Keep the figures current while the page is open (ends when it is left)."""
        return await follow(
            self,
            generation,
            route=routes.OVERVIEW,
            permission="overview.read",
            settle_seconds=SETTLE_SECONDS,
        )

    def _live_watch(self) -> Watch | None:
        return Watch("stock", None, (self._brand_scope, self._marker))

    async def _live_read(self, token: tuple[int | None, int]) -> Figures | None:
        return await rx.run_in_thread(functools.partial(read_figures, *token))

    def _live_show(self, fresh: Figures, user: SessionUser) -> None:
        self._brand_scope, self._marker = user.brand_scope, fresh.marker
        self._show(user, fresh.overview)
        self._mark_live()

    def _live_refused(self) -> None:
        self._clear()

    def _show(self, user: SessionUser, overview: StockOverview) -> None:
        self.is_vendor = user.brand_scope is not None
        self.scope_description = (
            f"{user.brand_name} stock across every warehouse and store."
            if self.is_vendor
            else "Stock across every brand, warehouse and store."
        )
        # Balances exist (even all-zero ones): show the tables; none at all: empty state.
        self.has_stock = bool(overview.by_warehouse)
        self.variant_summary = plural(overview.variant_count, "variant")
        self.empty_hint = (
            f"The catalogue holds {self.variant_summary}, none with stock anywhere yet."
            if overview.variant_count
            else "The catalogue is empty too: brands and their products come first."
        )
        self.total = FigureRow.of(overview.total)
        self.by_brand = [FigureRow.of(row) for row in overview.by_brand]
        self.by_warehouse = [FigureRow.of(row) for row in overview.by_warehouse]

    def _clear(self) -> None:
        self._next_generation()  # a live refresh in flight shows nothing any more
        self.scope_description = ""
        self.has_stock = False
        self.variant_summary = ""
        self.empty_hint = ""
        self.total = FigureRow()
        self.by_brand = []
        self.by_warehouse = []
        self.trend = ChartView(key="trend")
        self.gaps = []
        self.gap_summary = self.open_alerts = ""
