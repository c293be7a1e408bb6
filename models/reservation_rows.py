"""The reservation and sale tables, and what every reservation path shares: the
result of a hold, its events, and finding the rows of an earlier hold.

A hold is one `reservation` row, or several (`line` 0, 1, ...) when a channel split
its allocation over warehouses; the idempotency key is (channel, order_ref, variant,
line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.errors import Conflict
from models.events import EventType


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"


class Reservation(SQLModel, table=True):
    __tablename__ = "reservation"
    __table_args__ = (
        UniqueConstraint(
            "channel", "order_ref", "variant_id", "line", name="uq_reservation_idempotency"
        ),
        CheckConstraint("qty > 0", name="reservation_qty_positive"),
        CheckConstraint(
            "status IN ('active', 'committed', 'released', 'expired')", name="reservation_status"
        ),
        Index("ix_reservation_status_expires", "status", "expires_at"),
        Index("ix_reservation_variant", "variant_id", "warehouse_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    variant_id: int = Field(foreign_key="variant.id")
    warehouse_id: int = Field(foreign_key="warehouse.id")
    qty: int
    channel: str = Field(max_length=64)
    order_ref: str = Field(max_length=128)
    status: str = Field(default=ReservationStatus.ACTIVE.value, max_length=16)
    actor: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: 0, or 0, 1, ... for the warehouses of a split allocation (one hold, several rows).
    line: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class SaleLine(SQLModel, table=True):
    """A unit movement to or from a customer: qty > 0 sold, qty < 0 returned."""

    __tablename__ = "sale_line"
    __table_args__ = (
        Index("ix_sale_line_sold_at", "sold_at"),
        Index("ix_sale_line_variant_sold_at", "variant_id", "sold_at"),
        Index("ix_sale_line_order", "order_ref", "variant_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    variant_id: int = Field(foreign_key="variant.id")
    warehouse_id: int = Field(foreign_key="warehouse.id")
    qty: int
    unit_price_cents: int = Field(default=0)
    channel: str = Field(max_length=64)
    order_ref: str = Field(max_length=128)
    reservation_id: int | None = Field(default=None, sa_type=BigIntId, foreign_key="reservation.id")
    sold_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


_reservation = Reservation.__table__
_sale = SaleLine.__table__


@dataclass(frozen=True, slots=True)
class ReserveResult:
    #: The first (or only) row of the hold.
    reservation: Reservation
    #: False when this was a retry that returned an earlier reservation.
    created: bool
    #: Every row of the hold, by line: more than one when the allocation was split.
    lines: tuple[Reservation, ...] = ()

    @property
    def allocations(self) -> list[tuple[int, int]]:
        """[(warehouse id, qty)] by line."""
        return [(r.warehouse_id, r.qty) for r in (self.lines or (self.reservation,))]


def _event(
    event_type: EventType,
    reservation_id: int,
    qty: int,
    channel: str,
    order_ref: str,
    status: ReservationStatus | str,
    expires_at: datetime,
) -> tuple[str, dict[str, object]]:
    """The reservation event written beside its balance change (`change_balance(event=…)`)."""
    return (
        event_type.value,
        {
            "reservation_id": reservation_id,
            "qty": qty,
            "channel": channel,
            "order_ref": order_ref,
            "status": str(status),
            "expires_at": expires_at.isoformat(),
        },
    )


def _event_of(reservation: Reservation, event_type: EventType) -> tuple[str, dict[str, object]]:
    return _event(
        event_type,
        reservation.id,
        reservation.qty,
        reservation.channel,
        reservation.order_ref,
        reservation.status,
        reservation.expires_at,
    )


def _lines(session: Session, channel: str, order_ref: str, variant_id: int) -> list[Reservation]:
    """The rows of an earlier hold for this (channel, order, variant), by line."""
    return list(
        session.scalars(
            select(Reservation)
            .where(
                Reservation.channel == channel,
                Reservation.order_ref == order_ref,
                Reservation.variant_id == variant_id,
            )
            .order_by(Reservation.line)
        )
    )


def sibling_lines(session: Session, reservation: Reservation) -> list[Reservation]:
    """Every row of the hold `reservation` belongs to (itself alone unless split)."""
    return _lines(session, reservation.channel, reservation.order_ref, reservation.variant_id)


def _replay(existing: list[Reservation], qty: int, warehouse_id: int | None) -> ReserveResult:
    first, held = existing[0], sum(r.qty for r in existing)
    if held != qty or (
        warehouse_id is not None and any(r.warehouse_id != warehouse_id for r in existing)
    ):
        raise Conflict(
            f"Order {first.order_ref!r} already holds reservation {first.id} for "
            f"{held} units; a retry must ask for the same quantity and warehouse.",
            reservation_id=first.id,
            qty=held,
        )
    return ReserveResult(first, created=False, lines=tuple(existing))
