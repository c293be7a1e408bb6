"""The grid's two views of one filter: balances per variant, and size runs per style-colour."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    func,
    select,
    tuple_,
)
from sqlmodel import Session

from models.errors import InvalidQuantity
from models.grid.filter import _MAX_INT, QUANTITY_COLUMNS, SIZE_SYSTEM_ORDER, GridFilter, _whole
from models.grid.rows import (
    BalanceGridPage,
    BalanceGridRow,
    Quantities,
    SizeCell,
    SizeRunPage,
    SizeRunRow,
    is_broken_size_run,
)
from models.grid.sql import (
    _CATALOGUE,
    Order,
    _alias,
    _b,
    _balance_totals,
    _br,
    _candidates,
    _direction,
    _filtered_variants,
    _in_param,
    _in_warehouses,
    _p,
    _page_keys,
    _params,
    _per_variant,
    _per_variant_sum,
    _read_page,
    _row_count,
    _rs,
    _Scope,
    _scope,
    _Shape,
    _source,
    _t,
    _v,
)

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


#: Size-run orders the per-run totals (`run_stock`) can give without a join.
_RUN_TOTALS_SORTS = ("sku", "colour", *QUANTITY_COLUMNS)


def _whole_catalogue(shape: _Shape) -> bool:
    """No field narrows the runs: every style-colour is a row."""
    return not (
        shape.brands
        or shape.colour
        or shape.category
        or shape.tag
        or shape.season
        or shape.picks_variants
    )


def _runs_from_totals(shape: _Shape, sort: bool) -> tuple[FromClause, Order]:
    """Every style-colour from its totals row (`run_stock`): a quantity sort walks an
    index (available descending: the index of `short`, −available, so that ties still
    go by first SKU ascending) instead of summing every variant's totals."""
    r = _rs
    keys: list[ColumnElement] = []
    descending = shape.descending
    if sort and shape.sort == "colour":
        keys = [r.c.colour]
    elif sort and shape.sort == "available" and descending:
        keys, descending = [r.c.short], False
    elif sort and shape.sort in QUANTITY_COLUMNS:
        keys = [r.c[shape.sort]]
    columns = [r.c.product_id, r.c.colour, r.c.first_sku]
    columns += [key.label(f"k{n}") for n, key in enumerate(keys)]
    order = [(f"k{n}", descending) for n in range(len(keys))]
    order.append(("first_sku", False if keys else shape.descending))
    return select(*columns).subquery("runs"), tuple(order)


@functools.lru_cache(maxsize=512)
def _style_colours(
    shape: _Shape, members_per_variant: bool, sort: bool
) -> tuple[FromClause, Order]:
    """A subquery of the style-colours the filter selects, keyed (product_id, colour).

    Brand, category and colour keep runs whole. Size, text search and stock state
    pick single variants, so they choose which style-colours appear (those with any
    matching variant) without cutting the run that is shown. Quantity sorts total the
    whole run; others use the run's first SKU (brand, style, colour order) to break ties.
    The whole catalogue over every warehouse reads the per-run totals instead.
    """
    if shape.totals and _whole_catalogue(shape) and (not sort or shape.sort in _RUN_TOTALS_SORTS):
        return _runs_from_totals(shape, sort)
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
        if shape.totals:
            t = _alias(_t, "runs_totals")
            from_clause = from_clause.join(t, t.c.variant_id == v.c.id)
            keys = [func.sum(t.c[shape.sort])]
        elif shape.per_variant:
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
    # The whole catalogue's variants are all of them: the catalogue's size stands in.
    whole = not _whole_catalogue(plain)
    if f.sort in QUANTITY_COLUMNS or (f.stock_state != "all" and not picks):
        counts |= {"whole": _candidates(plain.whole_runs())} if whole else {}
        counts["catalogue"] = _CATALOGUE
    if f.stock_state != "all" and picks:
        counts["members"] = _candidates(replace(plain, stock_state="all"))
        counts["catalogue"] = _CATALOGUE
    if not plain.picks_variants:
        counts["runs"] = _row_count(_style_colours(plain, True, False)[0])
    params = _params(f, _Scope((), restricts=False, dialect=dialect))
    heavy = f.stock_state != "all" or f.sort in QUANTITY_COLUMNS
    scope, values = _scope(session, f.warehouse_ids, list(counts.values()), params, heavy=heavy)
    counted = dict(zip(counts, values, strict=True))
    catalogue = counted.get("catalogue", 0)
    counted.setdefault("whole", catalogue)
    runs_scope = scope.summing(counted["whole"], catalogue)
    members = counted.get("members", counted["whole"])
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
