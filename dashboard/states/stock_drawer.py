"""The stock grid's variant drawer (a mixin of `StockState`): one variant's facts,
balances, open reservations and paged history.

The drawer belongs to the grid it was opened from: a new page load (another address,
another filter, coming back from elsewhere) closes it, and so does leaving through its
"Add to transfer" link, so it never reappears over an unrelated grid.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from datetime import UTC, datetime

import reflex as rx

from dashboard.formatting import exact_time, units
from dashboard.items import Moment, figures_of
from dashboard.routes import product_href
from dashboard.states.auth import SessionUser, requires, signed_in_user
from dashboard.states.stock_correction import REASON_LABELS
from dashboard.states.stock_filters import Events
from models.db import read_session
from models.grid import stock_state_of
from models.stock_view import (
    LEDGER_PAGE_SIZE,
    LedgerLine,
    VariantDetail,
    ledger_marker,
    ledger_page,
    variant_detail,
)

log = logging.getLogger(__name__)

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
    "import_revert": "Import reverted",
    "sync": "Sync",
}


@dataclasses.dataclass
class Fact:
    label: str
    value: str


@dataclasses.dataclass
class DrawerBalance:
    warehouse_id: int
    warehouse: str
    on_hand_count: int
    on_hand: str
    reserved: str
    available: str
    incoming: str
    state: str
    updated: Moment
    edit_label: str


@dataclasses.dataclass
class ReservationItem:
    warehouse: str
    qty: str
    channel: str
    order_ref: str
    expires: Moment


@dataclasses.dataclass
class LedgerItem:
    id: int
    when: Moment
    warehouse: str
    change: str
    tone: str
    reason: str
    reference: str
    actor: str
    note: str


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
    """One history line: the change in words, green for in and red for out."""
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
        when=Moment.of(line.created_at),
        warehouse=line.warehouse,
        change=", ".join(parts) or "no change",
        tone="green" if main > 0 else ("red" if main < 0 else "gray"),
        reason=LEDGER_REASON_LABELS.get(line.reason, line.reason),
        reference=line.reference or "",
        actor=line.actor,
        note=line.note or "",
    )


def _attribute(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def facts_of(detail: VariantDetail) -> list[Fact]:
    """The drawer's "Details": catalogue facts, then the variant's own attributes."""
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
    return [Fact(label, value) for label, value in facts]


@dataclasses.dataclass(frozen=True)
class DrawerResult:
    detail: VariantDetail | None
    lines: list[LedgerLine]
    more: bool
    #: The variant's newest ledger id when read (what the live refresh compares).
    marker: int = 0


def read_drawer(variant_id: int, brand_ids: tuple[int, ...], before_id: int | None) -> DrawerResult:
    """A variant (within `brand_ids`, when given) and one page of its history."""
    with read_session() as session:
        detail = variant_detail(session, variant_id, brand_ids)
        if detail is None:
            return DrawerResult(None, [], False)
        lines, more = ledger_page(
            session, variant_id, before_id=before_id, limit=LEDGER_PAGE_SIZE, brand_ids=brand_ids
        )
        return DrawerResult(detail, lines, more, ledger_marker(session, (variant_id,)))


class VariantDrawer(rx.State, mixin=True):
    """The open variant and what the drawer shows of it."""

    drawer_open: bool = False
    drawer_variant: int = 0
    drawer_loading: bool = False
    drawer_error: str = ""
    drawer_sku: str = ""
    drawer_title: str = ""
    #: The variant's product page.
    drawer_product_href: str = ""
    drawer_facts: list[Fact] = []
    drawer_aliases: list[Fact] = []
    drawer_balances: list[DrawerBalance] = []
    drawer_reservations: list[ReservationItem] = []
    drawer_ledger: list[LedgerItem] = []
    ledger_has_older: bool = False
    ledger_has_newer: bool = False
    ledger_label: str = ""

    _drawer_variant: int = 0
    _drawer_marker: int = 0
    #: The history pages above the one shown: each the id the page starts before.
    _ledger_cursors: list[int] = []

    @rx.event
    @requires("stock.read")
    async def open_variant(self, variant_id: int) -> Events:
        self._ledger_cursors = []
        self.drawer_open = True
        self.drawer_loading = True
        self._drawer_variant = self.drawer_variant = int(variant_id)
        self.drawer_sku = self.drawer_title = ""
        await self._fetch_drawer(int(variant_id), signed_in_user(), None)
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
        self.drawer_product_href = product_href(detail.product_id)
        self.drawer_facts = facts_of(detail)
        self.drawer_aliases = [Fact(kind, code) for kind, code in detail.aliases]
        self.drawer_balances = [
            DrawerBalance(
                warehouse_id=b.warehouse_id,
                warehouse=b.warehouse,
                on_hand_count=b.on_hand,
                **figures_of(b),
                state=stock_state_of(b.available),
                updated=Moment.of(b.updated_at, never="—"),
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
                expires=Moment(time_until(r.expires_at), exact_time(r.expires_at)),
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

    def _drawer_balance(self, variant_id: int, warehouse_id: int) -> tuple[str, str] | None:
        """(SKU, warehouse code) of a balance the open drawer shows."""
        if self.drawer_open and self._drawer_variant == variant_id:
            for balance in self.drawer_balances:
                if balance.warehouse_id == warehouse_id:
                    return self.drawer_sku, balance.warehouse
        return None

    async def _page_ledger(self, cursors: list[int]) -> None:
        self._ledger_cursors = cursors
        await self._fetch_drawer(self._drawer_variant, signed_in_user(), self._ledger_before())

    @rx.event
    @requires("stock.read")
    async def ledger_older(self) -> Events:
        if self.drawer_open and self.drawer_ledger and self.ledger_has_older:
            await self._page_ledger([*self._ledger_cursors, self.drawer_ledger[-1].id])
        return None

    @rx.event
    @requires("stock.read")
    async def ledger_newer(self) -> Events:
        if self.drawer_open and self._ledger_cursors:
            await self._page_ledger(self._ledger_cursors[:-1])
        return None

    @rx.event
    @requires("stock.read")
    async def on_drawer_change(self, open_: bool) -> Events:
        """Esc, the close button, a click outside, or leaving through "Add to transfer"."""
        if not open_:
            self._close_drawer()
        return None

    def _close_drawer(self) -> None:
        self.drawer_open = False
        self._drawer_variant = self.drawer_variant = 0
        self._ledger_cursors = []
