"""Stock grid (`/stock`): filtered, sorted, paged balances and size runs; corrections;
the variant drawer; live refresh; CSV export.

The URL holds the filter (`models.grid.GridFilter.to_params` plus `view`), so a view
can be shared and survives a reload; every filter control redirects to a new URL and
`load` (the page's on_load) reads it back. The state holds one page of rows, already
formatted. Every handler re-checks the session and role on the server; a vendor's
brand is put into the filter here, whatever the URL says.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.auth import ALL_ROLES, RoleGuard, SessionUser
from dashboard.states.listing import MAX_PAGE, MAX_PARAM_LENGTH, Choice, db_write
from models.db import read_session
from models.errors import DomainError, InsufficientStock, InvalidQuantity, StaleCount
from models.grid import (
    DEFAULT_PAGE_SIZE,
    LOW_STOCK_THRESHOLD,
    QUANTITY_COLUMNS,
    BalanceGridPage,
    GridFilter,
    SizeRunPage,
    balance_grid,
    grid_csv,
    size_run_grid,
    stock_state_of,
)
from models.stock import ADJUSTMENT_REASONS, set_count
from models.stock_view import (
    LEDGER_PAGE_SIZE,
    GridChoices,
    LedgerLine,
    VariantDetail,
    grid_choices,
    ledger_marker,
    ledger_page,
    run_variant_ids,
    variant_detail,
)
from models.users import Role

log = logging.getLogger(__name__)

#: What a handler returns: nothing, or events for the browser (toasts, redirects, ...).
Events = EventSpec | list[EventSpec] | None

ROUTE = "/stock"
#: Who may correct counts. Managers and vendors read only.
EDITORS: tuple[Role, ...] = (Role.ADMIN, Role.MERCHANDISER)
VIEWS = ("balances", "sizes")
ANY = "all"
#: The URL parameters of the filter, in the order links are written.
FILTER_PARAMS = ("q", "brand", "warehouse", "category", "colour", "size", "stock")
PAGE_SIZES = ("25", "50", "100", "200")
#: How often an open grid asks whether its rows changed, and how often the loop
#: re-checks the session (each check is a database read).
POLL_SECONDS = 2.0
RECHECK_EVERY = 15
#: An export travels to the browser in one message; past this, narrow the filter.
EXPORT_MAX_ROWS = 20_000
CHOICES_TTL_S = 60.0
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."

REASON_LABELS: dict[str, str] = {
    "count": "Stock count",
    "damaged": "Damaged",
    "found": "Found",
    "correction": "Correction",
    "lost": "Lost",
}
REASON_CHOICES: list[tuple[str, str]] = [
    (r.value, REASON_LABELS.get(r.value, r.value.title())) for r in ADJUSTMENT_REASONS
]
LEDGER_REASON_LABELS: dict[str, str] = {
    **REASON_LABELS,
    "receipt": "Receipt",
    "reserve": "Reserved",
    "release": "Released",
    "expire": "Expired",
    "sale": "Sale",
    "return": "Return",
    "transfer_out": "Transfer out",
    "transfer_in": "Transfer in",
    "import": "Import",
    "sync": "Sync",
}
STOCK_CHOICES = (("all", "All stock"), ("low", "Low"), ("out", "Out"))
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


def _clip(value: object) -> str:
    return str(value or "").strip()[:MAX_PARAM_LENGTH]


def parse_request(params: Mapping[str, str], brand_scope: int | None = None) -> GridRequest:
    """The grid request in `params`. Never raises: a malformed value is left out (the
    default applies) and named in `notes`; a vendor's brand replaces any brand asked."""
    notes: list[str] = []
    accepted: dict[str, str] = {}
    overrides: dict[str, Any] = {}
    if brand_scope is not None:
        overrides["brand_ids"] = (brand_scope,)
        asked = _clip(params.get("brand"))
        if asked and asked != str(brand_scope):
            notes.append("The link asked for another brand; you see only your own brand.")
    for key in (*FILTER_PARAMS, "sort", "dir", "page", "per_page"):
        raw = _clip(params.get(key))
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
    view = _clip(params.get("view")) or "balances"
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


# --- formatting one page ------------------------------------------------------------------------


@dataclasses.dataclass
class StockCell:
    """Available units of one variant in one warehouse, with the rest on hover."""

    variant_id: int = 0
    warehouse_id: int = 0
    on_hand: int = 0
    available: str = "0"
    state: str = "ok"
    hint: str = ""
    edit_label: str = ""


