"""Transfers: the list (status in the URL), the new-transfer dialog, one transfer's detail
with its timeline and actions, its pick list, and suggested rebalancing moves.

Every handler re-checks the caller's role on the server first (`RoleGuard`); the domain
(`models.transfers`) checks again and keeps the state machine's rules. Merchandisers
create, submit, ship and receive; managers and admins approve; vendors get nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TypedDict
from urllib.parse import urlencode

import reflex as rx
from sqlalchemy import select
from sqlmodel import Session

from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.auth import RoleGuard
from dashboard.states.listing import (
    Choice,
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
    query_param,
)
from dashboard.states.sidebar import SidebarState
from models.base import utcnow
from models.catalog import Brand, Warehouse, brand_by_code, variant_by_sku
from models.errors import DomainError, InvalidQuantity, NotFound
from models.transfer_suggestions import (
    SuggestedMove,
    create_suggested_transfers,
    suggest_transfers,
)
from models.transfers import (
    CANCELLABLE,
    LineInput,
    ReceiptLine,
    TransferStatus,
    approve_transfer,
    cancel_transfer,
    create_transfer,
    list_transfers,
    pick_list,
    receive_transfer,
    ship_transfer,
    submit_transfer,
    transfer_counts,
    transfer_detail,
    transfer_timeline,
)
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/transfers"
DETAIL_ROUTE = "/transfers/detail"
PICK_ROUTE = "/transfers/pick"
SUGGEST_ROUTE = "/transfers/suggest"

#: Who may open the transfer pages at all (vendors may not).
VIEWERS = (Role.ADMIN, Role.MERCHANDISER, Role.MANAGER)
#: Who may draft, submit, ship and receive.
MOVERS = (Role.ADMIN, Role.MERCHANDISER)
#: Who may approve.
APPROVERS = (Role.ADMIN, Role.MANAGER)
ANY_STATUS = "all"
STATUS_LABELS: dict[str, str] = {
    TransferStatus.DRAFT.value: "Draft",
    TransferStatus.REQUESTED.value: "Waiting for approval",
    TransferStatus.APPROVED.value: "Approved",
    TransferStatus.IN_TRANSIT.value: "In transit",
    TransferStatus.RECEIVED.value: "Received",
    TransferStatus.CANCELLED.value: "Cancelled",
}
STATUS_COLORS: dict[str, str] = {
    "draft": "gray",
    "requested": "amber",
    "approved": "blue",
    "in_transit": "indigo",
    "received": "green",
    "cancelled": "red",
}
ACTION_LABELS: dict[str, str] = {
    "created": "Drafted",
    "lines_changed": "Lines changed",
    "submitted": "Submitted for approval",
    "approved": "Approved",
    "shipped": "Shipped",
    "partially_received": "Partly received",
    "received": "Received",
    "cancelled": "Cancelled",
}
UNEXPECTED = "Something went wrong and nothing was changed. Try again in a moment."
MAX_LINES = 200


# --- reading and writing (blocking; run through db_read / db_write) ----------------------


_LINE = re.compile(r"^\s*(?P<sku>[^\s,;×]+)\s*(?:[,;×xX*]\s*|\s+)(?P<qty>[-+]?\d+)\s*$")


def parse_lines(text: str) -> list[tuple[str, int]]:
    """ "SKU qty" per line (also "SKU, qty", "SKU × qty") → [(sku, qty)], in order.

    Refuses, naming the line: a line without a quantity, a zero or negative quantity,
    the same SKU twice, no lines, too many lines.
    """
    parsed: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _LINE.match(raw)
        if match is None:
            raise InvalidQuantity(
                f"Line {number} ({raw.strip()[:60]!r}) needs a SKU and a quantity, "
                "like NORTH-NW-30 5.",
                field="lines",
            )
        sku, qty = match["sku"], int(match["qty"])
        if qty <= 0:
            raise InvalidQuantity(
                f"Line {number}: {sku} has quantity {qty}; quantities must be 1 or more.",
                field="lines",
            )
        key = sku.upper()
        if key in seen:
            raise InvalidQuantity(
                f"{sku} is on lines {seen[key]} and {number}; put it on one line with the "
                "total quantity.",
                field="lines",
            )
        seen[key] = number
        parsed.append((sku, qty))
    if not parsed:
        raise InvalidQuantity("Add at least one line: a SKU and a quantity.", field="lines")
    if len(parsed) > MAX_LINES:
        raise InvalidQuantity(f"At most {MAX_LINES} lines per transfer.", field="lines")
    return parsed


def _warehouse_id(session: Session, value: str, role: str) -> int:
    try:
        warehouse_id = int(value)
    except (TypeError, ValueError):
        raise InvalidQuantity(f"Pick the {role} warehouse.", field=role) from None
    if session.get(Warehouse, warehouse_id) is None:
        raise NotFound(f"Pick the {role} warehouse again; that one no longer exists.")
    return warehouse_id


def create_from_form(
    session: Session, *, source: str, dest: str, lines: str, note: str, actor_id: int
) -> int:
    """Resolve the form's SKUs and create the draft; returns its id."""
    source_id = _warehouse_id(session, source, "source")
    dest_id = _warehouse_id(session, dest, "destination")
    parsed = parse_lines(lines)
    resolved: list[LineInput] = []
    seen: dict[int, str] = {}
    for sku, qty in parsed:
        try:
            variant = variant_by_sku(session, sku)
        except NotFound:
            raise NotFound(f"No variant with SKU, alias or barcode {sku}.", sku=sku) from None
        assert variant.id is not None
        if variant.id in seen:
            raise InvalidQuantity(
                f"{sku} and {seen[variant.id]} are the same variant ({variant.sku}); put it on "
                "one line.",
                field="lines",
            )
        seen[variant.id] = sku
        resolved.append(LineInput(variant.id, qty))
    transfer = create_transfer(
        session,
        source_warehouse_id=source_id,
        dest_warehouse_id=dest_id,
        lines=resolved,
        actor_id=actor_id,
        note=note,
    )
    assert transfer.id is not None
    return transfer.id


