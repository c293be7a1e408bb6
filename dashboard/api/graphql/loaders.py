"""Per-request DataLoaders: every variant, brand, product, alias list and level list a
query asks for is fetched in one statement per kind, however many fields ask.

They read through the request's read session (`Context.session`); the whole operation
runs in one worker thread with its own event loop (`dashboard.api.graphql.http`), so
the session is only ever used by one thread at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import Session
from strawberry.dataloader import DataLoader

from models.api_keys import KeyHolder
from models.catalog import Brand, Product, Variant, Warehouse
from models.catalog_reads import (
    aliases_by_variant,
    brands_by_ids,
    list_warehouses,
    products_by_ids,
    variants_by_ids,
    variants_for_codes,
)
from models.stock_queries import WarehouseStock, levels_by_variant

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    fetch: Callable[[list[K]], dict[K, V]], default: Callable[[], Any] = lambda: None
) -> DataLoader[K, V]:
    async def load(keys: Sequence[K]) -> list[V]:
        found = fetch(list(keys))
        return [found.get(k, default()) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    session: Session
    holder: KeyHolder
    variant_by_code: DataLoader[str, Variant | None] = field(init=False)
    variant_by_id: DataLoader[int, Variant | None] = field(init=False)
    brand: DataLoader[int, Brand | None] = field(init=False)
    product: DataLoader[int, Product | None] = field(init=False)
    aliases: DataLoader[int, list[str]] = field(init=False)
    levels: DataLoader[int, list[WarehouseStock]] = field(init=False)
    _warehouses: dict[int, Warehouse] | None = None

    def __post_init__(self) -> None:
        s, bound = self.session, self.holder.brand_id
        self.variant_by_code = _loader(lambda codes: variants_for_codes(s, codes, brand_id=bound))
        self.variant_by_id = _loader(lambda ids: self._visible(variants_by_ids(s, ids)))
        self.brand = _loader(lambda ids: brands_by_ids(s, ids))
        self.product = _loader(lambda ids: products_by_ids(s, ids))
        self.aliases = _loader(lambda ids: aliases_by_variant(s, ids), list)
        self.levels = _loader(lambda ids: levels_by_variant(s, ids), list)

    def _visible(self, variants: dict[int, Variant]) -> dict[int, Variant]:
        """A brand-bound key sees its own brand's variants only."""
        bound = self.holder.brand_id
        return {k: v for k, v in variants.items() if bound is None or v.brand_id == bound}

    def warehouses(self) -> dict[int, Warehouse]:
        """Every warehouse by id (a short table, read once per request)."""
        if self._warehouses is None:
            self._warehouses = {w.id: w for w in list_warehouses(self.session, active_only=False)}
        return self._warehouses