@dataclasses.dataclass
class BalanceItem:
    variant_id: int = 0
    sku: str = ""
    brand: str = ""
    product: str = ""
    style_code: str = ""
    colour: str = ""
    size: str = ""
    cells: list[StockCell] = dataclasses.field(default_factory=list)
    available: str = "0"
    on_hand: str = "0"
    reserved: str = "0"
    incoming: str = "0"
    state: str = "ok"
    open_label: str = ""


@dataclasses.dataclass
class SizeCell:
    variant_id: int = 0
    label: str = ""
    #: "none" (size not made), "out", "low", "ok1" … "ok3" (the heat scale)
    level: str = "none"
    hint: str = ""


@dataclasses.dataclass
class RunItem:
    key: str = ""
    brand: str = ""
    product: str = ""
    style_code: str = ""
    colour: str = ""
    cells: list[SizeCell] = dataclasses.field(default_factory=list)
    total: str = "0"
    state: str = "ok"
    broken: bool = False


@dataclasses.dataclass
class Column:
    id: int = 0
    code: str = ""
    name: str = ""


def _hint(on_hand: int, reserved: int, incoming: int) -> str:
    text = f"On hand {units(on_hand)} · reserved {units(reserved)}"
    return text + (f" · incoming {units(incoming)}" if incoming else "")


def heat_level(available: int | None, threshold: int = LOW_STOCK_THRESHOLD) -> str:
    """The heat-scale step of a size-run cell (see the legend)."""
    if available is None:
        return "none"
    state = stock_state_of(available, threshold)
    if state != "ok":
        return state
    return "ok1" if available < 10 else ("ok2" if available < 50 else "ok3")


def balance_items(page: BalanceGridPage) -> list[BalanceItem]:
    items = []
    threshold = page.filter.low_threshold
    for row in page.rows:
        cells = [
            StockCell(
                variant_id=row.variant_id,
                warehouse_id=w.id,
                on_hand=held.on_hand,
                available=units(held.available),
                state=stock_state_of(held.available, threshold),
                hint=f"{w.code}: " + _hint(held.on_hand, held.reserved, held.incoming),
                edit_label=f"Correct {row.sku} at {w.code}",
            )
            for w, held in zip(page.warehouses, row.stock, strict=True)
        ]
        total = row.total
        items.append(
            BalanceItem(
                variant_id=row.variant_id,
                sku=row.sku,
                brand=row.brand_code,
                product=row.product_name,
                style_code=row.style_code,
                colour=row.colour,
                size=row.size,
                cells=cells,
                available=units(total.available),
                on_hand=units(total.on_hand),
                reserved=units(total.reserved),
                incoming=units(total.incoming),
                state=stock_state_of(total.available, threshold),
                open_label=f"Open {row.sku}",
            )
        )
    return items


def run_items(page: SizeRunPage, ids: Mapping[tuple[int, str, str], int]) -> list[RunItem]:
    items = []
    threshold = page.filter.low_threshold
    for row in page.rows:
        cells = []
        for size, units_ in zip(page.sizes, row.cells, strict=True):
            if units_ is None:
                cells.append(SizeCell(label="·", hint=f"{size}: not made in this colour"))
                continue
            variant_id = ids.get((row.product_id, row.colour, size), 0)
            cells.append(
                SizeCell(
                    variant_id=variant_id,
                    label=units(units_),
                    level=heat_level(units_, threshold),
                    hint=f"{size}: {units(units_)} available",
                )
            )
        items.append(
            RunItem(
                key=f"{row.product_id}:{row.colour}",
                brand=row.brand_code,
                product=row.product_name,
                style_code=row.style_code,
                colour=row.colour,
                cells=cells,
                total=units(row.total_available),
                state=stock_state_of(row.total_available, threshold),
                broken=row.broken,
            )
        )
    return items


# --- reading the database (blocking: these run in a worker thread) ----------------------------

_choices_cache: dict[tuple[int, ...], tuple[float, GridChoices]] = {}
_choices_lock = threading.Lock()


def cached_choices(brand_ids: tuple[int, ...]) -> GridChoices:
    """The filter bar's choices for a brand scope, re-read at most once a minute."""
    now = time.monotonic()
    with _choices_lock:
        hit = _choices_cache.get(brand_ids)
    if hit is not None and now - hit[0] < CHOICES_TTL_S:
        return hit[1]
    with read_session() as session:
        choices = grid_choices(session, brand_ids)
    with _choices_lock:
        _choices_cache[brand_ids] = (now, choices)
    return choices


@dataclasses.dataclass(frozen=True)
class GridResult:
    request: GridRequest
    page: BalanceGridPage | SizeRunPage
    choices: GridChoices
    #: The variants shown (what the live refresh watches), and their ledger marker.
    variant_ids: tuple[int, ...]
    marker: int
    #: (product id, colour, size) -> variant id, for the size-run cells.
    run_ids: dict[tuple[int, str, str], int]


