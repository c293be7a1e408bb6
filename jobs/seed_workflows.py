"""The demo's transfers and cycle counts, so `/transfers` and `/counts` show work at each
step from the first `make run` (the demo scale only; benchmarks bring their own).

Everything goes through the domain as the demo's staff would do it: the merchandiser
drafts, submits, ships and receives, the manager approves.

- Transfers restock the stores from the distribution centres: each moves a brand's SKUs
  a store has run out of from a centre holding plenty of them. One was received last
  week, one is on its way (the store's incoming), one waits for the manager's approval,
  and one is still a draft.
- Cycle counts: every warehouse's SKUs are classed A/B/C from their sales, so each has a
  list due today, and the London store's sheet for today is counted and submitted, with
  one SKU off by more than the tolerance: a variance waiting for the manager.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from jobs.analytics.metrics import day_start
from jobs.demo_logins import STAFF
from models.catalog import Brand, Variant, Warehouse
from models.cycle_counts import CountLine, classify_abc, record_count, start_sheet, submit_sheet
from models.stock import StockBalance
from models.transfers import (
    LineInput,
    TransferStatus,
    approve_transfer,
    create_transfer,
    receive_transfer,
    ship_transfer,
    submit_transfer,
)
from models.users import Role, User

#: Units each line moves, and what the source must hold (available) to spare them.
LINE_QTY = 4
SOURCE_FLOOR = 12
LINES_PER_TRANSFER = 6
#: The store whose sheet for today is counted, and how far its odd count is off.
COUNTED_STORE = "ST-LDN"
VARIANCE = 5


@dataclass(frozen=True, slots=True)
class _Plan:
    """One demo transfer: from where to where, how far it got, and when it was drafted
    (days before the seed's day, at `hour` UTC: every step is over before that day)."""

    source: str
    dest: str
    status: TransferStatus
    days_ago: int
    hour: int
    note: str


PLANS = (
    _Plan("WH-AMS", "ST-LDN", TransferStatus.RECEIVED, 8, 9, "Weekly restock of sold-out sizes"),
    _Plan("WH-LEJ", "ST-CPH", TransferStatus.IN_TRANSIT, 3, 10, "Restock before the weekend"),
    _Plan("WH-MAD", "ST-LDN", TransferStatus.REQUESTED, 1, 15, "Sizes customers asked for"),
    _Plan("WH-AMS", "ST-CPH", TransferStatus.DRAFT, 1, 17, "Next restock, to finish"),
)


def seed_workflows(session: Session, *, as_of: date) -> dict[str, int]:
    """Add the demo transfers and cycle counts (see the module); the counts of what was
    added: transfers, SKUs classed for counting, and variances waiting for approval."""
    staff = dict(session.execute(
        select(User.role, User.id).where(User.email.in_([email for email, _r, _n in STAFF]))
    ).all())
    merch, manager = staff.get(Role.MERCHANDISER), staff.get(Role.MANAGER)
    places = dict(session.execute(select(Warehouse.code, Warehouse.id)).all())
    if merch is None or manager is None:
        return {"transfers": 0, "count_items": 0, "variances": 0}
    midnight = day_start(as_of)
    brands = list(session.scalars(select(Brand.id).order_by(Brand.id)))
    transfers, taken = 0, set()
    for n, plan in enumerate(PLANS):
        if plan.source not in places or plan.dest not in places or not brands:
            continue
        lines = _restock_lines(session, brands[n % len(brands)], places[plan.source],
                               places[plan.dest], taken)
        if lines:
            began = midnight - timedelta(days=plan.days_ago) + timedelta(hours=plan.hour)
            _advance(session, plan, lines, began, places, merch=merch, manager=manager)
            taken.update(line.variant_id for line in lines)
            transfers += 1
    classed = sum(
        sum(classify_abc(session, place, now=midnight).values())
        for place in sorted(places.values())
    )
    variances = _count_store(session, places.get(COUNTED_STORE), as_of, merch)
    return {"transfers": transfers, "count_items": classed, "variances": variances}


def _restock_lines(
    session: Session, brand_id: int, source: int, dest: int, taken: set[int]
) -> list[LineInput]:
    """The brand's first SKUs (by id) out of stock at `dest` that `source` can spare."""
    at_source, at_dest = aliased(StockBalance), aliased(StockBalance)
    query = (
        select(Variant.id)
        .join(at_source, and_(at_source.variant_id == Variant.id,
                              at_source.warehouse_id == source))
        .join(at_dest, and_(at_dest.variant_id == Variant.id, at_dest.warehouse_id == dest))
        .where(
            Variant.brand_id == brand_id,
            at_dest.on_hand - at_dest.reserved <= 0,
            at_source.on_hand - at_source.reserved >= SOURCE_FLOOR,
        )
        .order_by(Variant.id)
        .limit(LINES_PER_TRANSFER)
    )
    if taken:
        query = query.where(Variant.id.not_in(taken))
    return [LineInput(variant_id, LINE_QTY) for variant_id in session.scalars(query)]


def _advance(
    session: Session,
    plan: _Plan,
    lines: list[LineInput],
    began: datetime,
    places: dict[str, int],
    *,
    merch: int,
    manager: int,
) -> None:
    """Create the transfer and take it through its steps, as far as its plan says: each
    step by its person, some time after the one before."""
    transfer = create_transfer(
        session, source_warehouse_id=places[plan.source], dest_warehouse_id=places[plan.dest],
        lines=lines, actor_id=merch, note=plan.note, now=began,
    )
    steps: list[tuple[TransferStatus, Callable[..., object], int, timedelta]] = [
        (TransferStatus.REQUESTED, submit_transfer, merch, timedelta(minutes=20)),
        (TransferStatus.APPROVED, approve_transfer, manager, timedelta(hours=2)),
        (TransferStatus.IN_TRANSIT, ship_transfer, merch, timedelta(hours=3)),
        (TransferStatus.RECEIVED, receive_transfer, merch, timedelta(days=2)),
    ]
    if plan.status is TransferStatus.DRAFT:
        return
    at = began
    for status, step, actor, after in steps:
        at += after
        step(session, transfer.id, actor_id=actor, now=at)
        if status is plan.status:
            return


def _count_store(session: Session, store: int | None, today: date, merch: int) -> int:
    """Count the store's sheet for `today`: every line as expected but the first, which
    is `VARIANCE` units short. Returns the variances left for the manager."""
    if store is None:
        return 0
    sheet = start_sheet(session, store, actor_id=merch, today=today)
    lines = session.scalars(
        select(CountLine).where(CountLine.sheet_id == sheet.id).order_by(CountLine.position)
    ).all()
    odd = next((line for line in lines if line.expected >= VARIANCE), None)
    for line in lines:
        counted = line.expected - VARIANCE if line is odd else line.expected
        record_count(session, line.id, counted, actor_id=merch)
    return submit_sheet(session, sheet.id, actor_id=merch).pending
