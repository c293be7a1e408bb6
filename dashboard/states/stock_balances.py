"""The balances view of the stock grid: one row per variant, available units per
warehouse (on hand, reserved and incoming on hover) and the totals, formatted."""

from __future__ import annotations

import dataclasses

from dashboard.formatting import units
from dashboard.items import figures_of
from models.grid import BalanceGridPage, stock_state_of


@dataclasses.dataclass
class StockCell:
    """Available units of one variant in one warehouse, with the rest on hover."""

    variant_id: int
    warehouse_id: int
    #: "variant:warehouse", the bulk edit's name for the cell.
    key: str
    on_hand: int
    available: str
    state: str
    hint: str
    edit_label: str
    #: The cell's input in bulk edit: "On hand of SKU at LDN".
    count_label: str


@dataclasses.dataclass
class BalanceItem:
    variant_id: int
    sku: str
    brand: str
    product: str
    style_code: str
    colour: str
    size: str
    cells: list[StockCell]
    available: str
    on_hand: str
    reserved: str
    incoming: str
    state: str
    open_label: str


@dataclasses.dataclass
class Column:
    """A warehouse column of the grid."""

    id: int
    code: str
    name: str


def cell_key(variant_id: int, warehouse_id: int) -> str:
    """ "variant:warehouse": how the bulk edit names a cell."""
    return f"{variant_id}:{warehouse_id}"


def _hint(on_hand: int, reserved: int, incoming: int) -> str:
    text = f"On hand {units(on_hand)} · reserved {units(reserved)}"
    return text + (f" · incoming {units(incoming)}" if incoming else "")


def balance_items(page: BalanceGridPage) -> list[BalanceItem]:
    """The page's rows as the table shows them."""
    items = []
    threshold = page.filter.low_threshold
    for row in page.rows:
        cells = [
            StockCell(
                variant_id=row.variant_id,
                warehouse_id=w.id,
                key=cell_key(row.variant_id, w.id),
                on_hand=held.on_hand,
                available=units(held.available),
                state=stock_state_of(held.available, threshold),
                hint=f"{w.code}: " + _hint(held.on_hand, held.reserved, held.incoming),
                edit_label=f"Correct {row.sku} at {w.code}",
                count_label=f"On hand of {row.sku} at {w.code}",
            )
            for w, held in zip(page.warehouses, row.stock, strict=True)
        ]
        total = row.total
        items.append(
            BalanceItem(
                variant_id=row.variant_id,
                sku=row.sku,
                brand=row.brand_code,
                product=row.product_name,
                style_code=row.style_code,
                colour=row.colour,
                size=row.size,
                cells=cells,
                **figures_of(total),
                state=stock_state_of(total.available, threshold),
                open_label=f"Open {row.sku}",
            )
        )
    return items
