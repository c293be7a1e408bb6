"""Which warehouses a channel's reservation comes from.

`allocate` is pure: given the channel's warehouses (in the channel's order, with what
each has available and where it is), a quantity and where the order ships to, it
returns [(warehouse id, qty)], or raises InsufficientStock.

- priority: the first warehouse in the channel's order that covers the quantity;
- most-stock: the one with most available (ties: the channel's order);
- nearest: among those that cover, the closest by great-circle distance when both the
  warehouse and the address have coordinates; then one in the address's country; then
  the channel's order.

With `allow_split`, a quantity no single warehouse covers is spread over the fewest
warehouses that together cover it; among sets of that size the one whose members rank
best by the strategy (compared member by member, best first) wins, and each member gives
as much as it has in that order, the last one the rest. All or nothing: when the total
is short nothing is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from models.channels import Strategy
from models.errors import InsufficientStock
from models.geo import Place, distance_km

#: Above this many candidates the split set is chosen greedily instead of by trying
#: every set of the smallest size (a channel lists a handful of warehouses).
EXHAUSTIVE_LIMIT = 12


@dataclass(frozen=True, slots=True)
class Candidate:
    warehouse_id: int
    position: int
    available: int
    place: Place = field(default_factory=Place)


def _rank(candidate: Candidate, strategy: Strategy, ship_to: Place | None) -> tuple:
    """Sort key: smaller is better."""
    if strategy is Strategy.MOST_STOCK:
        return (-candidate.available, candidate.position)
    if strategy is Strategy.NEAREST and ship_to is not None:
        distance = distance_km(candidate.place, ship_to)
        if distance is not None:
            return (0, distance, candidate.position)
        same_country = ship_to.country is not None and candidate.place.country == ship_to.country
        return (1 if same_country else 2, 0.0, candidate.position)
    return (candidate.position,)


def allocate(
    candidates: list[Candidate],
    qty: int,
    *,
    strategy: Strategy,
    allow_split: bool = False,
    ship_to: Place | None = None,
) -> list[tuple[int, int]]:
    """[(warehouse id, qty)] for `qty` units (one entry unless split); see the module."""
    stocked = [c for c in candidates if c.available > 0]
    ranked = sorted(stocked, key=lambda c: _rank(c, strategy, ship_to))
    for candidate in ranked:
        if candidate.available >= qty:
            return [(candidate.warehouse_id, qty)]
    total = sum(c.available for c in stocked)
    best_single = max((c.available for c in stocked), default=0)
    if not allow_split or total < qty:
        where = "in total" if allow_split else "in any single warehouse"
        raise InsufficientStock(
            f"Only {total if allow_split else best_single} available {where} of the "
            f"channel's warehouses; {qty} requested.",
            available=total if allow_split else best_single,
            requested=qty,
        )
    chosen = _split_set(ranked, qty)
    allocation, remaining = [], qty
    for candidate in chosen:  # in rank order
        take = min(candidate.available, remaining)
        allocation.append((candidate.warehouse_id, take))
        remaining -= take
    return allocation


def _split_set(ranked: list[Candidate], qty: int) -> list[Candidate]:
    """The fewest warehouses that cover `qty`, best ranked among sets of that size."""
    by_stock = sorted(ranked, key=lambda c: -c.available)
    size, covered = 0, 0
    while covered < qty:  # the largest first: no smaller set can cover
        covered += by_stock[size].available
        size += 1
    if len(ranked) > EXHAUSTIVE_LIMIT:
        return [c for c in ranked if c in by_stock[:size]]
    index = {id(c): i for i, c in enumerate(ranked)}
    for chosen in combinations(ranked, size):  # lexicographic in rank order: best first
        if sum(c.available for c in chosen) >= qty:
            return sorted(chosen, key=lambda c: index[id(c)])
    raise AssertionError("a set of that size covers by construction")
