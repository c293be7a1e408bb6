"""Builders shared by the transfer, alert and replenishment tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Engine, insert

from models.db import transaction
from models.reservations import SaleLine
from models.stock import receive
from models.users import Role, User, hash_password
from tests.factories import World, make_world


@dataclass
class Staff:
    merch: int
    merch2: int
    manager: int
    manager2: int
    admin: int
    vendor: int


@cache
def _password_hash() -> str:
    return hash_password("password-123")  # argon2 is slow on purpose: hash once per run


def make_staff(engine: Engine, brand_id: int) -> Staff:
    """One user per role (two merchandisers and two managers), all active."""
    with transaction(engine) as session:
        ids = {}
        for key, role in (
            ("merch", Role.MERCHANDISER),
            ("merch2", Role.MERCHANDISER),
            ("manager", Role.MANAGER),
            ("manager2", Role.MANAGER),
            ("admin", Role.ADMIN),
            ("vendor", Role.VENDOR),
        ):
            user = User(
                email=f"{key}@rackroom.test",
                name=key.title(),
                password_hash=_password_hash(),
                role=role.value,
                brand_id=brand_id if role is Role.VENDOR else None,
            )
            session.add(user)
            session.flush()
            ids[key] = user.id
    return Staff(**ids)


def stocked_world(engine: Engine, units: int = 20, **kwargs) -> World:
    """make_world with `units` of every size received at every warehouse."""
    world = make_world(engine, **kwargs)
    with transaction(engine) as session:
        for variant in world.variants.values():
            for warehouse in world.warehouses.values():
                if units:
                    receive(session, variant, warehouse, units, actor="setup")
    return world


def add_sales(
    engine: Engine, variant_id: int, warehouse_id: int, qty: int, sold_at: datetime, lines: int = 1
) -> None:
    """`lines` sale lines of `qty` each (negative: returns), straight into sale_line."""
    with transaction(engine) as session:
        session.execute(
            insert(SaleLine.__table__),
            [
                {
                    "variant_id": variant_id,
                    "warehouse_id": warehouse_id,
                    "qty": qty,
                    "unit_price_cents": 1000,
                    "channel": "test",
                    "order_ref": f"T-{variant_id}-{warehouse_id}-{sold_at:%Y%m%d%H%M%S}-{i}",
                    "sold_at": sold_at,
                }
                for i in range(lines)
            ],
        )


def add_style(
    engine: Engine, brand_id: int, style: str, colour: str, sizes: tuple[str, ...]
) -> dict[str, int]:
    """Another style (or another colour of it) for the brand: {size label: variant id}."""
    from sqlalchemy import select

    from models.catalog import Product, Variant
    from models.sizes import normalise_size, size_rank

    with transaction(engine) as session:
        product = session.scalar(
            select(Product).where(Product.brand_id == brand_id, Product.style_code == style)
        )
        if product is None:
            product = Product(brand_id=brand_id, style_code=style, name=f"Style {style}")
            session.add(product)
            session.flush()
        ids = {}
        for label in sizes:
            system, size = normalise_size(label)
            variant = Variant(
                product_id=product.id,
                brand_id=brand_id,
                sku=f"X-{style}-{colour[:3].upper()}-{size.replace(' ', '')}",
                colour=colour,
                size=size,
                size_system=system.value,
                size_rank=size_rank(system, size),
                price_cents=1000,
            )
            session.add(variant)
            session.flush()
            ids[size] = variant.id
        return ids