def read_grid(request: GridRequest) -> GridResult:
    """One page of the request's view. An unknown warehouse is dropped (with a note);
    a page past the end shows the last page."""
    notes = list(request.notes)
    f = request.filter
    choices = cached_choices(request.scope)
    with read_session() as session:

        def fetch(f: GridFilter) -> BalanceGridPage | SizeRunPage:
            if request.view == "sizes":
                return size_run_grid(session, f)
            return balance_grid(session, f)

        try:
            page = fetch(f)
        except InvalidQuantity as error:
            notes.append(
                f"Ignored warehouse={','.join(map(str, f.warehouse_ids))}: {error.message}"
            )
            f = replace(f, warehouse_ids=())
            page = fetch(f)
        if not page.rows and page.total_rows and f.page > page.last_page:
            notes.append(
                f"Page {f.page:,} is past the end; showing page {page.last_page:,}, the last."
            )
            f = f.with_page(page.last_page)
            page = fetch(f)
        run_ids: dict[tuple[int, str, str], int] = {}
        if isinstance(page, SizeRunPage):
            keys = [(row.product_id, row.colour) for row in page.rows]
            found = run_variant_ids(session, keys, f.brand_ids)
            run_ids = {(pid, colour, size): vid for vid, pid, colour, size in found}
            ids = tuple(vid for vid, *_ in found)
        else:
            ids = tuple(row.variant_id for row in page.rows)
        marker = ledger_marker(session, ids)
    return GridResult(
        replace(request, filter=f, notes=tuple(notes)), page, choices, ids, marker, run_ids
    )


def read_marker(variant_ids: Sequence[int]) -> int:
    with read_session() as session:
        return ledger_marker(session, variant_ids)


# --- the drawer -----------------------------------------------------------------------------


@dataclasses.dataclass
class Fact:
    label: str = ""
    value: str = ""


@dataclasses.dataclass
class DrawerBalance:
    warehouse_id: int = 0
    warehouse: str = ""
    on_hand_count: int = 0
    on_hand: str = "0"
    reserved: str = "0"
    available: str = "0"
    incoming: str = "0"
    state: str = "ok"
    updated: str = ""
    updated_exact: str = ""
    edit_label: str = ""


@dataclasses.dataclass
class ReservationItem:
    warehouse: str = ""
    qty: str = ""
    channel: str = ""
    order_ref: str = ""
    expires: str = ""
    expires_exact: str = ""


@dataclasses.dataclass
class LedgerItem:
    id: int = 0
    when: str = ""
    when_exact: str = ""
    warehouse: str = ""
    change: str = ""
    tone: str = "gray"
    reason: str = ""
    reference: str = ""
    actor: str = ""
    note: str = ""


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else f"−{abs(value):,}"


def time_until(moment: datetime, now: datetime | None = None) -> str:
    """ "in 12 min", "in 3 h", "in 6 days" (or "expired" once past)."""
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds <= 0:
        return "expired"
    if seconds < 3600:
        return f"in {max(1, int(seconds // 60))} min"
    if seconds < 86_400:
        return f"in {int(seconds // 3600)} h"
    return f"in {int(seconds // 86_400)} days"


def ledger_item(line: LedgerLine) -> LedgerItem:
    parts = []
    for delta, name in (
        (line.on_hand_delta, "on hand"),
        (line.reserved_delta, "reserved"),
        (line.incoming_delta, "incoming"),
    ):
        if delta:
            parts.append(f"{_signed(delta)} {name}")
    main = line.on_hand_delta or line.reserved_delta or line.incoming_delta
    return LedgerItem(
        id=line.id,
        when=relative_time(line.created_at),
        when_exact=exact_time(line.created_at),
        warehouse=line.warehouse,
        change=", ".join(parts) or "no change",
        tone="green" if main > 0 else ("red" if main < 0 else "gray"),
        reason=LEDGER_REASON_LABELS.get(line.reason, line.reason),
        reference=line.reference or "",
        actor=line.actor,
        note=line.note or "",
    )


@dataclasses.dataclass(frozen=True)
class DrawerResult:
    detail: VariantDetail | None
    lines: list[LedgerLine]
    more: bool
    #: The variant's newest ledger id when read (what the live refresh compares).
    marker: int = 0


def read_drawer(variant_id: int, brand_ids: tuple[int, ...], before_id: int | None) -> DrawerResult:
    with read_session() as session:
        detail = variant_detail(session, variant_id, brand_ids)
        if detail is None:
            return DrawerResult(None, [], False)
        lines, more = ledger_page(
            session, variant_id, before_id=before_id, limit=LEDGER_PAGE_SIZE, brand_ids=brand_ids
        )
        return DrawerResult(detail, lines, more, ledger_marker(session, (variant_id,)))


