"""The stock grid's query layer: filtered, sorted, paged balances and size runs.

Two views of one `GridFilter`:

* `balance_grid`: one row per variant, on hand / reserved / available / incoming per
  selected warehouse, and totals across them.
* `size_run_grid`: one row per style-colour (product × colour), a column per size in
  size order, available units per cell, broken size runs flagged.

A balances page costs two statements whatever the catalogue size: the warehouses (with
the counts riding along), then the page's keys (filtered, ordered and limited in SQL)
joined to the facts and balances of those keys only; a size-run page three (the page's
style-colours, then their cells). Nothing beyond one page is pulled into Python.
Every user value reaches SQL as a bound parameter; text search is a literal substring
(LIKE metacharacters escaped), never a pattern or a regex.

Stock state (low / out) and quantity sorts need each variant's total over the selected
warehouses. For a small share of the catalogue (a brand, a search) those are summed
per variant through the balance primary key; for more (the whole catalogue) in one
aggregate over the balances, which is the cost floor of such a page without a stored
per-variant total (≈1.6M balances: a few hundred ms).

`iter_grid_csv` exports the filtered balances view, in pieces, with spreadsheet formulas
neutralised (`export_row_count` checks its size first).
Vendors are confined by the caller putting their one brand in `GridFilter.brand_ids`:
every statement here (counts and exports included) applies it.
"""

from models.grid.export import (
    GridOptions,
    export_row_count,
    grid_csv,
    grid_options,
    iter_grid_csv,
)
from models.grid.filter import (
    DEFAULT_EXPORT_ROWS,
    DEFAULT_PAGE_SIZE,
    DIRECTIONS,
    LOW_STOCK_THRESHOLD,
    MAX_PAGE_SIZE,
    MAX_TEXT_LENGTH,
    QUANTITY_COLUMNS,
    SIZE_SYSTEM_ORDER,
    SORT_COLUMNS,
    STOCK_STATES,
    GridFilter,
    escape_like,
    stock_state_of,
)
from models.grid.rows import (
    BalanceGridPage,
    BalanceGridRow,
    Quantities,
    SizeCell,
    SizeRunPage,
    SizeRunRow,
    WarehouseColumn,
    core_sizes,
    is_broken_size_run,
)
from models.grid.sql import PER_VARIANT_FLOOR, PER_VARIANT_SHARE, Order
from models.grid.views import balance_grid, size_run_grid

__all__ = [
    "DEFAULT_EXPORT_ROWS",
    "DEFAULT_PAGE_SIZE",
    "DIRECTIONS",
    "LOW_STOCK_THRESHOLD",
    "MAX_PAGE_SIZE",
    "MAX_TEXT_LENGTH",
    "PER_VARIANT_FLOOR",
    "PER_VARIANT_SHARE",
    "QUANTITY_COLUMNS",
    "SIZE_SYSTEM_ORDER",
    "SORT_COLUMNS",
    "STOCK_STATES",
    "BalanceGridPage",
    "BalanceGridRow",
    "GridFilter",
    "GridOptions",
    "Order",
    "Quantities",
    "SizeCell",
    "SizeRunPage",
    "SizeRunRow",
    "WarehouseColumn",
    "balance_grid",
    "core_sizes",
    "escape_like",
    "export_row_count",
    "grid_csv",
    "grid_options",
    "is_broken_size_run",
    "iter_grid_csv",
    "size_run_grid",
    "stock_state_of",
]
