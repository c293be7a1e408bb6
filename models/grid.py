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
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
    tuple_,
    union_all,
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


@dataclass(frozen=True)
class _Scope:
    """The warehouses a query sums over."""

    columns: tuple[WarehouseColumn, ...]
    #: False when the selection is every warehouse there is: no predicate needed.
    restricts: bool

    @property
    def ids(self) -> list[int]:
        return [w.id for w in self.columns]

    def balance_join(self, v: FromClause, b: FromClause = _b) -> ColumnElement[bool]:
        on = b.c.variant_id == v.c.id
        return and_(on, b.c.warehouse_id.in_(self.ids)) if self.restricts else on


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
    return _Scope(columns, restricts=len(chosen) != len(rows))


def _search_condition(text: str, v: FromClause) -> ColumnElement[bool]:
    """Variant ids whose SKU, barcode, alias code, product name or style code contain `text`.

    One UNION ALL of per-table matches rather than an OR across a join, so each
    branch can use its own (trigram) index on PostgreSQL.
    """
    pattern = f"%{escape_like(text)}%"
    sv = _v.alias("search_variant")
    sp = _p.alias("search_product")
    sa = _a.alias("search_alias")

    def like(column: ColumnElement) -> ColumnElement[bool]:
        return column.ilike(pattern, escape="\\")

    products = select(sp.c.id).where(or_(like(sp.c.name), like(sp.c.style_code)))
    hits = union_all(
        select(sv.c.id).where(or_(like(sv.c.sku), like(sv.c.barcode))),
        select(sa.c.variant_id).where(like(sa.c.code)),
        select(sv.c.id).where(sv.c.product_id.in_(products)),
    )
    return v.c.id.in_(hits)


def _sums(b: FromClause = _b) -> dict[str, ColumnElement[int]]:
    return {
        "on_hand": func.coalesce(func.sum(b.c.on_hand), 0),
        "reserved": func.coalesce(func.sum(b.c.reserved), 0),
        "available": func.coalesce(func.sum(b.c.on_hand - b.c.reserved), 0),
        "incoming": func.coalesce(func.sum(b.c.incoming), 0),
    }


@dataclass
class _VariantQuery:
    """FROM/WHERE/GROUP BY for the variants a filter selects, built on given table objects."""

    f: GridFilter
    scope: _Scope
    v: FromClause
    p: FromClause
    br: FromClause
    b: FromClause
    need_product: bool = False
    need_brand: bool = False
    need_balances: bool = False
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    having: list[ColumnElement[bool]] = field(default_factory=list)

    @classmethod
    def build(
        cls, f: GridFilter, scope: _Scope, *, aliased: bool = False, sort: bool = True
    ) -> _VariantQuery:
        if aliased:
            q = cls(f, scope, _v.alias("mv"), _p.alias("mp"), _br.alias("mbr"), _b.alias("mb"))
        else:
            q = cls(f, scope, _v, _p, _br, _b)
        v, p, b = q.v, q.p, q.b
        if f.brand_ids:
            q.conditions.append(v.c.brand_id.in_(f.brand_ids))
        if f.colour:
            q.conditions.append(v.c.colour == f.colour)
        if f.size:
            q.conditions.append(v.c.size == f.size)
        if f.category:
            q.need_product = True
            q.conditions.append(p.c.category == f.category)
        if f.search:
            q.conditions.append(_search_condition(f.search, v))
        if f.stock_state == "out":
            # Out: no selected warehouse has a unit available (missing rows hold none).
            sb = _b.alias("stocked")
            stocked = (
                select(sb.c.variant_id)
                .where(sb.c.variant_id == v.c.id, sb.c.on_hand > sb.c.reserved)
                .correlate(v)
            )
            if scope.restricts:
                stocked = stocked.where(sb.c.warehouse_id.in_(scope.ids))
            q.conditions.append(~exists(stocked))
        elif f.stock_state == "low":
            q.need_balances = True
            q.having.append(_sums(b)["available"].between(1, f.low_threshold))
        if sort:
            if f.sort == "product":
                q.need_product = True
            elif f.sort == "brand":
                q.need_brand = True
            elif f.sort in QUANTITY_COLUMNS:
                q.need_balances = True
        return q

    def from_clause(self) -> FromClause:
        v, p, br, b = self.v, self.p, self.br, self.b
        joined: FromClause = v
        if self.need_product:
            joined = joined.join(p, p.c.id == v.c.product_id)
        if self.need_brand:
            joined = joined.join(br, br.c.id == v.c.brand_id)
        if self.need_balances:
            joined = joined.outerjoin(b, self.scope.balance_join(v, b))
        return joined

    def select(self, *columns: ColumnElement, group_by: Sequence[ColumnElement] = ()) -> Select:
        query = select(*columns).select_from(self.from_clause()).where(*self.conditions)
        if self.need_balances:
            query = query.group_by(self.v.c.id, *group_by).having(*self.having)
        return query


def _direction(expr: ColumnElement, descending: bool) -> ColumnElement:
    return expr.desc() if descending else expr.asc()


