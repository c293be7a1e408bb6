"""/analytics/markdowns: suggested markdown tiers per style-colour
(`jobs.analytics.markdowns`), filtered by brand and category in the URL, paged.

The page is a `ChartPanels` page with one table (`TABLE`): the suggestions are computed
from the shared analytics frames in a background event on analytics' thread pool, an
answer overtaken by a newer filter is dropped, and the CSV export is the same link
flow as the charts' (`/exports/markdowns.csv`, served by `dashboard/api/exports/`).
A vendor's brand scope comes from the session, never from the URL.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import polars as pl
import reflex as rx

from dashboard import routes
from dashboard.formatting import units
from dashboard.items import item_of
from dashboard.states.analytics_filters import (
    FilterBar,
    FilterChoices,
    FilterParams,
    Replies,
    filter_choices,
    resolve,
)
from dashboard.states.auth import RoleGuard
from dashboard.states.chart_panels import ChartPanels
from dashboard.states.listing import PagedList, page_number, page_offset, page_size
from jobs.analytics import markdowns as md
from jobs.analytics.frames import shared_analytics
from models.admin import Page

ROUTE = routes.MARKDOWNS
#: The one "chart" of the page: its table.
TABLE = "markdowns"
UNEXPECTED = "The suggestions could not be computed. Refresh to try again."
#: Badge colour per tier.
TIER_COLOURS = {50: "red", 30: "orange", 20: "amber", 0: "gray"}


@dataclasses.dataclass
class MarkdownItem:
    """One style-colour as the list shows it (figures already formatted)."""

    key: str
    product: str
    style: str
    colour: str
    on_hand: str
    sold: str
    cover: str
    sell_through: str
    age: str
    tier: str
    tier_colour: str
    reason: str
    projected: str


def markdown_item(row: Mapping[str, Any]) -> MarkdownItem:
    """A row of `markdowns.markdown_suggestions` as the list shows it."""
    cover, age, tier = row["weeks_of_cover"], row["age_days"], row["tier"]
    shares = {"sell_through": row["sell_through"], "projected": row["projected_sell_through"]}
    return item_of(
        MarkdownItem, SimpleNamespace(**row),
        key=f"{row['product_id']}:{row['colour']}",
        style=f"{row['brand']} · {row['style_code']} · {row['category'] or 'no category'}",
        on_hand=units(row["on_hand"]), sold=units(row["units_sold"]),
        cover=md.NO_SALES if cover is None else f"{cover:,.1f}",
        age="no receipt" if age is None else f"{age:,} days",
        tier=f"{tier} %", tier_colour=TIER_COLOURS.get(tier, "gray"),
        **{name: f"{share:.0%}" for name, share in shares.items()},
    )


def params_of(query: Mapping[str, str]) -> FilterParams:
    """The page's filters from a URL query: brand and category (nothing else applies)."""
    found = FilterParams.from_query(query)
    return FilterParams(brand=found.brand, category=found.category)


@dataclasses.dataclass(frozen=True, slots=True)
class MarkdownResult:
    choices: FilterChoices
    page: Page[MarkdownItem]
    as_of: str


def read_page(params: FilterParams, brand_scope: int | None, page: int, per_page: int
              ) -> MarkdownResult:
    """One page of suggestions (past the end: the last page). Blocking: run it off the
    loop. PermissionDenied, NotFound for filters this viewer cannot use."""
    frames = shared_analytics().frames()
    filters = resolve(frames, params, brand_scope)
    table = md.markdown_suggestions(frames, filters, brand_scope=brand_scope)
    offset = page_offset(table.height, page, per_page)
    rows = [markdown_item(r) for r in table.slice(offset, per_page).iter_rows(named=True)]
    return MarkdownResult(
        filter_choices(frames, brand_scope),
        Page(rows=rows, total=table.height, offset=offset, limit=per_page),
        f"{filters.as_of():%-d %b %Y}",
    )


def markdown_table(params: FilterParams, brand_scope: int | None) -> tuple[str, pl.DataFrame]:
    """(file name, frame) of every suggestion for `params`, for the CSV. Blocking."""
    frames = shared_analytics().frames()
    filters = resolve(frames, params, brand_scope)
    table = md.markdown_suggestions(frames, filters, brand_scope=brand_scope)
    return f"rackroom-markdowns-{filters.as_of()}.csv", md.export_frame(table)


class MarkdownsState(RoleGuard, FilterBar, PagedList, ChartPanels, rx.State):
    """What /analytics/markdowns shows. Every handler re-checks the session and scope."""

    ROUTE = ROUTE
    READ = "markdowns.read"
    EXPORT = "markdowns.export"
    EXPORT_ROUTE = routes.MARKDOWNS_EXPORT
    CHARTS = (TABLE,)
    UNEXPECTED = UNEXPECTED

    rows: list[MarkdownItem] = []
    _page: int = 1
    _per: int = 0

    # --- ChartPanels ---------------------------------------------------------------------

    def _clear(self) -> None:
        self.rows, self.total, self.range_label = [], 0, ""
        self.loaded = False
        self.period_text = ""

    def _from_url(self, query: Mapping[str, str]) -> None:
        self._show_params(params_of(query))
        self._page, self._per = page_number(query), page_size(query)

    def _work(self, brand_scope: int | None, keys: tuple[str, ...]) -> Callable[[], Any]:
        return functools.partial(read_page, self._params(), brand_scope, self._page,
                                 self._per)

    def _show(self, result: MarkdownResult, brand_scope: int | None,
              keys: tuple[str, ...]) -> None:
        self._show_choices(result.choices, brand_scope)
        self._show_paging(result.page, ROUTE, self._params().query())
        self.rows = result.page.rows
        self.period_text = f"Sales over the {md.DEFAULT_WEEKS} weeks to {result.as_of}"

    def _table(self, key: str, brand_scope: int | None
               ) -> Callable[[], tuple[str, pl.DataFrame]]:
        return functools.partial(markdown_table, self._params(), brand_scope)

    def _export_params(self, key: str) -> dict[str, str]:
        return self._params().query()

    # --- handlers -------------------------------------------------------------------------

    @rx.event(background=True)
    async def load(self) -> Replies:
        """on_load: the filters and page come from the URL; the rows from the pool."""
        async for event in self._load_page():
            yield event
