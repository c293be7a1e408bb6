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

`grid_csv` exports the filtered balances view with spreadsheet formulas neutralised.
Vendors are confined by the caller putting their one brand in `GridFilter.brand_ids`:
every statement here (counts and exports included) applies it.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    true,
    tuple_,
    union,
)
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse
from models.csv_safety import safe_cell
from models.errors import InvalidQuantity
from models.sizes import CORE_ALPHA, SizeSystem
from models.stock import StockBalance

#: A variant is "low" when 1..LOW_STOCK_THRESHOLD units are available across the
#: selected warehouses (per-warehouse rules come with the alerts feature).
LOW_STOCK_THRESHOLD = 3
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_TEXT_LENGTH = 100
DEFAULT_EXPORT_ROWS = 50_000

QUANTITY_COLUMNS = ("on_hand", "reserved", "available", "incoming")
SORT_COLUMNS = ("sku", "product", "colour", "size", "brand", *QUANTITY_COLUMNS)
STOCK_STATES = ("all", "low", "out")
DIRECTIONS = ("asc", "desc")
#: Size systems in the order their columns appear when a page mixes them.
SIZE_SYSTEM_ORDER = {system.value: n for n, system in enumerate(SizeSystem)}

_v = Variant.__table__
_p = Product.__table__
_br = Brand.__table__
_a = SkuAlias.__table__
_b = StockBalance.__table__
_w = Warehouse.__table__

# --- the filter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GridFilter:
    """What the grid shows. Construction validates and normalises every field.

    Bad values raise `InvalidQuantity` naming the field; `page_size` is clamped to
    1..MAX_PAGE_SIZE and a page past the end is simply empty. Empty `brand_ids` means
    every brand (a vendor's session passes its one brand); empty `warehouse_ids` means
    every active warehouse. Category, colour and size match exactly (the UI offers the
    values that exist); `search` is a case-insensitive substring of SKU, alias code,
    barcode, product name or style code. `stock_state` "out" is nothing available
    across the selected warehouses, "low" 1..`low_threshold` available.
    """

    brand_ids: tuple[int, ...] = ()
    warehouse_ids: tuple[int, ...] = ()
    category: str | None = None
    colour: str | None = None
    size: str | None = None
    search: str = ""
    stock_state: str = "all"
    sort: str = "sku"
    direction: str = "asc"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    low_threshold: int = LOW_STOCK_THRESHOLD

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "brand_ids", _id_tuple(self.brand_ids, "brand_ids"))
        set_(self, "warehouse_ids", _id_tuple(self.warehouse_ids, "warehouse_ids"))
        for name in ("category", "colour", "size"):
            set_(self, name, _optional_text(getattr(self, name), name))
        set_(self, "search", _search_text(self.search))
        set_(self, "stock_state", _choice(self.stock_state, STOCK_STATES, "stock_state"))
        set_(self, "sort", _choice(self.sort, SORT_COLUMNS, "sort"))
        set_(self, "direction", _choice(self.direction, DIRECTIONS, "direction"))
        set_(self, "page", _whole(self.page, "page", minimum=1))
        size = _whole(self.page_size, "page_size", minimum=None)
        set_(self, "page_size", min(max(size, 1), MAX_PAGE_SIZE))
        threshold = _whole(self.low_threshold, "low_threshold", minimum=1, maximum=_MAX_INT)
        set_(self, "low_threshold", threshold)

    @property
    def descending(self) -> bool:
        return self.direction == "desc"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @classmethod
    def from_params(cls, params: Mapping[str, str | None], **overrides: Any) -> GridFilter:
        """A filter from URL query parameters (see `to_params`); malformed values raise.

        `overrides` win over the URL: pass `brand_ids=(vendor_brand,)` for a vendor,
        whatever the URL says.
        """
        values: dict[str, Any] = {}
        for key, name in _PARAM_NAMES.items():
            raw = params.get(key)
            if raw is None or raw == "":
                continue
            if name in ("brand_ids", "warehouse_ids"):
                values[name] = _parse_ids(raw, name)
            elif name in ("page", "page_size"):
                values[name] = _parse_int(raw, name)
            else:
                values[name] = raw
        return cls(**(values | overrides))

    def to_params(self) -> dict[str, str]:
        """URL query parameters for this filter, defaults left out."""
        default = GridFilter()
        params = {}
        for key, name in _PARAM_NAMES.items():
            value = getattr(self, name)
            if value == getattr(default, name):
                continue
            params[key] = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        return params

    def with_page(self, page: int) -> GridFilter:
        return replace(self, page=page)


_PARAM_NAMES = {
    "brand": "brand_ids",
    "warehouse": "warehouse_ids",
    "category": "category",
    "colour": "colour",
    "size": "size",
    "q": "search",
    "stock": "stock_state",
    "sort": "sort",
    "dir": "direction",
    "page": "page",
    "per_page": "page_size",
}


#: Ids and thresholds are 32-bit integers in the database.
_MAX_INT = 2**31 - 1


