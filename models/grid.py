"""The stock grid's query layer: filtered, sorted, paged balances and size runs.

Two views of one `GridFilter`:

* `balance_grid`: one row per variant, on hand / reserved / available / incoming per
  selected warehouse, and totals across them.
* `size_run_grid`: one row per style-colour (product × colour), a column per size in
  size order, available units per cell, broken size runs flagged.

A page costs a handful of statements whatever the catalogue size: the warehouses, a
count, the page's keys (filtered, ordered and limited in SQL), then the facts and
balances of those keys only. Nothing beyond one page is pulled into Python. Every
user value reaches SQL as a bound parameter; text search is a literal substring
(LIKE metacharacters escaped), never a pattern or a regex.

`grid_csv` exports the filtered balances view with spreadsheet formulas neutralised.
Vendors are confined by the caller putting their one brand in `GridFilter.brand_ids`:
every statement here (counts and exports included) applies it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    any_,
    exists,
    func,
    or_,
    select,
    tuple_,
    union,
)
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
    every active warehouse.
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
        set_(self, "low_threshold", _whole(self.low_threshold, "low_threshold", minimum=1))

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


def _whole(value: object, field: str, *, minimum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{field} must be a whole number, got {value!r}.", field=field)
    if minimum is not None and value < minimum:
        raise InvalidQuantity(
            f"{field} must be {minimum} or more, got {value}.", field=field, value=value
        )
    return value


def _id_tuple(value: object, field: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidQuantity(f"{field} must be a list of ids, got {value!r}.", field=field)
    for item in value:
        _whole(item, field, minimum=1)
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


@dataclass(frozen=True, slots=True)
class Quantities:
    on_hand: int = 0
    reserved: int = 0
    incoming: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def __add__(self, other: Quantities) -> Quantities:
        return Quantities(
            self.on_hand + other.on_hand,
            self.reserved + other.reserved,
            self.incoming + other.incoming,
        )


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

#: Up to this many candidate variants, stock is summed per variant through the balance
#: primary key (a few index reads each); beyond it, the balances are aggregated in one
#: pass. The planner cannot tell the two cases apart well: with default costs it would
#: hash-join one brand's few thousand variants against every balance.
PER_VARIANT_LIMIT = 20_000


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

    def balance_join(self, v: FromClause, b: FromClause = _b) -> ColumnElement[bool]:
        on = b.c.variant_id == v.c.id
        return and_(on, b.c.warehouse_id.in_(self.ids)) if self.restricts else on

    def in_warehouses(self, b: FromClause) -> list[ColumnElement[bool]]:
        return [b.c.warehouse_id.in_(self.ids)] if self.restricts else []

    def summing(self, candidates: int) -> _Scope:
        return replace(self, per_variant=candidates <= PER_VARIANT_LIMIT)


def _scope(session: Session, wanted: Sequence[int]) -> _Scope:
    rows = session.execute(
        select(_w.c.id, _w.c.code, _w.c.name, _w.c.is_active).order_by(_w.c.priority, _w.c.code)
    ).all()
    if wanted:
        known = {row.id for row in rows}
        missing = [w for w in wanted if w not in known]
        if missing:
            raise InvalidQuantity(
                f"No warehouse with id {', '.join(map(str, missing))}.",
                field="warehouse_ids",
                value=missing,
            )
        chosen = [row for row in rows if row.id in set(wanted)]
    else:
        chosen = [row for row in rows if row.is_active]
    columns = tuple(WarehouseColumn(row.id, row.code, row.name) for row in chosen)
    dialect = session.get_bind().dialect.name
    return _Scope(columns, restricts=len(chosen) != len(rows), dialect=dialect)


_QUANTITY_EXPRESSIONS = {
    "on_hand": lambda b: b.c.on_hand,
    "reserved": lambda b: b.c.reserved,
    "available": lambda b: b.c.on_hand - b.c.reserved,
    "incoming": lambda b: b.c.incoming,
}
#: Columns of a variant that the grid queries read (also those of the search's union).
_VARIANT_COLUMNS = ("id", "product_id", "brand_id", "sku", "colour", "size", "size_rank")


def _search_rows(text: str, dialect: str, name: str) -> FromClause:
    """The variants whose SKU, barcode, alias code, product name or style code contain `text`.

    A UNION of per-table matches rather than an OR across a join, so that each branch
    can use its own trigram index on PostgreSQL; it yields the variant rows themselves,
    so nothing joins back to `variant` afterwards.
    """
    pattern = f"%{escape_like(text)}%"

    def like(column: ColumnElement) -> ColumnElement[bool]:
        return column.ilike(pattern, escape="\\")

    sv = _v.alias(f"{name}_v")
    sa = _a.alias(f"{name}_a")
    sp = _p.alias(f"{name}_p")
    columns = [sv.c[column] for column in _VARIANT_COLUMNS]
    products = select(sp.c.id).where(or_(like(sp.c.name), like(sp.c.style_code)))
    if dialect == "postgresql":
        # = ANY(ARRAY(...)) lets the planner read the matching products' variants
        # through the (product_id, colour, size) index instead of hashing every variant.
        by_product = sv.c.product_id == any_(func.array(products.scalar_subquery()))
    else:
        by_product = sv.c.product_id.in_(products)
    return union(
        select(*columns).where(or_(like(sv.c.sku), like(sv.c.barcode))),
        select(*columns).join(sa, sa.c.variant_id == sv.c.id).where(like(sa.c.code)),
        select(*columns).where(by_product),
    ).subquery(name)


@dataclass
class _Source:
    """The variants a filter's catalogue fields select (brand, category, colour, size, search)."""

    v: FromClause
    p: FromClause
    br: FromClause
    conditions: list[ColumnElement[bool]]
    need_product: bool

    @classmethod
    def of(cls, f: GridFilter, dialect: str, *, name: str = "v") -> _Source:
        v = _search_rows(f.search, dialect, name) if f.search else _v.alias(name)
        p, br = _p.alias(f"{name}_product"), _br.alias(f"{name}_brand")
        conditions: list[ColumnElement[bool]] = []
        if f.brand_ids:
            conditions.append(v.c.brand_id.in_(f.brand_ids))
        if f.colour:
            conditions.append(v.c.colour == f.colour)
        if f.size:
            conditions.append(v.c.size == f.size)
        if f.category:
            conditions.append(p.c.category == f.category)
        return cls(v, p, br, conditions, need_product=f.category is not None)

    def from_clause(self, *, product: bool = False, brand: bool = False) -> FromClause:
        joined: FromClause = self.v
        if product or self.need_product:
            joined = joined.join(self.p, self.p.c.id == self.v.c.product_id)
        if brand:
            joined = joined.join(self.br, self.br.c.id == self.v.c.brand_id)
        return joined

    def count(self) -> Select:
        return select(func.count()).select_from(self.from_clause()).where(*self.conditions)


