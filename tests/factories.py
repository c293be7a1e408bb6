"""Small, explicit builders for test data (no magic, no randomness)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from models.catalog import Product, Variant, create_brand, create_warehouse
from models.db import transaction
from models.sizes import normalise_size, size_rank


@dataclass
class World:
    brand_id: int
    warehouses: dict[str, int]
    variants: dict[str, int]


def make_world(
    engine: Engine,
    *,
    warehouses: tuple[tuple[str, int], ...] = (("WH1", 10), ("WH2", 20), ("ST1", 30)),
    sizes: tuple[str, ...] = ("S", "M", "L"),
    brand: str = "NRD",
) -> World:
    """One brand, one style in one colour across `sizes`, and the given warehouses."""
    with transaction(engine) as session:
        created = create_brand(session, brand, brand.title())
        warehouse_ids = {
            code: create_warehouse(session, code, code, priority=priority).id
            for code, priority in warehouses
        }
        product = Product(
            brand_id=created.id, style_code="TEE1", name="Organic Tee", category="tops"
        )
        session.add(product)
        session.flush()
        variant_ids = {}
        for label in sizes:
            system, size = normalise_size(label)
            variant = Variant(
                product_id=product.id,
                brand_id=created.id,
                sku=f"{brand}-TEE1-BLK-{size}",
                colour="Black",
                size=size,
                size_system=system.value,
                size_rank=size_rank(system, size),
                price_cents=2500,
            )
            session.add(variant)
            session.flush()
            variant_ids[size] = variant.id
        return World(created.id, warehouse_ids, variant_ids)
