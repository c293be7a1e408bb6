"""Reading transfers: the list, one transfer with its timeline, the pick list, counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from models.admin import PAGE_SIZE, Page
from models.catalog import Warehouse
from models.errors import (
    NotFound,
)
from models.transfers.tables import WAITING, Transfer, TransferStatus, _b, _e, _l, _p, _t, _v, _w
from models.transfers.workflow import _load
from models.users import User

# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferRow:
    """A transfer as a list shows it."""

    id: int
    status: str
    source_code: str
    dest_code: str
    lines: int
    units: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class TransferLineRow:
    variant_id: int
    sku: str
    product: str
    colour: str
    size: str
    qty: int
    received: int
    damaged: int
    short: int
    #: Available at the source now (what shipping would draw on).
    source_available: int

    @property
    def outstanding(self) -> int:
        return self.qty - self.received - self.damaged - self.short


@dataclass(frozen=True, slots=True)
class TransferDetail:
    transfer: TransferRow
    source_name: str
    dest_name: str
    requested_by: str
    approved_by: str
    shipped_at: datetime | None
    received_at: datetime | None
    lines: list[TransferLineRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    actor: str
    note: str


def _row_query():
    src, dst = aliased(Warehouse.__table__), aliased(Warehouse.__table__)
    creator = User.__table__
    totals = (
        select(
            _l.c.transfer_id,
            func.count().label("lines"),
            func.sum(_l.c.qty).label("units"),
        )
        .group_by(_l.c.transfer_id)
        .subquery()
    )
    query = (
        select(
            _t.c.id,
            _t.c.status,
            src.c.code,
            dst.c.code,
            func.coalesce(totals.c.lines, 0),
            func.coalesce(totals.c.units, 0),
            creator.c.email,
            _t.c.created_at,
            _t.c.updated_at,
            _t.c.note,
        )
        .join(src, src.c.id == _t.c.source_warehouse_id)
        .join(dst, dst.c.id == _t.c.dest_warehouse_id)
        .join(creator, creator.c.id == _t.c.created_by_id)
        .outerjoin(totals, totals.c.transfer_id == _t.c.id)
    )
    return query


def _to_row(r) -> TransferRow:
    return TransferRow(
        id=r[0],
        status=r[1],
        source_code=r[2],
        dest_code=r[3],
        lines=int(r[4]),
        units=int(r[5]),
        created_by=r[6],
        created_at=r[7],
        updated_at=r[8],
        note=r[9],
    )


def list_transfers(
    session: Session,
    *,
    status: str | Iterable[str] | None = None,
    warehouse_id: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[TransferRow]:
    """Transfers newest first; `status` filters (one or several), `warehouse_id` matches
    either end."""
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    conditions = []
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        for s in wanted:
            TransferStatus(s)  # ValueError for nonsense, before it reaches SQL
        conditions.append(_t.c.status.in_(wanted))
    if warehouse_id is not None:
        conditions.append(
            or_(_t.c.source_warehouse_id == warehouse_id, _t.c.dest_warehouse_id == warehouse_id)
        )
    query = _row_query().where(*conditions).order_by(_t.c.id.desc()).offset(offset).limit(limit)
    total = session.scalar(select(func.count()).select_from(_t).where(*conditions)) or 0
    return Page(
        rows=[_to_row(r) for r in session.execute(query)],
        total=int(total),
        offset=offset,
        limit=limit,
    )


def transfer_detail(session: Session, transfer_id: int) -> TransferDetail:
    """The transfer, its people and its lines (in size-run order) with today's source stock."""
    row = session.execute(_row_query().where(_t.c.id == transfer_id)).one_or_none()
    if row is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    transfer = _load(session, transfer_id)
    names = dict(
        session.execute(
            select(_w.c.id, _w.c.name).where(
                _w.c.id.in_([transfer.source_warehouse_id, transfer.dest_warehouse_id])
            )
        ).all()
    )
    people = dict(
        session.execute(
            select(User.id, User.email).where(
                User.id.in_([i for i in (transfer.requested_by_id, transfer.approved_by_id) if i])
            )
        ).all()
    )
    return TransferDetail(
        transfer=_to_row(row),
        source_name=names[transfer.source_warehouse_id],
        dest_name=names[transfer.dest_warehouse_id],
        requested_by=people.get(transfer.requested_by_id, ""),
        approved_by=people.get(transfer.approved_by_id, ""),
        shipped_at=transfer.shipped_at,
        received_at=transfer.received_at,
        lines=_line_rows(session, transfer),
    )


