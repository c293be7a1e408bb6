"""Count sheets: start one from today's list, count blind, submit, and decide variances.

A counter never sees `expected` (the sheet's views leave it out). On submit, a line
within the class's tolerance is set at once by compare-and-swap from `expected`
(`set_count`, reason `cycle_count`: ledger row and outbox event in the same
transaction); a line above it waits for a manager. If the balance moved since the sheet
started, the swap is refused and the line is a conflict to recount: nothing is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from models.base import utcnow
from models.catalog import Variant, Warehouse
from models.cycle_counts.planning import (
    DueItem,
    PlanRow,
    classify_abc,
    due_today,
    plan,
    require_warehouse,
)
from models.cycle_counts.tables import (
    CountItem,
    CountLine,
    CountSheet,
    LineStatus,
    SheetStatus,
    VarianceDecision,
)
from models.errors import (
    Conflict,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransition,
    NotFound,
    StaleCount,
)
from models.policy import actor_may
from models.scanning import ScanMatch, match_scan
from models.stock import LedgerReason, get_balance, set_count
from models.users import User


@dataclass(frozen=True, slots=True)
class BlindLine:
    """What a counter sees of a line: no expected number."""

    id: int
    sku: str
    label: str
    abc_class: str
    counted: int | None
    status: str


@dataclass(frozen=True, slots=True)
class BlindSheet:
    id: int
    warehouse_id: int
    warehouse: str
    count_date: date
    status: str
    lines: list[BlindLine]


@dataclass(frozen=True, slots=True)
class SubmitResult:
    applied: int
    pending: int
    conflicts: list[str]  # SKUs that moved since the sheet started: recount them


@dataclass(frozen=True, slots=True)
class Variance:
    """A line above tolerance, as a manager sees it."""

    line_id: int
    sheet_id: int
    warehouse: str
    sku: str
    expected: int
    counted: int
    counted_by: str


#: Row locks (PostgreSQL) that serialise two submits of one sheet, a count against a
#: submit, two decisions on one line and two starts at one warehouse; NO KEY UPDATE does
#: not block the rows whose foreign keys point at the locked one.
_LOCK = {"with_for_update": {"key_share": True}, "populate_existing": True}


def _sheet(session: Session, sheet_id: object, *, lock: bool = False) -> CountSheet:
    found = isinstance(sheet_id, int) and not isinstance(sheet_id, bool)
    sheet = session.get(CountSheet, sheet_id, **(_LOCK if lock else {})) if found else None
    if sheet is None:
        raise NotFound(f"No count sheet {sheet_id!r}.", field="sheet_id")
    return sheet


def _line(session: Session, line_id: object, *, lock: bool = False) -> CountLine:
    found = isinstance(line_id, int) and not isinstance(line_id, bool)
    line = session.get(CountLine, line_id, **(_LOCK if lock else {})) if found else None
    if line is None:
        raise NotFound(f"No count line {line_id!r}.", field="line_id")
    return line


def parse_counted(value: object) -> int:
    """A count typed by a person: a whole number ≥ 0, else InvalidQuantity naming `counted`."""
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise InvalidQuantity(
                f"counted must be a whole number of units (0 or more), got {value!r}.",
                field="counted",
            )
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidQuantity(f"counted must be 0 or more, got {value!r}.", field="counted")
    if value > 1_000_000_000:
        raise InvalidQuantity(f"counted is implausibly large: {value}.", field="counted")
    return value


def start_sheet(
    session: Session, warehouse_id: int, *, actor_id: int | None, today: date | None = None
) -> CountSheet:
    """Today's sheet for the warehouse: the open one if there is one, else a new sheet of
    today's due list with each line's on hand kept as its hidden `expected`. A warehouse
    never classified is classified first."""
    actor_may(session, actor_id, "cycle_counts.count")
    require_warehouse(session, warehouse_id)
    warehouse = session.get(Warehouse, warehouse_id, **_LOCK)
    if not warehouse.is_active:
        raise Conflict(f"Warehouse {warehouse.code} is inactive.", field="warehouse")
    open_sheet = session.scalar(
        select(CountSheet).where(
            CountSheet.warehouse_id == warehouse_id, CountSheet.status == SheetStatus.OPEN.value
        )
    )
    if open_sheet is not None:
        return open_sheet
    today = today or utcnow().date()
    if (
        session.scalar(
            select(CountItem.variant_id).where(CountItem.warehouse_id == warehouse_id).limit(1)
        )
        is None
    ):
        classify_abc(session, warehouse_id)
    due = due_today(session, warehouse_id, today)
    if not due:
        raise Conflict(f"Nothing is due for counting at {warehouse.code} today.", field="warehouse")
    sheet = CountSheet(warehouse_id=warehouse_id, count_date=today, created_by_id=actor_id)
    session.add(sheet)
    session.flush()
    for position, item in enumerate(due):
        expected = get_balance(session, item.variant_id, warehouse_id).on_hand
        session.add(
            CountLine(
                sheet_id=sheet.id,
                variant_id=item.variant_id,
                position=position,
                abc_class=item.abc_class,
                expected=expected,
            )
        )
    session.flush()
    return sheet


def blind_sheet(session: Session, sheet_id: int, *, actor_id: int | None) -> BlindSheet:
    """The sheet as a counter sees it: SKUs and what was counted, never `expected`."""
    actor_may(session, actor_id, "cycle_counts.count")
    sheet = _sheet(session, sheet_id)
    warehouse = session.get(Warehouse, sheet.warehouse_id)
    rows = session.execute(
        select(CountLine, Variant)
        .join(Variant, Variant.id == CountLine.variant_id)
        .where(CountLine.sheet_id == sheet.id)
        .order_by(CountLine.position)
    ).all()
    lines = [
        BlindLine(
            line.id,
            variant.sku,
            " / ".join(p for p in (variant.colour, variant.size) if p),
            line.abc_class,
            line.counted,
            line.status,
        )
        for line, variant in rows
    ]
    return BlindSheet(
        sheet.id, sheet.warehouse_id, warehouse.code, sheet.count_date, sheet.status, lines
    )


def record_count(
    session: Session, line_id: object, counted: object, *, actor_id: int | None
) -> BlindLine:
    """Write what was counted on an open sheet's line (again to correct it)."""
    user = actor_may(session, actor_id, "cycle_counts.count")
    line = _line(session, line_id)
    value = parse_counted(counted)
    if _sheet(session, line.sheet_id, lock=True).status != SheetStatus.OPEN.value:
        raise InvalidTransition("This sheet was submitted; its counts can no longer change.")
    line.counted, line.counted_by_id = value, user.id
    session.flush()
    variant = session.get(Variant, line.variant_id)
    return BlindLine(line.id, variant.sku, variant.size, line.abc_class, value, line.status)