def read_export(f: GridFilter) -> str:
    with read_session() as session:
        return grid_csv(session, replace(f, page=1), max_rows=EXPORT_MAX_ROWS)


# --- forms ----------------------------------------------------------------------------------


class SearchForm(TypedDict, total=False):
    q: str


class CorrectionForm(TypedDict, total=False):
    count: str
    reason: str
    note: str


def parse_count(raw: str) -> tuple[int | None, str]:
    """The counted units from the dialog, or None and why not."""
    text = (raw or "").strip().replace(",", "")
    if not text:
        return None, "Enter the number of units you counted (on hand)."
    try:
        value = int(text)
    except ValueError:
        return None, f"{raw.strip()!r} is not a whole number of units."
    if value < 0:
        return None, "A count can't be negative. Enter 0 or more: the units on the shelf."
    if value > 1_000_000_000:
        return None, "That count is implausibly large. Check the number and try again."
    return value, ""


# --- the state ------------------------------------------------------------------------------


class StockState(RoleGuard, rx.State):
    """The stock grid of one browser tab: one page of rows, the filter it came from."""

    # what is shown
    view: str = "balances"
    loaded: bool = False
    loading: bool = False
    load_error: str = ""
    notes: list[str] = []
    view_key: str = ""
    can_edit: bool = False
    is_vendor: bool = False
    scope_label: str = ""
    columns: list[Column] = []
    rows: list[BalanceItem] = []
    sizes: list[str] = []
    runs: list[RunItem] = []
    summary: str = ""
    live_label: str = ""

    # the filter, as the controls show it
    search: str = ""
    brand: str = ANY
    warehouses: list[str] = []
    warehouse_label: str = "All warehouses"
    category: str = ANY
    colour: str = ANY
    size: str = ANY
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

    # the correction dialog
    edit_open: bool = False
    edit_title: str = ""
    edit_seen: str = ""
    edit_count: str = ""
    edit_error: str = ""
    edit_stale: bool = False
    saving: bool = False

    # the variant drawer
    drawer_open: bool = False
    drawer_variant: int = 0
    drawer_loading: bool = False
    drawer_error: str = ""
    drawer_sku: str = ""
    drawer_title: str = ""
    drawer_facts: list[Fact] = []
    drawer_aliases: list[Fact] = []
    drawer_balances: list[DrawerBalance] = []
    drawer_reservations: list[ReservationItem] = []
    drawer_ledger: list[LedgerItem] = []
    ledger_has_older: bool = False
    ledger_has_newer: bool = False
    ledger_label: str = ""

    exporting: bool = False

    # backend only (never sent to the browser)
    _filter: GridFilter | None = None
    _generation: int = 0
    _watch_ids: tuple[int, ...] = ()
    _marker: int = 0
    _notes: tuple[str, ...] = ()
    _scope: tuple[int, ...] = ()
    _drawer_marker: int = 0
    _edit_variant: int = 0
    _edit_warehouse: int = 0
    _edit_expected: int = 0
    _edit_sku: str = ""
    _edit_warehouse_code: str = ""
    _drawer_variant: int = 0
    _ledger_cursors: list[int] = []

    # --- loading ------------------------------------------------------------------------

    @rx.event(background=True, supersedes=True)
    async def load(self) -> Events:
        """on_load: read the URL, fetch one page off the event loop, then watch it."""
        async with self:
            access = await self.require_role(*ALL_ROLES, action="see stock")
            if not access or access.user is None:
                self._clear()
                return access.page_refusal
            user = access.user
            request = parse_request(self.router.url.query_parameters, user.brand_scope)
            self._generation += 1
            generation = self._generation
            self.loading = True
            self.load_error = ""
        try:
            result = await rx.run_in_thread(functools.partial(read_grid, request))
        except Exception:
            log.exception("stock grid: reading the page failed")
            async with self:
                if generation == self._generation:
                    self.loading = False
                    self.load_error = (
                        "The stock could not be read. Refresh to try again; if it keeps "
                        "failing, check that the database is reachable."
                    )
            return None
        async with self:
            if generation != self._generation:
                return None
            self._show(user, result)
        return StockState.watch(generation)

    @rx.event(background=True, supersedes=True)
    async def watch(self, generation: int) -> Events:
        """Live refresh while the page is open: every couple of seconds ask whether
        the shown variants' ledger moved (one indexed read), and refetch the page (and
        the open drawer) only when it did. Ends when another page or filter loads, the
        tab goes away (Reflex cancels the page-load chain), or the session ends."""
        async with self:
            access = await self.require_role(*ALL_ROLES, action="see stock")
            if not access or access.user is None:
                self._clear()
                return access.page_refusal
        user = access.user
        ticks = 0
        while True:
            await asyncio.sleep(POLL_SECONDS)
            ticks += 1
            async with self:
                if generation != self._generation or self.router.url.path.rstrip("/") != ROUTE:
                    return None
                if ticks % RECHECK_EVERY == 0:
                    access = await self.require_role(*ALL_ROLES, action="see stock")
                    if not access or access.user is None:
                        self._clear()
                        return access.refusal
                    user = access.user
                f, ids, marker = self._filter, self._watch_ids, self._marker
                request = GridRequest(f, self.view, self._notes, self._scope) if f else None
                drawer = self._drawer_variant if self.drawer_open else 0
                drawer_marker, before = self._drawer_marker, self._ledger_before()
            if request is None:
                return None
            try:
                grid_moved = await rx.run_in_thread(functools.partial(read_marker, ids)) != marker
                drawer_moved = bool(drawer) and (
                    await rx.run_in_thread(functools.partial(read_marker, (drawer,)))
                    != drawer_marker
                )
                if not grid_moved and not drawer_moved:
                    continue
                result = await rx.run_in_thread(functools.partial(read_grid, request))
                drawn = None
                if drawer:
                    drawn = await rx.run_in_thread(
                        functools.partial(read_drawer, drawer, request.scope, before)
                    )
            except Exception:
                log.exception("stock grid: live refresh failed; trying again shortly")
                continue
            async with self:
                if generation != self._generation:
                    return None
                self._show(user, result, keep_notes=True)
                if drawn is not None and self.drawer_open and self._drawer_variant == drawer:
                    self._show_drawer(drawn)

    def _show(self, user: SessionUser, result: GridResult, *, keep_notes: bool = False) -> None:
        request, page, choices = result.request, result.page, result.choices
        f = request.filter
        vendor = user.brand_scope is not None
        self._filter = f
        self._watch_ids = result.variant_ids
        self._marker = result.marker
        self._scope = request.scope
        if not keep_notes:
            self._notes = request.notes
            self.notes = list(request.notes)
        self.loading = False
        self.loaded = True
        self.view = request.view
        self.can_edit = user.role in EDITORS
        self.is_vendor = vendor
        self.scope_label = (
            f"{user.brand_name} stock in every warehouse and store."
            if vendor
            else "Every brand's stock, by variant and warehouse."
        )
        self.live_label = "Live · checked " + datetime.now(UTC).strftime("%H:%M:%S UTC")
        self._show_filter(f, choices, vendor)
        self._show_paging(f, page.total_rows, len(page.rows), vendor)
        self.columns = [Column(w.id, w.code, w.name) for w in page.warehouses]
        if isinstance(page, SizeRunPage):
            self.sizes = list(page.sizes)
            self.runs = run_items(page, result.run_ids)
            self.rows = []
            noun = ("style-colour", "style-colours")
        else:
            self.rows = balance_items(page)
            self.sizes, self.runs = [], []
            noun = ("variant", "variants")
        verb = " matches" if page.total_rows == 1 else " match"
        self.summary = plural(page.total_rows, *noun) + (verb if self.filtered else "")
        self.view_key = grid_href(f, request.view, vendor=vendor)

    def _show_filter(self, f: GridFilter, choices: GridChoices, vendor: bool) -> None:
        self.search = f.search
        self.brand = str(f.brand_ids[0]) if len(f.brand_ids) == 1 and not vendor else ANY
        self.warehouses = [str(w) for w in f.warehouse_ids]
        self.category = f.category or ANY
        self.colour = f.colour or ANY
        self.size = f.size or ANY
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
        chosen = [c for c in choices.warehouses if c[0] in f.warehouse_ids]
        self.warehouse_label = (
            "All warehouses"
            if not chosen
            else (chosen[0][1] if len(chosen) == 1 else f"{len(chosen)} warehouses")
        )
        view = self.view
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
            return grid_href(f, self.view, vendor=vendor, page=n)

        self.first_href = href(1) if f.page > 1 else ""
        self.previous_href = href(f.page - 1) if f.page > 1 else ""
        self.next_href = href(f.page + 1) if f.page < last else ""
        self.last_href = href(last) if f.page < last else ""

    def _clear(self) -> None:
        self._generation += 1
        self._filter = None
        self._watch_ids, self._marker = (), 0
        self.rows, self.runs, self.columns, self.sizes = [], [], [], []
        self.loaded = self.loading = self.can_edit = False
        self.summary = self.range_label = ""
        self._close_edit()
        self.drawer_open = False
        self._drawer_variant = 0

    # --- filter controls: each writes the URL, which reloads the page --------------------

    def _href(self, user: SessionUser, **changes: Any) -> str | None:
        if self._filter is None:
            return None
        return grid_href(self._filter, self.view, vendor=user.brand_scope is not None, **changes)

    @rx.event
    async def apply_search(self, form: SearchForm) -> Events:
        """Enter in the search box."""
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access or access.user is None:
            return access.refusal
        text = _clip(form.get("q"))
        try:
            href = self._href(access.user, search=text)
        except InvalidQuantity as error:
            return rx.toast.error(error.message)
        return rx.redirect(href) if href else None

    @rx.event
    async def set_filter(self, name: str, value: str) -> Events:
        """A picker changed (brand, category, colour, size, stock, view, page size)."""
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access or access.user is None:
            return access.refusal
        if self._filter is None:
            return None
        vendor = access.user.brand_scope is not None
        value = _clip(value)
        blank = value in ("", ANY)
        try:
            if name == "view":
                if value not in VIEWS:
                    return None
                return rx.redirect(grid_href(self._filter, value, vendor=vendor, page=1))
            if name == "brand":
                if vendor:
                    return None
                ids = () if blank else (int(value),)
                href = self._href(access.user, brand_ids=ids)
            elif name in ("category", "colour", "size"):
                href = self._href(access.user, **{name: None if blank else value})
            elif name == "stock":
                href = self._href(access.user, stock_state=value or "all")
            elif name == "per_page":
                href = self._href(access.user, page_size=int(value), page=1)
            else:
                return None
        except (InvalidQuantity, ValueError):
            return rx.toast.error("That filter value is not valid; the view did not change.")
        return rx.redirect(href) if href else None

    @rx.event
    async def toggle_warehouse(self, warehouse: str) -> Events:
        """Tick or untick one warehouse in the picker ("all": back to every active one)."""
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access or access.user is None:
            return access.refusal
        if self._filter is None:
            return None
        chosen = set(self._filter.warehouse_ids)
        if warehouse == ANY:
            chosen = set()
        else:
            try:
                wid = int(warehouse)
            except ValueError:
                return None
            chosen ^= {wid}
        try:
            href = self._href(access.user, warehouse_ids=tuple(sorted(chosen)))
        except InvalidQuantity as error:
            return rx.toast.error(error.message)
        return rx.redirect(href) if href else None

    @rx.event
    async def clear_filters(self) -> Events:
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access:
            return access.refusal
        return rx.redirect(f"{ROUTE}?view=sizes" if self.view == "sizes" else ROUTE)

    # --- export -------------------------------------------------------------------------

    @rx.event(background=True)
    async def export_csv(self) -> Events:
        """The filtered balances view as CSV (every page; formulas neutralised)."""
        async with self:
            access = await self.require_role(*ALL_ROLES, action="export stock")
            if not access or access.user is None:
                return access.refusal
            user = access.user
            if self._filter is None:
                return None
            # Re-apply the scope: a vendor's export is their brand, whatever was shown.
            f = self._filter
            if user.brand_scope is not None:
                f = replace(f, brand_ids=(user.brand_scope,))
            self.exporting = True
        try:
            text = await rx.run_in_thread(functools.partial(read_export, f))
        except DomainError as error:
            async with self:
                self.exporting = False
            return rx.toast.error("Nothing was exported.", description=error.message)
        except Exception:
            log.exception("stock grid: export failed")
            async with self:
                self.exporting = False
            return rx.toast.error("The export failed. Try again in a moment.")
        async with self:
            self.exporting = False
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        rows = max(0, text.count("\r\n") - 1)
        return [
            rx.download(data=text, filename=f"rackroom-stock-{stamp}.csv", mime_type="text/csv"),
            rx.toast.success(f"Exported {plural(rows, 'variant')} as CSV"),
        ]

    # --- corrections --------------------------------------------------------------------

    @rx.event
    async def open_correction(
        self, variant_id: int, warehouse_id: int, seen_on_hand: int
    ) -> Events:
        """Open the dialog for one balance; `seen_on_hand` is what the user was shown,
        the value the save compares against."""
        access = await self.require_role(*EDITORS, action="correct stock counts")
        if not access:
            return access.refusal
        found = self._find_balance(variant_id, warehouse_id)
        if found is None:
            return rx.toast.error("That row is not on this page any more. Refresh the grid.")
        sku, code = found
        self._close_edit()
        self._edit_variant, self._edit_warehouse = variant_id, warehouse_id
        self._edit_expected = max(0, int(seen_on_hand))
        self._edit_sku, self._edit_warehouse_code = sku, code
        self.edit_title = f"Correct {sku} at {code}"
        self.edit_seen = f"On hand now: {units(self._edit_expected)}."
        self.edit_count = str(self._edit_expected)
        self.edit_open = True
        return None

    def _find_balance(self, variant_id: int, warehouse_id: int) -> tuple[str, str] | None:
        codes = {c.id: c.code for c in self.columns}
        for row in self.rows:
            if row.variant_id == variant_id and warehouse_id in codes:
                return row.sku, codes[warehouse_id]
        if self.drawer_open and self._drawer_variant == variant_id:
            for balance in self.drawer_balances:
                if balance.warehouse_id == warehouse_id:
                    return self.drawer_sku, balance.warehouse
        return None

    @rx.event
    async def on_correction_change(self, open_: bool) -> Events:
        """Esc, Cancel or a click outside closes the dialog; nothing is saved."""
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access:
            return access.refusal
        if not open_:
            self._close_edit()
        return None

    def _close_edit(self) -> None:
        self.edit_open = self.saving = self.edit_stale = False
        self.edit_error = self.edit_title = self.edit_seen = self.edit_count = ""
        self._edit_variant = self._edit_warehouse = self._edit_expected = 0

    @rx.event
    async def save_correction(self, form: CorrectionForm) -> Events:
        """Compare-and-swap: set on hand from what the user saw to what they counted."""
        access = await self.require_role(*EDITORS, action="correct stock counts")
        if not access or access.user is None:
            return access.refusal
        if not self.edit_open or not self._edit_variant:
            return None
        count, problem = parse_count(str(form.get("count") or ""))
        reason = str(form.get("reason") or "count")
        if count is not None and reason not in REASON_LABELS:
            problem = "Pick a reason from the list."
        if count is None or problem:
            self.edit_error = problem
            return None
        self.edit_count = str(count)
        note = " ".join(str(form.get("note") or "").split())[:1000] or None
        expected = self._edit_expected
        if count == expected:
            self.edit_error = f"The count is already {units(count)}; there is nothing to save."
            return None
        self.saving = True
        try:
            await db_write(
                set_count,
                self._edit_variant,
                self._edit_warehouse,
                count,
                actor=access.user.email,
                expected_on_hand=expected,
                reason=reason,
                note=note,
                reference="stock grid",
            )
        except StaleCount as error:
            current = int(error.details.get("on_hand", expected))
            self.saving, self.edit_stale = False, True
            self._edit_expected = current
            self.edit_seen = f"On hand now: {units(current)} (it was {units(expected)})."
            self.edit_error = (
                f"Someone changed this count while you were editing: it is {units(current)} "
                f"on hand now, not {units(expected)}. Nothing was saved. Check the new "
                f"figure; save again to set it to {units(count)}."
            )
            await self._refresh_after_change(access.user)
            return None
        except (InsufficientStock, InvalidQuantity) as error:
            self.saving, self.edit_error = False, error.message
            return None
        except DomainError as error:
            self.saving, self.edit_error = False, error.message
            return None
        except Exception:
            log.exception("stock grid: correcting %s failed", self._edit_sku)
            self.saving, self.edit_error = False, UNEXPECTED
            return None
        log.info(
            "%s set %s at %s from %s to %s (%s)",
            access.user.email,
            self._edit_sku,
            self._edit_warehouse_code,
            expected,
            count,
            reason,
        )
        message = (
            f"{self._edit_sku} at {self._edit_warehouse_code}: on hand "
            f"{units(expected)} → {units(count)} ({REASON_LABELS[reason].lower()})"
        )
        self._close_edit()
        await self._refresh_after_change(access.user)
        return rx.toast.success("Count saved", description=message)

    async def _refresh_after_change(self, user: SessionUser) -> None:
        """Re-read the page (and the open drawer) after a write from this tab."""
        if self._filter is None:
            return
        request = GridRequest(self._filter, self.view, self._notes, self._scope)
        try:
            result = await rx.run_in_thread(functools.partial(read_grid, request))
        except Exception:
            log.exception("stock grid: refresh after a correction failed")
            return
        self._show(user, result, keep_notes=True)
        if self.drawer_open and self._drawer_variant:
            await self._fetch_drawer(self._drawer_variant, user, self._ledger_before())

    # --- the variant drawer -------------------------------------------------------------

    @rx.event
    async def open_variant(self, variant_id: int) -> Events:
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access or access.user is None:
            return access.refusal
        self._ledger_cursors = []
        self.drawer_open = True
        self.drawer_loading = True
        self._drawer_variant = self.drawer_variant = int(variant_id)
        self.drawer_sku = self.drawer_title = ""
        await self._fetch_drawer(int(variant_id), access.user, None)
        return None

    def _ledger_before(self) -> int | None:
        return self._ledger_cursors[-1] if self._ledger_cursors else None

    async def _fetch_drawer(self, variant_id: int, user: SessionUser, before: int | None) -> None:
        scope = (user.brand_scope,) if user.brand_scope is not None else ()
        try:
            found = await rx.run_in_thread(
                functools.partial(read_drawer, variant_id, scope, before)
            )
        except Exception:
            log.exception("stock grid: reading variant %s failed", variant_id)
            self.drawer_loading = False
            self.drawer_error = "This variant could not be read. Close and try again."
            return
        self._show_drawer(found)

    def _show_drawer(self, found: DrawerResult) -> None:
        detail = found.detail
        self.drawer_loading = False
        self._drawer_marker = found.marker
        if detail is None:
            self.drawer_error = "No such variant here. It may belong to a brand you can't see."
            self.drawer_sku = self.drawer_title = ""
            self.drawer_facts, self.drawer_aliases, self.drawer_balances = [], [], []
            self.drawer_reservations, self.drawer_ledger = [], []
            self.ledger_has_older = self.ledger_has_newer = False
            self.ledger_label = ""
            return
        self.drawer_error = ""
        self.drawer_sku = detail.sku
        self.drawer_title = f"{detail.product_name} · {detail.colour} · {detail.size}"
        facts = [
            ("Brand", f"{detail.brand_name} ({detail.brand_code})"),
            ("Style", detail.style_code),
            ("Category", detail.category or "—"),
            ("Colour", detail.colour or "—"),
            ("Size", f"{detail.size} ({detail.size_system.replace('_', ' ')})"),
            ("Barcode", detail.barcode or "—"),
            ("Price", f"{detail.price_cents / 100:,.2f}" if detail.price_cents else "—"),
        ]
        facts += [(str(k).title(), _attribute(v)) for k, v in sorted(detail.attributes.items())]
        self.drawer_facts = [Fact(label, value) for label, value in facts]
        self.drawer_aliases = [Fact(kind, code) for kind, code in detail.aliases]
        self.drawer_balances = [
            DrawerBalance(
                warehouse_id=b.warehouse_id,
                warehouse=b.warehouse,
                on_hand_count=b.on_hand,
                on_hand=units(b.on_hand),
                reserved=units(b.reserved),
                available=units(b.available),
                incoming=units(b.incoming),
                state=stock_state_of(b.available),
                updated=relative_time(b.updated_at, never="—"),
                updated_exact=exact_time(b.updated_at),
                edit_label=f"Correct {detail.sku} at {b.warehouse}",
            )
            for b in detail.balances
        ]
        self.drawer_reservations = [
            ReservationItem(
                warehouse=r.warehouse,
                qty=units(r.qty),
                channel=r.channel,
                order_ref=r.order_ref,
                expires=time_until(r.expires_at),
                expires_exact=exact_time(r.expires_at),
            )
            for r in detail.reservations
        ]
        self.drawer_ledger = [ledger_item(line) for line in found.lines]
        self.ledger_has_older = found.more
        self.ledger_has_newer = bool(self._ledger_cursors)
        shown = len(self._ledger_cursors) * LEDGER_PAGE_SIZE
        self.ledger_label = (
            f"{shown + 1:,}–{shown + len(found.lines):,}, newest first"
            if found.lines
            else "No changes recorded yet"
        )

    @rx.event
    async def ledger_older(self) -> Events:
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access or access.user is None:
            return access.refusal
        if not self.drawer_open or not self.drawer_ledger or not self.ledger_has_older:
            return None
        self._ledger_cursors = [*self._ledger_cursors, self.drawer_ledger[-1].id]
        await self._fetch_drawer(self._drawer_variant, access.user, self._ledger_before())
        return None

    @rx.event
    async def ledger_newer(self) -> Events:
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access or access.user is None:
            return access.refusal
        if not self.drawer_open or not self._ledger_cursors:
            return None
        self._ledger_cursors = self._ledger_cursors[:-1]
        await self._fetch_drawer(self._drawer_variant, access.user, self._ledger_before())
        return None

    @rx.event
    async def on_drawer_change(self, open_: bool) -> Events:
        access = await self.require_role(*ALL_ROLES, action="see stock")
        if not access:
            return access.refusal
        if not open_:
            self.drawer_open = False
            self._drawer_variant = self.drawer_variant = 0
            self._ledger_cursors = []
        return None


def _attribute(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)