def _whole(value: object, field: str, *, minimum: int | None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{field} must be a whole number, got {value!r}.", field=field)
    if minimum is not None and value < minimum:
        raise InvalidQuantity(
            f"{field} must be {minimum} or more, got {value}.", field=field, value=value
        )
    if maximum is not None and value > maximum:
        raise InvalidQuantity(f"{field} is too large: {value}.", field=field, value=value)
    return value


def _id_tuple(value: object, field: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidQuantity(f"{field} must be a list of ids, got {value!r}.", field=field)
    for item in value:
        _whole(item, field, minimum=1, maximum=_MAX_INT)
    return tuple(sorted(set(value)))


def _optional_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidQuantity(f"{field} must be text, got {value!r}.", field=field)
    value = value.strip()
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidQuantity(
            f"{field} is too long (at most {MAX_TEXT_LENGTH} characters).", field=field
        )
    return value or None


def _search_text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidQuantity(f"search must be text, got {value!r}.", field="search")
    # Tabs, newlines and NULs (which PostgreSQL text cannot hold) become spaces.
    value = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidQuantity(
            f"search is too long (at most {MAX_TEXT_LENGTH} characters).", field="search"
        )
    return value


def _choice(value: object, allowed: tuple[str, ...], field: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in allowed:
        raise InvalidQuantity(
            f"{field} must be one of {', '.join(allowed)}; got {value!r}.", field=field
        )
    return text


def _parse_int(raw: str, field: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidQuantity(
            f"{field} must be a whole number, got {raw!r}.", field=field
        ) from None


def _parse_ids(raw: str, field: str) -> tuple[int, ...]:
    return tuple(_parse_int(part, field) for part in raw.split(",") if part.strip())


def escape_like(text: str) -> str:
    """`text` with LIKE's metacharacters escaped by backslash (use with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def stock_state_of(available: int, threshold: int = LOW_STOCK_THRESHOLD) -> str:
    """The state a number of available units shows as: "out", "low" or "ok"."""
    if available <= 0:
        return "out"
    return "low" if available <= threshold else "ok"


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


# --- shared query pieces --------------------------------------------------------------------
#
# Statements are built once per *shape* (which filter fields are set, the sort, how stock
# is summed) and cached; every user value reaches them as a named bound parameter at
# execution (`_params`). Building and cache-keying a statement tree costs about as much
# as running a cheap page, so this keeps the layer close to hand-written SQL.

#: While the candidate variants are at most this share of the catalogue, stock is summed
#: per variant through the balance primary key (a few index reads each); beyond it, the
#: balances are aggregated in one pass. The planner cannot tell the two apart well: with
#: default costs it would hash-join one brand's few thousand variants against every
#: balance. Measured on the large seed (8 warehouses): 28k of 200k candidates 80 ms per
#: variant vs 217 ms aggregated; all 200k 331 ms vs 199 ms. The catalogue's size is read
#: as its highest variant id (an index probe; variants are not deleted).
PER_VARIANT_SHARE = 0.3
#: Summing per variant always wins for this few candidates.
PER_VARIANT_FLOOR = 2_000


@dataclass(frozen=True)
class _Scope:
    """The warehouses a query sums over, and how the query should sum."""

    columns: tuple[WarehouseColumn, ...]
    #: False when the selection is every warehouse there is: no predicate needed.
    restricts: bool
    dialect: str
    per_variant: bool = True

    @property
    def ids(self) -> list[int]:
        return [w.id for w in self.columns]

    def summing(self, candidates: int, catalogue: int) -> _Scope:
        return replace(self, per_variant=_per_variant(candidates, catalogue))


def _per_variant(candidates: int, catalogue: int) -> bool:
    if PER_VARIANT_SHARE < 0:  # tests force the aggregate
        return False
    return candidates <= max(PER_VARIANT_FLOOR, catalogue * PER_VARIANT_SHARE)


#: The catalogue's size for choosing how to sum stock (see PER_VARIANT_SHARE).
_CATALOGUE = select(func.coalesce(func.max(_v.c.id), 0))


@dataclass(frozen=True)
class _Shape:
    """The structure of a filter's statements: which fields are set, not their values."""

    dialect: str
    #: 0 (every brand), 1 (one brand) or 2 (several).
    brands: int = 0
    colour: bool = False
    size: bool = False
    category: bool = False
    search: bool = False
    stock_state: str = "all"
    sort: str = "sku"
    descending: bool = False
    restricts: bool = False
    per_variant: bool = True

    @classmethod
    def of(cls, f: GridFilter, scope: _Scope) -> _Shape:
        return cls(
            scope.dialect,
            brands=min(len(f.brand_ids), 2),
            colour=f.colour is not None,
            size=f.size is not None,
            category=f.category is not None,
            search=bool(f.search),
            stock_state=f.stock_state,
            sort=f.sort,
            descending=f.descending,
            restricts=scope.restricts,
            per_variant=scope.per_variant,
        )

    @property
    def picks_variants(self) -> bool:
        """Size, search and stock state choose single variants out of a size run."""
        return self.size or self.search or self.stock_state != "all"

    def whole_runs(self) -> _Shape:
        return replace(self, size=False, search=False, stock_state="all")


def _params(f: GridFilter, scope: _Scope) -> dict[str, Any]:
    """The values for the statements of `_Shape.of(f, scope)`."""
    params: dict[str, Any] = {}
    if f.brand_ids:
        params["brand_ids"] = list(f.brand_ids)
        params["brand_id"] = f.brand_ids[0]
    for name in ("colour", "size", "category"):
        if getattr(f, name) is not None:
            params[name] = getattr(f, name)
    if f.search:
        params["pattern"] = f"%{escape_like(f.search)}%"
    if f.stock_state == "low":
        params["low"] = f.low_threshold
    if scope.restricts:
        params["warehouse_ids"] = scope.ids
    return params


def _in_param(
    column: ColumnElement, name: str, dialect: str, item_type: type[TypeEngine] = Integer
) -> ColumnElement[bool]:
    """`column IN :name` for a list given at execution; ``= ANY(:name)`` on PostgreSQL,
    so the statement's text is the same for any number of values."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(item_type)))
    return column.in_(bindparam(name, expanding=True))


def _in_warehouses(b: FromClause, dialect: str, restricts: bool) -> list[ColumnElement[bool]]:
    return [_in_param(b.c.warehouse_id, "warehouse_ids", dialect)] if restricts else []


_WAREHOUSES = select(_w.c.id, _w.c.code, _w.c.name, _w.c.is_active).order_by(
    _w.c.priority, _w.c.code
)


@functools.lru_cache(maxsize=256)
def _with_warehouses(counts: tuple[Select, ...], jit_off: bool) -> Select:
    """The warehouses, each row also carrying the values of the `counts` queries.

    A one-row derived table joined to the warehouses: the counts cost no round trip.
    With `jit_off` (PostgreSQL) it also turns JIT compilation off for the rest of the
    transaction (``set_config(..., is_local => true)``, i.e. SET LOCAL): the stock
    aggregates that follow cost just enough to trigger it, and compiling them takes
    longer than it saves (measured: 70-100 ms of a 300 ms page).
    """
    if not counts and not jit_off:
        return _WAREHOUSES
    values = [count.scalar_subquery().label(f"n{n}") for n, count in enumerate(counts)]
    if jit_off:
        values.insert(0, func.set_config("jit", "off", true()).label("jit"))
    counted = select(*values).subquery("counts")
    return (
        select(*counted.c, *_WAREHOUSES.selected_columns)
        .select_from(counted.outerjoin(_w, true()))
        .order_by(_w.c.priority, _w.c.code)
    )


def _scope(
    session: Session,
    wanted: Sequence[int],
    counts: Sequence[Select] = (),
    params: Mapping[str, Any] | None = None,
    *,
    heavy: bool = False,
) -> tuple[_Scope, list[int]]:
    """The warehouses to show and sum over, and the values of the `counts` queries.

    `heavy`: stock totals follow (JIT off on PostgreSQL, see `_with_warehouses`).
    """
    dialect = session.get_bind().dialect.name
    jit_off = heavy and dialect == "postgresql"
    query = _with_warehouses(tuple(counts), jit_off)
    found = session.connection().execute(query, params or {}).all()
    first = int(jit_off)
    skip = first + len(counts)
    values = [int(value) for value in found[0][first:skip]] if counts else []
    rows = [row[skip:] for row in found if row[skip] is not None]
    if wanted:
        known = {row[0] for row in rows}
        missing = [w for w in wanted if w not in known]
        if missing:
            raise InvalidQuantity(
                f"No warehouse with id {', '.join(map(str, missing))}.",
                field="warehouse_ids",
                value=missing,
            )
        chosen = [row for row in rows if row[0] in set(wanted)]
    else:
        chosen = [row for row in rows if row[3]]
    columns = tuple(WarehouseColumn(row[0], row[1], row[2]) for row in chosen)
    return _Scope(columns, restricts=len(chosen) != len(rows), dialect=dialect), values


@functools.cache
def _alias(table: Table, name: str) -> FromClause:
    """One alias object per name: its column collection is built once, not per query."""
    return table.alias(name)


_QUANTITY_EXPRESSIONS = {
    "on_hand": lambda b: b.c.on_hand,
    "reserved": lambda b: b.c.reserved,
    "available": lambda b: b.c.on_hand - b.c.reserved,
    "incoming": lambda b: b.c.incoming,
}
#: Columns of a variant that the grid queries read (the search's union has those needed).
_VARIANT_COLUMNS = ("id", "product_id", "brand_id", "sku", "colour", "size", "size_rank")


@functools.lru_cache(maxsize=256)
def _search_rows(dialect: str, name: str, columns: tuple[str, ...]) -> FromClause:
    """The variants whose SKU, barcode, alias code, product name or style code contain
    the :pattern parameter (a LIKE pattern, metacharacters escaped by backslash).

    A UNION of per-table matches rather than an OR across a join, so that each branch
    can use its own trigram index on PostgreSQL; it yields the variant rows themselves,
    so nothing joins back to `variant` afterwards.
    """
    pattern = bindparam("pattern", type_=String)

    def like(column: ColumnElement) -> ColumnElement[bool]:
        return column.ilike(pattern, escape="\\")

    sv = _alias(_v, f"{name}_v")
    sa = _alias(_a, f"{name}_a")
    sp = _alias(_p, f"{name}_p")
    selected = [sv.c[column] for column in columns]
    products = select(sp.c.id).where(or_(like(sp.c.name), like(sp.c.style_code)))
    if dialect == "postgresql":
        # = ANY(ARRAY(...)) lets the planner read the matching products' variants
        # through the (product_id, colour, size) index instead of hashing every variant.
        by_product = sv.c.product_id == any_(func.array(products.scalar_subquery()))
    else:
        by_product = sv.c.product_id.in_(products)
    return union(
        select(*selected).where(or_(like(sv.c.sku), like(sv.c.barcode))),
        select(*selected).join(sa, sa.c.variant_id == sv.c.id).where(like(sa.c.code)),
        select(*selected).where(by_product),
    ).subquery(name)


@dataclass(frozen=True)
class _Source:
    """The variants a filter's catalogue fields select (brand, category, colour, size, search)."""

    v: FromClause
    p: FromClause
    br: FromClause
    conditions: tuple[ColumnElement[bool], ...]
    need_product: bool

    def from_clause(self, *, product: bool = False, brand: bool = False) -> FromClause:
        joined: FromClause = self.v
        if product or self.need_product:
            joined = joined.join(self.p, self.p.c.id == self.v.c.product_id)
        if brand:
            joined = joined.join(self.br, self.br.c.id == self.v.c.brand_id)
        return joined


@functools.lru_cache(maxsize=256)
def _source(shape: _Shape, name: str | None = None) -> _Source:
    """`name` aliases the tables, for a subquery that must not correlate with the outer one."""
    if shape.search:
        needed = {"id", "sku", "product_id", "colour"}
        if shape.brands or shape.sort == "brand":
            needed.add("brand_id")
        if shape.size or shape.sort == "size":
            needed |= {"size", "size_rank"}
        columns = tuple(column for column in _VARIANT_COLUMNS if column in needed)
        v = _search_rows(shape.dialect, name or "v", columns)
    else:
        v = _v if name is None else _alias(_v, name)
    p = _p if name is None else _alias(_p, f"{name}_product")
    br = _br if name is None else _alias(_br, f"{name}_brand")
    conditions: list[ColumnElement[bool]] = []
    if shape.brands == 1:
        # One brand (a vendor, or the usual pick) as a plain equality: a prepared
        # statement's generic plan then still walks the (brand_id, sku) index.
        conditions.append(v.c.brand_id == bindparam("brand_id", type_=Integer))
    elif shape.brands:
        conditions.append(_in_param(v.c.brand_id, "brand_ids", shape.dialect))
    if shape.colour:
        conditions.append(v.c.colour == bindparam("colour", type_=String))
    if shape.size:
        conditions.append(v.c.size == bindparam("size", type_=String))
    if shape.category:
        conditions.append(p.c.category == bindparam("category", type_=String))
    return _Source(v, p, br, tuple(conditions), need_product=shape.category)


@functools.lru_cache(maxsize=256)
def _candidates(shape: _Shape) -> Select:
    """How many variants the catalogue fields select (before stock state)."""
    src = _source(shape)
    return select(func.count()).select_from(src.from_clause()).where(*src.conditions)


@functools.lru_cache(maxsize=256)
def _per_variant_sum(v: FromClause, dialect: str, restricts: bool, name: str) -> ColumnElement:
    """One variant's total of `name` over the scope's warehouses (0 without balances)."""
    b = _alias(_b, f"{v.name}_{name}")
    total = func.coalesce(func.sum(_QUANTITY_EXPRESSIONS[name](b)), 0)
    query = select(total).where(b.c.variant_id == v.c.id, *_in_warehouses(b, dialect, restricts))
    return query.correlate(v).scalar_subquery()


@functools.lru_cache(maxsize=256)
def _balance_totals(dialect: str, restricts: bool, names: tuple[str, ...], low: bool) -> FromClause:
    """Every variant's totals over the scope's warehouses, in one aggregate (only low ones)."""
    b = _alias(_b, "totals_b")
    sums = {name: func.sum(_QUANTITY_EXPRESSIONS[name](b)) for name in names}
    query = (
        select(b.c.variant_id, *(total.label(name) for name, total in sums.items()))
        .where(*_in_warehouses(b, dialect, restricts))
        .group_by(b.c.variant_id)
    )
    if low:
        available = func.sum(_QUANTITY_EXPRESSIONS["available"](b))
        query = query.having(available.between(1, bindparam("low", type_=Integer)))
    return query.subquery("totals")


def _direction(expr: ColumnElement, descending: bool) -> ColumnElement:
    return expr.desc() if descending else expr.asc()


def _reverse_if_far(total: int, offset: int, limit: int) -> tuple[bool, int]:
    """Read a page near the end backwards, so OFFSET skips the fewer rows."""
    tail = total - offset - limit
    return (True, tail) if tail < offset else (False, offset)


Order = tuple[tuple[str, bool], ...]
#: OFFSET is a 32-bit parameter.
_MAX_OFFSET = _MAX_INT


# --- the variants a filter selects -----------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _filtered_variants(
    shape: _Shape, name: str | None = None, sort: bool = True
) -> tuple[FromClause, Order]:
    """A subquery of the filter's variants, with columns id, sku, product_id, colour and
    the sort keys k0, k1 …; and the ORDER BY as (column name, descending) pairs.

    Stock state and quantity sorts sum the selected warehouses' balances, per variant or
    in one aggregate as `shape.per_variant` says.
    """
    src = _source(shape, name)
    v, dialect, restricts = src.v, shape.dialect, shape.restricts
    name = name or "v"
    needed = ["available"] if shape.stock_state != "all" else []
    if sort and shape.sort in QUANTITY_COLUMNS and shape.sort not in needed:
        needed.append(shape.sort)
    keys: list[ColumnElement] = []
    if sort and shape.sort == "product":
        keys = [src.p.c.name]
    elif sort and shape.sort == "colour":
        keys = [v.c.colour]
    elif sort and shape.sort == "size":
        keys = [v.c.size_rank, v.c.size]
    elif sort and shape.sort == "brand":
        keys = [src.br.c.code]
    from_clause = src.from_clause(
        product=sort and shape.sort == "product", brand=sort and shape.sort == "brand"
    )
    conditions = list(src.conditions)
    quantities: dict[str, ColumnElement] = {}
    if shape.per_variant:
        quantities = {n: _per_variant_sum(v, dialect, restricts, n) for n in needed}
    elif needed:
        low = shape.stock_state == "low"
        totals = _balance_totals(dialect, restricts, tuple(needed), low)
        join_on = totals.c.variant_id == v.c.id
        from_clause = (
            from_clause.join(totals, join_on) if low else from_clause.outerjoin(totals, join_on)
        )
        quantities = {n: func.coalesce(totals.c[n], 0) for n in needed}
        if shape.stock_state == "out":
            sb = _alias(_b, f"{name}_stocked")
            stocked = select(sb.c.variant_id).where(
                sb.c.variant_id == v.c.id,
                sb.c.on_hand > sb.c.reserved,
                *_in_warehouses(sb, dialect, restricts),
            )
            conditions.append(~exists(stocked.correlate(v)))
    if sort and shape.sort in QUANTITY_COLUMNS:
        keys = [quantities[shape.sort]]
    columns = [v.c.id, v.c.sku, v.c.product_id, v.c.colour]
    columns += [key.label(f"k{n}") for n, key in enumerate(keys)]
    columns += [total.label(f"q_{n}") for n, total in quantities.items()]
    inner = select(*columns).select_from(from_clause).where(*conditions)
    if shape.per_variant and quantities:
        # OFFSET 0 keeps the subquery whole, so each per-variant sum runs once per row
        # instead of once for WHERE and again for ORDER BY.
        inner = inner.offset(0)
    rows = inner.subquery(f"{name}_rows")
    if shape.per_variant and shape.stock_state != "all":
        available = rows.c.q_available
        if shape.stock_state == "out":
            state = available <= 0
        else:
            state = available.between(1, bindparam("low", type_=Integer))
        rows = select(rows).where(state).subquery(f"{name}_state")
    order = [(f"k{n}", shape.descending) for n in range(len(keys))]
    # SKUs are unique: a total order.
    order.append(("sku", False if keys else shape.descending))
    return rows, tuple(order)


@functools.lru_cache(maxsize=512)
def _page_statement(
    rows: FromClause, order: Order, columns: tuple[str, ...], windowed: bool, backwards: bool
) -> Select:
    selected = [rows.c[c] for c in columns]
    if windowed:
        selected.append(func.count().over())
    return (
        select(*selected)
        .order_by(*(_direction(rows.c[c], desc != backwards) for c, desc in order))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


@functools.lru_cache(maxsize=512)
def _row_count(rows: FromClause) -> Select:
    return select(func.count()).select_from(rows)


def _read_page(
    session: Session,
    statement: Callable[[bool, bool], Select],
    rows: FromClause,
    params: dict[str, Any],
    *,
    total_at: int,
    total: int | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Any], int, bool]:
    """Run `statement(windowed, backwards)` for one page of `rows`.

    Returns the result rows, how many rows `rows` holds, and whether the page was read
    backwards. With `total` known (a cheap count ran first), a page past the middle is
    read backwards so OFFSET skips the fewer rows. Without it (text search, stock
    state: the expensive part is finding the rows at all), the statement carries
    ``count(*) OVER ()`` at `total_at`; only a page past the end needs a separate count.
    """
    if total is not None:
        limit = min(limit, total - offset)
        if limit <= 0:
            return [], total, False
    backwards, skip = (False, offset) if total is None else _reverse_if_far(total, offset, limit)
    connection = session.connection()
    found: Sequence[Any] = []
    if skip <= _MAX_OFFSET:  # further out than any table reaches: surely past the end
        query = statement(total is None, backwards)
        found = connection.execute(query, params | {"limit": limit, "offset": skip}).all()
    if total is None:
        if found:
            total = int(found[0][total_at])
        elif offset == 0:
            total = 0
        else:
            total = int(connection.scalar(_row_count(rows), params))
    return found, total, backwards


def _page_keys(
    session: Session,
    rows: FromClause,
    order: Order,
    columns: tuple[str, ...],
    params: dict[str, Any],
    *,
    total: int | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple], int]:
    """One page of `rows` in `order` (its `columns` only), and how many rows there are."""

    def statement(windowed: bool, backwards: bool) -> Select:
        return _page_statement(rows, order, columns, windowed, backwards)

    found, total, backwards = _read_page(
        session,
        statement,
        rows,
        params,
        total_at=len(columns),
        total=total,
        limit=limit,
        offset=offset,
    )
    keys = [tuple(row[: len(columns)]) for row in found]
    return (keys[::-1] if backwards else keys), total


# --- balances view --------------------------------------------------------------------------


def _variant_scope(session: Session, f: GridFilter) -> tuple[_Scope, int | None]:
    """The scope (summing chosen by the candidate count) and, when cheap, the row count.

    A plain text search leaves the count to the page statement (``count(*) OVER ()``).
    """
    dialect = session.get_bind().dialect.name
    if f.search and f.stock_state == "all" and f.sort not in QUANTITY_COLUMNS:
        scope, _ = _scope(session, f.warehouse_ids)
        return scope, None
    plain = _Scope((), restricts=False, dialect=dialect)
    heavy = f.stock_state != "all" or f.sort in QUANTITY_COLUMNS
    counts = [_candidates(_Shape.of(f, plain)), *([_CATALOGUE] if heavy else [])]
    scope, [count, *catalogue] = _scope(
        session, f.warehouse_ids, counts, _params(f, plain), heavy=heavy
    )
    if heavy:
        scope = scope.summing(count, catalogue[0])
    return scope, (count if f.stock_state == "all" else None)


def _variant_page(
    session: Session, f: GridFilter, *, limit: int, offset: int, at_most: int | None = None
) -> tuple[_Scope, list[int], int]:
    """The scope, the ids of one page of the filter's variants in order, and the row count.

    With `at_most`, a count known beforehand to exceed it returns no ids.
    """
    scope, total = _variant_scope(session, f)
    if total is not None and at_most is not None and total > at_most:
        return scope, [], total
    rows, order = _filtered_variants(_Shape.of(f, scope))
    keys, total = _page_keys(
        session, rows, order, ("id",), _params(f, scope), total=total, limit=limit, offset=offset
    )
    return scope, [key[0] for key in keys], total


#: A variant's facts and one balance, as the details statements select them.
_DETAIL_COLUMNS = (
    _v.c.id,
    _v.c.product_id,
    _v.c.sku,
    _br.c.code,
    _p.c.name,
    _p.c.style_code,
    _p.c.category,
    _v.c.colour,
    _v.c.size,
    _v.c.size_system,
    _v.c.barcode,
    _b.c.warehouse_id,
    _b.c.on_hand,
    _b.c.reserved,
    _b.c.incoming,
)


def _details_from(source: FromClause, dialect: str, restricts: bool) -> FromClause:
    """`source` (holding variant ids) joined to their facts and balances."""
    on = _b.c.variant_id == _v.c.id
    if restricts:
        on = and_(on, _in_param(_b.c.warehouse_id, "warehouse_ids", dialect))
    return (
        source.join(_p, _p.c.id == _v.c.product_id)
        .join(_br, _br.c.id == _v.c.brand_id)
        .outerjoin(_b, on)
    )


@functools.lru_cache(maxsize=16)
def _details_statement(dialect: str, restricts: bool, by_brand: bool) -> Select:
    """Facts and balances of a list of variant ids (the CSV export's chunks)."""
    query = (
        select(*_DETAIL_COLUMNS)
        .select_from(_details_from(_v, dialect, restricts))
        .where(_in_param(_v.c.id, "page_ids", dialect))
    )
    if by_brand:
        query = query.where(_in_param(_v.c.brand_id, "brand_ids", dialect))
    return query


@functools.lru_cache(maxsize=512)
def _page_with_details(
    rows: FromClause, order: Order, windowed: bool, backwards: bool, dialect: str, restricts: bool
) -> Select:
    """One page of `rows` with each variant's facts and balances, in one statement.

    Columns: the row's position in the page order, [the filter's row count,] then
    `_DETAIL_COLUMNS`. The page (ORDER BY … LIMIT, so a top-N sort or an index walk)
    is a subquery; the position is numbered over its rows only, and only its ids are
    joined to facts and balances.
    """
    keys = [c for c, _desc in order]
    columns = [rows.c.id, *(rows.c[c] for c in keys if c != "id")]
    if windowed:
        columns.append(func.count().over().label("page_total"))
    page = (
        select(*columns)
        .order_by(*(_direction(rows.c[c], desc != backwards) for c, desc in order))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    ordering = [_direction(page.c[c], desc != backwards) for c, desc in order]
    ranked = [page.c.id, func.row_number().over(order_by=ordering).label("position")]
    if windowed:
        ranked.append(page.c.page_total)
    numbered = select(*ranked).subquery("numbered")
    leading = [numbered.c.position, *([numbered.c.page_total] if windowed else [])]
    source = numbered.join(_v, _v.c.id == numbered.c.id)
    return select(*leading, *_DETAIL_COLUMNS).select_from(_details_from(source, dialect, restricts))


def _page_params(scope: _Scope, brand_ids: Sequence[int], **lists: Sequence) -> dict[str, list]:
    params = {name: list(values) for name, values in lists.items()}
    if scope.restricts:
        params["warehouse_ids"] = scope.ids
    if brand_ids:
        params["brand_ids"] = list(brand_ids)
    return params


def _grid_rows(found: Sequence[Any], start: int, scope: _Scope) -> dict[int, BalanceGridRow]:
    """Balance rows from result rows holding `_DETAIL_COLUMNS` from index `start`.

    A page is up to 200 variants × every warehouse: kept to plain loops and tuples.
    """
    make = tuple.__new__
    facts: dict[int, tuple] = {}
    stock: dict[int, dict[int, Quantities]] = {}
    warehouse_at, quantities = start + 11, slice(start + 12, start + 15)
    for row in found:
        variant_id, warehouse_id = row[start], row[warehouse_at]
        if variant_id not in facts:
            facts[variant_id] = tuple(row[start:warehouse_at])
            stock[variant_id] = {}
        if warehouse_id is not None:
            stock[variant_id][warehouse_id] = make(Quantities, row[quantities])
    empty = Quantities()
    warehouse_ids = scope.ids
    result = {}
    for variant_id, fact in facts.items():
        held = stock[variant_id]
        cells = []
        on_hand = reserved = incoming = 0
        for warehouse_id in warehouse_ids:
            cell = held.get(warehouse_id, empty)
            cells.append(cell)
            on_hand += cell[0]
            reserved += cell[1]
            incoming += cell[2]
        total = make(Quantities, (on_hand, reserved, incoming))
        result[variant_id] = BalanceGridRow(*fact, stock=tuple(cells), total=total)
    return result


def _variant_details(
    session: Session, ids: Sequence[int], scope: _Scope, brand_ids: Sequence[int]
) -> list[BalanceGridRow]:
    """Facts and per-warehouse balances of `ids`, in the order of `ids`."""
    if not ids:
        return []
    query = _details_statement(scope.dialect, scope.restricts, bool(brand_ids))
    params = _page_params(scope, brand_ids, page_ids=ids)
    rows = _grid_rows(session.connection().execute(query, params).all(), 0, scope)
    return [rows[variant_id] for variant_id in ids if variant_id in rows]


def balance_grid(session: Session, f: GridFilter) -> BalanceGridPage:
    """One page of the balances view: a row per variant, a column group per warehouse.

    Two statements: the warehouses (carrying the count of catalogue candidates, unless
    a plain text search, whose count comes with the page), then the page itself,
    filtered, ordered and limited in SQL, joined to its variants' facts and balances.
    """
    scope, total = _variant_scope(session, f)
    rows, order = _filtered_variants(_Shape.of(f, scope))
    windowed = total is None

    def statement(windowed: bool, backwards: bool) -> Select:
        return _page_with_details(rows, order, windowed, backwards, scope.dialect, scope.restricts)

    found, total, backwards = _read_page(
        session,
        statement,
        rows,
        _params(f, scope),
        total_at=1,
        total=total,
        limit=f.page_size,
        offset=f.offset,
    )
    start = 2 if windowed else 1  # after the position [and the row count]
    by_id = _grid_rows(found, start, scope)
    position = {row[start]: row[0] for row in found}
    ordered = sorted(by_id, key=position.__getitem__, reverse=backwards)
    return BalanceGridPage(f, scope.columns, tuple(by_id[v] for v in ordered), total)


# --- size-run view ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _style_colours(
    shape: _Shape, members_per_variant: bool, sort: bool
) -> tuple[FromClause, Order]:
    """A subquery of the style-colours the filter selects, keyed (product_id, colour).

    Brand, category and colour keep runs whole. Size, text search and stock state
    pick single variants, so they choose which style-colours appear (those with any
    matching variant) without cutting the run that is shown. Quantity sorts total the
    whole run; others use the run's first SKU (brand, style, colour order) to break ties.
    """
    src = _source(shape.whole_runs(), "run")
    v, dialect, restricts = src.v, shape.dialect, shape.restricts
    keys: list[ColumnElement] = []
    group: list[ColumnElement] = []
    from_clause = src.from_clause(
        product=sort and shape.sort == "product", brand=sort and shape.sort == "brand"
    )
    if sort and shape.sort == "product":
        keys = group = [src.p.c.name]
    elif sort and shape.sort == "brand":
        keys = group = [src.br.c.code]
    elif sort and shape.sort == "colour":
        keys = [v.c.colour]
    elif sort and shape.sort in QUANTITY_COLUMNS:
        if shape.per_variant:
            keys = [func.sum(_per_variant_sum(v, dialect, restricts, shape.sort))]
        else:
            totals = _balance_totals(dialect, restricts, (shape.sort,), False)
            from_clause = from_clause.outerjoin(totals, totals.c.variant_id == v.c.id)
            keys = [func.coalesce(func.sum(totals.c[shape.sort]), 0)]
    conditions = list(src.conditions)
    if shape.picks_variants:
        members = replace(shape, sort="sku", per_variant=members_per_variant)
        picked, _ = _filtered_variants(members, "m", False)
        chosen = select(picked.c.product_id, picked.c.colour)
        conditions.append(tuple_(v.c.product_id, v.c.colour).in_(chosen))
    columns = [v.c.product_id, v.c.colour, func.min(v.c.sku).label("first_sku")]
    columns += [key.label(f"k{n}") for n, key in enumerate(keys)]
    query = (
        select(*columns)
        .select_from(from_clause)
        .where(*conditions)
        .group_by(v.c.product_id, v.c.colour, *group)
    )
    order = [(f"k{n}", shape.descending) for n in range(len(keys))]
    # Runs share no SKU: a total order.
    order.append(("first_sku", False if keys else shape.descending))
    return query.subquery("runs"), tuple(order)


@functools.lru_cache(maxsize=16)
def _cells_statement(dialect: str, restricts: bool, by_brand: bool) -> Select:
    """Sizes, facts and available units of a page of style-colours."""
    v, b = _alias(_v, "cell"), _alias(_b, "cell_balance")
    available = select(func.coalesce(func.sum(b.c.on_hand - b.c.reserved), 0)).where(
        b.c.variant_id == v.c.id, *_in_warehouses(b, dialect, restricts)
    )
    query = (
        select(
            v.c.product_id,
            v.c.colour,
            v.c.size,
            v.c.size_system,
            v.c.size_rank,
            _br.c.code,
            _p.c.name,
            _p.c.style_code,
            _p.c.category,
            available.correlate(v).scalar_subquery(),
        )
        .select_from(v.join(_p, _p.c.id == v.c.product_id).join(_br, _br.c.id == v.c.brand_id))
        .where(
            _in_param(v.c.product_id, "product_ids", dialect),
            _in_param(v.c.colour, "colours", dialect, String),
        )
    )
    if by_brand:
        query = query.where(_in_param(v.c.brand_id, "brand_ids", dialect))
    return query


def _run_cells(
    session: Session, keys: Sequence[tuple[int, str]], scope: _Scope, brand_ids: Sequence[int]
) -> tuple[dict[tuple[int, str], list[SizeCell]], dict[tuple[int, str], tuple[str, ...]]]:
    """Each key's sizes with their available units, and its facts."""
    query = _cells_statement(scope.dialect, scope.restricts, bool(brand_ids))
    params = _page_params(
        scope,
        brand_ids,
        product_ids=sorted({pid for pid, _ in keys}),
        colours=sorted({colour for _, colour in keys}),
    )
    wanted = set(keys)
    runs: dict[tuple[int, str], list[SizeCell]] = {key: [] for key in keys}
    facts: dict[tuple[int, str], tuple[str, ...]] = {}
    for pid, colour, size, system, rank, *fact, units in (
        session.connection().execute(query, params).all()
    ):
        if (pid, colour) in wanted:
            runs[pid, colour].append((size, system, rank, int(units)))
            facts[pid, colour] = tuple(fact)
    return runs, facts


def size_run_grid(session: Session, f: GridFilter, warehouse_id: int | None = None) -> SizeRunPage:
    """One page of the size-run view: a row per style-colour, a column per size.

    Cells hold the units available in `warehouse_id`, or summed over the filter's
    warehouses when it is None. Rows are style-colours with at least one variant
    matching the filter; each shows its whole size run (see `_style_colours`).
    """
    if warehouse_id is not None:
        _whole(warehouse_id, "warehouse_id", minimum=1, maximum=_MAX_INT)
        if f.warehouse_ids and warehouse_id not in f.warehouse_ids:
            raise InvalidQuantity(
                f"Warehouse {warehouse_id} is not among the selected warehouses.",
                field="warehouse_id",
            )
        f = replace(f, warehouse_ids=(warehouse_id,))
    dialect = session.get_bind().dialect.name
    plain = _Shape.of(f, _Scope((), restricts=False, dialect=dialect))
    picks = plain.size or plain.search
    # Variant counts choose how stock is summed; a plain filter's run count is the total.
    counts: dict[str, Select] = {}
    if f.sort in QUANTITY_COLUMNS or (f.stock_state != "all" and not picks):
        counts["whole"] = _candidates(plain.whole_runs())
    if f.stock_state != "all" and picks:
        counts["members"] = _candidates(replace(plain, stock_state="all"))
    if not plain.picks_variants:
        counts["runs"] = _row_count(_style_colours(plain, True, False)[0])
    if "whole" in counts or "members" in counts:
        counts["catalogue"] = _CATALOGUE
    params = _params(f, _Scope((), restricts=False, dialect=dialect))
    heavy = f.stock_state != "all" or f.sort in QUANTITY_COLUMNS
    scope, values = _scope(session, f.warehouse_ids, list(counts.values()), params, heavy=heavy)
    counted = dict(zip(counts, values, strict=True))
    catalogue = counted.get("catalogue", 0)
    runs_scope = scope.summing(counted.get("whole", 0), catalogue)
    members = counted.get("members", counted.get("whole", 0))
    members_per_variant = _per_variant(members, catalogue)
    ordered, order = _style_colours(_Shape.of(f, runs_scope), members_per_variant, True)
    found, total = _page_keys(
        session,
        ordered,
        order,
        ("product_id", "colour"),
        _params(f, scope),
        total=counted.get("runs"),
        limit=f.page_size,
        offset=f.offset,
    )
    keys = [(int(pid), colour) for pid, colour in found]
    if not keys:
        return SizeRunPage(f, scope.columns, (), (), total)
    cells_by_key, facts = _run_cells(session, keys, scope, f.brand_ids)
    order_of: dict[str, tuple[int, int, str]] = {}
    for cells in cells_by_key.values():
        for label, system, rank, _units in cells:
            system_order = SIZE_SYSTEM_ORDER.get(system, len(SIZE_SYSTEM_ORDER))
            order_of.setdefault(label, (system_order, rank, label))
    sizes = tuple(sorted(order_of, key=order_of.__getitem__))
    rows = []
    for key in keys:
        if key not in facts:
            continue
        cells = cells_by_key[key]
        held = {label: units for label, _system, _rank, units in cells}
        rows.append(
            SizeRunRow(
                key[0],
                key[1],
                *facts[key],
                cells=tuple(held.get(label) for label in sizes),
                total_available=sum(held.values()),
                broken=is_broken_size_run(cells),
            )
        )
    return SizeRunPage(f, scope.columns, sizes, tuple(rows), total)


# --- filter choices -------------------------------------------------------------------------


@dataclass(frozen=True)
class GridOptions:
    """The values the filter bar offers, from the brands in scope only."""

    categories: tuple[str, ...]
    colours: tuple[str, ...]
    #: Size labels grouped by size system, then in size order.
    sizes: tuple[str, ...]


def grid_options(session: Session, brand_ids: Sequence[int] = ()) -> GridOptions:
    """Categories, colours and sizes that exist for `brand_ids` (every brand when empty).

    A vendor's filter bar passes its one brand, so no other brand's values show.
    """
    brand_ids = _id_tuple(brand_ids, "brand_ids")
    connection = session.connection()
    categories = select(_p.c.category).distinct().order_by(_p.c.category)
    colours = select(_v.c.colour).distinct().order_by(_v.c.colour)
    sizes = select(_v.c.size_system, _v.c.size_rank, _v.c.size).distinct()
    if brand_ids:
        categories = categories.where(_p.c.brand_id.in_(brand_ids))
        colours = colours.where(_v.c.brand_id.in_(brand_ids))
        sizes = sizes.where(_v.c.brand_id.in_(brand_ids))
    order: dict[str, tuple[int, int, str]] = {}
    for system, rank, label in connection.execute(sizes).all():
        key = (SIZE_SYSTEM_ORDER.get(system, len(SIZE_SYSTEM_ORDER)), rank, label)
        order[label] = min(order.get(label, key), key)
    return GridOptions(
        categories=tuple(c for c in connection.scalars(categories) if c),
        colours=tuple(c for c in connection.scalars(colours) if c),
        sizes=tuple(sorted(order, key=order.__getitem__)),
    )


# --- CSV export -----------------------------------------------------------------------------

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


def iter_grid_csv(
    session: Session, f: GridFilter, *, max_rows: int = DEFAULT_EXPORT_ROWS, chunk: int = 500
) -> Iterator[str]:
    """The filtered balances view as CSV text, in pieces, in the filter's order.

    Every text cell goes through `safe_cell`, so nothing a vendor typed can run as a
    spreadsheet formula. A view larger than `max_rows` is refused here, before any
    text is produced (InvalidQuantity naming `filter`), rather than cut short silently.
    """
    scope, ids, total = _variant_page(session, f, limit=max_rows + 1, offset=0, at_most=max_rows)
    if total > max_rows:
        raise InvalidQuantity(
            f"The view has {total:,} rows; an export holds at most {max_rows:,}. "
            "Narrow the filter (brand, warehouse, search) and export again.",
            field="filter",
            rows=total,
            max_rows=max_rows,
        )
    headers = [label for _key, label in _FACT_HEADERS]
    for warehouse in scope.columns:
        headers += [f"{warehouse.code} {label}" for _name, label in _QUANTITY_HEADERS]
    headers += [f"Total {label}" for _name, label in _QUANTITY_HEADERS]
    return _csv_pieces(session, headers, ids, scope, f.brand_ids, chunk)


def _csv_pieces(
    session: Session,
    headers: list[str],
    ids: list[int],
    scope: _Scope,
    brand_ids: Sequence[int],
    chunk: int,
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([safe_cell(h) for h in headers])
    yield flush()
    for start in range(0, len(ids), chunk):
        for row in _variant_details(session, ids[start : start + chunk], scope, brand_ids):
            record = _record(row, scope.columns)
            del record["variant_id"]
            writer.writerow([safe_cell(value) for value in record.values()])
        yield flush()


def grid_csv(session: Session, f: GridFilter, *, max_rows: int = DEFAULT_EXPORT_ROWS) -> str:
    """`iter_grid_csv` joined into one string (for a download)."""
    return "".join(iter_grid_csv(session, f, max_rows=max_rows))