def _per_variant_sum(v: FromClause, scope: _Scope, name: str) -> ColumnElement[int]:
    """One variant's total of `name` over the scope's warehouses (0 without balances)."""
    b = _b.alias(f"{v.name}_{name}")
    total = func.coalesce(func.sum(_QUANTITY_EXPRESSIONS[name](b)), 0)
    query = select(total).where(b.c.variant_id == v.c.id, *scope.in_warehouses(b))
    return query.correlate(v).scalar_subquery()


def _balance_totals(scope: _Scope, names: Sequence[str], *, low: int | None) -> FromClause:
    """Every variant's totals over the scope's warehouses, in one aggregate (only low ones)."""
    b = _b.alias("totals_b")
    sums = {name: func.sum(_QUANTITY_EXPRESSIONS[name](b)) for name in names}
    query = (
        select(b.c.variant_id, *(total.label(name) for name, total in sums.items()))
        .where(*scope.in_warehouses(b))
        .group_by(b.c.variant_id)
    )
    if low is not None:
        available = func.sum(_QUANTITY_EXPRESSIONS["available"](b))
        query = query.having(available.between(1, low))
    return query.subquery("totals")


def _direction(expr: ColumnElement, descending: bool) -> ColumnElement:
    return expr.desc() if descending else expr.asc()


