"""What a grid page holds (rows, totals, warehouses) and the broken size-run rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from models.grid.filter import GridFilter
from models.sizes import CORE_ALPHA, SizeSystem

# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarehouseColumn:
    id: int
    code: str
    name: str


class Quantities(NamedTuple):
    """Units of one variant in one warehouse, or summed over several."""

    on_hand: int = 0
    reserved: int = 0
    incoming: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class BalanceGridRow:
    variant_id: int
    product_id: int
    sku: str
    brand_code: str
    product_name: str
    style_code: str
    category: str
    colour: str
    size: str
    size_system: str
    barcode: str | None
    #: One entry per `BalanceGridPage.warehouses`, in that order.
    stock: tuple[Quantities, ...]
    total: Quantities


@dataclass(frozen=True)
class BalanceGridPage:
    filter: GridFilter
    warehouses: tuple[WarehouseColumn, ...]
    rows: tuple[BalanceGridRow, ...]
    total_rows: int

    @property
    def page(self) -> int:
        return self.filter.page

    @property
    def page_size(self) -> int:
        return self.filter.page_size

    @property
    def last_page(self) -> int:
        return _last_page(self.total_rows, self.filter.page_size)

    def records(self) -> list[dict[str, Any]]:
        """The rows as flat dicts (what a UI table or the CSV export holds)."""
        return [_record(row, self.warehouses) for row in self.rows]


@dataclass(frozen=True, slots=True)
class SizeRunRow:
    product_id: int
    colour: str
    brand_code: str
    product_name: str
    style_code: str
    category: str
    #: Available units per `SizeRunPage.sizes` entry; None where the size does not exist.
    cells: tuple[int | None, ...]
    total_available: int
    broken: bool


@dataclass(frozen=True)
class SizeRunPage:
    filter: GridFilter
    #: The warehouses summed in the cells (one when a warehouse was chosen).
    warehouses: tuple[WarehouseColumn, ...]
    #: Size labels: grouped by size system, then by size rank, then label.
    sizes: tuple[str, ...]
    rows: tuple[SizeRunRow, ...]
    total_rows: int

    @property
    def page(self) -> int:
        return self.filter.page

    @property
    def page_size(self) -> int:
        return self.filter.page_size

    @property
    def last_page(self) -> int:
        return _last_page(self.total_rows, self.filter.page_size)


def _last_page(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


# --- broken size runs -----------------------------------------------------------------------

#: (size label, size system, size rank, available units)
SizeCell = tuple[str, str, int, int]


def core_sizes(cells: Sequence[SizeCell]) -> set[str]:
    """The labels whose absence breaks a run: S/M/L for alpha, else the middle half.

    The middle half is taken by rank: a size counts when the centre of its slot lies
    within the run's second and third quarters (inclusive), so 4 sizes give the middle
    2, 5 give 3, 6 give 4 and 9 give 5. Runs of fewer than three sizes have no core.
    """
    ordered = sorted(cells, key=lambda c: (c[2], c[0]))
    labels = list(dict.fromkeys(c[0] for c in ordered))
    systems = {c[1] for c in ordered}
    if len(labels) < 3 or SizeSystem.ONE_SIZE.value in systems:
        return set()
    if systems == {SizeSystem.ALPHA.value}:
        core = set(CORE_ALPHA) & set(labels)
        if core:
            return core
    n = len(labels)
    return {label for i, label in enumerate(labels) if n <= 4 * i + 2 <= 3 * n}


def is_broken_size_run(cells: Sequence[SizeCell]) -> bool:
    """A core size is out (0 available) while some other size still has stock."""
    core = core_sizes(cells)
    if not core:
        return False
    available = {}
    for label, _system, _rank, units in cells:
        available[label] = available.get(label, 0) + units
    core_out = any(available[label] <= 0 for label in core)
    return core_out and any(units > 0 for units in available.values())


# --- records (the CSV export's and `as_records`'s shape) --------------------------------

_FACT_HEADERS = (
    ("sku", "SKU"),
    ("brand", "Brand"),
    ("product", "Product"),
    ("style_code", "Style"),
    ("category", "Category"),
    ("colour", "Colour"),
    ("size", "Size"),
    ("barcode", "Barcode"),
)
_QUANTITY_HEADERS = (
    ("available", "available"),
    ("on_hand", "on hand"),
    ("reserved", "reserved"),
    ("incoming", "incoming"),
)


def _record(row: BalanceGridRow, warehouses: Sequence[WarehouseColumn]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "variant_id": row.variant_id,
        "sku": row.sku,
        "brand": row.brand_code,
        "product": row.product_name,
        "style_code": row.style_code,
        "category": row.category,
        "colour": row.colour,
        "size": row.size,
        "barcode": row.barcode,
    }
    for warehouse, held in zip(warehouses, row.stock, strict=True):
        for name, _label in _QUANTITY_HEADERS:
            record[f"{warehouse.code}:{name}"] = getattr(held, name)
    for name, _label in _QUANTITY_HEADERS:
        record[f"total:{name}"] = getattr(row.total, name)
    return record
