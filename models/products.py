"""One product as its page shows it: facts, attributes, and its variants with stock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from models.attributes import FIELDS, ProductAttributes
from models.catalog import Brand, Product, Variant
from models.grid.sql import size_order
from models.stock_totals import VariantStock

#: A product page lists at most this many variants (a style has tens, not thousands).
MAX_VARIANTS = 500
_VARIANT_COLUMNS = ("id", "sku", "colour", "size", "barcode", "price_cents")


@dataclass(frozen=True, slots=True)
class ProductVariant:
    variant_id: int
    sku: str
    colour: str
    size: str
    barcode: str | None
    price_cents: int
    on_hand: int
    available: int


@dataclass(frozen=True, slots=True)
class ProductDetail:
    id: int
    brand_id: int
    brand_code: str
    brand_name: str
    style_code: str
    name: str
    category: str
    attributes: ProductAttributes
    #: Stored keys the page does not edit (an import's vendor, the demo's origin…).
    other_attributes: dict[str, Any]
    variants: tuple[ProductVariant, ...]


def product_detail(
    session: Session, product_id: int, brand_ids: Sequence[int] = ()
) -> ProductDetail | None:
    """The product with its variants in colour and size order; None when there is none
    or it lies outside `brand_ids` (a vendor cannot tell "not yours" from "not there")."""
    p, b = Product.__table__, Brand.__table__
    query = (
        select(
            p.c.brand_id, b.c.code, b.c.name, p.c.style_code, p.c.name, p.c.category, p.c.attributes
        )
        .join(b, b.c.id == p.c.brand_id)
        .where(p.c.id == product_id)
    )
    if brand_ids:
        query = query.where(p.c.brand_id.in_(list(brand_ids)))
    connection = session.connection()
    row = connection.execute(query).one_or_none()
    if row is None:
        return None
    stored = dict(row[6] or {})
    v, t = Variant.__table__, VariantStock.__table__
    variants = connection.execute(
        select(*(v.c[name] for name in _VARIANT_COLUMNS), t.c.on_hand, t.c.available)
        .outerjoin(t, t.c.variant_id == v.c.id)
        .where(v.c.product_id == product_id)
        .order_by(v.c.colour, *size_order(v), v.c.sku)
        .limit(MAX_VARIANTS)
    ).all()
    return ProductDetail(
        product_id,
        *row[:6],
        attributes=ProductAttributes.read(stored),
        other_attributes={k: val for k, val in stored.items() if k not in FIELDS},
        variants=tuple(
            ProductVariant(
                vid, sku, colour, size, barcode, int(price or 0), int(on or 0), int(avail or 0)
            )
            for vid, sku, colour, size, barcode, price, on, avail in variants
        ),
    )