def _reverse_if_far(total: int, offset: int, limit: int) -> tuple[bool, int]:
    """Read a page near the end backwards, so OFFSET skips the fewer rows."""
    tail = total - offset - limit
    return (True, tail) if tail < offset else (False, offset)


# --- the variants a filter selects -----------------------------------------------------------


def _filtered_variants(
    f: GridFilter, scope: _Scope, *, name: str = "v", sort: bool = True
) -> tuple[FromClause, list[tuple[str, bool]]]:
    """A subquery of the filter's variants, with columns id, sku, product_id, colour and
    the sort keys k0, k1 …; and the ORDER BY as (column name, descending) pairs.

    Stock state and quantity sorts sum the selected warehouses' balances, per variant or
    in one aggregate as `scope.per_variant` says.
    """
    src = _Source.of(f, scope.dialect, name=name)
    v, desc = src.v, f.descending
    needed = ["available"] if f.stock_state != "all" else []
    if sort and f.sort in QUANTITY_COLUMNS and f.sort not in needed:
        needed.append(f.sort)
    keys: list[ColumnElement] = []
    if sort:
        keys = {
            "sku": [],
            "product": [src.p.c.name],
            "colour": [v.c.colour],
            "size": [v.c.size_rank, v.c.size],
            "brand": [src.br.c.code],
        }.get(f.sort, [])
    from_clause = src.from_clause(
        product=sort and f.sort == "product", brand=sort and f.sort == "brand"
    )
    conditions = list(src.conditions)
    quantities: dict[str, ColumnElement] = {}
    if scope.per_variant:
        quantities = {n: _per_variant_sum(v, scope, n) for n in needed}
    elif needed:
        low = f.low_threshold if f.stock_state == "low" else None
        totals = _balance_totals(scope, needed, low=low)
        join_on = totals.c.variant_id == v.c.id
        from_clause = (
            from_clause.join(totals, join_on)
            if low is not None
            else from_clause.outerjoin(totals, join_on)
        )
        quantities = {n: func.coalesce(totals.c[n], 0) for n in needed}
        if f.stock_state == "out":
            sb = _b.alias(f"{name}_stocked")
            stocked = select(sb.c.variant_id).where(
                sb.c.variant_id == v.c.id, sb.c.on_hand > sb.c.reserved, *scope.in_warehouses(sb)
            )
            conditions.append(~exists(stocked.correlate(v)))
    if sort and f.sort in QUANTITY_COLUMNS:
        keys = [quantities[f.sort]]
    columns = [v.c.id, v.c.sku, v.c.product_id, v.c.colour]
    columns += [key.label(f"k{n}") for n, key in enumerate(keys)]
    columns += [total.label(f"q_{n}") for n, total in quantities.items()]
    inner = select(*columns).select_from(from_clause).where(*conditions)
    if scope.per_variant and quantities:
        # OFFSET 0 keeps the subquery whole, so each per-variant sum runs once per row
        # instead of once for WHERE and again for ORDER BY.
        inner = inner.offset(0)
    rows = inner.subquery(f"{name}_rows")
    if scope.per_variant and f.stock_state != "all":
        available = rows.c.q_available
        state = available <= 0 if f.stock_state == "out" else available.between(1, f.low_threshold)
        rows = select(rows).where(state).subquery(f"{name}_state")
    order = [(f"k{n}", desc) for n in range(len(keys))]
    order.append(("sku", False if keys else desc))  # SKUs are unique: a total order
    return rows, order


def _candidates(session: Session, f: GridFilter, scope: _Scope) -> int:
    """How many variants the catalogue fields select (before stock state)."""
    return int(session.scalar(_Source.of(f, scope.dialect).count()))


