"""Batch reads of the catalogue: many variants, brands, products or aliases in one
statement each, for callers that resolve lists of them (the GraphQL API's loaders).

`variants_for_codes` answers what `catalog.variant_by_sku` answers for one code —
canonical SKU first, then an alias, then a barcode — for many codes at once, and
within one brand when given one (then a code that names another brand's variant is
simply not found).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from models.attributes import ProductAttributes
from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse


def variants_for_codes(
    session: Session, codes: Iterable[str], *, brand_id: int | None = None
) -> dict[str, Variant]:
    """code → variant for every code that names exactly one variant; at most three
    statements (SKUs, aliases, barcodes) whatever the number of codes."""
    wanted = sorted({c for c in codes if c})
    found: dict[str, Variant] = {}
    if not wanted:
        return found
    query = select(Variant).where(Variant.sku.in_(wanted))
    if brand_id is not None:
        query = query.where(Variant.brand_id == brand_id)
    for variant in session.scalars(query):
        found[variant.sku] = variant
    rest = [c for c in wanted if c not in found]
    if rest:
        alias_query = (
            select(SkuAlias.code, Variant)
            .join(Variant, Variant.id == SkuAlias.variant_id)
            .where(SkuAlias.code.in_(rest))
        )
        if brand_id is not None:
            alias_query = alias_query.where(
                SkuAlias.brand_id == brand_id, Variant.brand_id == brand_id
            )
        matches: dict[str, list[Variant]] = {}
        for code, variant in session.execute(alias_query):
            matches.setdefault(code, []).append(variant)
        # An alias used by two brands names no one variant: only a canonical SKU will do.
        found.update({code: vs[0] for code, vs in matches.items() if len(vs) == 1})
        rest = [c for c in rest if c not in matches]
    if rest:
        barcode_query = select(Variant).where(Variant.barcode.in_(rest))
        if brand_id is not None:
            barcode_query = barcode_query.where(Variant.brand_id == brand_id)
        for variant in session.scalars(barcode_query.order_by(Variant.id)):
            found.setdefault(variant.barcode or "", variant)
    return found


def variants_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Variant]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {v.id: v for v in session.scalars(select(Variant).where(Variant.id.in_(wanted)))}


def brands_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Brand]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {b.id: b for b in session.scalars(select(Brand).where(Brand.id.in_(wanted)))}


def products_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Product]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(wanted)))}


def attributes_by_product(
    session: Session, product_ids: Iterable[int]
) -> dict[int, ProductAttributes]:
    """Each product's attributes; one statement for the products of a page of rows (a
    page of balances names far fewer products than variants)."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    rows = session.execute(select(Product.id, Product.attributes).where(Product.id.in_(wanted)))
    return {pid: ProductAttributes.read(stored) for pid, stored in rows}


def aliases_by_variant(session: Session, variant_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each variant's alias codes (brand, legacy, Shopify SKUs and barcodes), sorted."""
    wanted = sorted(set(variant_ids))
    out: dict[int, list[str]] = {vid: [] for vid in wanted}
    if not wanted:
        return out
    rows = session.execute(
        select(SkuAlias.variant_id, SkuAlias.code)
        .where(SkuAlias.variant_id.in_(wanted))
        .order_by(SkuAlias.variant_id, SkuAlias.code)
    )
    for vid, code in rows:
        out[vid].append(code)
    return out


def list_brands(session: Session, *, brand_id: int | None = None) -> list[Brand]:
    query = select(Brand).order_by(Brand.code)
    if brand_id is not None:
        query = query.where(Brand.id == brand_id)
    return list(session.scalars(query))


def list_warehouses(session: Session, *, active_only: bool = True) -> list[Warehouse]:
    """Warehouses in allocation order (priority, then code)."""
    query = select(Warehouse).order_by(Warehouse.priority, Warehouse.code)
    if active_only:
        query = query.where(Warehouse.is_active.is_(True))
    return list(session.scalars(query))
