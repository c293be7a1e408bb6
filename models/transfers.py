"""Transfers: stock moving between warehouses, with a trail of every step.

A transfer goes draft → requested → approved → in_transit → received, or is
cancelled from any state before in_transit. Each transition is one guarded UPDATE of
the transfer's status (so two people cannot both ship or approve it) plus a
`TransferEvent` row (actor, time) that the timeline shows.

Stock moves only at two steps, through `models.stock.change_balance` with ledger rows
referencing ``transfer:<id>``:

- **ship**: the source's on hand goes down (guarded: never below what is reserved, so
  a shipment larger than available is refused and nothing moves) and the
  destination's incoming goes up by the same quantity.
- **receive**: per line, received units move from incoming into on hand; damaged units
  are received into on hand and at once written off with a ``damaged`` ledger row (so
  they are never available, and the trail shows they arrived broken); short units
  leave incoming with a ``lost`` row. Receipts may be partial: the transfer stays in
  transit until every shipped unit is accounted for, or the receipt is completed
  (the remainder then counts as short).

Every operation that changes several balances does it in (variant id, warehouse id)
order inside one savepoint, so two transfers cannot deadlock and a refusal leaves
nothing moved even if the caller goes on to commit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Index,
    UniqueConstraint,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel

from models.admin import PAGE_SIZE, Page
from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Product, Variant, Warehouse
from models.errors import (
    Conflict,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from models.stock import LedgerReason, StockBalance, change_balance, get_balance, require_quantity
from models.users import Role, User


class TransferStatus(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    APPROVED = "approved"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"


#: States a transfer can still be cancelled from (no stock has moved yet).
CANCELLABLE = (TransferStatus.DRAFT, TransferStatus.REQUESTED, TransferStatus.APPROVED)
#: States that wait for somebody: approval, shipping, receiving (the sidebar count).
WAITING = (TransferStatus.REQUESTED, TransferStatus.APPROVED, TransferStatus.IN_TRANSIT)


class TransferAction(StrEnum):
    CREATED = "created"
    LINES_CHANGED = "lines_changed"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    SHIPPED = "shipped"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


_STATUS_CHECK = (
    "status IN ('draft', 'requested', 'approved', 'in_transit', 'received', 'cancelled')"
)


class Transfer(SQLModel, table=True):
    __tablename__ = "transfer"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="transfer_status"),
        CheckConstraint("source_warehouse_id <> dest_warehouse_id", name="transfer_two_places"),
        Index("ix_transfer_status_id", "status", "id"),
        Index("ix_transfer_source", "source_warehouse_id", "status"),
        Index("ix_transfer_dest", "dest_warehouse_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_warehouse_id: int = Field(foreign_key="warehouse.id")
    dest_warehouse_id: int = Field(foreign_key="warehouse.id")
    status: str = Field(default=TransferStatus.DRAFT.value, max_length=16)
    note: str = Field(default="", max_length=1000)
    created_by_id: int = Field(foreign_key="app_user.id")
    requested_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TransferLine(SQLModel, table=True):
    """One variant on a transfer: `qty` shipped, and what became of it on arrival."""

    __tablename__ = "transfer_line"
    __table_args__ = (
        UniqueConstraint("transfer_id", "variant_id", name="uq_transfer_line_variant"),
        CheckConstraint("qty > 0", name="transfer_line_qty_positive"),
        CheckConstraint(
            "received_qty >= 0 AND damaged_qty >= 0 AND short_qty >= 0 "
            "AND received_qty + damaged_qty + short_qty <= qty",
            name="transfer_line_accounted_within_qty",
        ),
        Index("ix_transfer_line_variant", "variant_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(foreign_key="transfer.id")
    variant_id: int = Field(foreign_key="variant.id")
    qty: int
    received_qty: int = Field(default=0)
    damaged_qty: int = Field(default=0)
    short_qty: int = Field(default=0)


class TransferEvent(SQLModel, table=True):
    """One step in a transfer's life: who did what, when (the timeline)."""

    __tablename__ = "transfer_event"
    __table_args__ = (Index("ix_transfer_event_transfer", "transfer_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    transfer_id: int = Field(foreign_key="transfer.id")
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor: str = Field(max_length=200)
    note: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


_t = Transfer.__table__
_l = TransferLine.__table__
_e = TransferEvent.__table__
_v = Variant.__table__
_p = Product.__table__
_w = Warehouse.__table__
_b = StockBalance.__table__


# --- who may do what --------------------------------------------------------------------

_MAY: dict[str, frozenset[Role]] = {
    "create": frozenset({Role.MERCHANDISER, Role.ADMIN}),
    "edit": frozenset({Role.MERCHANDISER, Role.ADMIN}),
    "submit": frozenset({Role.MERCHANDISER, Role.ADMIN}),
    "approve": frozenset({Role.MANAGER, Role.ADMIN}),
    "ship": frozenset({Role.MERCHANDISER, Role.ADMIN}),
    "receive": frozenset({Role.MERCHANDISER, Role.ADMIN}),
    "cancel": frozenset({Role.MERCHANDISER, Role.MANAGER, Role.ADMIN}),
}


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """Rules an organisation may choose. Approving one's own transfer is refused by default."""

    allow_self_approval: bool = False

    @classmethod
    def from_env(cls) -> TransferPolicy:
        """RACKROOM_ALLOW_SELF_APPROVAL=1 lets the creator (or submitter) approve."""
        value = os.environ.get("RACKROOM_ALLOW_SELF_APPROVAL", "").strip().lower()
        return cls(allow_self_approval=value in {"1", "true", "yes", "on"})


def may(role: Role | str, action: str) -> bool:
    """Whether `role` may perform `action` (create, edit, submit, approve, ship, receive,
    cancel) on transfers; pages use it to show or hide buttons."""
    try:
        return Role(role) in _MAY[action]
    except ValueError:
        return False


def _actor(session: Session, actor_id: int, action: str) -> User:
    user = session.get(User, actor_id)
    if user is None or not user.is_active:
        raise PermissionDenied("Sign in with an active account to work on transfers.")
    if not may(user.role, action):
        allowed = " or ".join(sorted(r.value + "s" for r in _MAY[action]))
        raise PermissionDenied(
            f"Only {allowed} may {action} transfers; you are signed in as {user.role}.",
            action=action,
            role=user.role,
        )
    return user


# --- input ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineInput:
    variant_id: int
    qty: int


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """What arrived of one line: good units, damaged units, and units missing."""

    variant_id: int
    received: int = 0
    damaged: int = 0
    short: int = 0


def _clean_lines(session: Session, lines: Iterable[LineInput | tuple[int, int]]) -> list[LineInput]:
    cleaned: list[LineInput] = []
    seen: set[int] = set()
    for raw in lines:
        line = raw if isinstance(raw, LineInput) else LineInput(*raw)
        if isinstance(line.variant_id, bool) or not isinstance(line.variant_id, int):
            raise InvalidQuantity(
                f"Line variant must be an id, got {line.variant_id!r}.", field="variant_id"
            )
        require_quantity(line.qty, field=f"qty of variant {line.variant_id}")
        if line.variant_id in seen:
            raise InvalidQuantity(
                f"Variant {line.variant_id} appears on more than one line; put it on one line "
                "with the total quantity.",
                field="lines",
                variant_id=line.variant_id,
            )
        seen.add(line.variant_id)
        cleaned.append(line)
    if not cleaned:
        raise InvalidQuantity("A transfer needs at least one line.", field="lines")
    known = set(session.scalars(select(_v.c.id).where(_v.c.id.in_(seen))))
    missing = sorted(seen - known)
    if missing:
        raise NotFound(f"No variant with id {missing[0]}.", variant_id=missing[0])
    return sorted(cleaned, key=lambda x: x.variant_id)


def _active_warehouse(session: Session, warehouse_id: int, role: str) -> Warehouse:
    warehouse = session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(f"No {role} warehouse with id {warehouse_id}.", warehouse_id=warehouse_id)
    if not warehouse.is_active:
        raise InvalidQuantity(
            f"Warehouse {warehouse.code} is inactive; it cannot be a transfer's {role}.",
            field=f"{role}_warehouse_id",
        )
    return warehouse


# --- transitions ------------------------------------------------------------------------


def _load(session: Session, transfer_id: int) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    session.refresh(transfer)
    return transfer


def _log(
    session: Session,
    transfer_id: int,
    action: TransferAction,
    from_status: str | None,
    to_status: str,
    user: User,
    now: datetime,
    note: str = "",
) -> None:
    session.execute(
        insert(_e).values(
            transfer_id=transfer_id,
            action=action.value,
            from_status=from_status,
            to_status=to_status,
            actor_id=user.id,
            actor=user.email,
            note=note[:1000],
            created_at=now,
        )
    )


def _transition(
    session: Session,
    transfer_id: int,
    allowed_from: tuple[TransferStatus, ...],
    to: TransferStatus,
    verb: str,
    now: datetime,
    **values: object,
) -> str:
    """Move the transfer to `to` if it is in `allowed_from`; returns the old status.

    The row is locked first (FOR UPDATE on PostgreSQL; SQLite has one writer), so
    concurrent steps on the same transfer queue up and the later one sees the new
    status and is refused. The UPDATE repeats the status guard all the same.
    """
    current = session.execute(
        select(_t.c.status).where(_t.c.id == transfer_id).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    if current in {s.value for s in allowed_from}:
        moved = session.execute(
            update(_t)
            .where(_t.c.id == transfer_id, _t.c.status == current)
            .values(status=to.value, updated_at=now, **values)
            .returning(_t.c.id)
        ).one_or_none()
        if moved is not None:
            return current
        current = session.scalar(select(_t.c.status).where(_t.c.id == transfer_id)) or current
    wanted = " or ".join(s.value.replace("_", " ") for s in allowed_from)
    raise InvalidTransition(
        f"Transfer {transfer_id} is {current.replace('_', ' ')}; it can be {verb} only when "
        f"{wanted}.",
        transfer_id=transfer_id,
        status=current,
    )


def create_transfer(
    session: Session,
    *,
    source_warehouse_id: int,
    dest_warehouse_id: int,
    lines: Iterable[LineInput | tuple[int, int]],
    actor_id: int,
    note: str = "",
    now: datetime | None = None,
) -> Transfer:
    """A draft transfer of `lines` (variant id, qty) from one warehouse to another."""
    now = now or utcnow()
    user = _actor(session, actor_id, "create")
    if source_warehouse_id == dest_warehouse_id:
        raise InvalidQuantity(
            "A transfer must go to a different warehouse than it comes from.",
            field="dest_warehouse_id",
        )
    _active_warehouse(session, source_warehouse_id, "source")
    _active_warehouse(session, dest_warehouse_id, "destination")
    cleaned = _clean_lines(session, lines)
    transfer_id = session.execute(
        insert(_t)
        .values(
            source_warehouse_id=source_warehouse_id,
            dest_warehouse_id=dest_warehouse_id,
            status=TransferStatus.DRAFT.value,
            note=note.strip()[:1000],
            created_by_id=user.id,
            created_at=now,
            updated_at=now,
        )
        .returning(_t.c.id)
    ).scalar_one()
    session.execute(
        insert(_l),
        [{"transfer_id": transfer_id, "variant_id": x.variant_id, "qty": x.qty} for x in cleaned],
    )
    _log(session, transfer_id, TransferAction.CREATED, None, TransferStatus.DRAFT, user, now)
    return _load(session, transfer_id)


def set_lines(
    session: Session,
    transfer_id: int,
    lines: Iterable[LineInput | tuple[int, int]],
    *,
    actor_id: int,
    now: datetime | None = None,
) -> Transfer:
    """Replace a draft's lines (only drafts can be edited)."""
    now = now or utcnow()
    user = _actor(session, actor_id, "edit")
    cleaned = _clean_lines(session, lines)
    _transition(session, transfer_id, (TransferStatus.DRAFT,), TransferStatus.DRAFT, "edited", now)
    session.execute(_l.delete().where(_l.c.transfer_id == transfer_id))
    session.execute(
        insert(_l),
        [{"transfer_id": transfer_id, "variant_id": x.variant_id, "qty": x.qty} for x in cleaned],
    )
    _log(
        session,
        transfer_id,
        TransferAction.LINES_CHANGED,
        TransferStatus.DRAFT,
        TransferStatus.DRAFT,
        user,
        now,
        note=f"{len(cleaned)} line(s), {sum(x.qty for x in cleaned)} unit(s)",
    )
    return _load(session, transfer_id)


def submit_transfer(
    session: Session,
    transfer_id: int,
    *,
    actor_id: int,
    note: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Draft → requested: ask a manager to approve it."""
    now = now or utcnow()
    user = _actor(session, actor_id, "submit")
    _transition(
        session,
        transfer_id,
        (TransferStatus.DRAFT,),
        TransferStatus.REQUESTED,
        "submitted",
        now,
        requested_by_id=user.id,
    )
    _log(
        session,
        transfer_id,
        TransferAction.SUBMITTED,
        TransferStatus.DRAFT,
        TransferStatus.REQUESTED,
        user,
        now,
        note,
    )
    return _load(session, transfer_id)


def approve_transfer(
    session: Session,
    transfer_id: int,
    *,
    actor_id: int,
    note: str = "",
    policy: TransferPolicy | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Requested → approved, by a manager or admin who (by default) did not raise it."""
    now = now or utcnow()
    policy = policy or TransferPolicy.from_env()
    user = _actor(session, actor_id, "approve")
    transfer = _load(session, transfer_id)
    if not policy.allow_self_approval and user.id in (
        transfer.created_by_id,
        transfer.requested_by_id,
    ):
        raise PermissionDenied(
            f"You created or submitted transfer {transfer_id}; another manager must approve it.",
            transfer_id=transfer_id,
        )
    _transition(
        session,
        transfer_id,
        (TransferStatus.REQUESTED,),
        TransferStatus.APPROVED,
        "approved",
        now,
        approved_by_id=user.id,
    )
    _log(
        session,
        transfer_id,
        TransferAction.APPROVED,
        TransferStatus.REQUESTED,
        TransferStatus.APPROVED,
        user,
        now,
        note,
    )
    return _load(session, transfer_id)


def cancel_transfer(
    session: Session,
    transfer_id: int,
    *,
    actor_id: int,
    note: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Cancel a transfer that has not shipped (nothing has moved, so nothing moves back)."""
    now = now or utcnow()
    user = _actor(session, actor_id, "cancel")
    before = _transition(
        session, transfer_id, CANCELLABLE, TransferStatus.CANCELLED, "cancelled", now
    )
    _log(
        session,
        transfer_id,
        TransferAction.CANCELLED,
        before,
        TransferStatus.CANCELLED,
        user,
        now,
        note,
    )
    return _load(session, transfer_id)


@dataclass(frozen=True, slots=True)
class _Move:
    variant_id: int
    warehouse_id: int
    reason: LedgerReason
    on_hand: int = 0
    incoming: int = 0
    note: str = ""


def _apply_moves(session: Session, moves: list[_Move], *, actor: str, reference: str) -> None:
    """Apply `moves` in (variant, warehouse) order; InsufficientStock on the first refusal.

    The fixed order is what keeps two multi-line operations from deadlocking: both take
    their row locks in the same sequence. The caller runs this inside a savepoint.
    """
    for move in sorted(moves, key=lambda m: (m.variant_id, m.warehouse_id)):
        balance = change_balance(
            session,
            move.variant_id,
            move.warehouse_id,
            reason=move.reason,
            actor=actor,
            on_hand=move.on_hand,
            incoming=move.incoming,
            reference=reference,
            note=move.note or None,
        )
        if balance is None:
            current = get_balance(session, move.variant_id, move.warehouse_id)
            sku = session.scalar(select(_v.c.sku).where(_v.c.id == move.variant_id))
            if move.on_hand >= 0:
                raise Conflict(
                    f"{sku}: the destination expects only {current.incoming} incoming, fewer "
                    "than this receipt books. Nothing was received; check the balance.",
                    variant_id=move.variant_id,
                    sku=sku,
                    incoming=current.incoming,
                )
            raise InsufficientStock(
                f"{sku}: only {current.available} available at the source (on hand "
                f"{current.on_hand}, reserved {current.reserved}); the transfer needs "
                f"{-move.on_hand}. Nothing was shipped.",
                variant_id=move.variant_id,
                sku=sku,
                available=current.available,
                requested=-move.on_hand,
            )


def ship_transfer(
    session: Session,
    transfer_id: int,
    *,
    actor_id: int,
    note: str = "",
    check_alerts: bool = True,
    now: datetime | None = None,
) -> Transfer:
    """Approved → in transit: units leave the source's on hand and become the destination's
    incoming. Refused whole (InsufficientStock, nothing moved) if any line is short."""
    now = now or utcnow()
    user = _actor(session, actor_id, "ship")
    reference = f"transfer:{transfer_id}"
    with session.begin_nested():
        _transition(
            session,
            transfer_id,
            (TransferStatus.APPROVED,),
            TransferStatus.IN_TRANSIT,
            "shipped",
            now,
            shipped_at=now,
        )
        transfer = _load(session, transfer_id)
        lines = session.execute(
            select(_l.c.variant_id, _l.c.qty).where(_l.c.transfer_id == transfer_id)
        ).all()
        moves = []
        for variant_id, qty in lines:
            moves.append(
                _Move(variant_id, transfer.source_warehouse_id, LedgerReason.TRANSFER_OUT, -qty)
            )
            moves.append(
                _Move(
                    variant_id,
                    transfer.dest_warehouse_id,
                    LedgerReason.TRANSFER_IN,
                    incoming=qty,
                    note="in transit",
                )
            )
        _apply_moves(session, moves, actor=user.email, reference=reference)
        _log(
            session,
            transfer_id,
            TransferAction.SHIPPED,
            TransferStatus.APPROVED,
            TransferStatus.IN_TRANSIT,
            user,
            now,
            note or f"{sum(q for _, q in lines)} unit(s) on {len(lines)} line(s)",
        )
    if check_alerts:
        _check_alerts(session, [v for v, _ in lines], transfer)
    return transfer


def receive_transfer(
    session: Session,
    transfer_id: int,
    receipts: Iterable[ReceiptLine] | None = None,
    *,
    actor_id: int,
    complete: bool = True,
    note: str = "",
    check_alerts: bool = True,
    now: datetime | None = None,
) -> Transfer:
    """Book what arrived. Without `receipts`, every line arrived in full.

    Each receipt line adds to what was already booked for that line; together they may
    not exceed what was shipped. With `complete` (the default) the transfer becomes
    received and any unaccounted units count as short; otherwise it stays in transit
    (a partial receipt) unless everything is accounted for.
    """
    now = now or utcnow()
    user = _actor(session, actor_id, "receive")
    reference = f"transfer:{transfer_id}"
    with session.begin_nested():
        # Lock the transfer row (and check its state) before reading its lines.
        _transition(
            session,
            transfer_id,
            (TransferStatus.IN_TRANSIT,),
            TransferStatus.IN_TRANSIT,
            "received",
            now,
        )
        transfer = _load(session, transfer_id)
        lines = {
            row.variant_id: row
            for row in session.execute(
                select(
                    _l.c.id,
                    _l.c.variant_id,
                    _l.c.qty,
                    _l.c.received_qty,
                    _l.c.damaged_qty,
                    _l.c.short_qty,
                ).where(_l.c.transfer_id == transfer_id)
            )
        }
        booked = _receipts_by_variant(session, receipts, lines)
        moves: list[_Move] = []
        totals = {"received": 0, "damaged": 0, "short": 0}
        finished = True
        for variant_id, line in sorted(lines.items()):
            got = booked.get(variant_id, ReceiptLine(variant_id))
            open_qty = line.qty - line.received_qty - line.damaged_qty - line.short_qty
            new = got.received + got.damaged + got.short
            if new > open_qty:
                sku = session.scalar(select(_v.c.sku).where(_v.c.id == variant_id))
                raise InvalidQuantity(
                    f"{sku}: {new} unit(s) booked but only {open_qty} of {line.qty} shipped "
                    "remain to be received.",
                    field="received",
                    variant_id=variant_id,
                    remaining=open_qty,
                    booked=new,
                )
            short = got.short
            if complete and new < open_qty:
                short += open_qty - new
            if new + (short - got.short) < open_qty:
                finished = False
            if got.received or got.damaged or short:
                session.execute(
                    update(_l)
                    .where(_l.c.id == line.id)
                    .values(
                        received_qty=_l.c.received_qty + got.received,
                        damaged_qty=_l.c.damaged_qty + got.damaged,
                        short_qty=_l.c.short_qty + short,
                    )
                )
            arrived = got.received + got.damaged
            dest = transfer.dest_warehouse_id
            if arrived:
                moves.append(
                    _Move(
                        variant_id,
                        dest,
                        LedgerReason.TRANSFER_IN,
                        on_hand=arrived,
                        incoming=-arrived,
                        note="received",
                    )
                )
            if got.damaged:
                moves.append(
                    _Move(
                        variant_id,
                        dest,
                        LedgerReason.DAMAGED,
                        on_hand=-got.damaged,
                        note="damaged on receipt",
                    )
                )
            if short:
                moves.append(
                    _Move(
                        variant_id,
                        dest,
                        LedgerReason.LOST,
                        incoming=-short,
                        note="short on receipt",
                    )
                )
            totals["received"] += got.received
            totals["damaged"] += got.damaged
            totals["short"] += short
        # Moves of one balance must run in the order built (receive before write-off),
        # and a stable sort by (variant, warehouse) keeps it.
        _apply_moves(session, moves, actor=user.email, reference=reference)
        summary = ", ".join(f"{n} {k}" for k, n in totals.items() if n) or "nothing booked"
        if finished:
            session.execute(
                update(_t)
                .where(_t.c.id == transfer_id)
                .values(status=TransferStatus.RECEIVED.value, received_at=now, updated_at=now)
            )
            action, to = TransferAction.RECEIVED, TransferStatus.RECEIVED
        else:
            action, to = TransferAction.PARTIALLY_RECEIVED, TransferStatus.IN_TRANSIT
        _log(
            session,
            transfer_id,
            action,
            TransferStatus.IN_TRANSIT,
            to,
            user,
            now,
            f"{summary}. {note}".strip() if note else summary,
        )
    if check_alerts:
        _check_alerts(session, list(lines), transfer)
    return _load(session, transfer_id)


def _receipts_by_variant(
    session: Session, receipts: Iterable[ReceiptLine] | None, lines: dict
) -> dict[int, ReceiptLine]:
    if receipts is None:
        return {
            v: ReceiptLine(v, received=x.qty - x.received_qty - x.damaged_qty - x.short_qty)
            for v, x in lines.items()
        }
    booked: dict[int, ReceiptLine] = {}
    for receipt in receipts:
        for name in ("received", "damaged", "short"):
            require_quantity(getattr(receipt, name), field=name, allow_zero=True)
        if receipt.variant_id not in lines:
            raise InvalidQuantity(
                f"Variant {receipt.variant_id} is not on this transfer.",
                field="variant_id",
                variant_id=receipt.variant_id,
            )
        if receipt.variant_id in booked:
            raise InvalidQuantity(
                f"Variant {receipt.variant_id} is booked twice in one receipt.",
                field="lines",
                variant_id=receipt.variant_id,
            )
        booked[receipt.variant_id] = receipt
    return booked


def _check_alerts(session: Session, variant_ids: list[int], transfer: Transfer) -> None:
    from models.alerts import check_alerts_for  # alerts read transfers' effects, not vice versa

    check_alerts_for(
        session, variant_ids, [transfer.source_warehouse_id, transfer.dest_warehouse_id]
    )


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferRow:
    """A transfer as a list shows it."""

    id: int
    status: str
    source_code: str
    dest_code: str
    lines: int
    units: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class TransferLineRow:
    variant_id: int
    sku: str
    product: str
    colour: str
    size: str
    qty: int
    received: int
    damaged: int
    short: int
    #: Available at the source now (what shipping would draw on).
    source_available: int

    @property
    def outstanding(self) -> int:
        return self.qty - self.received - self.damaged - self.short


@dataclass(frozen=True, slots=True)
class TransferDetail:
    transfer: TransferRow
    source_name: str
    dest_name: str
    requested_by: str
    approved_by: str
    shipped_at: datetime | None
    received_at: datetime | None
    lines: list[TransferLineRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    actor: str
    note: str


def _row_query():
    src, dst = aliased(Warehouse.__table__), aliased(Warehouse.__table__)
    creator = User.__table__
    totals = (
        select(
            _l.c.transfer_id,
            func.count().label("lines"),
            func.sum(_l.c.qty).label("units"),
        )
        .group_by(_l.c.transfer_id)
        .subquery()
    )
    query = (
        select(
            _t.c.id,
            _t.c.status,
            src.c.code,
            dst.c.code,
            func.coalesce(totals.c.lines, 0),
            func.coalesce(totals.c.units, 0),
            creator.c.email,
            _t.c.created_at,
            _t.c.updated_at,
            _t.c.note,
        )
        .join(src, src.c.id == _t.c.source_warehouse_id)
        .join(dst, dst.c.id == _t.c.dest_warehouse_id)
        .join(creator, creator.c.id == _t.c.created_by_id)
        .outerjoin(totals, totals.c.transfer_id == _t.c.id)
    )
    return query


def _to_row(r) -> TransferRow:
    return TransferRow(
        id=r[0],
        status=r[1],
        source_code=r[2],
        dest_code=r[3],
        lines=int(r[4]),
        units=int(r[5]),
        created_by=r[6],
        created_at=r[7],
        updated_at=r[8],
        note=r[9],
    )


def list_transfers(
    session: Session,
    *,
    status: str | Iterable[str] | None = None,
    warehouse_id: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[TransferRow]:
    """Transfers newest first; `status` filters (one or several), `warehouse_id` matches
    either end."""
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    conditions = []
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        for s in wanted:
            TransferStatus(s)  # ValueError for nonsense, before it reaches SQL
        conditions.append(_t.c.status.in_(wanted))
    if warehouse_id is not None:
        conditions.append(
            or_(_t.c.source_warehouse_id == warehouse_id, _t.c.dest_warehouse_id == warehouse_id)
        )
    query = _row_query().where(*conditions).order_by(_t.c.id.desc()).offset(offset).limit(limit)
    total = session.scalar(select(func.count()).select_from(_t).where(*conditions)) or 0
    return Page(
        rows=[_to_row(r) for r in session.execute(query)],
        total=int(total),
        offset=offset,
        limit=limit,
    )


def transfer_detail(session: Session, transfer_id: int) -> TransferDetail:
    """The transfer, its people and its lines (in size-run order) with today's source stock."""
    row = session.execute(_row_query().where(_t.c.id == transfer_id)).one_or_none()
    if row is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    transfer = _load(session, transfer_id)
    names = dict(
        session.execute(
            select(_w.c.id, _w.c.name).where(
                _w.c.id.in_([transfer.source_warehouse_id, transfer.dest_warehouse_id])
            )
        ).all()
    )
    people = dict(
        session.execute(
            select(User.id, User.email).where(
                User.id.in_([i for i in (transfer.requested_by_id, transfer.approved_by_id) if i])
            )
        ).all()
    )
    return TransferDetail(
        transfer=_to_row(row),
        source_name=names[transfer.source_warehouse_id],
        dest_name=names[transfer.dest_warehouse_id],
        requested_by=people.get(transfer.requested_by_id, ""),
        approved_by=people.get(transfer.approved_by_id, ""),
        shipped_at=transfer.shipped_at,
        received_at=transfer.received_at,
        lines=_line_rows(session, transfer),
    )


def _line_rows(session: Session, transfer: Transfer) -> list[TransferLineRow]:
    available = func.coalesce(_b.c.on_hand - _b.c.reserved, 0)
    rows = session.execute(
        select(
            _l.c.variant_id,
            _v.c.sku,
            _p.c.name,
            _v.c.colour,
            _v.c.size,
            _l.c.qty,
            _l.c.received_qty,
            _l.c.damaged_qty,
            _l.c.short_qty,
            available,
        )
        .join(_v, _v.c.id == _l.c.variant_id)
        .join(_p, _p.c.id == _v.c.product_id)
        .outerjoin(
            _b,
            (_b.c.variant_id == _l.c.variant_id)
            & (_b.c.warehouse_id == transfer.source_warehouse_id),
        )
        .where(_l.c.transfer_id == transfer.id)
        .order_by(_p.c.name, _p.c.id, _v.c.colour, _v.c.size_rank, _v.c.sku)
    )
    return [TransferLineRow(*r[:9], source_available=int(r[9])) for r in rows]


def transfer_timeline(session: Session, transfer_id: int) -> list[TimelineEntry]:
    """Every step of the transfer, oldest first."""
    if session.scalar(select(_t.c.id).where(_t.c.id == transfer_id)) is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    rows = session.execute(
        select(
            _e.c.created_at, _e.c.action, _e.c.from_status, _e.c.to_status, _e.c.actor, _e.c.note
        )
        .where(_e.c.transfer_id == transfer_id)
        .order_by(_e.c.id)
    )
    return [TimelineEntry(*r) for r in rows]


@dataclass(frozen=True, slots=True)
class PickLine:
    sku: str
    barcode: str
    product: str
    colour: str
    size: str
    qty: int
    #: On hand at the source now: where the picker looks (shipped lines are already out).
    on_hand: int


@dataclass(frozen=True, slots=True)
class PickList:
    transfer_id: int
    status: str
    source_code: str
    source_name: str
    dest_code: str
    dest_name: str
    lines: list[PickLine]

    @property
    def units(self) -> int:
        return sum(line.qty for line in self.lines)


def pick_list(session: Session, transfer_id: int) -> PickList:
    """What to take off the shelves at the source, grouped style → colour → size."""
    transfer = _load(session, transfer_id)
    places = {
        r.id: r
        for r in session.execute(
            select(_w.c.id, _w.c.code, _w.c.name).where(
                _w.c.id.in_([transfer.source_warehouse_id, transfer.dest_warehouse_id])
            )
        )
    }
    rows = session.execute(
        select(
            _v.c.sku,
            func.coalesce(_v.c.barcode, ""),
            _p.c.name,
            _v.c.colour,
            _v.c.size,
            _l.c.qty,
            func.coalesce(_b.c.on_hand, 0),
        )
        .join(_v, _v.c.id == _l.c.variant_id)
        .join(_p, _p.c.id == _v.c.product_id)
        .outerjoin(
            _b,
            (_b.c.variant_id == _l.c.variant_id)
            & (_b.c.warehouse_id == transfer.source_warehouse_id),
        )
        .where(_l.c.transfer_id == transfer_id)
        .order_by(_p.c.style_code, _p.c.id, _v.c.colour, _v.c.size_rank, _v.c.sku)
    )
    source, dest = places[transfer.source_warehouse_id], places[transfer.dest_warehouse_id]
    return PickList(
        transfer_id=transfer_id,
        status=transfer.status,
        source_code=source.code,
        source_name=source.name,
        dest_code=dest.code,
        dest_name=dest.name,
        lines=[PickLine(*r[:6], on_hand=int(r[6])) for r in rows],
    )


@dataclass(frozen=True, slots=True)
class TransferCounts:
    by_status: dict[str, int]

    @property
    def waiting(self) -> int:
        """Transfers somebody has to act on: approve, ship or receive."""
        return sum(self.by_status.get(s.value, 0) for s in WAITING)


def transfer_counts(session: Session) -> TransferCounts:
    """How many transfers are in each state (for the sidebar and the page's tabs)."""
    rows = session.execute(select(_t.c.status, func.count()).group_by(_t.c.status)).all()
    counts = {s.value: 0 for s in TransferStatus}
    counts.update({status: int(n) for status, n in rows})
    return TransferCounts(counts)


def units_in_transit(session: Session, warehouse_id: int) -> int:
    """Units shipped towards `warehouse_id` and not yet booked (equals its transfer share
    of incoming)."""
    outstanding = _l.c.qty - _l.c.received_qty - _l.c.damaged_qty - _l.c.short_qty
    return int(
        session.scalar(
            select(func.coalesce(func.sum(outstanding), 0))
            .join(_t, _t.c.id == _l.c.transfer_id)
            .where(
                _t.c.dest_warehouse_id == warehouse_id,
                _t.c.status == TransferStatus.IN_TRANSIT.value,
            )
        )
        or 0
    )
