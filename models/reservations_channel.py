"""A configured channel's hold (`models.channels`): allocated by its strategy
(`models.allocation`), possibly split over several warehouses, all or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.allocation import Candidate, allocate
from models.catalog import Variant, Warehouse
from models.channels import ChannelPlan
from models.errors import InsufficientStock, InvalidQuantity, NotFound
from models.events import EventType
from models.geo import Place
from models.reservation_rows import (
    Reservation,
    ReservationStatus,
    ReserveResult,
    _event_of,
    _lines,
    _replay,
)
from models.stock import LedgerReason, _balance, change_balance

_reservation = Reservation.__table__
_w = Warehouse.__table__
#: The idempotency key's columns (ON CONFLICT names them all).
IDEMPOTENCY = ["channel", "order_ref", "variant_id", "line"]


def reserve_for_channel(
    session: Session, plan: ChannelPlan, params: dict[str, Any], ship_to: Place | None
) -> ReserveResult:
    """A configured channel's hold: allocate by its strategy, then hold every line
    inside one savepoint. A line whose guarded update loses a race undoes the others and
    the allocation is made again (three tries); when stock is short nothing stays held.
    """
    variant_id, qty = params["r_variant"], params["r_qty"]
    channel, order_ref, warehouse_id = (
        params["r_channel"],
        params["r_order_ref"],
        params["r_warehouse"],
    )
    if session.get(Variant, variant_id) is None:
        raise NotFound(f"No variant with id {variant_id}.", variant_id=variant_id)
    ids = plan.warehouse_ids
    if warehouse_id is not None:
        if warehouse_id not in ids:
            raise InvalidQuantity(
                f"Warehouse {warehouse_id} is not one of channel {plan.code}'s warehouses.",
                field="warehouse",
                warehouse_id=warehouse_id,
            )
        ids = (warehouse_id,)
    for _attempt in range(3):
        existing = _lines(session, channel, order_ref, variant_id)
        if existing:
            return _replay(existing, qty, warehouse_id)
        allocation = allocate(
            _candidates(session, variant_id, ids),
            qty,
            strategy=plan.strategy,
            allow_split=plan.allow_split,
            ship_to=ship_to,
        )
        savepoint = session.begin_nested()
        lines = _hold_lines(session, params, allocation)
        if lines is not None:
            savepoint.commit()
            return ReserveResult(lines[0], created=True, lines=tuple(lines))
        savepoint.rollback()
    raise InsufficientStock(
        f"The stock of channel {plan.code}'s warehouses kept changing; {qty} could not be "
        "held. Try again.",
        requested=qty,
    )


def _candidates(session: Session, variant_id: int, ids: tuple[int, ...]) -> list[Candidate]:
    position = {wid: i for i, wid in enumerate(ids)}
    rows = session.execute(
        select(
            _balance.c.warehouse_id,
            _balance.c.on_hand - _balance.c.reserved,
            _w.c.country,
            _w.c.latitude,
            _w.c.longitude,
        )
        .join(_w, _w.c.id == _balance.c.warehouse_id)
        .where(
            _balance.c.variant_id == variant_id,
            _balance.c.warehouse_id.in_(ids),
            _w.c.is_active.is_(True),
        )
    ).all()
    return sorted(
        (
            Candidate(wid, position[wid], int(available), Place(country, lat, lon))
            for wid, available, country, lat, lon in rows
        ),
        key=lambda c: c.position,
    )


def _hold_lines(
    session: Session, params: dict[str, Any], allocation: list[tuple[int, int]]
) -> list[Reservation] | None:
    """Insert one row per allocated warehouse and hold its units; None when a duplicate
    request won the idempotency key or a warehouse no longer has the units."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    lines = []
    for line, (warehouse_id, qty) in enumerate(allocation):
        row = {
            "variant_id": params["r_variant"],
            "warehouse_id": warehouse_id,
            "qty": qty,
            "channel": params["r_channel"],
            "order_ref": params["r_order_ref"],
            "status": ReservationStatus.ACTIVE.value,
            "actor": params["r_actor"],
            "created_at": params["r_created_at"],
            "expires_at": params["r_expires_at"],
            "line": line,
        }
        reservation_id = session.execute(
            dialect.insert(_reservation)
            .values(**row)
            .on_conflict_do_nothing(index_elements=IDEMPOTENCY)
            .returning(_reservation.c.id)
        ).scalar_one_or_none()
        if reservation_id is None:
            return None
        lines.append(Reservation(id=reservation_id, **row))
    # Balances in warehouse order, as every multi-row change takes them: no deadlocks.
    for reservation in sorted(lines, key=lambda r: r.warehouse_id):
        balance = change_balance(
            session,
            reservation.variant_id,
            reservation.warehouse_id,
            reason=LedgerReason.RESERVE,
            actor=reservation.actor,
            reserved=reservation.qty,
            reference=f"reservation:{reservation.id}",
            event=_event_of(reservation, EventType.RESERVATION_CREATED),
        )
        if balance is None:
            return None
    return lines