@dataclass(frozen=True, slots=True)
class ScannedLine:
    """A line a scan counted: which one, how the code named it, and its count now."""

    line_id: int
    match: ScanMatch
    counted: int


def scan_count(
    session: Session,
    sheet_id: object,
    code: object,
    *,
    actor_id: int | None,
    brand_id: int | None = None,
) -> ScannedLine:
    """One unit counted by scanning: the line `code` names (barcode, alias or SKU) on
    this open sheet goes up by one. An unknown code, or one not on the sheet, is a
    NotFound naming the code, and nothing changes."""
    user = actor_may(session, actor_id, "cycle_counts.count")
    sheet = _sheet(session, sheet_id, lock=True)  # serialises with submit and other scans
    if sheet.status != SheetStatus.OPEN.value:
        raise InvalidTransition("This sheet was submitted; its counts can no longer change.")
    lines = dict(
        session.execute(
            select(CountLine.variant_id, CountLine.id).where(CountLine.sheet_id == sheet.id)
        ).all()
    )
    match = match_scan(session, code, lines, brand_id=brand_id, where=f"count sheet #{sheet.id}")
    line = _line(session, lines[match.variant_id], lock=True)
    line.counted, line.counted_by_id = (line.counted or 0) + 1, user.id
    session.flush()
    return ScannedLine(line.id, match, line.counted)


def _swap(session: Session, line: CountLine, warehouse_id: int, actor: str) -> bool:
    """Set the counted value from `expected` by compare-and-swap; False on a conflict."""
    try:
        set_count(
            session,
            line.variant_id,
            warehouse_id,
            line.counted,
            actor=actor,
            expected_on_hand=line.expected,
            reason=LedgerReason.CYCLE_COUNT,
            reference=f"count_sheet:{line.sheet_id}",
        )
    except (StaleCount, InsufficientStock):
        return False
    return True


def _mark_counted(session: Session, line: CountLine, warehouse_id: int, on: date | None) -> None:
    item = session.get(CountItem, (warehouse_id, line.variant_id))
    if item is not None:
        item.last_counted_on = on


