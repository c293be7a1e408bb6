"""Read-side helpers of the stock screen: filter choices, one variant's facts and
history, and the cheap change marker that open grids poll.

Every function takes the caller's brand scope (`brand_ids`, empty for every brand):
a vendor's session passes its one brand, and nothing outside it is ever returned,
not even as a filter choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlmodel import Session

from models.attributes import SEASON_PATTERN
from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse
from models.grid import SIZE_SYSTEM_ORDER
from models.reservations import Reservation, ReservationStatus
from models.stock import LedgerEntry
from models.stock_queries import WarehouseStock, stock_by_warehouse

_v = Variant.__table__
_p = Product.__table__
_br = Brand.__table__
_w = Warehouse.__table__
_a = SkuAlias.__table__
_l = LedgerEntry.__table__
_r = Reservation.__table__

#: A filter picker lists at most this many values (the rest are still searchable).
MAX_CHOICES = 300
LEDGER_PAGE_SIZE = 20
MAX_OPEN_RESERVATIONS = 50


# --- filter choices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GridChoices:
    """What the filter bar offers, within one brand scope."""

    #: (id, code, name)
    brands: tuple[tuple[int, str, str], ...]
    #: (id, code, name, is_active), in allocation order
    warehouses: tuple[tuple[int, str, str, bool], ...]
    categories: tuple[str, ...]
    colours: tuple[str, ...]
    #: Size labels in size order (grouped by size system, then rank).
    sizes: tuple[str, ...]
    #: Product seasons in use ("AW26", "SS26"…; models/attributes.py).
    seasons: tuple[str, ...] = ()


def grid_choices(session: Session, brand_ids: Sequence[int] = ()) -> GridChoices:
    """The brands, warehouses, categories, colours and sizes the filters offer.

    With `brand_ids`, only those brands and the values their catalogue uses.
    """
    brands_q = select(_br.c.id, _br.c.code, _br.c.name).order_by(_br.c.name)
    categories_q = (
        select(_p.c.category).where(_p.c.category != "").distinct().order_by(_p.c.category)
    )
    colours_q = select(_v.c.colour).where(_v.c.colour != "").distinct().order_by(_v.c.colour)
    sizes_q = select(_v.c.size_system, _v.c.size_rank, _v.c.size).distinct()
    season = _p.c.attributes["season"].as_string()
    seasons_q = select(season).where(season != "").distinct().order_by(season)
    if brand_ids:
        ids = list(brand_ids)
        brands_q = brands_q.where(_br.c.id.in_(ids))
        categories_q = categories_q.where(_p.c.brand_id.in_(ids))
        colours_q = colours_q.where(_v.c.brand_id.in_(ids))
        sizes_q = sizes_q.where(_v.c.brand_id.in_(ids))
        seasons_q = seasons_q.where(_p.c.brand_id.in_(ids))
    warehouses_q = select(_w.c.id, _w.c.code, _w.c.name, _w.c.is_active).order_by(
        _w.c.priority, _w.c.code
    )
    connection = session.connection()
    order: dict[str, tuple[int, int, str]] = {}
    for system, rank, label in connection.execute(sizes_q):
        key = (SIZE_SYSTEM_ORDER.get(system, len(SIZE_SYSTEM_ORDER)), rank, label)
        order[label] = min(order.get(label, key), key)
    return GridChoices(
        brands=tuple((r.id, r.code, r.name) for r in connection.execute(brands_q)),
        warehouses=tuple(
            (r.id, r.code, r.name, bool(r.is_active)) for r in connection.execute(warehouses_q)
        ),
        categories=tuple(connection.scalars(categories_q.limit(MAX_CHOICES))),
        colours=tuple(connection.scalars(colours_q.limit(MAX_CHOICES))),
        sizes=tuple(sorted(order, key=order.__getitem__)[:MAX_CHOICES]),
        # Only the shape models/attributes.py keeps (not a list someone stored there).
        seasons=tuple(
            s for s in connection.scalars(seasons_q.limit(MAX_CHOICES)) if SEASON_PATTERN.match(s)
        ),
    )


# --- the live grid's change marker --------------------------------------------------------------


def ledger_marker(session: Session, variant_ids: Sequence[int]) -> int:
    """The newest ledger row id of any of `variant_ids` (0 when they have none).

    Every balance change writes a ledger row in the same transaction, so this number
    moves exactly when one of these variants' stock changes. It reads the ledger's
    (variant_id, warehouse_id, id) index only.
    """
    if not variant_ids:
        return 0
    found = session.connection().scalar(
        select(func.max(_l.c.id)).where(_l.c.variant_id.in_(list(variant_ids)))
    )
    return int(found or 0)


def newest_ledger_id(session: Session) -> int:
    """The newest ledger row id of all (0 when the ledger is empty): it moves exactly when
    any stock changes (the overview's live refresh). Reads the primary key only."""
    return int(session.connection().scalar(select(func.max(_l.c.id))) or 0)


def run_variant_ids(
    session: Session, runs: Sequence[tuple[int, str]], brand_ids: Sequence[int] = ()
) -> list[tuple[int, int, str, str]]:
    """The variants of the given style-colours (product id, colour), as
    (variant id, product id, colour, size)."""
    if not runs:
        return []
    query = select(_v.c.id, _v.c.product_id, _v.c.colour, _v.c.size).where(
        tuple_(_v.c.product_id, _v.c.colour).in_(list(runs))
    )
    if brand_ids:
        query = query.where(_v.c.brand_id.in_(list(brand_ids)))
    return [
        (int(vid), int(pid), colour, size)
        for vid, pid, colour, size in session.connection().execute(query)
    ]


# --- one variant ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenReservation:
    id: int
    warehouse: str
    qty: int
    channel: str
    order_ref: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class VariantDetail:
    variant_id: int
    sku: str
    brand_code: str
    brand_name: str
    product_name: str
    style_code: str
    category: str
    colour: str
    size: str
    size_system: str
    barcode: str | None
    price_cents: int
    attributes: dict[str, Any]
    #: (kind, code)
    aliases: tuple[tuple[str, str], ...]
    balances: tuple[WarehouseStock, ...]
    reservations: tuple[OpenReservation, ...]
    product_id: int = 0


def variant_detail(
    session: Session, variant_id: int, brand_ids: Sequence[int] = ()
) -> VariantDetail | None:
    """Facts, aliases, balances per active warehouse and open reservations of a variant.

    None when there is no such variant or it lies outside `brand_ids`: a caller
    cannot tell "not yours" from "not there".
    """
    connection = session.connection()
    query = (
        select(
            _v.c.sku,
            _br.c.code,
            _br.c.name,
            _p.c.name,
            _p.c.style_code,
            _p.c.category,
            _v.c.colour,
            _v.c.size,
            _v.c.size_system,
            _v.c.barcode,
            _v.c.price_cents,
            _p.c.attributes,
            _v.c.product_id,
        )
        .select_from(_v.join(_p, _p.c.id == _v.c.product_id).join(_br, _br.c.id == _v.c.brand_id))
        .where(_v.c.id == variant_id)
    )
    if brand_ids:
        query = query.where(_v.c.brand_id.in_(list(brand_ids)))
    row = connection.execute(query).one_or_none()
    if row is None:
        return None
    aliases = connection.execute(
        select(_a.c.kind, _a.c.code)
        .where(_a.c.variant_id == variant_id)
        .order_by(_a.c.kind, _a.c.code)
    ).all()
    reservations = connection.execute(
        select(
            _r.c.id,
            _w.c.code,
            _r.c.qty,
            _r.c.channel,
            _r.c.order_ref,
            _r.c.created_at,
            _r.c.expires_at,
        )
        .join(_w, _w.c.id == _r.c.warehouse_id)
        .where(_r.c.variant_id == variant_id, _r.c.status == ReservationStatus.ACTIVE.value)
        .order_by(_r.c.expires_at, _r.c.id)
        .limit(MAX_OPEN_RESERVATIONS)
    ).all()
    return VariantDetail(
        variant_id,
        *row[:10],
        price_cents=int(row[10] or 0),
        attributes=dict(row[11] or {}),
        aliases=tuple((kind, code) for kind, code in aliases),
        balances=tuple(stock_by_warehouse(session, variant_id)),
        reservations=tuple(OpenReservation(*r) for r in reservations),
        product_id=int(row[12]),
    )


@dataclass(frozen=True, slots=True)
class LedgerLine:
    id: int
    created_at: datetime
    warehouse: str
    on_hand_delta: int
    reserved_delta: int
    incoming_delta: int
    reason: str
    reference: str | None
    actor: str
    note: str | None


def ledger_page(
    session: Session,
    variant_id: int,
    *,
    before_id: int | None = None,
    limit: int = LEDGER_PAGE_SIZE,
    brand_ids: Sequence[int] = (),
) -> tuple[list[LedgerLine], bool]:
    """A variant's ledger, newest first, strictly older than `before_id`; and whether
    older rows remain. Keyset paging: new rows arriving never shift a page."""
    limit = max(1, min(limit, 200))
    query = (
        select(
            _l.c.id,
            _l.c.created_at,
            _w.c.code,
            _l.c.on_hand_delta,
            _l.c.reserved_delta,
            _l.c.incoming_delta,
            _l.c.reason,
            _l.c.reference,
            _l.c.actor,
            _l.c.note,
        )
        .join(_w, _w.c.id == _l.c.warehouse_id)
        .where(_l.c.variant_id == variant_id)
        .order_by(_l.c.id.desc())
        .limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(_l.c.id < before_id)
    if brand_ids:
        query = query.where(
            select(_v.c.id)
            .where(_v.c.id == variant_id, _v.c.brand_id.in_(list(brand_ids)))
            .exists()
        )
    rows = session.connection().execute(query).all()
    return [LedgerLine(*row) for row in rows[:limit]], len(rows) > limit
