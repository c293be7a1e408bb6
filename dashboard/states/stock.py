"""Stock grid (`/stock`): filtered, sorted, paged balances and size runs; corrections;
the variant drawer; live refresh; CSV export.

`StockState` is one browser tab's grid, put together from mixins along the page's
seams: the filter and pager (`stock_filters`), the correction dialog
(`stock_correction`) and the variant drawer (`stock_drawer`); the rows of the two
views are formatted in `stock_balances` and `stock_sizes`. This module reads the
database (off the event loop), loads the page the URL asks for, keeps it live and
exports it. The state holds one page of rows, already formatted. Every handler
re-checks the session and its permission on the server.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import reflex as rx

from dashboard.api.exports import STOCK_EXPORT_MAX_ROWS, download, stock_export_href
from dashboard.formatting import plural
from dashboard.states.auth import RoleGuard, SessionUser, requires, signed_in_user
from dashboard.states.live import LiveFollow, Watch, follow
from dashboard.states.stock_balances import BalanceItem, Column, StockCell, balance_items
from dashboard.states.stock_bulk import BULK_EDIT_JS, BulkEdit, BulkLine
from dashboard.states.stock_correction import (
    REASON_CHOICES,
    REASON_LABELS,
    CorrectionDialog,
    CorrectionForm,
    parse_count,
)
from dashboard.states.stock_drawer import (
    DrawerBalance,
    DrawerResult,
    Fact,
    LedgerItem,
    ReservationItem,
    VariantDrawer,
    ledger_item,
    read_drawer,
    time_until,
)
from dashboard.states.stock_filters import (
    ANY,
    PAGE_SIZES,
    ROUTE,
    STOCK_CHOICES,
    VIEWS,
    Events,
    GridRequest,
    SearchForm,
    StockFilters,
    grid_href,
    parse_request,
)
from dashboard.states.stock_sizes import RunItem, SizeCell, heat_level, run_items
from models.db import read_session
from models.errors import DomainError, InvalidQuantity
from models.grid import (
    LOW_STOCK_THRESHOLD,
    BalanceGridPage,
    GridFilter,
    SizeRunPage,
    balance_grid,
    export_row_count,
    size_run_grid,
)
from models.policy import allows
from models.stock_view import GridChoices, grid_choices, ledger_marker, run_variant_ids

__all__ = [
    "ANY",
    "LOW_STOCK_THRESHOLD",
    "PAGE_SIZES",
    "REASON_CHOICES",
    "REASON_LABELS",
    "ROUTE",
    "STOCK_CHOICES",
    "VIEWS",
    "BalanceItem",
    "BulkLine",
    "Column",
    "CorrectionForm",
    "DrawerBalance",
    "Fact",
    "GridRequest",
    "GridResult",
    "LedgerItem",
    "ReservationItem",
    "RunItem",
    "SearchForm",
    "SizeCell",
    "StockCell",
    "StockState",
    "grid_href",
    "heat_level",
    "ledger_item",
    "parse_count",
    "parse_request",
    "read_grid",
    "time_until",
]

log = logging.getLogger(__name__)

CHOICES_TTL_S = 60.0


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


@dataclasses.dataclass(frozen=True)
class _GridWatch:
    """What the live refresh checks: the shown page's request, variants and ledger
    marker, and the open drawer's (0: none)."""

    request: GridRequest
    ids: tuple[int, ...]
    marker: int
    drawer: int
    drawer_marker: int
    before: int | None


@dataclasses.dataclass(frozen=True)
class _GridFresh:
    result: GridResult
    drawer: int
    drawn: DrawerResult | None


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


def read_export_size(f: GridFilter) -> int:
    """The rows an export of `f` holds (DomainError when too many to export)."""
    with read_session() as session:
        return export_row_count(session, replace(f, page=1), max_rows=STOCK_EXPORT_MAX_ROWS)


# --- the state ------------------------------------------------------------------------------


