"""/transfers/detail?id=N: one transfer's lines, timeline and the steps the caller may take.

Ship and Cancel ask first (`confirm_ship`, `confirm_cancel`): shipping takes the units
off the source's shelves, so the confirmation says what leaves, from where, to where.

The page stays live while open (`dashboard/states/live.py`): a step taken in another
session (a manager approving, the source shipping) shows without a reload.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, TypedDict

import reflex as rx
from sqlmodel import Session

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.items import item_of
from dashboard.states.auth import RoleGuard, SessionUser, requires, signed_in_user
from dashboard.states.dialogs import DialogState
from dashboard.states.listing import db_read, query_param
from dashboard.states.live import LiveFollow, Watch, follow
from dashboard.states.scanning import ScanBox
from dashboard.states.sidebar import SidebarState
from dashboard.states.transfers_common import status_color, status_label
from models.errors import DomainError, InvalidQuantity, NotFound
from models.policy import allows
from models.scanning import match_scan
from models.transfers import (
    CANCELLABLE,
    ReceiptLine,
    TimelineEntry,
    TransferDetail,
    TransferLineRow,
    approve_transfer,
    cancel_transfer,
    receive_transfer,
    ship_transfer,
    submit_transfer,
    transfer_detail,
    transfer_marker,
    transfer_timeline,
)

log = logging.getLogger(__name__)

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
NEXT_STEP: dict[str, str] = {
    "draft": "A merchandiser submits it for approval.",
    "requested": "Waiting for a manager to approve it (not the person who raised it).",
    "approved": "Approved: a merchandiser at the source picks and ships it.",
    "in_transit": "On its way: a merchandiser at the destination books the receipt.",
    "received": "Received: the stock is in the destination's on hand.",
    "cancelled": "Cancelled: nothing moved.",
}


@dataclasses.dataclass
class LineItem:
    variant_id: int
    sku: str
    product: str
    colour: str
    size: str
    qty: str
    received: str
    damaged: str
    short: str
    outstanding: int
    source_available: str
    short_of_stock: bool

    @classmethod
    def of(cls, line: TransferLineRow, *, shipped: bool) -> LineItem:
        return item_of(
            cls,
            line,
            qty=units(line.qty),
            received=units(line.received),
            damaged=units(line.damaged),
            short=units(line.short),
            source_available=units(line.source_available),
            short_of_stock=not shipped and line.source_available < line.qty,
        )


@dataclasses.dataclass
class EventItem:
    label: str
    actor: str
    when: str
    exact: str
    note: str
    color: str


@dataclasses.dataclass(frozen=True, slots=True)
class DetailRead:
    detail: TransferDetail
    timeline: list[TimelineEntry]
    #: The transfer's newest timeline id when read (it moves with every step).
    marker: int


def read_detail(session: Session, transfer_id: int, since: int | None = None) -> DetailRead | None:
    """The transfer, its timeline and marker (read first: a step in between shows on the
    next check); None when it has not changed since the marker `since`."""
    marker = transfer_marker(session, transfer_id)
    if since is not None and marker == since:
        return None
    detail = transfer_detail(session, transfer_id)
    return DetailRead(detail, transfer_timeline(session, transfer_id), marker)


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


class TransferDetailState(RoleGuard, LiveFollow, DialogState, ScanBox, rx.State):
    """One transfer: its facts, lines, timeline, and the dialogs of its steps."""

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
    #: The receipt is being counted by scanning: `receipt_scans` (variant id → units
    #: scanned) fills the Received numbers instead of what was shipped.
    scanning: bool = False
    receipt_scans: dict[str, int] = {}
    _marker: int = 0

    @rx.var
    def title(self) -> str:
        return f"Transfer #{self.transfer_id}" if self.transfer_id else "Transfer"

    def _may(self, status: str, action: str) -> bool:
        return self.status == status and allows(self.role, action)

    @rx.var
    def can_submit(self) -> bool:
        return self._may("draft", "transfers.submit")

    @rx.var
    def can_approve(self) -> bool:
        return self._may("requested", "transfers.approve")

    @rx.var
    def can_ship(self) -> bool:
        return self._may("approved", "transfers.ship")

    @rx.var
    def can_receive(self) -> bool:
        return self._may("in_transit", "transfers.receive")

    @rx.var
    def can_cancel(self) -> bool:
        cancellable = self.status in {s.value for s in CANCELLABLE}
        return cancellable and allows(self.role, "transfers.cancel")

    @rx.var
    def next_step(self) -> str:
        """Who acts next, for whoever cannot."""
        return NEXT_STEP.get(self.status, "")

    @rx.var
    def ship_summary(self) -> str:
        """What Ship does, in one sentence, for the confirmation."""
        return (
            f"{self.total_units} in {plural(len(self.lines), 'line')} leave {self.source} "
            f"for {self.dest}. They come off {self.source.split(' · ')[0]}'s on hand now "
            "and show as incoming at the destination until received."
        )

    @rx.var
    def short_lines(self) -> int:
        return sum(1 for line in self.lines if line.short_of_stock)

    @rx.event
    @requires("transfers.read")
    async def load(self):
        self.role = signed_in_user().role
        self._close_dialog()
        self.scanning, self.receipt_scans = False, {}
        self._scan_reset()
        try:
            self.transfer_id = int(query_param(self.router.url.query_parameters, "id"))
        except ValueError:
            self.transfer_id = 0
        generation = self._next_generation()
        await self._refetch()
        return TransferDetailState.watch(generation)

    @rx.event(background=True, supersedes=True)
    async def watch(self, generation: int):
        """Follow this transfer while its page is open (ends when it is left)."""
        return await follow(
            self, generation, route=routes.TRANSFER_DETAIL, permission="transfers.read"
        )

    def _live_watch(self) -> Watch | None:
        if not self.loaded or not self.status:  # not found: nothing to follow
            return None
        return Watch("transfer", (self.transfer_id,), (self.transfer_id, self._marker))

    async def _live_read(self, token: tuple[int, int]) -> DetailRead | None:
        return await db_read(read_detail, token[0], since=token[1])

    def _live_show(self, fresh: DetailRead, user: SessionUser) -> None:
        if fresh.detail.transfer.id == self.transfer_id:
            self._show_detail(fresh)

    async def _refetch(self) -> None:
        try:
            found = await db_read(read_detail, self.transfer_id)
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
        if found is not None:
            self._show_detail(found)

    def _show_detail(self, found: DetailRead) -> None:
        detail, timeline = found.detail, found.timeline
        self._marker = found.marker
        self._mark_live()
        row = detail.transfer
        self.load_error = ""
        self.status = row.status
        self.status_label = status_label(row.status)
        self.color = status_color(row.status)
        self.source = f"{row.source_code} · {detail.source_name}"
        self.dest = f"{row.dest_code} · {detail.dest_name}"
        self.note = row.note
        self.created_by = row.created_by
        self.requested_by = detail.requested_by
        self.approved_by = detail.approved_by
        self.total_units = plural(row.units, "unit")
        shipped = row.status in ("in_transit", "received")
        self.lines = [LineItem.of(x, shipped=shipped) for x in detail.lines]
        self.timeline = [
            EventItem(
                label=ACTION_LABELS.get(e.action, e.action),
                actor=e.actor,
                when=relative_time(e.at),
                exact=exact_time(e.at),
                note=e.note,
                color=status_color(e.to_status),
            )
            for e in timeline
        ]
        self.loaded = True

    async def _step(self, fn: Callable[..., Any], done: str, **kwargs: Any):
        """One step of the transfer (the sidebar's counts follow)."""
        refresh = [SidebarState.refresh()]
        return await self._act(fn, self.transfer_id, "transfer", done=done, then=refresh, **kwargs)

    @rx.event
    @requires("transfers.submit")
    async def submit(self):
        return await self._step(submit_transfer, "Submitted: a manager approves it next")

    @rx.event
    @requires("transfers.approve")
    async def approve(self):
        return await self._step(approve_transfer, "Approved: it can be shipped")

    @rx.event
    @requires("transfers.ship")
    def confirm_ship(self) -> None:
        self._open_dialog("ship")

    @rx.event
    @requires("transfers.ship")
    async def ship(self):
        """Ships only from its confirmation (a stray call changes nothing and says so)."""
        if self.dialog != "ship":
            return rx.toast.warning("Nothing shipped: confirm what leaves with Ship… first.")
        return await self._step(
            ship_transfer,
            "Shipped: the units left the source and are incoming at the destination",
        )

    @rx.event
    @requires("transfers.cancel")
    def confirm_cancel(self) -> None:
        self._open_dialog("cancel")

    @rx.event
    @requires("transfers.cancel")
    async def cancel(self):
        if self.dialog != "cancel":
            return rx.toast.warning("Nothing was cancelled: confirm it with Cancel transfer.")
        return await self._step(cancel_transfer, "Cancelled: nothing moved")

    @rx.event
    @requires("transfers.receive")
    def open_receive(self) -> None:
        self._open_dialog("receive")
        self.scanning, self.receipt_scans = False, {}
        self._scan_reset()

    @rx.event
    @requires("transfers.receive")
    def start_scanning(self) -> None:
        """Count the receipt by scanning: every Received number starts from 0."""
        if self.dialog != "receive":
            return
        self.scanning = True
        self.receipt_scans = {str(x.variant_id): 0 for x in self.lines if x.outstanding > 0}
        self._scan_reset()

    @rx.event
    @requires("transfers.receive")
    def keep_received(self, variant_id: int, value: str) -> None:
        """A Received number typed while scanning: later scans count on from it."""
        key = str(variant_id)
        if self.scanning and key in self.receipt_scans and value.strip().isdigit():
            self.receipt_scans = {**self.receipt_scans, key: int(value.strip())}

    @rx.event
    @requires("transfers.receive")
    async def scan(self, form: dict[str, str]):
        """A scanner's code + Enter: one more unit received on the line it names."""
        if self.dialog != "receive" or not self.scanning:
            return None
        return await self._scan(form, self._receive_one)

    async def _receive_one(self, code: str) -> tuple[str, str]:
        user = signed_in_user()
        match = await db_read(
            match_scan,
            code,
            [x.variant_id for x in self.lines],
            brand_id=user.brand_scope,
            where=f"transfer #{self.transfer_id}",
        )
        key = str(match.variant_id)
        line = next(x for x in self.lines if x.variant_id == match.variant_id)
        so_far = self.receipt_scans.get(key, 0)
        if key not in self.receipt_scans:
            raise InvalidQuantity(f"{match.label}: nothing more is expected on this transfer.")
        if so_far >= line.outstanding:
            raise InvalidQuantity(
                f"{match.label}: all {line.outstanding:,} expected units are already scanned."
            )
        self.receipt_scans = {**self.receipt_scans, key: so_far + 1}
        return key, f"Received {match.label}: {so_far + 1} of {line.outstanding:,}"

    @rx.event
    @requires("transfers.receive")
    async def receive(self, form: dict):
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
            receive_transfer,
            done,
            receipts=receipts,
            complete=not keep_open,
            note=str(form.get("note") or "")[:500],
        )
