"""Nightly stock snapshots: units per day, brand, warehouse and category, for stock history.

A snapshot per balance per day would be hundreds of millions of rows a year at the
large scale; stock history is read per brand / warehouse / category, so that is the
grain kept (a few thousand rows a day). Taking a day's snapshot again replaces it.
The scheduler's nightly job (`jobs.housekeeping.snapshot_stock`) calls
`take_stock_snapshot`; analytics reads it in `jobs.analytics.metrics.stock_history`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, delete, func, insert, literal, select
from sqlmodel import Field, Session, SQLModel

from models.base import UTCDateTime, utcnow
from models.catalog import Product, Variant
from models.stock import StockBalance


class StockSnapshot(SQLModel, table=True):
    __tablename__ = "stock_snapshot"

    day: date = Field(primary_key=True, sa_type=Date)
    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouse.id", primary_key=True)
    category: str = Field(default="", max_length=100, primary_key=True)
    on_hand: int = Field(default=0)
    reserved: int = Field(default=0)
    incoming: int = Field(default=0)
    #: Balances with something on hand.
    lines_in_stock: int = Field(default=0)
    taken_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def take_stock_snapshot(
    session: Session, *, day: date | None = None, now: datetime | None = None
) -> int:
    """Record today's (or `day`'s) stock per brand, warehouse and category; returns rows.

    One INSERT … SELECT … GROUP BY over the balances, after deleting that day's rows,
    so running it twice in a night leaves one snapshot.
    """
    now = now or utcnow()
    day = day or now.date()
    snap, b = StockSnapshot.__table__, StockBalance.__table__
    v, p = Variant.__table__, Product.__table__
    session.execute(delete(snap).where(snap.c.day == day))
    source = (
        select(
            literal(day, Date).label("day"),
            v.c.brand_id,
            b.c.warehouse_id,
            p.c.category,
            func.sum(b.c.on_hand),
            func.sum(b.c.reserved),
            func.sum(b.c.incoming),
            func.count().filter(b.c.on_hand > 0),
            literal(now, UTCDateTime).label("taken_at"),
        )
        .select_from(b.join(v, v.c.id == b.c.variant_id).join(p, p.c.id == v.c.product_id))
        .group_by(v.c.brand_id, b.c.warehouse_id, p.c.category)
    )
    result = session.execute(
        insert(snap).from_select(
            ["day", "brand_id", "warehouse_id", "category", "on_hand", "reserved", "incoming",
             "lines_in_stock", "taken_at"],
            source,
        ).returning(snap.c.day)
    )
    return len(result.all()) or 0