def submit_sheet(session: Session, sheet_id: int, *, actor_id: int | None) -> SubmitResult:
    """Apply the lines within tolerance, queue the rest for approval, report conflicts."""
    user = actor_may(session, actor_id, "cycle_counts.count")
    sheet = _sheet(session, sheet_id, lock=True)
    if sheet.status != SheetStatus.OPEN.value:
        raise InvalidTransition("This sheet was already submitted.")
    lines = list(
        session.scalars(
            select(CountLine).where(CountLine.sheet_id == sheet.id).order_by(CountLine.variant_id)
        )
    )
    missing = [line.id for line in lines if line.counted is None]
    if missing:
        raise InvalidQuantity(
            f"{len(missing)} line(s) have no count yet; count every line before submitting.",
            field="counted",
            lines=missing,
        )
    tolerance = {row.abc_class: row.tolerance for row in plan(session, sheet.warehouse_id)}
    applied, pending, conflicts = 0, 0, []
    for line in lines:
        if abs(line.counted - line.expected) > tolerance[line.abc_class]:
            line.status = LineStatus.PENDING.value
            pending += 1
        elif _swap(session, line, sheet.warehouse_id, user.email):
            line.status = LineStatus.APPLIED.value
            applied += 1
        else:
            line.status = LineStatus.CONFLICT.value
            conflicts.append(session.get(Variant, line.variant_id).sku)
            continue
        _mark_counted(session, line, sheet.warehouse_id, sheet.count_date)
    sheet.status, sheet.submitted_by_id, sheet.submitted_at = (
        SheetStatus.SUBMITTED.value,
        user.id,
        utcnow(),
    )
    session.flush()
    return SubmitResult(applied, pending, sorted(conflicts))


def pending_variances(
    session: Session, *, actor_id: int | None, warehouse_id: int | None = None
) -> list[Variance]:
    """Variances above tolerance waiting for a manager, oldest first."""
    actor_may(session, actor_id, "cycle_counts.approve")
    query = (
        select(CountLine, CountSheet, Variant.sku, Warehouse.code, User.email)
        .join(CountSheet, CountSheet.id == CountLine.sheet_id)
        .join(Variant, Variant.id == CountLine.variant_id)
        .join(Warehouse, Warehouse.id == CountSheet.warehouse_id)
        .outerjoin(User, User.id == CountLine.counted_by_id)
        .where(CountLine.status == LineStatus.PENDING.value)
        .order_by(CountLine.id)
    )
    if warehouse_id is not None:
        query = query.where(CountSheet.warehouse_id == warehouse_id)
    return [
        Variance(line.id, sheet.id, code, sku, line.expected, line.counted, email or "")
        for line, sheet, sku, code, email in session.execute(query).all()
    ]


def decide_variance(
    session: Session,
    line_id: object,
    *,
    approve: bool,
    actor_id: int | None,
    note: str = "",
    now: datetime | None = None,
) -> str:
    """A manager approves (the count is set by compare-and-swap from `expected`) or
    rejects (nothing set; the variant is due again). Returns the line's new status:
    `applied`, `rejected`, or `conflict` when the stock moved meanwhile."""
    user = actor_may(session, actor_id, "cycle_counts.approve")
    line = _line(session, line_id, lock=True)
    if line.status != LineStatus.PENDING.value:
        raise InvalidTransition(f"This variance is {line.status}, not waiting for approval.")
    sheet = _sheet(session, line.sheet_id)
    if not approve:
        outcome = LineStatus.REJECTED
        _mark_counted(session, line, sheet.warehouse_id, None)
    elif _swap(session, line, sheet.warehouse_id, user.email):
        outcome = LineStatus.APPLIED
    else:
        outcome = LineStatus.CONFLICT
        _mark_counted(session, line, sheet.warehouse_id, None)
    line.status = outcome.value
    session.add(
        VarianceDecision(
            line_id=line.id,
            approved=approve,
            outcome=outcome.value,
            decided_by_id=user.id,
            note=(note or "").strip()[:1000],
            decided_at=now or utcnow(),
        )
    )
    session.flush()
    return outcome.value


def approve(session: Session, line_id: object, *, actor_id: int | None, note: str = "") -> str:
    return decide_variance(session, line_id, approve=True, actor_id=actor_id, note=note)


def reject(session: Session, line_id: object, *, actor_id: int | None, note: str = "") -> str:
    return decide_variance(session, line_id, approve=False, actor_id=actor_id, note=note)


@dataclass(frozen=True, slots=True)
class CountBoard:
    """What the counts page shows for one warehouse: today's list, the open sheet (blind),
    and the plan."""

    due: list[DueItem]
    sheet: BlindSheet | None
    plan: list[PlanRow]


def count_board(
    session: Session, warehouse_id: int, *, actor_id: int | None, today: date | None = None
) -> CountBoard:
    actor_may(session, actor_id, "cycle_counts.count")
    require_warehouse(session, warehouse_id)
    open_id = session.scalar(
        select(CountSheet.id).where(
            CountSheet.warehouse_id == warehouse_id, CountSheet.status == SheetStatus.OPEN.value
        )
    )
    return CountBoard(
        due_today(session, warehouse_id, today or utcnow().date()),
        blind_sheet(session, open_id, actor_id=actor_id) if open_id is not None else None,
        plan(session, warehouse_id),
    )
