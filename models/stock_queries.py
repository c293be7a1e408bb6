"""Read-side queries over balances: one variant's stock, and keyset-paged listings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlmodel import Session

from models.catalog import Brand, Product, Variant, Warehouse
from models.stock import StockBalance

_b = StockBalance.__table__
_v = Variant.__table__
_w = Warehouse.__table__


@dataclass(frozen=True, slots=True)
class WarehouseStock:
    variant_id: int
    warehouse_id: int
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    incoming: int
    updated_at: datetime | None
    product_id: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class VariantFacts:
    variant: Variant
    product: Product
    brand: Brand


def variant_facts(session: Session, variant: Variant) -> VariantFacts:
    """The variant's product and brand, in one statement."""
    product, brand = session.execute(
        select(Product, Brand)
        .join(Brand, Brand.id == variant.brand_id)
        .where(Product.id == variant.product_id)
    ).one()
    return VariantFacts(variant, product, brand)


def stock_by_warehouse(session: Session, variant_id: int) -> list[WarehouseStock]:
    """The variant's balance in every active warehouse (zeros where it has none)."""
    return levels_by_variant(session, [variant_id]).get(variant_id, [])


def levels_by_variant(
    session: Session, variant_ids: list[int]
) -> dict[int, list[WarehouseStock]]:
    """Each variant's balance in every active warehouse (zeros where it has none), in
    warehouse priority order; one statement for any number of variants."""
    if not variant_ids:
        return {}
    rows = session.execute(
        select(
            _v.c.id,
            _w.c.id,
            _w.c.code,
            _b.c.on_hand,
            _b.c.reserved,
            _b.c.incoming,
            _b.c.updated_at,
            _v.c.sku,
            _v.c.product_id,
        )
        .select_from(_w)
        .join(_v, _v.c.id.in_(sorted(set(variant_ids))))
        .outerjoin(_b, (_b.c.warehouse_id == _w.c.id) & (_b.c.variant_id == _v.c.id))
        .where(_w.c.is_active.is_(True))
        .order_by(_v.c.id, _w.c.priority, _w.c.code)
    )
    out: dict[int, list[WarehouseStock]] = {}
    for vid, wid, code, on_hand, reserved, incoming, at, sku, pid in rows:
        out.setdefault(vid, []).append(
            WarehouseStock(
                vid, wid, sku, code, on_hand or 0, reserved or 0, incoming or 0, at, pid
            )
        )
    return out


def page_of_balances(
    session: Session,
    *,
    limit: int,
    after: tuple[int, int] | None = None,
    brand_id: int | None = None,
    warehouse_id: int | None = None,
    updated_since: datetime | None = None,
    variant_ids: list[int] | None = None,
) -> list[WarehouseStock]:
    """Balances in (variant id, warehouse id) order, strictly after the cursor `after`.

    Keyset paging is stable while rows change and costs the same on page 1 and page
    10,000, unlike OFFSET.
    """
    query = (
        select(
            _b.c.variant_id,
            _b.c.warehouse_id,
            _v.c.sku,
            _w.c.code,
            _b.c.on_hand,
            _b.c.reserved,
            _b.c.incoming,
            _b.c.updated_at,
            _v.c.product_id,
        )
        .join(_v, _v.c.id == _b.c.variant_id)
        .join(_w, _w.c.id == _b.c.warehouse_id)
        .order_by(_b.c.variant_id, _b.c.warehouse_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(_b.c.variant_id, _b.c.warehouse_id) > tuple_(*after))
    if brand_id is not None:
        query = query.where(_v.c.brand_id == brand_id)
    if warehouse_id is not None:
        query = query.where(_b.c.warehouse_id == warehouse_id)
    if updated_since is not None:
        query = query.where(_b.c.updated_at >= updated_since)
    if variant_ids is not None:
        query = query.where(_b.c.variant_id.in_(sorted(set(variant_ids))))
    return [WarehouseStock(*row) for row in session.execute(query).all()]
