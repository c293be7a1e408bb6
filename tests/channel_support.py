"""Four hand-placed warehouses (London, Manchester, Madrid, Copenhagen) and a helper
that stocks them, shared by the allocation, CLI and API tests."""

from __future__ import annotations

from sqlalchemy import Engine

from models.catalog import create_warehouse
from models.db import transaction
from models.geo import Place
from models.stock import receive
from tests.factories import World, make_world

#: code: (priority, country, latitude, longitude)
EUROPE = {
    "LON": (10, "GB", 51.5074, -0.1278),
    "MAN": (20, "GB", 53.4808, -2.2426),
    "MAD": (30, "ES", 40.4168, -3.7038),
    "CPH": (40, "DK", 55.6761, 12.5683),
}
BARCELONA = Place("ES", 41.3874, 2.1686)
EDINBURGH = Place("GB", 55.9533, -3.1883)
LONDON = Place("GB", 51.5074, -0.1278)


def make_europe(engine: Engine, **kwargs) -> World:
    """make_world with the four placed warehouses (no others)."""
    world = make_world(engine, warehouses=(), **kwargs)
    with transaction(engine) as session:
        for code, (priority, country, lat, lon) in EUROPE.items():
            world.warehouses[code] = create_warehouse(
                session, code, code, priority=priority, country=country, latitude=lat, longitude=lon
            ).id
    return world


def stock(engine: Engine, world: World, size: str = "M", **units: int) -> None:
    with transaction(engine) as session:
        for code, qty in units.items():
            receive(session, world.variants[size], world.warehouses[code], qty, actor="setup")