def _line_rows(session: Session, transfer: Transfer) -> list[TransferLineRow]:
    available = func.coalesce(_b.c.on_hand - _b.c.reserved, 0)
    rows = session.execute(
        select(
            _l.c.variant_id,
            _v.c.sku,
            _p.c.name,
            _v.c.colour,
            _v.c.size,
            _l.c.qty,
            _l.c.received_qty,
            _l.c.damaged_qty,
            _l.c.short_qty,
            available,
        )
        .join(_v, _v.c.id == _l.c.variant_id)
        .join(_p, _p.c.id == _v.c.product_id)
        .outerjoin(
            _b,
            (_b.c.variant_id == _l.c.variant_id)
            & (_b.c.warehouse_id == transfer.source_warehouse_id),
        )
        .where(_l.c.transfer_id == transfer.id)
        .order_by(_p.c.name, _p.c.id, _v.c.colour, _v.c.size_rank, _v.c.sku)
    )
    return [TransferLineRow(*r[:9], source_available=int(r[9])) for r in rows]


def transfer_timeline(session: Session, transfer_id: int) -> list[TimelineEntry]:
    """Every step of the transfer, oldest first."""
    if session.scalar(select(_t.c.id).where(_t.c.id == transfer_id)) is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    rows = session.execute(
        select(
            _e.c.created_at, _e.c.action, _e.c.from_status, _e.c.to_status, _e.c.actor, _e.c.note
        )
        .where(_e.c.transfer_id == transfer_id)
        .order_by(_e.c.id)
    )
    return [TimelineEntry(*r) for r in rows]


def transfer_marker(session: Session, transfer_id: int | None = None) -> int:
    """The newest timeline row id of one transfer (of any, when None); 0 when none.

    Every step (drafting, lines, approval, shipping, each receipt, cancelling) writes a
    timeline row in its transaction, so this number moves exactly when a transfer
    changes: an open list or detail page re-reads only then. Reads the
    (transfer_id, id) index or the primary key only."""
    query = select(func.max(_e.c.id))
    if transfer_id is not None:
        query = query.where(_e.c.transfer_id == transfer_id)
    return int(session.scalar(query) or 0)


@dataclass(frozen=True, slots=True)
class PickLine:
    sku: str
    barcode: str
    product: str
    colour: str
    size: str
    qty: int
    #: On hand at the source now: where the picker looks (shipped lines are already out).
    on_hand: int


@dataclass(frozen=True, slots=True)
class PickList:
    transfer_id: int
    status: str
    source_code: str
    source_name: str
    dest_code: str
    dest_name: str
    lines: list[PickLine]

    @property
    def units(self) -> int:
        return sum(line.qty for line in self.lines)


def pick_list(session: Session, transfer_id: int) -> PickList:
    """What to take off the shelves at the source, grouped style → colour → size."""
    transfer = _load(session, transfer_id)
    places = {
        r.id: r
        for r in session.execute(
            select(_w.c.id, _w.c.code, _w.c.name).where(
                _w.c.id.in_([transfer.source_warehouse_id, transfer.dest_warehouse_id])
            )
        )
    }
    rows = session.execute(
        select(
            _v.c.sku,
            func.coalesce(_v.c.barcode, ""),
            _p.c.name,
            _v.c.colour,
            _v.c.size,
            _l.c.qty,
            func.coalesce(_b.c.on_hand, 0),
        )
        .join(_v, _v.c.id == _l.c.variant_id)
        .join(_p, _p.c.id == _v.c.product_id)
        .outerjoin(
            _b,
            (_b.c.variant_id == _l.c.variant_id)
            & (_b.c.warehouse_id == transfer.source_warehouse_id),
        )
        .where(_l.c.transfer_id == transfer_id)
        .order_by(_p.c.style_code, _p.c.id, _v.c.colour, _v.c.size_rank, _v.c.sku)
    )
    source, dest = places[transfer.source_warehouse_id], places[transfer.dest_warehouse_id]
    return PickList(
        transfer_id=transfer_id,
        status=transfer.status,
        source_code=source.code,
        source_name=source.name,
        dest_code=dest.code,
        dest_name=dest.name,
        lines=[PickLine(*r[:6], on_hand=int(r[6])) for r in rows],
    )


@dataclass(frozen=True, slots=True)
class TransferCounts:
    by_status: dict[str, int]

    @property
    def waiting(self) -> int:
        """Transfers somebody has to act on: approve, ship or receive."""
        return sum(self.by_status.get(s.value, 0) for s in WAITING)


def transfer_counts(session: Session) -> TransferCounts:
    """How many transfers are in each state (for the sidebar and the page's tabs)."""
    rows = session.execute(select(_t.c.status, func.count()).group_by(_t.c.status)).all()
    counts = {s.value: 0 for s in TransferStatus}
    counts.update({status: int(n) for status, n in rows})
    return TransferCounts(counts)


def units_in_transit(session: Session, warehouse_id: int) -> int:
    """Units shipped towards `warehouse_id` and not yet booked (equals its transfer share
    of incoming)."""
    outstanding = _l.c.qty - _l.c.received_qty - _l.c.damaged_qty - _l.c.short_qty
    return int(
        session.scalar(
            select(func.coalesce(func.sum(outstanding), 0))
            .join(_t, _t.c.id == _l.c.transfer_id)
            .where(
                _t.c.dest_warehouse_id == warehouse_id,
                _t.c.status == TransferStatus.IN_TRANSIT.value,
            )
        )
        or 0
    )
