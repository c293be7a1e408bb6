"""The size-run view of the stock grid: one row per style-colour, a heat-scaled cell
per size (in size order), the total, and the broken-run flag."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from dashboard.formatting import units
from models.grid import LOW_STOCK_THRESHOLD, SizeRunPage, stock_state_of


@dataclasses.dataclass
class SizeCell:
    variant_id: int
    label: str
    #: "none" (size not made), "out", "low", "ok1" … "ok3" (the heat scale)
    level: str
    hint: str


@dataclasses.dataclass
class RunItem:
    key: str
    brand: str
    product: str
    style_code: str
    colour: str
    cells: list[SizeCell]
    total: str
    state: str
    broken: bool


def heat_level(available: int | None, threshold: int = LOW_STOCK_THRESHOLD) -> str:
    """The heat-scale step of a size-run cell (see the legend)."""
    if available is None:
        return "none"
    state = stock_state_of(available, threshold)
    if state != "ok":
        return state
    return "ok1" if available < 10 else ("ok2" if available < 50 else "ok3")


def run_items(page: SizeRunPage, ids: Mapping[tuple[int, str, str], int]) -> list[RunItem]:
    """The page's runs as the table shows them; `ids` maps (product, colour, size) to
    the variant a cell opens."""
    items = []
    threshold = page.filter.low_threshold
    for row in page.rows:
        cells = []
        for size, units_ in zip(page.sizes, row.cells, strict=True):
            if units_ is None:
                cells.append(
                    SizeCell(0, "·", "none", hint=f"{size}: not made in this colour")
                )
                continue
            variant_id = ids.get((row.product_id, row.colour, size), 0)
            cells.append(
                SizeCell(
                    variant_id=variant_id,
                    label=units(units_),
                    level=heat_level(units_, threshold),
                    hint=f"{size}: {units(units_)} available",
                )
            )
        items.append(
            RunItem(
                key=f"{row.product_id}:{row.colour}",
                brand=row.brand_code,
                product=row.product_name,
                style_code=row.style_code,
                colour=row.colour,
                cells=cells,
                total=units(row.total_available),
                state=stock_state_of(row.total_available, threshold),
                broken=row.broken,
            )
        )
    return items
