"""What drafting a transfer needs to know about its lines before anything is written.

`search_variants` finds variants as one types (SKU, product name, alias or barcode)
with the units available at the chosen source; `check_lines` looks at every line of
a request at once and says, per line, what is wrong (unknown SKU, bad quantity, the
same variant twice) and what deserves a warning (more asked than is available at the
source now: a draft may still be made, shipping refuses it until the stock is there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, or_, select
from sqlmodel import Session

from models.catalog import Product, SkuAlias, Variant, variant_by_sku
from models.errors import DomainError
from models.stock import StockBalance

_v = Variant.__table__
_p = Product.__table__
_b = StockBalance.__table__
_a = SkuAlias.__table__

#: Fewer typed characters than this find nothing (a single letter matches everything).
MIN_SEARCH = 2


@dataclass(frozen=True, slots=True)
class VariantHit:
    """One variant the picker offers, with what the source can give now."""

    variant_id: int
    sku: str
    product: str
    colour: str
    size: str
    #: On hand − reserved at the source; None when no source is chosen.
    available: int | None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_variants(
    session: Session, text: str, *, warehouse_id: int | None, limit: int = 8
) -> list[VariantHit]:
    """Variants whose SKU or product name contains `text`, or whose alias or barcode is
    `text`; SKUs starting with it first. `available` is at `warehouse_id`."""
    text = text.strip()[:64]
    if len(text) < MIN_SEARCH:
        return []
    pattern = _like(text)
    aliased = select(_a.c.variant_id).where(_a.c.code == text)
    available = (_b.c.on_hand - _b.c.reserved) if warehouse_id is not None else None
    columns = [_v.c.id, _v.c.sku, _p.c.name, _v.c.colour, _v.c.size]
    query = select(*columns, *([available] if available is not None else [])).join(
        _p, _p.c.id == _v.c.product_id
    )
    if warehouse_id is not None:
        query = query.outerjoin(
            _b, and_(_b.c.variant_id == _v.c.id, _b.c.warehouse_id == warehouse_id)
        )
    query = (
        query.where(
            or_(
                _v.c.sku.ilike(pattern, escape="\\"),
                _p.c.name.ilike(pattern, escape="\\"),
                _v.c.barcode == text,
                _v.c.id.in_(aliased),
            )
        )
        .order_by(
            case((_v.c.sku.ilike(_like(text)[1:], escape="\\"), 0), else_=1),
            _v.c.sku,
        )
        .limit(max(1, min(limit, 50)))
    )
    return [
        VariantHit(
            variant_id=row[0],
            sku=row[1],
            product=row[2],
            colour=row[3],
            size=row[4],
            available=(int(row[5] or 0) if warehouse_id is not None else None),
        )
        for row in session.execute(query)
    ]


def available_units(
    session: Session, variant_ids: Iterable[int], warehouse_id: int
) -> dict[int, int]:
    """{variant id: on hand − reserved at `warehouse_id`}; 0 for variants never stocked."""
    ids = sorted(set(variant_ids))
    found = {vid: 0 for vid in ids}
    for start in range(0, len(ids), 1_000):
        for variant_id, units in session.execute(
            select(_b.c.variant_id, _b.c.on_hand - _b.c.reserved).where(
                _b.c.warehouse_id == warehouse_id,
                _b.c.variant_id.in_(ids[start : start + 1_000]),
            )
        ):
            found[variant_id] = int(units)
    return found


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One line as the user wrote it: its row number, the code typed, the quantity."""

    row: int
    code: str
    #: None when no quantity could be read.
    qty: int | None
    #: A problem already found while reading the line (e.g. no quantity).
    problem: str = ""


@dataclass(frozen=True, slots=True)
class LineCheck:
    row: int
    code: str
    qty: int | None
    variant_id: int | None = None
    sku: str = ""
    product: str = ""
    #: Units available at the source now; None without a source or a variant.
    available: int | None = None
    #: Why the line cannot be drafted ("" when it can).
    problem: str = ""
    #: Worth knowing but not refused: more asked than is available at the source.
    warning: str = ""


def check_lines(
    session: Session,
    lines: Sequence[LineRequest],
    *,
    source_warehouse_id: int | None,
    source_code: str = "the source",
) -> list[LineCheck]:
    """Every line checked at once, in order: a problem or a warning per line."""
    checks: list[LineCheck] = []
    seen: dict[int, LineRequest] = {}
    resolved: list[tuple[LineRequest, Variant | None, str]] = []
    for line in lines:
        variant, problem = None, line.problem
        if not problem and line.qty is not None and line.qty <= 0:
            problem = f"quantity {line.qty}; quantities must be 1 or more"
        try:
            variant = variant_by_sku(session, line.code)
        except DomainError:
            problem = problem or "no variant with this SKU, alias or barcode"
        if variant is not None and variant.id is not None and not problem:
            first = seen.get(variant.id)
            if first is not None:
                problem = (
                    f"same variant ({variant.sku}) as line {first.row}; put it on one line "
                    "with the total quantity"
                )
            else:
                seen[variant.id] = line
        resolved.append((line, variant, problem))
    ids = [v.id for _, v, _ in resolved if v is not None and v.id is not None]
    available = (
        available_units(session, ids, source_warehouse_id)
        if source_warehouse_id is not None
        else {}
    )
    products: dict[int, str] = {}
    if ids:
        names = select(_v.c.id, _p.c.name).join(_p, _p.c.id == _v.c.product_id)
        products = dict(session.execute(names.where(_v.c.id.in_(ids))).all())
    for line, variant, problem in resolved:
        vid = variant.id if variant is not None else None
        units = available.get(vid) if vid is not None else None
        warning = ""
        if not problem and line.qty is not None and units is not None and line.qty > units:
            warning = f"asks for {line.qty:,}; {units:,} available at {source_code}"
        checks.append(
            LineCheck(
                row=line.row,
                code=line.code,
                qty=line.qty,
                variant_id=vid,
                sku=variant.sku if variant is not None else "",
                product=(
                    f"{products.get(vid, '')} · {variant.colour} · {variant.size}"
                    if variant is not None
                    else ""
                ),
                available=units,
                problem=problem,
                warning=warning,
            )
        )
    return checks
