"""The stock grid's filter: what the URL asks for, the links that change it, and the
filter bar's and pager's state (a mixin of `StockState`).

The URL holds the filter (`models.grid.GridFilter.to_params` plus `view`), so a view
can be shared and survives a reload; every filter control redirects to a new URL and
the page's `load` reads it back. A vendor's brand is put into the filter here,
whatever the URL says.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from dashboard import routes
from dashboard.states.auth import requires, signed_in_user
from dashboard.states.listing import MAX_PAGE, MAX_PARAM_LENGTH, Choice
from models.errors import InvalidQuantity
from models.grid import DEFAULT_PAGE_SIZE, QUANTITY_COLUMNS, GridFilter
from models.stock_view import GridChoices

#: What a handler returns: nothing, or events for the browser (toasts, redirects, ...).
Events = EventSpec | list[EventSpec] | None

ROUTE = routes.STOCK
VIEWS = ("balances", "sizes")
ANY = "all"
#: The URL parameters of the filter, in the order links are written.
FILTER_PARAMS = (
    "q", "brand", "warehouse", "category", "colour", "size", "tag", "season", "stock"
)
PAGE_SIZES = ("25", "50", "100", "200")
STOCK_CHOICES = (("all", "All stock"), ("low", "Low"), ("out", "Out"))
BAD_FILTER_VALUE = "That filter value is not valid; the view did not change."
SORT_LABELS = {
    "sku": "SKU",
    "product": "product",
    "colour": "colour",
    "size": "size",
    "brand": "brand",
    "available": "available",
    "on_hand": "on hand",
    "reserved": "reserved",
    "incoming": "incoming",
}


# --- reading the URL ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GridRequest:
    """What the URL asks for, validated: the filter, the view, and what was ignored."""

    filter: GridFilter
    view: str = "balances"
    notes: tuple[str, ...] = ()
    #: The caller's brand scope: a vendor's one brand, else empty (every brand).
    scope: tuple[int, ...] = ()


def clip(value: object) -> str:
    """A URL or form value as trimmed text, never absurdly long."""
    return str(value or "").strip()[:MAX_PARAM_LENGTH]


def parse_request(params: Mapping[str, str], brand_scope: int | None = None) -> GridRequest:
    """The grid request in `params`. Never raises: a malformed value is left out (the
    default applies) and named in `notes`; a vendor's brand replaces any brand asked."""
    notes: list[str] = []
    accepted: dict[str, str] = {}
    overrides: dict[str, Any] = {}
    if brand_scope is not None:
        overrides["brand_ids"] = (brand_scope,)
        asked = clip(params.get("brand"))
        if asked and asked != str(brand_scope):
            notes.append("The link asked for another brand; you see only your own brand.")
    for key in (*FILTER_PARAMS, "sort", "dir", "page", "per_page"):
        raw = clip(params.get(key))
        if not raw or (key == "brand" and brand_scope is not None):
            continue
        if key == "page":
            try:
                if int(raw) > MAX_PAGE:
                    raw = str(MAX_PAGE)
            except ValueError:
                pass
        try:
            GridFilter.from_params({**accepted, key: raw}, **overrides)
        except InvalidQuantity as error:
            notes.append(f"Ignored {key}={raw!r}: {error.message}")
            continue
        accepted[key] = raw
    view = clip(params.get("view")) or "balances"
    if view not in VIEWS:
        notes.append(f"Ignored view={view!r}: it must be balances or sizes.")
        view = "balances"
    scope = () if brand_scope is None else (brand_scope,)
    return GridRequest(GridFilter.from_params(accepted, **overrides), view, tuple(notes), scope)


def grid_href(f: GridFilter, view: str, *, vendor: bool = False, **changes: Any) -> str:
    """The /stock URL of `f` with `changes` applied (a new filter starts at page 1)."""
    if changes:
        paging = set(changes) <= {"page", "page_size"}
        f = replace(f, **changes, **({} if paging else {"page": 1}))
    params = f.to_params()
    if vendor:
        params.pop("brand", None)  # the server puts it back; links need not carry it
    if view != "balances":
        params["view"] = view
    query = urlencode(params)
    return f"{ROUTE}?{query}" if query else ROUTE


class SearchForm(TypedDict, total=False):
    q: str


class TagForm(TypedDict, total=False):
    tag: str


# --- the filter bar and the pager -----------------------------------------------------------


