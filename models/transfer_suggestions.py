"""Suggested transfers: move a size from where it sits to where it sells and is short.

For one brand or one style, per variant and active warehouse:

    weekly velocity v = net units sold there in the last `days` days × 7 / days
    weeks of cover    = available / v             (at a source)
                      = (available + incoming) / v (at a destination: stock on its way counts)

A warehouse *needs* a size when it sells (v > 0) and its cover is below
`target_weeks`: it wants ceil(target_weeks × v) − (available + incoming) more. A
warehouse can *give* when its cover is above `2 × target_weeks` (or it sells none):
everything above ceil(target_weeks × v), so it keeps the target cover itself.
Neediest destinations (least cover) are served first, from the donors with the most
cover. Each suggestion carries the cover before and after at both ends, so a manager
can judge it; `create_suggested_transfers` turns the accepted ones into drafts, one
per (source, destination).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import select
from sqlmodel import Session

from models.base import utcnow
from models.catalog import Product, Variant, Warehouse
from models.errors import InvalidQuantity, NotFound
from models.replenishment import DEFAULT_DAYS, sales_by_balance
from models.stock import StockBalance
from models.transfers import Transfer, create_transfer

_b = StockBalance.__table__
_v = Variant.__table__
_p = Product.__table__
_w = Warehouse.__table__

DEFAULT_TARGET_WEEKS = 4


@dataclass(frozen=True, slots=True)
class SuggestedMove:
    variant_id: int
    sku: str
    product: str
    colour: str
    size: str
    from_warehouse_id: int
    from_code: str
    to_warehouse_id: int
    to_code: str
    qty: int
    #: Weekly velocity at each end (units per week over the window).
    from_velocity: float
    to_velocity: float
    from_available: int
    #: Available + incoming at the destination.
    to_position: int
    #: Weeks of cover before and after the move; None means nothing sells there.
    from_cover_before: float | None
    from_cover_after: float | None
    to_cover_before: float | None
    to_cover_after: float | None


def _cover(units: int, weekly: Fraction) -> float | None:
    return float(units / weekly) if weekly else None


def suggest_transfers(
    session: Session,
    *,
    brand_id: int | None = None,
    product_id: int | None = None,
    days: int = DEFAULT_DAYS,
    target_weeks: int | float = DEFAULT_TARGET_WEEKS,
    now: datetime | None = None,
) -> list[SuggestedMove]:
    """Moves that rebalance one brand's (or one style's) sizes between active warehouses."""
    if (brand_id is None) == (product_id is None):
        raise InvalidQuantity("Suggest for one brand or one style.", field="brand_id")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise InvalidQuantity("days must be a whole number from 1 to 365.", field="days")
    if not 0 < target_weeks <= 52:
        raise InvalidQuantity("target_weeks must be above 0 and at most 52.", field="target_weeks")
    target = Fraction(target_weeks).limit_denominator(1000)
    now = now or utcnow()
    variants = select(_v.c.id, _v.c.sku, _p.c.name, _v.c.colour, _v.c.size).join(
        _p, _p.c.id == _v.c.product_id
    )
    if product_id is not None:
        if session.get(Product, product_id) is None:
            raise NotFound(f"No product with id {product_id}.", product_id=product_id)
        variants = variants.where(_v.c.product_id == product_id)
    else:
        variants = variants.where(_v.c.brand_id == brand_id)
    facts = {r[0]: r for r in session.execute(variants.order_by(_v.c.id))}
    if not facts:
        return []
    places = dict(session.execute(select(_w.c.id, _w.c.code).where(_w.c.is_active.is_(True))).all())
    stock: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    ids = sorted(facts)
    for start in range(0, len(ids), 5_000):
        for variant_id, warehouse_id, available, incoming in session.execute(
            select(
                _b.c.variant_id,
                _b.c.warehouse_id,
                _b.c.on_hand - _b.c.reserved,
                _b.c.incoming,
            ).where(_b.c.variant_id.in_(ids[start : start + 5_000]))
        ):
            if warehouse_id in places:
                stock[variant_id][warehouse_id] = (int(available), int(incoming))
    pairs = [(v, w) for v, by_place in stock.items() for w in by_place]
    sold = sales_by_balance(session, pairs, days=days, now=now)

    moves: list[SuggestedMove] = []
    for variant_id in ids:
        by_place = stock.get(variant_id, {})
        weekly = {w: Fraction(max(sold.get((variant_id, w), 0), 0) * 7, days) for w in by_place}
        needs, gives = [], []
        for w, (available, incoming) in by_place.items():
            v = weekly[w]
            keep = math.ceil(target * v)
            if v > 0 and available + incoming < target * v:
                needs.append([Fraction(available + incoming) / v, w, keep - available - incoming])
            elif available > 0 and (v == 0 or Fraction(available) / v > 2 * target):
                surplus = available - keep
                if surplus > 0:
                    cover = Fraction(available) / v if v else None
                    gives.append([cover, w, surplus])
        if not needs or not gives:
            continue
        needs.sort(key=lambda x: (x[0], -weekly[x[1]], x[1]))
        gives.sort(key=lambda x: (x[0] is not None, -(x[0] or 0), x[1]))
        sent: dict[int, int] = defaultdict(int)
        got: dict[int, int] = defaultdict(int)
        for need in needs:
            for give in gives:
                qty = min(need[2], give[2])
                if qty <= 0:
                    continue
                source, dest = give[1], need[1]
                need[2] -= qty
                give[2] -= qty
                moves.append(
                    _move(facts[variant_id], places, by_place, weekly, source, dest, qty, sent, got)
                )
                sent[source] += qty
                got[dest] += qty
                if need[2] == 0:
                    break
    return moves


def _move(fact, places, by_place, weekly, source, dest, qty, sent, got) -> SuggestedMove:
    from_available = by_place[source][0] - sent[source]
    to_position = sum(by_place[dest]) + got[dest]
    return SuggestedMove(
        variant_id=fact[0],
        sku=fact[1],
        product=fact[2],
        colour=fact[3],
        size=fact[4],
        from_warehouse_id=source,
        from_code=places[source],
        to_warehouse_id=dest,
        to_code=places[dest],
        qty=qty,
        from_velocity=float(weekly[source]),
        to_velocity=float(weekly[dest]),
        from_available=from_available,
        to_position=to_position,
        from_cover_before=_cover(from_available, weekly[source]),
        from_cover_after=_cover(from_available - qty, weekly[source]),
        to_cover_before=_cover(to_position, weekly[dest]),
        to_cover_after=_cover(to_position + qty, weekly[dest]),
    )


def create_suggested_transfers(
    session: Session,
    moves: Iterable[SuggestedMove],
    *,
    actor_id: int,
    note: str = "Suggested rebalance",
    now: datetime | None = None,
) -> list[Transfer]:
    """Draft transfers for the accepted `moves`, one per (source, destination)."""
    grouped: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for move in moves:
        grouped[move.from_warehouse_id, move.to_warehouse_id][move.variant_id] += move.qty
    if not grouped:
        raise InvalidQuantity("Pick at least one suggested move.", field="moves")
    return [
        create_transfer(
            session,
            source_warehouse_id=source,
            dest_warehouse_id=dest,
            lines=sorted(lines.items()),
            actor_id=actor_id,
            note=note,
            now=now,
        )
        for (source, dest), lines in sorted(grouped.items())
    ]