def _page_keys(
    session: Session,
    rows: FromClause,
    order: list[tuple[str, bool]],
    columns: Sequence[str],
    *,
    total: int | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple], int]:
    """One page of `rows` in `order` (its `columns` only), and how many rows there are.

    With `total` known (a cheap count ran first), a page past the middle is read
    backwards so OFFSET skips the fewer rows. Without it (text search, stock state:
    the expensive part is finding the rows at all), one statement returns the page and
    ``count(*) OVER ()``; only a page past the end needs a separate count.
    """
    if total is not None:
        limit = min(limit, total - offset)
        if limit <= 0:
            return [], total
    backwards, skip = (False, offset) if total is None else _reverse_if_far(total, offset, limit)
    selected = [rows.c[c] for c in columns]
    if total is None:
        selected.append(func.count().over())
    query = (
        select(*selected)
        .order_by(*(_direction(rows.c[c], desc != backwards) for c, desc in order))
        .limit(limit)
        .offset(skip)
    )
    found = [tuple(row) for row in session.execute(query)]
    if total is None:
        if found:
            total = int(found[0][-1])
            found = [row[:-1] for row in found]
        elif offset == 0:
            total = 0
        else:
            total = int(session.scalar(select(func.count()).select_from(rows)))
    return (found[::-1] if backwards else found), total


# --- balances view --------------------------------------------------------------------------


def _variant_page(
    session: Session, f: GridFilter, *, limit: int, offset: int, at_most: int | None = None
) -> tuple[_Scope, list[int], int]:
    """The scope, the ids of one page of the filter's variants in order, and the row count.

    With `at_most`, a count known beforehand to exceed it returns no ids.
    """
    scope = _scope(session, f.warehouse_ids)
    total = None
    if f.stock_state != "all" or f.sort in QUANTITY_COLUMNS or not f.search:
        candidates = _candidates(session, f, scope)
        scope = scope.summing(candidates)
        if f.stock_state == "all":
            total = candidates
            if at_most is not None and total > at_most:
                return scope, [], total
    rows, order = _filtered_variants(f, scope)
    keys, total = _page_keys(session, rows, order, ["id"], total=total, limit=limit, offset=offset)
    return scope, [key[0] for key in keys], total