class StockFilters(rx.State, mixin=True):
    """The filter as the controls show it, the sort and view links, and paging. Every
    control answers with a redirect to the new URL (which reloads the grid)."""

    search: str = ""
    brand: str = ANY
    warehouses: list[str] = []
    warehouse_label: str = "All warehouses"
    category: str = ANY
    colour: str = ANY
    size: str = ANY
    tag: str = ""
    season: str = ANY
    stock: str = "all"
    sort: str = "sku"
    direction: str = "asc"
    per_page: str = str(DEFAULT_PAGE_SIZE)
    filtered: bool = False
    sort_links: dict[str, str] = {}
    sort_marks: dict[str, str] = {}
    view_links: dict[str, str] = {}
    brand_choices: list[Choice] = []
    warehouse_choices: list[Choice] = []
    category_choices: list[str] = []
    colour_choices: list[str] = []
    size_choices: list[str] = []
    season_choices: list[str] = []

    # paging
    total: int = 0
    page: int = 1
    last_page: int = 1
    range_label: str = ""
    page_label: str = ""
    first_href: str = ""
    previous_href: str = ""
    next_href: str = ""
    last_href: str = ""

    #: The filter of the page shown (None before the first load).
    _filter: GridFilter | None = None

    def _show_filter(self, f: GridFilter, choices: GridChoices, vendor: bool) -> None:
        self.search = f.search
        self.brand = str(f.brand_ids[0]) if len(f.brand_ids) == 1 and not vendor else ANY
        self.warehouses = [str(w) for w in f.warehouse_ids]
        self.category = f.category or ANY
        self.colour = f.colour or ANY
        self.size = f.size or ANY
        self.tag = f.tag or ""
        self.season = f.season or ANY
        self.stock = f.stock_state
        self.sort, self.direction = f.sort, f.direction
        self.per_page = str(f.page_size)
        self.filtered = bool(
            f.search
            or (f.brand_ids and not vendor)
            or f.warehouse_ids
            or f.category
            or f.colour
            or f.size
            or f.tag
            or f.season
            or f.stock_state != "all"
        )
        self.brand_choices = [Choice(str(i), name) for i, _code, name in choices.brands]
        self.warehouse_choices = [
            Choice(str(i), f"{name} ({code})" + ("" if active else " · inactive"))
            for i, code, name, active in choices.warehouses
        ]
        self.category_choices = list(choices.categories)
        self.colour_choices = list(choices.colours)
        self.size_choices = list(choices.sizes)
        # The URL's season shows even before the (cached) choices know it.
        self.season_choices = sorted({*choices.seasons, *([f.season] if f.season else [])})
        chosen = [c for c in choices.warehouses if c[0] in f.warehouse_ids]
        self.warehouse_label = (
            "All warehouses"
            if not chosen
            else (chosen[0][1] if len(chosen) == 1 else f"{len(chosen)} warehouses")
        )
        view = self.view  # type: ignore[attr-defined]
        links, marks = {}, {}
        for column in SORT_LABELS:
            if f.sort == column:
                direction = "asc" if f.descending else "desc"
                marks[column] = "↓" if f.descending else "↑"
            else:
                direction = "desc" if column in QUANTITY_COLUMNS else "asc"
                marks[column] = ""
            links[column] = grid_href(f, view, vendor=vendor, sort=column, direction=direction)
        self.sort_links, self.sort_marks = links, marks
        self.view_links = {v: grid_href(f, v, vendor=vendor, page=1) for v in VIEWS}

    def _show_paging(self, f: GridFilter, total: int, shown: int, vendor: bool) -> None:
        last = max(1, -(-total // f.page_size))
        self.total, self.page, self.last_page = total, f.page, last
        first = f.offset + 1
        self.range_label = f"{first:,}–{f.offset + shown:,} of {total:,}" if shown else ""
        self.page_label = f"Page {f.page:,} of {last:,}"

        def href(n: int) -> str:
            return grid_href(f, self.view, vendor=vendor, page=n)  # type: ignore[attr-defined]

        self.first_href = href(1) if f.page > 1 else ""
        self.previous_href = href(f.page - 1) if f.page > 1 else ""
        self.next_href = href(f.page + 1) if f.page < last else ""
        self.last_href = href(last) if f.page < last else ""

    def _go(self, invalid: str = "", **changes: Any) -> Events:
        """A redirect to the grid with `changes` to the filter shown. A bad value changes
        nothing and answers with a toast: `invalid`, or else what was wrong."""
        if self._filter is None:
            return None
        unsaved = self.bulk_count + self.bulk_invalid  # type: ignore[attr-defined]
        if unsaved:
            return rx.toast.warning(
                f"Save or discard your {unsaved:,} bulk edit(s) first; the view did not change."
            )
        vendor = signed_in_user().brand_scope is not None
        view = changes.pop("view", self.view)  # type: ignore[attr-defined]
        try:
            return rx.redirect(grid_href(self._filter, view, vendor=vendor, **changes))
        except InvalidQuantity as error:
            return rx.toast.error(invalid or error.message)

    @rx.event
    @requires("stock.read")
    async def apply_search(self, form: SearchForm) -> Events:
        """Enter in the search box."""
        return self._go(search=clip(form.get("q")))

    @rx.event
    @requires("stock.read")
    async def apply_tag(self, form: TagForm) -> Events:
        """Enter in the tag box (one tag; blank shows every tag)."""
        return self._go(tag=clip(form.get("tag")) or None)

    @rx.event
    @requires("stock.read")
    async def set_filter(self, name: str, value: str) -> Events:
        """A picker changed (brand, category, colour, size, stock, view, page size)."""
        value = clip(value)
        blank = value in ("", ANY)
        go = functools.partial(self._go, BAD_FILTER_VALUE)
        try:
            if name == "view":
                return go(view=value, page=1) if value in VIEWS else None
            if name == "brand":
                if signed_in_user().brand_scope is not None:
                    return None
                return go(brand_ids=() if blank else (int(value),))
            if name in ("category", "colour", "size", "season"):
                return go(**{name: None if blank else value})
            if name == "stock":
                return go(stock_state=value or "all")
            if name == "per_page":
                return go(page_size=int(value), page=1)
        except ValueError:
            return rx.toast.error(BAD_FILTER_VALUE)
        return None

    @rx.event
    @requires("stock.read")
    async def toggle_warehouse(self, warehouse: str) -> Events:
        """Tick or untick one warehouse in the picker ("all": back to every active one)."""
        if self._filter is None:
            return None
        chosen = set(self._filter.warehouse_ids)
        if warehouse == ANY:
            chosen = set()
        else:
            try:
                chosen ^= {int(warehouse)}
            except ValueError:
                return None
        return self._go(warehouse_ids=tuple(sorted(chosen)))

    @rx.event
    @requires("stock.read")
    async def clear_filters(self) -> Events:
        sizes = self.view == "sizes"  # type: ignore[attr-defined]
        return rx.redirect(f"{ROUTE}?view=sizes" if sizes else ROUTE)