def warehouse_choices(session: Session) -> list[tuple[str, str]]:
    """(id, "CODE · name") of active warehouses, by code."""
    rows = session.execute(
        select(Warehouse.id, Warehouse.code, Warehouse.name)
        .where(Warehouse.is_active.is_(True))
        .order_by(Warehouse.code)
    )
    return [(str(i), f"{code} · {name}") for i, code, name in rows]


# --- rows ready to show -------------------------------------------------------------------


@dataclasses.dataclass
class TransferItem:
    id: int = 0
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    route: str = ""
    lines: str = ""
    units: str = ""
    created_by: str = ""
    created: str = ""
    created_exact: str = ""
    updated: str = ""
    updated_exact: str = ""
    note: str = ""
    href: str = ""


@dataclasses.dataclass
class StatusTab:
    value: str = ""
    label: str = ""
    count: str = ""
    href: str = ""


@dataclasses.dataclass
class LineItem:
    variant_id: int = 0
    sku: str = ""
    product: str = ""
    colour: str = ""
    size: str = ""
    qty: str = ""
    received: str = ""
    damaged: str = ""
    short: str = ""
    outstanding: int = 0
    source_available: str = ""
    short_of_stock: bool = False


@dataclasses.dataclass
class EventItem:
    label: str = ""
    actor: str = ""
    when: str = ""
    exact: str = ""
    note: str = ""
    color: str = "gray"


@dataclasses.dataclass
class PickItem:
    sku: str = ""
    barcode: str = ""
    product: str = ""
    colour: str = ""
    size: str = ""
    qty: str = ""
    on_hand: str = ""


@dataclasses.dataclass
class MoveItem:
    key: str = ""
    sku: str = ""
    product: str = ""
    colour: str = ""
    size: str = ""
    route: str = ""
    qty: str = ""
    from_velocity: str = ""
    to_velocity: str = ""
    from_cover: str = ""
    to_cover: str = ""
    selected: bool = True


