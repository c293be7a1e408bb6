"""Shipping and receiving: the steps that move on hand and incoming through the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    select,
    update,
)
from sqlmodel import Session

from models.base import utcnow
from models.errors import (
    Conflict,
    InsufficientStock,
    InvalidQuantity,
)
from models.policy import actor_may
from models.stock import LedgerReason, change_balance, get_balance, require_quantity
from models.transfers.tables import Transfer, TransferAction, TransferStatus, _l, _t, _v
from models.transfers.workflow import ReceiptLine, _load, _log, _transition


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
    user = actor_may(session, actor_id, "transfers.ship")
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
    user = actor_may(session, actor_id, "transfers.receive")
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
