"""The grid's statements: shapes built once and cached, the filtered variants, one page
of keys. Every user value reaches SQL as a bound parameter."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse
from models.errors import InvalidQuantity
from models.grid.filter import (
    _MAX_INT,
    QUANTITY_COLUMNS,
    SIZE_SYSTEM_ORDER,
    GridFilter,
    escape_like,
)
from models.grid.rows import WarehouseColumn
from models.stock import StockBalance
from models.stock_totals import RunStock, VariantStock

_v = Variant.__table__
_p = Product.__table__
_br = Brand.__table__
_a = SkuAlias.__table__
_b = StockBalance.__table__
_w = Warehouse.__table__
_t = VariantStock.__table__
_rs = RunStock.__table__

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
#: Over every warehouse, stock state and quantity sorts read the per-variant totals
#: (`variant_stock`, kept by triggers) through their indexes instead of summing
#: balances; a warehouse subset sums its balances. Tests turn it off to compare.
USE_TOTALS = True


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
    tag: bool = False
    season: bool = False
    search: bool = False
    stock_state: str = "all"
    sort: str = "sku"
    descending: bool = False
    restricts: bool = False
    per_variant: bool = True
    #: Quantities come from `variant_stock` (all warehouses, see USE_TOTALS).
    totals: bool = False

    @classmethod
    def of(cls, f: GridFilter, scope: _Scope) -> _Shape:
        return cls(
            scope.dialect,
            brands=min(len(f.brand_ids), 2),
            colour=f.colour is not None,
            size=f.size is not None,
            category=f.category is not None,
            tag=f.tag is not None,
            season=f.season is not None,
            search=bool(f.search),
            stock_state=f.stock_state,
            sort=f.sort,
            descending=f.descending,
            restricts=scope.restricts,
            per_variant=scope.per_variant,
            totals=USE_TOTALS and not scope.restricts,
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
    if scope.dialect == "postgresql" and (f.tag or f.season):
        wanted: dict[str, Any] = {"tags": [f.tag]} if f.tag else {}
        params["attributes"] = wanted | ({"season": f.season} if f.season else {})
    else:
        params |= {name: getattr(f, name) for name in ("tag", "season") if getattr(f, name)}
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
_VARIANT_COLUMNS = (
    "id",
    "product_id",
    "brand_id",
    "sku",
    "colour",
    "size",
    "size_system",
    "size_rank",
)
#: Sorts whose order reads sizes: by size, and by product (a style's sizes in size order).
_SIZE_SORTS = ("size", "product")


def size_order(v: FromClause) -> list[ColumnElement]:
    """The sort keys of a size as a buyer reads it: its size system (in the order of
    `SizeSystem`: alpha, waist, shoes, one size), its rank in that system (XS before S,
    W28 before W30), then the label. Never the label's text alone (L < M < S < XL)."""
    system = case(SIZE_SYSTEM_ORDER, value=v.c.size_system, else_=len(SIZE_SYSTEM_ORDER))
    return [system, v.c.size_rank, v.c.size]


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


@functools.lru_cache(maxsize=64)
def _attribute_products(dialect: str, tag: bool, season: bool, name: str) -> Select:
    """The products with the :tag among their tags and/or the :season.

    PostgreSQL: one containment test, ``attributes @> :attributes``, which the GIN index
    (jsonb_path_ops, migration 0024) answers. SQLite: the tags through json_each.
    """
    p = _alias(_p, f"{name}_attr_p")
    if dialect == "postgresql":
        wanted = bindparam("attributes", type_=JSONB)
        return select(p.c.id).where(p.c.attributes.op("@>")(wanted))
    conditions: list[ColumnElement[bool]] = []
    if tag:
        tags = func.json_each(p.c.attributes, "$.tags").table_valued("value").alias(f"{name}_tags")
        tagged = select(1).select_from(tags).where(tags.c.value == bindparam("tag", String))
        # json_each of a lone string yields the string: only a list of tags counts.
        conditions += [func.json_type(p.c.attributes, "$.tags") == "array", exists(tagged)]
    if season:
        season_of = func.json_extract(p.c.attributes, "$.season")
        conditions.append(season_of == bindparam("season", type_=String))
    return select(p.c.id).where(*conditions)


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
        if shape.size or shape.sort in _SIZE_SORTS:
            needed |= {"size", "size_system", "size_rank"}
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
    if shape.tag or shape.season:
        products = _attribute_products(shape.dialect, shape.tag, shape.season, name or "v")
        if shape.dialect == "postgresql":  # the matching products' variants by index
            conditions.append(v.c.product_id == any_(func.array(products.scalar_subquery())))
        else:
            conditions.append(v.c.product_id.in_(products))
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
    #: Ascending tie-breaks after the keys: a product's variants by colour, then size.
    ties: list[ColumnElement] = []
    if sort and shape.sort == "product":
        keys = [src.p.c.name]
        ties = [v.c.product_id, v.c.colour, *size_order(v)]
    elif sort and shape.sort == "colour":
        keys = [v.c.colour]
    elif sort and shape.sort == "size":
        keys = size_order(v)
    elif sort and shape.sort == "brand":
        keys = [src.br.c.code]
    from_clause = src.from_clause(
        product=sort and shape.sort == "product", brand=sort and shape.sort == "brand"
    )
    conditions = list(src.conditions)
    quantities: dict[str, ColumnElement] = {}
    if shape.totals and needed:
        # Every variant has its totals row (a trigger adds it), and the stock state is a
        # range of the indexed `available`.
        t = _alias(_t, f"{name}_totals")
        in_state: ColumnElement[bool] | None = None
        if shape.stock_state == "out":
            in_state = t.c.available <= 0
        elif shape.stock_state == "low":
            in_state = t.c.available.between(1, bindparam("low", type_=Integer))
        if (sort and shape.sort in QUANTITY_COLUMNS) or in_state is None:
            # Sorted by a quantity: walk the quantity's index, joining each variant.
            from_clause = from_clause.join(t, t.c.variant_id == v.c.id)
            quantities = {n: t.c[n] for n in needed}
            conditions += [in_state] if in_state is not None else []
        else:
            # Only a state: the few variants in it, looked up by primary key (with
            # = ANY(ARRAY(...)) rather than hashing every variant, as in the search).
            matching = select(t.c.variant_id).where(in_state)
            if dialect == "postgresql":
                conditions.append(v.c.id == any_(func.array(matching.scalar_subquery())))
            else:
                conditions.append(v.c.id.in_(matching))
    elif shape.per_variant:
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
    columns += [tie.label(f"t{n}") for n, tie in enumerate(ties)]
    columns += [total.label(f"q_{n}") for n, total in quantities.items()]
    inner = select(*columns).select_from(from_clause).where(*conditions)
    per_variant = shape.per_variant and not (shape.totals and needed)
    if per_variant and quantities:
        # OFFSET 0 keeps the subquery whole, so each per-variant sum runs once per row
        # instead of once for WHERE and again for ORDER BY.
        inner = inner.offset(0)
    rows = inner.subquery(f"{name}_rows")
    if per_variant and shape.stock_state != "all":
        available = rows.c.q_available
        if shape.stock_state == "out":
            state = available <= 0
        else:
            state = available.between(1, bindparam("low", type_=Integer))
        rows = select(rows).where(state).subquery(f"{name}_state")
    order = [(f"k{n}", shape.descending) for n in range(len(keys))]
    order += [(f"t{n}", False) for n in range(len(ties))]
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