def _status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def _href(status: str) -> str:
    return f"{ROUTE}?{urlencode({'status': status})}" if status != ANY_STATUS else ROUTE


class NewTransferForm(TypedDict, total=False):
    source: str
    dest: str
    lines: str
    note: str


class TransfersState(RoleGuard, PagedList, rx.State):
    """/transfers: the list and the new-transfer dialog."""

    transfers: list[TransferItem] = []
    tabs: list[StatusTab] = []
    status_filter: str = ANY_STATUS
    loaded: bool = False
    load_error: str = ""
    can_create: bool = False

    dialog: str = ""
    warehouses: list[Choice] = []
    form_source: str = ""
    form_dest: str = ""
    form_lines: str = ""
    form_error: str = ""
    saving: bool = False

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        what = plural(self.total, "transfer")
        if self.status_filter == ANY_STATUS:
            return what
        return f"{what} · {_status_label(self.status_filter).lower()}"

    @rx.event
    async def load(self):
        """on_load: status and page come from the URL; ?new=1&sku=A,B opens the dialog
        with those SKUs (the stock grid's "Add to transfer")."""
        access = await self.require_role(*VIEWERS, action="see transfers")
        if not access:
            self._clear()
            return access.page_refusal
        params = self.router.url.query_parameters
        status = query_param(params, "status")
        self.status_filter = status if status in STATUS_LABELS else ANY_STATUS
        self.can_create = access.user.role in MOVERS
        self.dialog = ""
        await self._fetch(page_number(params))
        skus = [s for s in query_param(params, "sku").split(",") if s.strip()]
        if query_param(params, "new") and self.can_create:
            await self._open_new("\n".join(f"{s.strip()} 1" for s in skus[:MAX_LINES]))
        return None

    async def _fetch(self, page: int) -> None:
        status = None if self.status_filter == ANY_STATUS else self.status_filter
        try:
            found = await db_read(fetch_page, list_transfers, page, status=status)
            counts = await db_read(transfer_counts)
        except Exception:
            log.exception("transfers: reading the list failed")
            self.load_error = "The transfers could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.transfers = [
            TransferItem(
                id=row.id,
                status=row.status,
                status_label=_status_label(row.status),
                color=STATUS_COLORS.get(row.status, "gray"),
                route=f"{row.source_code} → {row.dest_code}",
                lines=plural(row.lines, "line"),
                units=units(row.units),
                created_by=row.created_by,
                created=relative_time(row.created_at),
                created_exact=exact_time(row.created_at),
                updated=relative_time(row.updated_at),
                updated_exact=exact_time(row.updated_at),
                note=row.note,
                href=f"{DETAIL_ROUTE}?id={row.id}",
            )
            for row in found.rows
        ]
        total = sum(counts.by_status.values())
        self.tabs = [StatusTab(ANY_STATUS, "All", units(total), ROUTE)] + [
            StatusTab(s, label, units(counts.by_status.get(s, 0)), _href(s))
            for s, label in STATUS_LABELS.items()
        ]
        status_param = "" if self.status_filter == ANY_STATUS else self.status_filter
        self._show_paging(found, ROUTE, {"status": status_param})
        self.loaded = True

    def _clear(self) -> None:
        self.transfers = []
        self.tabs = []
        self.loaded = False
        self.can_create = False
        self.total = 0
        self.range_label = self.previous_href = self.next_href = ""
        self._close()

    def _close(self) -> None:
        self.dialog = ""
        self.form_error = ""
        self.saving = False

    @rx.event
    async def filter_status(self, status: str):
        access = await self.require_role(*VIEWERS, action="see transfers")
        if not access:
            return access.refusal
        return rx.redirect(_href(status if status in STATUS_LABELS else ANY_STATUS))

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self._close()

    @rx.event
    def set_form_source(self, value: str) -> None:
        self.form_source = value

    @rx.event
    def set_form_dest(self, value: str) -> None:
        self.form_dest = value

    async def _open_new(self, lines: str = "") -> None:
        self._close()
        self.warehouses = [Choice(v, label) for v, label in await db_read(warehouse_choices)]
        self.form_source = (
            self.form_source if any(c.value == self.form_source for c in self.warehouses) else ""
        )
        self.form_dest = ""
        self.form_lines = lines
        self.dialog = "create"

    @rx.event
    async def open_create(self):
        access = await self.require_role(*MOVERS, action="create transfers")
        if not access:
            return access.refusal
        await self._open_new()
        return None

    @rx.event
    async def create(self, form: NewTransferForm):
        access = await self.require_role(*MOVERS, action="create transfers")
        if not access:
            return access.refusal
        self.form_lines = str(form.get("lines") or "")
        self.saving = True
        try:
            transfer_id = await db_write(
                create_from_form,
                source=self.form_source,
                dest=self.form_dest,
                lines=self.form_lines,
                note=str(form.get("note") or ""),
                actor_id=access.user.id,
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("transfers: creating a transfer failed")
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s drafted transfer %s", access.user.email, transfer_id)
        self._close()
        return [
            rx.toast.success(
                f"Transfer #{transfer_id} drafted",
                description="Check the lines, then submit it for approval.",
            ),
            rx.redirect(f"{DETAIL_ROUTE}?id={transfer_id}"),
        ]


# --- one transfer ---------------------------------------------------------------------------


class ReceiptForm(TypedDict, total=False):
    keep_open: str
    note: str


def _form_int(form: dict, name: str) -> int:
    raw = str(form.get(name, "") or "").strip()
    if raw == "":
        return 0
    try:
        return int(raw)
    except ValueError:
        raise InvalidQuantity(f"{raw!r} is not a whole number.", field=name) from None


class TransferDetailState(RoleGuard, rx.State):
    """/transfers/detail?id=N: lines, timeline and the actions the caller may take."""

    transfer_id: int = 0
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    source: str = ""
    dest: str = ""
    note: str = ""
    created_by: str = ""
    requested_by: str = ""
    approved_by: str = ""
    total_units: str = ""
    lines: list[LineItem] = []
    timeline: list[EventItem] = []
    role: str = ""
    loaded: bool = False
    load_error: str = ""
    dialog: str = ""
    form_error: str = ""
    saving: bool = False

    @rx.var
    def title(self) -> str:
        return f"Transfer #{self.transfer_id}" if self.transfer_id else "Transfer"

    @rx.var
    def can_submit(self) -> bool:
        return self.status == "draft" and self.role in MOVERS

    @rx.var
    def can_approve(self) -> bool:
        return self.status == "requested" and self.role in APPROVERS

    @rx.var
    def can_ship(self) -> bool:
        return self.status == "approved" and self.role in MOVERS

    @rx.var
    def can_receive(self) -> bool:
        return self.status == "in_transit" and self.role in MOVERS

    @rx.var
    def can_cancel(self) -> bool:
        return self.status in {s.value for s in CANCELLABLE} and self.role in VIEWERS

    @rx.var
    def next_step(self) -> str:
        """Who acts next, for whoever cannot."""
        return {
            "draft": "A merchandiser submits it for approval.",
            "requested": "Waiting for a manager to approve it (not the person who raised it).",
            "approved": "Approved: a merchandiser at the source picks and ships it.",
            "in_transit": "On its way: a merchandiser at the destination books the receipt.",
            "received": "Received: the stock is in the destination's on hand.",
            "cancelled": "Cancelled: nothing moved.",
        }.get(self.status, "")

    @rx.var
    def pick_href(self) -> str:
        return f"{PICK_ROUTE}?id={self.transfer_id}"

    @rx.event
    async def load(self):
        access = await self.require_role(*VIEWERS, action="see transfers")
        if not access:
            self._clear()
            return access.page_refusal
        self.role = access.user.role
        self.dialog = ""
        try:
            self.transfer_id = int(query_param(self.router.url.query_parameters, "id"))
        except ValueError:
            self.transfer_id = 0
        await self._fetch()
        return None

    def _clear(self) -> None:
        self.transfer_id = 0
        self.status = self.role = ""
        self.lines = []
        self.timeline = []
        self.loaded = False
        self.dialog = self.form_error = ""
        self.saving = False

    async def _fetch(self) -> None:
        try:
            detail = await db_read(transfer_detail, self.transfer_id)
            timeline = await db_read(transfer_timeline, self.transfer_id)
        except NotFound:
            self.load_error = (
                f"There is no transfer #{self.transfer_id}. Go back to the list and pick one."
            )
            self.status, self.lines, self.timeline, self.loaded = "", [], [], True
            return
        except Exception:
            log.exception("transfers: reading transfer %s failed", self.transfer_id)
            self.load_error = "The transfer could not be read. Refresh to try again."
            return
        row = detail.transfer
        self.load_error = ""
        self.status = row.status
        self.status_label = _status_label(row.status)
        self.color = STATUS_COLORS.get(row.status, "gray")
        self.source = f"{row.source_code} · {detail.source_name}"
        self.dest = f"{row.dest_code} · {detail.dest_name}"
        self.note = row.note
        self.created_by = row.created_by
        self.requested_by = detail.requested_by
        self.approved_by = detail.approved_by
        self.total_units = plural(row.units, "unit")
        shipped = row.status in ("in_transit", "received")
        self.lines = [
            LineItem(
                variant_id=x.variant_id,
                sku=x.sku,
                product=x.product,
                colour=x.colour,
                size=x.size,
                qty=units(x.qty),
                received=units(x.received),
                damaged=units(x.damaged),
                short=units(x.short),
                outstanding=x.outstanding,
                source_available=units(x.source_available),
                short_of_stock=not shipped and x.source_available < x.qty,
            )
            for x in detail.lines
        ]
        self.timeline = [
            EventItem(
                label=ACTION_LABELS.get(e.action, e.action),
                actor=e.actor,
                when=relative_time(e.at),
                exact=exact_time(e.at),
                note=e.note,
                color=STATUS_COLORS.get(e.to_status, "gray"),
            )
            for e in timeline
        ]
        self.loaded = True

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self.dialog = ""
            self.form_error = ""
            self.saving = False

    async def _step(self, roles: tuple[Role, ...], what: str, fn, done: str, **kwargs):
        access = await self.require_role(*roles, action=what)
        if not access:
            return access.refusal
        self.saving = True
        try:
            await db_write(fn, self.transfer_id, actor_id=access.user.id, **kwargs)
        except DomainError as error:
            self.saving = False
            if self.dialog:
                self.form_error = error.message
                return None
            await self._fetch()
            return rx.toast.error(error.message, description="Nothing was changed.")
        except Exception:
            log.exception("transfers: %s of %s failed", what, self.transfer_id)
            self.saving = False
            if self.dialog:
                self.form_error = UNEXPECTED
                return None
            return rx.toast.error(UNEXPECTED)
        log.info("%s: %s transfer %s", access.user.email, what, self.transfer_id)
        self.saving = False
        self.dialog = ""
        self.form_error = ""
        await self._fetch()
        return [rx.toast.success(done), SidebarState.refresh()]

    @rx.event
    async def submit(self):
        return await self._step(
            MOVERS, "submit transfers", submit_transfer, "Submitted: a manager approves it next"
        )

    @rx.event
    async def approve(self):
        return await self._step(
            APPROVERS, "approve transfers", approve_transfer, "Approved: it can be shipped"
        )

    @rx.event
    async def ship(self):
        return await self._step(
            MOVERS,
            "ship transfers",
            ship_transfer,
            "Shipped: the units left the source and are incoming at the destination",
        )

    @rx.event
    async def confirm_cancel(self):
        access = await self.require_role(*VIEWERS, action="cancel transfers")
        if not access:
            return access.refusal
        self.form_error = ""
        self.dialog = "cancel"
        return None

    @rx.event
    async def cancel(self):
        if self.dialog != "cancel":
            access = await self.require_role(*VIEWERS, action="cancel transfers")
            return access.refusal if not access else None
        return await self._step(
            VIEWERS, "cancel transfers", cancel_transfer, "Cancelled: nothing moved"
        )

    @rx.event
    async def open_receive(self):
        access = await self.require_role(*MOVERS, action="receive transfers")
        if not access:
            return access.refusal
        self.form_error = ""
        self.dialog = "receive"
        return None

    @rx.event
    async def receive(self, form: dict):
        access = await self.require_role(*MOVERS, action="receive transfers")
        if not access:
            return access.refusal
        try:
            receipts = [
                ReceiptLine(
                    line.variant_id,
                    received=_form_int(form, f"received-{line.variant_id}"),
                    damaged=_form_int(form, f"damaged-{line.variant_id}"),
                    short=_form_int(form, f"short-{line.variant_id}"),
                )
                for line in self.lines
                if line.outstanding > 0
            ]
        except DomainError as error:
            self.form_error = error.message
            return None
        keep_open = bool(form.get("keep_open"))
        booked = {k: sum(getattr(r, k) for r in receipts) for k in ("received", "damaged", "short")}
        done = "Received: " + ", ".join(
            f"{n:,} {k}" for k, n in booked.items() if n or k == "received"
        )
        return await self._step(
            MOVERS,
            "receive transfers",
            receive_transfer,
            done,
            receipts=receipts,
            complete=not keep_open,
            note=str(form.get("note") or ""),
        )


# --- pick list ------------------------------------------------------------------------------


class PickListState(RoleGuard, rx.State):
    """/transfers/pick?id=N: what to take off the shelves, laid out for paper."""

    transfer_id: int = 0
    status_label: str = ""
    source: str = ""
    dest: str = ""
    total: str = ""
    items: list[PickItem] = []
    printed_at: str = ""
    load_error: str = ""
    loaded: bool = False

    @rx.event
    async def load(self):
        access = await self.require_role(*VIEWERS, action="see transfers")
        if not access:
            self.items, self.loaded, self.transfer_id = [], False, 0
            return access.page_refusal
        try:
            self.transfer_id = int(query_param(self.router.url.query_parameters, "id"))
            found = await db_read(pick_list, self.transfer_id)
        except (ValueError, NotFound):
            self.load_error = "There is no such transfer."
            self.items, self.loaded = [], True
            return None
        self.load_error = ""
        self.status_label = _status_label(found.status)
        self.source = f"{found.source_code} · {found.source_name}"
        self.dest = f"{found.dest_code} · {found.dest_name}"
        self.total = plural(found.units, "unit")
        self.items = [
            PickItem(x.sku, x.barcode, x.product, x.colour, x.size, units(x.qty), units(x.on_hand))
            for x in found.lines
        ]
        self.printed_at = exact_time(utcnow())
        self.loaded = True
        return None


# --- suggestions ----------------------------------------------------------------------------


def _cover(weeks: float | None) -> str:
    return "no sales" if weeks is None else f"{weeks:,.1f} wk"


def _move_key(m: SuggestedMove) -> str:
    return f"{m.variant_id}:{m.from_warehouse_id}:{m.to_warehouse_id}"


def read_suggestions(session: Session, brand_code: str) -> tuple[int, list[SuggestedMove]]:
    brand = brand_by_code(session, brand_code)
    assert brand.id is not None
    return brand.id, suggest_transfers(session, brand_id=brand.id)


def create_from_suggestions(
    session: Session, brand_id: int, keys: list[str], actor_id: int
) -> list[int]:
    """Recompute the brand's suggestions now and draft the chosen ones (by key)."""
    wanted = set(keys)
    moves = [m for m in suggest_transfers(session, brand_id=brand_id) if _move_key(m) in wanted]
    if not moves:
        raise InvalidQuantity(
            "None of the picked moves is still suggested (stock changed). Refresh the list.",
            field="moves",
        )
    made = create_suggested_transfers(session, moves, actor_id=actor_id)
    return [t.id for t in made if t.id is not None]


def brand_options(session: Session) -> list[tuple[str, str]]:
    return [
        (code, f"{name} ({code})")
        for code, name in session.execute(select(Brand.code, Brand.name).order_by(Brand.name))
    ]


class SuggestionsState(RoleGuard, rx.State):
    """/transfers/suggest?brand=CODE: moves from slow to fast-and-short warehouses."""

    brands: list[Choice] = []
    brand: str = ""
    brand_id: int = 0
    moves: list[MoveItem] = []
    loaded: bool = False
    load_error: str = ""
    can_create: bool = False
    saving: bool = False

    @rx.var
    def selected_count(self) -> int:
        return sum(1 for m in self.moves if m.selected)

    @rx.var
    def draft_label(self) -> str:
        return "Draft transfers from " + plural(self.selected_count, "move")

    @rx.event
    async def load(self):
        access = await self.require_role(*VIEWERS, action="see transfers")
        if not access:
            self.moves, self.brands, self.loaded, self.brand_id = [], [], False, 0
            return access.page_refusal
        self.can_create = access.user.role in MOVERS
        self.brands = [Choice(c, label) for c, label in await db_read(brand_options)]
        self.brand = query_param(self.router.url.query_parameters, "brand").upper()
        self.moves, self.brand_id, self.load_error = [], 0, ""
        if self.brand:
            try:
                self.brand_id, found = await db_read(read_suggestions, self.brand)
            except DomainError as error:
                self.load_error = error.message
                found = []
            except Exception:
                log.exception("transfers: suggestions for %s failed", self.brand)
                self.load_error = "The suggestions could not be computed. Try again."
                found = []
            self.moves = [
                MoveItem(
                    key=_move_key(m),
                    sku=m.sku,
                    product=m.product,
                    colour=m.colour,
                    size=m.size,
                    route=f"{m.from_code} → {m.to_code}",
                    qty=units(m.qty),
                    from_velocity=f"{m.from_velocity:,.1f}",
                    to_velocity=f"{m.to_velocity:,.1f}",
                    from_cover=f"{_cover(m.from_cover_before)} → {_cover(m.from_cover_after)}",
                    to_cover=f"{_cover(m.to_cover_before)} → {_cover(m.to_cover_after)}",
                )
                for m in found
            ]
        self.loaded = True
        return None

    @rx.event
    async def pick_brand(self, code: str):
        access = await self.require_role(*VIEWERS, action="see transfers")
        if not access:
            return access.refusal
        return rx.redirect(f"{SUGGEST_ROUTE}?{urlencode({'brand': code[:40]})}")

    @rx.event
    def toggle(self, key: str, on: bool) -> None:
        """Tick or untick one suggested move. Changes no data."""
        for move in self.moves:
            if move.key == key:
                move.selected = bool(on)
        self.moves = list(self.moves)

    @rx.event
    async def create_drafts(self):
        access = await self.require_role(*MOVERS, action="create transfers")
        if not access:
            return access.refusal
        keys = [m.key for m in self.moves if m.selected]
        if not keys or not self.brand_id:
            return rx.toast.error("Tick at least one suggested move first.")
        self.saving = True
        try:
            ids = await db_write(create_from_suggestions, self.brand_id, keys, access.user.id)
        except DomainError as error:
            self.saving = False
            return rx.toast.error(error.message, description="No transfer was created.")
        except Exception:
            log.exception("transfers: drafting suggestions failed")
            self.saving = False
            return rx.toast.error(UNEXPECTED)
        self.saving = False
        log.info("%s drafted suggested transfers %s", access.user.email, ids)
        return [
            rx.toast.success(
                f"Drafted {plural(len(ids), 'transfer')}: " + ", ".join(f"#{i}" for i in ids),
                description="Review each, then submit it for approval.",
            ),
            rx.redirect(f"{ROUTE}?status=draft"),
        ]