def _reverse_if_far(total: int, offset: int, limit: int) -> tuple[bool, int]:
    """Read a page near the end backwards, so OFFSET skips the fewer rows."""
    tail = total - offset - limit
    return (True, tail) if tail < offset else (False, offset)


# --- balances view --------------------------------------------------------------------------


def _variant_sort(q: _VariantQuery) -> tuple[list[tuple[ColumnElement, bool]], list]:
    """ORDER BY terms as (expression, descending) and the extra GROUP BY columns."""
    f, v, p, br = q.f, q.v, q.p, q.br
    desc = f.descending
    keys: list[tuple[ColumnElement, bool]]
    if f.sort == "product":
        keys = [(p.c.name, desc)]
    elif f.sort == "colour":
        keys = [(v.c.colour, desc)]
    elif f.sort == "size":
        keys = [(v.c.size_rank, desc), (v.c.size, desc)]
    elif f.sort == "brand":
        keys = [(br.c.code, desc)]
    elif f.sort in QUANTITY_COLUMNS:
        keys = [(_sums(q.b)[f.sort], desc)]
    else:
        keys = [(v.c.sku, desc)]
        return keys, [v.c.sku]
    group = [v.c.sku, *(expr for expr, _ in keys if f.sort not in QUANTITY_COLUMNS)]
    # SKUs are unique: the tie-break that makes every order total and stable.
    return [*keys, (v.c.sku, False)], group


def _count_variants(session: Session, f: GridFilter, scope: _Scope) -> int:
    q = _VariantQuery.build(f, scope, sort=False)
    inner = q.select(q.v.c.id)
    if not q.need_balances:
        return int(
            session.scalar(select(func.count()).select_from(q.from_clause()).where(*q.conditions))
        )
    return int(session.scalar(select(func.count()).select_from(inner.subquery())))


def _page_of_variant_ids(
    session: Session, f: GridFilter, scope: _Scope, total: int, *, limit: int, offset: int
) -> list[int]:
    q = _VariantQuery.build(f, scope)
    keys, group = _variant_sort(q)
    backwards, skip = _reverse_if_far(total, offset, limit)
    order = [_direction(expr, desc != backwards) for expr, desc in keys]
    query = q.select(q.v.c.id, group_by=group).order_by(*order).limit(limit).offset(skip)
    ids = list(session.scalars(query))
    return ids[::-1] if backwards else ids


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
    rows = []
    for variant_id in ids:
        if variant_id not in facts:
            continue
        held = stock.get(variant_id, {})
        cells = tuple(held.get(w.id, empty) for w in scope.columns)
        total = sum(cells, empty)
        rows.append(BalanceGridRow(*facts[variant_id], stock=cells, total=total))
    return rows


def balance_grid(session: Session, f: GridFilter) -> BalanceGridPage:
    """One page of the balances view: a row per variant, a column group per warehouse.

    Statements: the warehouses, the count, the page's variant ids (ordered and
    limited in SQL), then their facts and balances.
    """
    scope = _scope(session, f.warehouse_ids)
    total = _count_variants(session, f, scope)
    rows: list[BalanceGridRow] = []
    limit = min(f.page_size, total - f.offset)
    if limit > 0:
        ids = _page_of_variant_ids(session, f, scope, total, limit=limit, offset=f.offset)
        rows = _variant_details(session, ids, scope, f.brand_ids)
    return BalanceGridPage(f, scope.columns, tuple(rows), total)


# --- size-run view ---------------------------------------------------------------------------


def _size_run_sort(q: _VariantQuery) -> tuple[list[tuple[ColumnElement, bool]], list]:
    f, v, p, br = q.f, q.v, q.p, q.br
    desc = f.descending
    first_sku = func.min(v.c.sku)
    if f.sort == "product":
        keys, group = [(p.c.name, desc)], [p.c.name]
    elif f.sort == "brand":
        keys, group = [(br.c.code, desc)], [br.c.code]
    elif f.sort == "colour":
        keys, group = [(v.c.colour, desc)], []
    elif f.sort in QUANTITY_COLUMNS:
        keys, group = [(_sums(q.b)[f.sort], desc)], []
    else:  # sku, size: the style-colour's first SKU (brand, style, colour order)
        return [(first_sku, desc)], []
    # Style-colours share no SKU, so the first SKU breaks every tie.
    return [*keys, (first_sku, False)], group