class StockState(
    RoleGuard, LiveFollow, StockFilters, CorrectionDialog, BulkEdit, VariantDrawer, rx.State
):
    """The stock grid of one browser tab: one page of rows, the filter it came from."""

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
    exporting: bool = False

    # backend only (never sent to the browser)
    _watch_ids: tuple[int, ...] = ()
    _marker: int = 0
    _notes: tuple[str, ...] = ()
    _scope: tuple[int, ...] = ()

    # --- loading ------------------------------------------------------------------------

    @rx.event(background=True, supersedes=True)
    async def load(self) -> Events:
        """on_load: read the URL, fetch one page off the event loop, then watch it.

        A load is a new grid (another address or filter, or coming back to the page):
        the drawer and the dialog of the one before close, and bulk edit's unsaved
        edits are dropped (the mode itself stays on, its script sent again)."""
        async with self:
            access = await self.require("stock.read")
            if not access or access.user is None:
                self._clear()
                return access.page_refusal
            user = access.user
            request = parse_request(self.router.url.query_parameters, user.brand_scope)
            generation = self._next_generation()
            self._close_edit()
            # Bulk edit stays on from page to page (its unsaved edits do not).
            keep_bulk = self.bulk_on and request.view == "balances"
            self._close_bulk()
            self.bulk_on = keep_bulk and allows(user.role, "stock.correct")
            self._close_drawer()
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
            script = [rx.call_script(BULK_EDIT_JS)] if self.bulk_on else []
        return [StockState.watch(generation), *script]

    @rx.event(background=True, supersedes=True)
    async def watch(self, generation: int) -> Events:
        """Live refresh while the page is open (`dashboard/states/live.py`): when told a
        shown variant changed (PostgreSQL) or every couple of seconds (SQLite), ask
        whether the shown variants' ledger moved (one indexed read), and refetch the page
        (and the open drawer) only when it did. Ends when another page or filter loads,
        the tab goes away, or the session ends."""
        return await follow(self, generation, route=ROUTE, permission="stock.read")

    def _live_watch(self) -> Watch | None:
        f = self._filter
        if f is None:
            return None
        drawer = self._drawer_variant if self.drawer_open else 0
        return Watch(
            "stock",
            (*self._watch_ids, drawer),
            _GridWatch(
                GridRequest(f, self.view, self._notes, self._scope),
                self._watch_ids,
                self._marker,
                drawer,
                self._drawer_marker,
                self._ledger_before(),
            ),
        )

    async def _live_read(self, token: _GridWatch) -> _GridFresh | None:
        ids, drawer = token.ids, token.drawer
        grid_moved = await rx.run_in_thread(functools.partial(read_marker, ids)) != token.marker
        drawer_moved = bool(drawer) and (
            await rx.run_in_thread(functools.partial(read_marker, (drawer,)))
            != token.drawer_marker
        )
        if not grid_moved and not drawer_moved:
            return None
        result = await rx.run_in_thread(functools.partial(read_grid, token.request))
        drawn = None
        if drawer:
            drawn = await rx.run_in_thread(
                functools.partial(read_drawer, drawer, token.request.scope, token.before)
            )
        return _GridFresh(result, drawer, drawn)

    def _live_show(self, fresh: _GridFresh, user: SessionUser) -> None:
        self._show(user, fresh.result, keep_notes=True)
        if fresh.drawn is not None and self.drawer_open and self._drawer_variant == fresh.drawer:
            self._show_drawer(fresh.drawn)

    def _live_refused(self) -> None:
        self._clear()

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
        self.can_edit = allows(user.role, "stock.correct")
        self.is_vendor = vendor
        self.scope_label = (
            f"{user.brand_name} stock in every warehouse and store."
            if vendor
            else "Every brand's stock, by variant and warehouse."
        )
        self._mark_live()
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

    def _clear(self) -> None:
        self._next_generation()
        self._filter = None
        self._watch_ids, self._marker = (), 0
        self.rows, self.runs, self.columns, self.sizes = [], [], [], []
        self.loaded = self.loading = self.can_edit = False
        self.summary = self.range_label = ""
        self._close_edit()
        self._close_bulk()
        self._close_drawer()

    # --- export -------------------------------------------------------------------------

    @rx.event(background=True)
    @requires("stock.export", background=True)
    async def export_csv(self) -> Events:
        """The filtered balances view as CSV: every page, formulas neutralised, streamed
        by `dashboard/api/exports/` (the link carries the filter; the endpoint checks
        the session and puts a vendor's brand back itself)."""
        user = signed_in_user()
        async with self:
            if self._filter is None:
                return None
            f = self._filter
            if user.brand_scope is not None:
                f = replace(f, brand_ids=(user.brand_scope,))
            self.exporting = True
        try:
            rows = await rx.run_in_thread(functools.partial(read_export_size, f))
        except DomainError as error:
            return rx.toast.error("Nothing was exported.", description=error.message)
        except Exception:
            log.exception("stock grid: export failed")
            return rx.toast.error("The export failed. Try again in a moment.")
        finally:
            async with self:
                self.exporting = False
        return [
            download(stock_export_href(f)),
            rx.toast.success(f"Exporting {plural(rows, 'variant')} as CSV"),
        ]

    async def _refetch(self) -> None:
        """After a bulk edit's save (`DialogState._attempt`)."""
        await self._refresh_after_change(signed_in_user())

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
