"""Read-only summaries of stock for the Overview page and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlmodel import Session

from models.catalog import Brand, Variant, Warehouse
from models.stock import StockBalance


@dataclass(frozen=True, slots=True)
class StockFigures:
    label: str
    on_hand: int
    reserved: int
    available: int
    incoming: int
    out_of_stock_variants: int


def _figures(label: str, on_hand, reserved, incoming, out) -> StockFigures:
    on_hand, reserved, incoming, out = (int(x or 0) for x in (on_hand, reserved, incoming, out))
    return StockFigures(label, on_hand, reserved, on_hand - reserved, incoming, out)


@dataclass(frozen=True, slots=True)
class StockOverview:
    total: StockFigures
    by_brand: list[StockFigures]
    by_warehouse: list[StockFigures]
    variant_count: int


def stock_overview(session: Session, *, brand_id: int | None = None) -> StockOverview:
    """Units on hand, reserved, available and incoming, in total, per brand and per warehouse.

    A variant is out of stock when nothing is available in any warehouse (in total
    and per brand), or in that warehouse (per warehouse).
    """
    b = StockBalance.__table__
    v = Variant.__table__

    per_variant = (
        select(
            v.c.id.label("variant_id"),
            v.c.brand_id,
            func.coalesce(func.sum(b.c.on_hand), 0).label("on_hand"),
            func.coalesce(func.sum(b.c.reserved), 0).label("reserved"),
            func.coalesce(func.sum(b.c.incoming), 0).label("incoming"),
        )
        .select_from(v.outerjoin(b, b.c.variant_id == v.c.id))
        .group_by(v.c.id, v.c.brand_id)
    )
    if brand_id is not None:
        per_variant = per_variant.where(v.c.brand_id == brand_id)
    pv = per_variant.subquery()
    out = func.sum(case((pv.c.on_hand - pv.c.reserved <= 0, 1), else_=0))

    brands = session.execute(
        select(
            Brand.name,
            func.sum(pv.c.on_hand),
            func.sum(pv.c.reserved),
            func.sum(pv.c.incoming),
            out,
        )
        .join(pv, pv.c.brand_id == Brand.id)
        .group_by(Brand.id, Brand.name)
        .order_by(func.sum(pv.c.on_hand).desc(), Brand.name)
    ).all()
    by_brand = [_figures(*row) for row in brands]

    warehouse_query = (
        select(
            Warehouse.name,
            func.sum(b.c.on_hand),
            func.sum(b.c.reserved),
            func.sum(b.c.incoming),
            func.sum(case((b.c.on_hand - b.c.reserved <= 0, 1), else_=0)),
        )
        .join(b, b.c.warehouse_id == Warehouse.id)
        .group_by(Warehouse.id, Warehouse.name, Warehouse.priority)
        .order_by(Warehouse.priority, Warehouse.name)
    )
    if brand_id is not None:
        warehouse_query = warehouse_query.join(v, v.c.id == b.c.variant_id).where(
            v.c.brand_id == brand_id
        )
    by_warehouse = [_figures(*row) for row in session.execute(warehouse_query)]

    totals = session.execute(
        select(
            func.sum(pv.c.on_hand),
            func.sum(pv.c.reserved),
            func.sum(pv.c.incoming),
            out,
            func.count(),
        )
    ).one()
    total = _figures("All stock", *totals[:4])
    return StockOverview(total, by_brand, by_warehouse, int(totals[4] or 0))