def _style_colour_query(
    f: GridFilter, scope: _Scope, *, sort: bool
) -> tuple[_VariantQuery, Select]:
    """Style-colours the filter selects, with their complete size runs.

    Brand, category and colour keep runs whole. Size, text search and stock state
    pick single variants, so they choose which style-colours appear (any matching
    variant) without cutting the run that is shown.
    """
    whole = replace(f, size=None, search="", stock_state="all")
    q = _VariantQuery.build(whole, scope, sort=sort)
    v = q.v
    keys: list[tuple[ColumnElement, bool]] = []
    group: list = []
    if sort:
        keys, group = _size_run_sort(q)
    query = select(v.c.product_id, v.c.colour).select_from(q.from_clause()).where(*q.conditions)
    if f.size or f.search or f.stock_state != "all":
        picked = _VariantQuery.build(replace(f, sort="sku"), scope, aliased=True, sort=False)
        members = picked.select(
            picked.v.c.product_id,
            picked.v.c.colour,
            group_by=[picked.v.c.product_id, picked.v.c.colour],
        )
        query = query.where(tuple_(v.c.product_id, v.c.colour).in_(members))
    query = query.group_by(v.c.product_id, v.c.colour, *group)
    if keys:
        query = query.order_by(*(_direction(expr, desc) for expr, desc in keys))
    return q, query


def _count_style_colours(session: Session, f: GridFilter, scope: _Scope) -> int:
    _, query = _style_colour_query(f, scope, sort=False)
    return int(session.scalar(select(func.count()).select_from(query.subquery())))


def _page_of_style_colours(
    session: Session, f: GridFilter, scope: _Scope, total: int, *, limit: int, offset: int
) -> list[tuple[int, str]]:
    q, query = _style_colour_query(f, scope, sort=True)
    keys, _ = _size_run_sort(q)
    backwards, skip = _reverse_if_far(total, offset, limit)
    order = [_direction(expr, desc != backwards) for expr, desc in keys]
    rows = session.execute(query.order_by(None).order_by(*order).limit(limit).offset(skip)).all()
    keys_out = [(int(pid), colour) for pid, colour in rows]
    return keys_out[::-1] if backwards else keys_out


def size_run_grid(session: Session, f: GridFilter, warehouse_id: int | None = None) -> SizeRunPage:
    """One page of the size-run view: a row per style-colour, a column per size.

    Cells hold the units available in `warehouse_id`, or summed over the filter's
    warehouses when it is None. Rows are style-colours with at least one variant
    matching the filter; each shows its whole size run (see `_style_colour_query`).
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
    total = _count_style_colours(session, f, scope)
    limit = min(f.page_size, total - f.offset)
    if limit <= 0:
        return SizeRunPage(f, scope.columns, (), (), total)
    keys = _page_of_style_colours(session, f, scope, total, limit=limit, offset=f.offset)
    sums = _sums()
    query = (
        select(
            _v.c.product_id,
            _v.c.colour,
            _v.c.size,
            _v.c.size_system,
            _v.c.size_rank,
            _br.c.code,
            _p.c.name,
            _p.c.style_code,
            _p.c.category,
            sums["available"],
        )
        .select_from(
            _v.join(_p, _p.c.id == _v.c.product_id)
            .join(_br, _br.c.id == _v.c.brand_id)
            .outerjoin(_b, scope.balance_join(_v))
        )
        .where(_v.c.product_id.in_(sorted({pid for pid, _ in keys})))
        .group_by(_v.c.id, _br.c.code, _p.c.name, _p.c.style_code, _p.c.category)
    )
    if f.brand_ids:
        query = query.where(_v.c.brand_id.in_(f.brand_ids))
    wanted = set(keys)
    runs: dict[tuple[int, str], list[SizeCell]] = {key: [] for key in keys}
    facts: dict[tuple[int, str], tuple[str, str, str, str]] = {}
    for pid, colour, size, system, rank, brand, name, style, category, available in session.execute(
        query
    ):
        key = (pid, colour)
        if key in wanted:
            runs[key].append((size, system, rank, int(available)))
            facts[key] = (brand, name, style, category)
    order: dict[str, tuple[int, int, str]] = {}
    for cells in runs.values():
        for label, system, rank, _units in cells:
            system_order = SIZE_SYSTEM_ORDER.get(system, len(SIZE_SYSTEM_ORDER))
            order.setdefault(label, (system_order, rank, label))
    sizes = tuple(sorted(order, key=order.__getitem__))
    rows = []
    for key in keys:
        if key not in facts:
            continue
        cells = runs[key]
        held = {label: units for label, _s, _r, units in cells}
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
    spreadsheet formula. A view larger than `max_rows` is refused before anything is
    produced (InvalidQuantity naming `filter`), rather than cut short silently.
    """
    scope = _scope(session, f.warehouse_ids)
    total = _count_variants(session, f, scope)
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([safe_cell(h) for h in headers])
    yield flush()
    if total == 0:
        return
    ids = _page_of_variant_ids(session, f, scope, total, limit=total, offset=0)
    for start in range(0, len(ids), chunk):
        for row in _variant_details(session, ids[start : start + chunk], scope, f.brand_ids):
            record = _record(row, scope.columns)
            del record["variant_id"]
            writer.writerow([safe_cell(value) for value in record.values()])
        yield flush()


def grid_csv(session: Session, f: GridFilter, *, max_rows: int = DEFAULT_EXPORT_ROWS) -> str:
    """`iter_grid_csv` joined into one string (for a download)."""
    return "".join(iter_grid_csv(session, f, max_rows=max_rows))
