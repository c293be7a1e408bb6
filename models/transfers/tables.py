"""The transfer tables: a transfer, its lines, and the timeline of its events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Index,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Product, Variant, Warehouse
from models.stock import StockBalance


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