def _variant_details(
    session: Session, ids: Sequence[int], scope: _Scope, brand_ids: Sequence[int]
) -> list[BalanceGridRow]:
    """Facts and per-warehouse balances of `ids`, in the order of `ids`."""
    if not ids:
        return []
    query = (
        select(
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
        .select_from(
            _v.join(_p, _p.c.id == _v.c.product_id)
            .join(_br, _br.c.id == _v.c.brand_id)
            .outerjoin(_b, scope.balance_join(_v))
        )
        .where(_v.c.id.in_(ids))
    )
    if brand_ids:
        query = query.where(_v.c.brand_id.in_(brand_ids))
    facts: dict[int, tuple] = {}
    stock: dict[int, dict[int, Quantities]] = {}
    for row in session.execute(query):
        facts.setdefault(row[0], tuple(row[:11]))
        if row.warehouse_id is not None:
            stock.setdefault(row[0], {})[row.warehouse_id] = Quantities(
                row.on_hand, row.reserved, row.incoming
            )
    empty = Quantities()
    result = []
    for variant_id in ids:
        if variant_id not in facts:
            continue
        held = stock.get(variant_id, {})
        cells = tuple(held.get(w.id, empty) for w in scope.columns)
        total = sum(cells, empty)
        result.append(BalanceGridRow(*facts[variant_id], stock=cells, total=total))
    return result


def balance_grid(session: Session, f: GridFilter) -> BalanceGridPage:
    """One page of the balances view: a row per variant, a column group per warehouse.

    Statements: the warehouses; the count of catalogue candidates (unless a plain text
    search, whose count comes with the page); the page's variant ids, ordered and
    limited in SQL; then their facts and balances.
    """
    scope, ids, total = _variant_page(session, f, limit=f.page_size, offset=f.offset)
    rows = _variant_details(session, ids, scope, f.brand_ids)
    return BalanceGridPage(f, scope.columns, tuple(rows), total)


# --- size-run view ---------------------------------------------------------------------------


def _style_colours(
    f: GridFilter, scope: _Scope, members: _Scope, *, sort: bool
) -> tuple[FromClause, list[tuple[str, bool]]]:
    """A subquery of the style-colours the filter selects, keyed (product_id, colour).

    Brand, category and colour keep runs whole. Size, text search and stock state
    pick single variants, so they choose which style-colours appear (those with any
    matching variant) without cutting the run that is shown. Quantity sorts total the
    whole run; others use the run's first SKU (brand, style, colour order) to break ties.
    """
    whole = replace(f, size=None, search="", stock_state="all")
    src = _Source.of(whole, scope.dialect, name="run")
    v, desc = src.v, f.descending
    keys: list[ColumnElement] = []
    group: list[ColumnElement] = []
    from_clause = src.from_clause(
        product=sort and f.sort == "product", brand=sort and f.sort == "brand"
    )
    if sort and f.sort == "product":
        keys = group = [src.p.c.name]
    elif sort and f.sort == "brand":
        keys = group = [src.br.c.code]
    elif sort and f.sort == "colour":
        keys = [v.c.colour]
    elif sort and f.sort in QUANTITY_COLUMNS:
        if scope.per_variant:
            keys = [func.sum(_per_variant_sum(v, scope, f.sort))]
        else:
            totals = _balance_totals(scope, [f.sort], low=None)
            from_clause = from_clause.outerjoin(totals, totals.c.variant_id == v.c.id)
            keys = [func.coalesce(func.sum(totals.c[f.sort]), 0)]
    conditions = list(src.conditions)
    if f.size or f.search or f.stock_state != "all":
        picked, _ = _filtered_variants(replace(f, sort="sku"), members, name="m", sort=False)
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
    order = [(f"k{n}", desc) for n in range(len(keys))]
    order.append(("first_sku", False if keys else desc))  # runs share no SKU: a total order
    return query.subquery("runs"), order


def _run_cells(
    session: Session, keys: Sequence[tuple[int, str]], scope: _Scope, brand_ids: Sequence[int]
) -> tuple[dict[tuple[int, str], list[SizeCell]], dict[tuple[int, str], tuple[str, ...]]]:
    """Each key's sizes with their available units, and its facts."""
    v = _v.alias("cell")
    available = _per_variant_sum(v, scope, "available")
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
            available,
        )
        .select_from(v.join(_p, _p.c.id == v.c.product_id).join(_br, _br.c.id == v.c.brand_id))
        .where(
            v.c.product_id.in_(sorted({pid for pid, _ in keys})),
            v.c.colour.in_(sorted({colour for _, colour in keys})),
        )
    )
    if brand_ids:
        query = query.where(v.c.brand_id.in_(brand_ids))
    wanted = set(keys)
    runs: dict[tuple[int, str], list[SizeCell]] = {key: [] for key in keys}
    facts: dict[tuple[int, str], tuple[str, ...]] = {}
    for pid, colour, size, system, rank, *fact, units in session.execute(query):
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
        _whole(warehouse_id, "warehouse_id", minimum=1)
        if f.warehouse_ids and warehouse_id not in f.warehouse_ids:
            raise InvalidQuantity(
                f"Warehouse {warehouse_id} is not among the selected warehouses.",
                field="warehouse_id",
            )
        f = replace(f, warehouse_ids=(warehouse_id,))
    scope = _scope(session, f.warehouse_ids)
    picks = bool(f.size or f.search)
    runs_scope = members = scope
    if f.sort in QUANTITY_COLUMNS or (f.stock_state != "all" and not picks):
        whole = replace(f, size=None, search="", stock_state="all")
        runs_scope = members = scope.summing(_candidates(session, whole, scope))
    if f.stock_state != "all" and picks:
        members = scope.summing(_candidates(session, f, scope))
    total = None
    if not picks and f.stock_state == "all":
        counted, _ = _style_colours(f, runs_scope, members, sort=False)
        total = int(session.scalar(select(func.count()).select_from(counted)))
    ordered, order = _style_colours(f, runs_scope, members, sort=True)
    found, total = _page_keys(
        session,
        ordered,
        order,
        ["product_id", "colour"],
        total=total,
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
