"""Stock balances and their append-only ledger, and the operations that change them.

Every change to a balance goes through `change_balance`: one guarded UPDATE whose
WHERE clause refuses any result that would break the invariants
(0 ≤ reserved ≤ on hand, incoming ≥ 0), followed by the ledger row in the same
transaction. There is no read-modify-write in Python, so concurrent callers cannot
oversell, on PostgreSQL (row locks, re-checked WHERE) or SQLite (one writer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Index,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Variant, Warehouse
from models.errors import InsufficientStock, InvalidQuantity, NotFound, StaleCount


class LedgerReason(StrEnum):
    RECEIPT = "receipt"
    COUNT = "count"
    DAMAGED = "damaged"
    FOUND = "found"
    CORRECTION = "correction"
    LOST = "lost"
    RESERVE = "reserve"
    RELEASE = "release"
    EXPIRE = "expire"
    SALE = "sale"
    RETURN = "return"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    IMPORT = "import"
    SYNC = "sync"


#: Reasons a person may give for correcting a count by hand.
ADJUSTMENT_REASONS = (
    LedgerReason.COUNT,
    LedgerReason.DAMAGED,
    LedgerReason.FOUND,
    LedgerReason.CORRECTION,
    LedgerReason.LOST,
)


class StockBalance(SQLModel, table=True):
    """What one warehouse holds of one variant. Available = on hand − reserved."""

    __tablename__ = "stock_balance"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("incoming >= 0", name="incoming_not_negative"),
        Index("ix_stock_balance_warehouse_variant", "warehouse_id", "variant_id"),
        Index("ix_stock_balance_updated_at", "updated_at"),
    )

    variant_id: int = Field(foreign_key="variant.id", primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouse.id", primary_key=True)
    on_hand: int = Field(default=0)
    reserved: int = Field(default=0)
    incoming: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LedgerEntry(SQLModel, table=True):
    """One change to one balance. Rows are never updated or deleted (a trigger refuses)."""

    __tablename__ = "stock_ledger"
    __table_args__ = (
        Index("ix_stock_ledger_variant_warehouse", "variant_id", "warehouse_id", "id"),
        Index("ix_stock_ledger_reference", "reference"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    variant_id: int = Field(foreign_key="variant.id")
    warehouse_id: int = Field(foreign_key="warehouse.id")
    on_hand_delta: int = Field(default=0)
    reserved_delta: int = Field(default=0)
    incoming_delta: int = Field(default=0)
    reason: str = Field(max_length=32)
    reference: str | None = Field(default=None, max_length=200)
    actor: str = Field(max_length=200)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


@dataclass(frozen=True, slots=True)
class Balance:
    variant_id: int
    warehouse_id: int
    on_hand: int
    reserved: int
    incoming: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


_balance = StockBalance.__table__
_ledger = LedgerEntry.__table__
_BALANCE_COLUMNS = (
    _balance.c.variant_id,
    _balance.c.warehouse_id,
    _balance.c.on_hand,
    _balance.c.reserved,
    _balance.c.incoming,
)


def require_quantity(value: object, *, field: str = "qty", allow_zero: bool = False) -> int:
    """A whole number of units, > 0 (or ≥ 0), or an InvalidQuantity naming the field."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{field} must be a whole number, got {value!r}.", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "at least 1"
        raise InvalidQuantity(f"{field} must be {bound}, got {value}.", field=field, value=value)
    if value > 1_000_000_000:
        raise InvalidQuantity(f"{field} is implausibly large: {value}.", field=field, value=value)
    return value


def get_balance(session: Session, variant_id: int, warehouse_id: int) -> Balance:
    row = session.execute(
        select(*_BALANCE_COLUMNS).where(
            _balance.c.variant_id == variant_id, _balance.c.warehouse_id == warehouse_id
        )
    ).one_or_none()
    if row is None:
        _require_variant_and_warehouse(session, variant_id, warehouse_id)
        return Balance(variant_id, warehouse_id, 0, 0, 0)
    return Balance(*row)


def _guarded_update(*, with_expected: bool):
    """UPDATE one balance by the given deltas unless the result would break an invariant."""
    guard = and_(
        _balance.c.variant_id == bindparam("b_variant", type_=Integer),
        _balance.c.warehouse_id == bindparam("b_warehouse", type_=Integer),
        _balance.c.on_hand + bindparam("d_on_hand", type_=Integer)
        >= _balance.c.reserved + bindparam("d_reserved", type_=Integer),
        _balance.c.reserved + bindparam("d_reserved", type_=Integer) >= 0,
        _balance.c.incoming + bindparam("d_incoming", type_=Integer) >= 0,
    )
    if with_expected:
        guard = and_(guard, _balance.c.on_hand == bindparam("b_expected", type_=Integer))
    return (
        update(_balance)
        .where(guard)
        .values(
            on_hand=_balance.c.on_hand + bindparam("d_on_hand", type_=Integer),
            reserved=_balance.c.reserved + bindparam("d_reserved", type_=Integer),
            incoming=_balance.c.incoming + bindparam("d_incoming", type_=Integer),
            updated_at=bindparam("b_now", type_=UTCDateTime),
        )
        .returning(*_BALANCE_COLUMNS)
    )


_LEDGER_VALUES = {
    "on_hand_delta": cast(bindparam("d_on_hand", type_=Integer), Integer),
    "reserved_delta": cast(bindparam("d_reserved", type_=Integer), Integer),
    "incoming_delta": cast(bindparam("d_incoming", type_=Integer), Integer),
    "reason": cast(bindparam("l_reason", type_=String), String),
    "reference": cast(bindparam("l_reference", type_=String), String),
    "actor": cast(bindparam("l_actor", type_=String), String),
    "note": cast(bindparam("l_note", type_=String), String),
    "created_at": bindparam("b_now", type_=UTCDateTime),
}


def _update_and_log(*, with_expected: bool):
    """PostgreSQL: the guarded UPDATE and its ledger INSERT as one statement (one round trip)."""
    changed = _guarded_update(with_expected=with_expected).cte("changed")
    logged = (
        insert(_ledger)
        .from_select(
            ["variant_id", "warehouse_id", *_LEDGER_VALUES],
            select(changed.c.variant_id, changed.c.warehouse_id, *_LEDGER_VALUES.values()),
        )
        .cte("logged")
    )
    return select(
        changed.c.variant_id,
        changed.c.warehouse_id,
        changed.c.on_hand,
        changed.c.reserved,
        changed.c.incoming,
    ).add_cte(logged)


_UPDATE = {flag: _guarded_update(with_expected=flag) for flag in (False, True)}
_UPDATE_AND_LOG = {flag: _update_and_log(with_expected=flag) for flag in (False, True)}
_LOG = insert(_ledger).values(
    variant_id=bindparam("b_variant", type_=Integer),
    warehouse_id=bindparam("b_warehouse", type_=Integer),
    **_LEDGER_VALUES,
)


def change_balance(
    session: Session,
    variant_id: int,
    warehouse_id: int,
    *,
    reason: LedgerReason | str,
    actor: str,
    on_hand: int = 0,
    reserved: int = 0,
    incoming: int = 0,
    reference: str | None = None,
    note: str | None = None,
    expected_on_hand: int | None = None,
) -> Balance | None:
    """Apply deltas to one balance and write its ledger row, or change nothing.

    Returns the new balance, or None when the guard refused (the deltas would make
    available, reserved or incoming negative, or `expected_on_hand` did not match).
    A missing balance row counts as all zeros and is created when the change is an
    increase. The statements are built once at import; only parameters vary.
    """
    params = {
        "b_variant": variant_id,
        "b_warehouse": warehouse_id,
        "b_expected": expected_on_hand,
        "d_on_hand": on_hand,
        "d_reserved": reserved,
        "d_incoming": incoming,
        "l_reason": str(reason),
        "l_reference": reference,
        "l_actor": actor,
        "l_note": note,
        "b_now": utcnow(),
    }
    with_expected = expected_on_hand is not None
    one_statement = session.get_bind().dialect.name == "postgresql"
    statement = (_UPDATE_AND_LOG if one_statement else _UPDATE)[with_expected]
    connection = session.connection()  # Core statements skip the ORM's execution layer
    row = connection.execute(statement, params).one_or_none()
    if row is None and _create_missing_balance(session, variant_id, warehouse_id):
        row = connection.execute(statement, params).one_or_none()
    if row is None:
        return None
    if not one_statement:
        connection.execute(_LOG, params)
    return Balance(*row)


def _create_missing_balance(session: Session, variant_id: int, warehouse_id: int) -> bool:
    """Insert an all-zero balance if there is none; True when one was created."""
    exists = session.execute(
        select(literal(1)).where(
            _balance.c.variant_id == variant_id, _balance.c.warehouse_id == warehouse_id
        )
    ).first()
    if exists:
        return False
    _require_variant_and_warehouse(session, variant_id, warehouse_id)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(_balance)
        .values(variant_id=variant_id, warehouse_id=warehouse_id, updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    return True


def _require_variant_and_warehouse(session: Session, variant_id: int, warehouse_id: int) -> None:
    if session.get(Variant, variant_id) is None:
        raise NotFound(f"No variant with id {variant_id}.", variant_id=variant_id)
    if session.get(Warehouse, warehouse_id) is None:
        raise NotFound(f"No warehouse with id {warehouse_id}.", warehouse_id=warehouse_id)


def _insufficient(
    session: Session, variant_id: int, warehouse_id: int, wanted: int
) -> InsufficientStock:
    current = get_balance(session, variant_id, warehouse_id)
    return InsufficientStock(
        f"Only {current.available} available (on hand {current.on_hand}, reserved "
        f"{current.reserved}); {wanted} requested.",
        available=current.available,
        on_hand=current.on_hand,
        reserved=current.reserved,
        requested=wanted,
    )


# --- operations -----------------------------------------------------------------------


def receive(
    session: Session,
    variant_id: int,
    warehouse_id: int,
    qty: int,
    *,
    actor: str,
    reference: str | None = None,
    note: str | None = None,
) -> Balance:
    """Goods arrived: on hand goes up by `qty`."""
    require_quantity(qty)
    balance = change_balance(
        session,
        variant_id,
        warehouse_id,
        reason=LedgerReason.RECEIPT,
        actor=actor,
        on_hand=qty,
        reference=reference,
        note=note,
    )
    assert balance is not None  # an increase always passes the guard
    return balance


def adjust(
    session: Session,
    variant_id: int,
    warehouse_id: int,
    delta: int,
    *,
    reason: LedgerReason | str,
    actor: str,
    reference: str | None = None,
    note: str | None = None,
) -> Balance:
    """Correct on hand by `delta` (positive or negative) for a stated reason."""
    reason = _adjustment_reason(reason)
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidQuantity(
            f"delta must be a non-zero whole number, got {delta!r}.", field="delta"
        )
    require_quantity(abs(delta), field="delta")
    balance = change_balance(
        session,
        variant_id,
        warehouse_id,
        reason=reason,
        actor=actor,
        on_hand=delta,
        reference=reference,
        note=note,
    )
    if balance is None:
        raise _insufficient(session, variant_id, warehouse_id, -delta)
    return balance


def set_count(
    session: Session,
    variant_id: int,
    warehouse_id: int,
    on_hand: int,
    *,
    actor: str,
    expected_on_hand: int | None = None,
    reason: LedgerReason | str = LedgerReason.COUNT,
    reference: str | None = None,
    note: str | None = None,
) -> Balance:
    """Set on hand to a counted value.

    With `expected_on_hand` this is compare-and-swap: "from 12 to 10" fails with
    StaleCount if the balance is no longer 12. Without it, the current value is read
    and swapped in the same way, so a concurrent change is never silently lost.
    """
    reason = _adjustment_reason(reason)
    require_quantity(on_hand, field="on_hand", allow_zero=True)
    if expected_on_hand is not None:
        require_quantity(expected_on_hand, field="expected_on_hand", allow_zero=True)
    for _attempt in range(5):
        current = get_balance(session, variant_id, warehouse_id)
        expected = current.on_hand if expected_on_hand is None else expected_on_hand
        if current.on_hand != expected:
            raise StaleCount(
                f"The count changed: it is {current.on_hand} now, not {expected}. "
                "Check the new value and try again.",
                expected_on_hand=expected,
                on_hand=current.on_hand,
            )
        if on_hand < current.reserved:
            raise InsufficientStock(
                f"Cannot count {on_hand}: {current.reserved} units are reserved for orders.",
                reserved=current.reserved,
                requested=on_hand,
            )
        if on_hand == expected:
            return current
        balance = change_balance(
            session,
            variant_id,
            warehouse_id,
            reason=reason,
            actor=actor,
            on_hand=on_hand - expected,
            expected_on_hand=expected,
            reference=reference,
            note=note,
        )
        if balance is not None:
            return balance
    raise StaleCount("The count keeps changing underneath; try again.", on_hand=current.on_hand)


def _adjustment_reason(reason: LedgerReason | str) -> LedgerReason:
    try:
        parsed = LedgerReason(reason)
    except ValueError:
        parsed = None
    if parsed not in ADJUSTMENT_REASONS:
        allowed = ", ".join(r.value for r in ADJUSTMENT_REASONS)
        raise InvalidQuantity(f"Reason {reason!r} is not one of: {allowed}.", field="reason")
    return parsed


# --- reconciliation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Drift:
    """A balance that differs from the sum of its ledger rows."""

    variant_id: int
    warehouse_id: int
    balance: tuple[int, int, int]
    ledger: tuple[int, int, int]

    def describe(self) -> str:
        names = ("on_hand", "reserved", "incoming")
        parts = [
            f"{name} {held} but ledger says {logged}"
            for name, held, logged in zip(names, self.balance, self.ledger, strict=True)
            if held != logged
        ]
        return f"variant {self.variant_id} @ warehouse {self.warehouse_id}: " + ", ".join(parts)


def reconcile(session: Session) -> list[Drift]:
    """Every balance whose quantities differ from the sum of its ledger, in key order.

    Balances and ledger rows are stacked (UNION ALL) and summed per key in one pass,
    which both databases do in linear time; a FULL JOIN against the grouped ledger
    was quadratic on SQLite.
    """
    zero = literal(0)
    stacked = union_all(
        select(
            _balance.c.variant_id,
            _balance.c.warehouse_id,
            _balance.c.on_hand.label("b_on"),
            _balance.c.reserved.label("b_res"),
            _balance.c.incoming.label("b_inc"),
            zero.label("l_on"),
            zero.label("l_res"),
            zero.label("l_inc"),
        ),
        select(
            _ledger.c.variant_id,
            _ledger.c.warehouse_id,
            zero,
            zero,
            zero,
            _ledger.c.on_hand_delta,
            _ledger.c.reserved_delta,
            _ledger.c.incoming_delta,
        ),
    ).subquery()
    sums = [
        func.sum(stacked.c[name]) for name in ("b_on", "b_res", "b_inc", "l_on", "l_res", "l_inc")
    ]
    query = (
        select(stacked.c.variant_id, stacked.c.warehouse_id, *sums)
        .group_by(stacked.c.variant_id, stacked.c.warehouse_id)
        .having((sums[0] != sums[3]) | (sums[1] != sums[4]) | (sums[2] != sums[5]))
        .order_by(stacked.c.variant_id, stacked.c.warehouse_id)
    )
    return [
        Drift(
            int(r[0]),
            int(r[1]),
            (int(r[2]), int(r[3]), int(r[4])),
            (int(r[5]), int(r[6]), int(r[7])),
        )
        for r in session.execute(query)
    ]


# --- many counts at once --------------------------------------------------------------

_CREATE_TARGETS = {
    "postgresql": text(
        "CREATE TEMPORARY TABLE count_target (variant_id integer NOT NULL, "
        "warehouse_id integer NOT NULL, expected integer NOT NULL, new_on_hand integer NOT NULL, "
        "note text) ON COMMIT DROP"
    ),
    "sqlite": text(
        "CREATE TEMPORARY TABLE count_target (variant_id INTEGER NOT NULL, "
        "warehouse_id INTEGER NOT NULL, expected INTEGER NOT NULL, new_on_hand INTEGER NOT NULL, "
        "note TEXT)"
    ),
}
_CREATE_MISSING = text(
    "INSERT INTO stock_balance (variant_id, warehouse_id, on_hand, reserved, incoming, "
    "updated_at) SELECT t.variant_id, t.warehouse_id, 0, 0, 0, :now FROM count_target t "
    "WHERE t.expected = 0 AND NOT EXISTS (SELECT 1 FROM stock_balance b "
    "WHERE b.variant_id = t.variant_id AND b.warehouse_id = t.warehouse_id) "
    "ORDER BY t.variant_id, t.warehouse_id ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime))
_LEDGER_PARAMS = (
    bindparam("now", type_=UTCDateTime),
    bindparam("reason", type_=String),
    bindparam("reference", type_=String),
    bindparam("actor", type_=String),
)
# The guard is change_balance's with expected_on_hand: compare-and-swap on on hand,
# never below what is reserved. On PostgreSQL one statement does it all: balances that do
# not exist yet (expected 0) are inserted with their new count, existing ones updated
# under the guard (the UPDATE does not see the rows inserted beside it), and both feed
# the ledger INSERT.
_SET_AND_LOG_PG = text(
    "WITH created AS (INSERT INTO stock_balance (variant_id, warehouse_id, on_hand, reserved, "
    "incoming, updated_at) SELECT t.variant_id, t.warehouse_id, t.new_on_hand, 0, 0, :now "
    "FROM count_target t WHERE t.expected = 0 AND NOT EXISTS (SELECT 1 FROM stock_balance b "
    "WHERE b.variant_id = t.variant_id AND b.warehouse_id = t.warehouse_id) "
    "ORDER BY t.variant_id, t.warehouse_id ON CONFLICT DO NOTHING "
    "RETURNING variant_id, warehouse_id, on_hand AS delta), "
    "changed AS (UPDATE stock_balance b SET on_hand = t.new_on_hand, updated_at = :now "
    "FROM count_target t WHERE b.variant_id = t.variant_id "
    "AND b.warehouse_id = t.warehouse_id AND b.on_hand = t.expected "
    "AND t.new_on_hand >= b.reserved "
    "RETURNING b.variant_id, b.warehouse_id, t.new_on_hand - t.expected AS delta), "
    "moved AS (SELECT * FROM created UNION ALL SELECT * FROM changed) "
    "INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, reserved_delta, "
    "incoming_delta, reason, reference, actor, note, created_at) "
    "SELECT m.variant_id, m.warehouse_id, m.delta, 0, 0, :reason, :reference, :actor, t.note, "
    ":now FROM moved m JOIN count_target t ON t.variant_id = m.variant_id "
    "AND t.warehouse_id = m.warehouse_id ORDER BY m.variant_id, m.warehouse_id"
).bindparams(*_LEDGER_PARAMS)
_SET_SQLITE = text(
    "UPDATE stock_balance AS b SET on_hand = t.new_on_hand, updated_at = :now "
    "FROM temp.count_target AS t WHERE b.variant_id = t.variant_id "
    "AND b.warehouse_id = t.warehouse_id AND b.on_hand = t.expected "
    "AND t.new_on_hand >= b.reserved"
).bindparams(bindparam("now", type_=UTCDateTime))
_LOG_SQLITE = text(
    "INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, reserved_delta, "
    "incoming_delta, reason, reference, actor, note, created_at) "
    "SELECT variant_id, warehouse_id, new_on_hand - expected, 0, 0, :reason, :reference, "
    ":actor, note, :now FROM temp.count_target ORDER BY variant_id, warehouse_id"
).bindparams(*_LEDGER_PARAMS)


@dataclass(frozen=True, slots=True)
class CountTarget:
    """Set on hand from `expected` to `on_hand` (the note goes on the ledger row)."""

    variant_id: int
    warehouse_id: int
    expected: int
    on_hand: int
    note: str | None = None


def set_counts(
    session: Session,
    targets: list[CountTarget],
    *,
    reason: LedgerReason | str,
    actor: str,
    reference: str | None = None,
) -> int:
    """Compare-and-swap many on-hand counts in set-based statements, one ledger row each.

    The bulk form of `change_balance(..., expected_on_hand=...)`: the same guard, with
    the targets COPYed (PostgreSQL) or bulk-inserted (SQLite) into a temporary table
    and applied by one UPDATE and one ledger INSERT. Missing balance rows are created
    (with their new count on PostgreSQL, at zero then updated on SQLite). If the guard
    refuses any target (its count is no longer `expected`, or the new count is below
    what is reserved), StaleCount is raised and the caller's
    transaction must roll back: this function never writes part of `targets`.
    Callers that read the balances FOR UPDATE in the same transaction see no refusals.
    """
    targets = [t for t in targets if t.on_hand != t.expected]
    if not targets:
        return 0
    for t in targets:
        require_quantity(t.on_hand, field="on_hand", allow_zero=True)
    rows = sorted((t.variant_id, t.warehouse_id, t.expected, t.on_hand, t.note) for t in targets)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    driver = connection.connection.driver_connection
    if postgres:
        connection.execute(_CREATE_TARGETS["postgresql"])
        cursor = driver.cursor()
        with cursor.copy(
            "COPY count_target (variant_id, warehouse_id, expected, new_on_hand, note) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        connection.execute(text("DROP TABLE IF EXISTS temp.count_target"))
        connection.execute(_CREATE_TARGETS["sqlite"])
        cursor = driver.cursor()
        cursor.executemany(
            "INSERT INTO temp.count_target (variant_id, warehouse_id, expected, new_on_hand, "
            "note) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        cursor.close()
    now = utcnow()
    ledger = {"now": now, "reason": str(reason), "reference": reference, "actor": actor}
    if postgres:
        written = connection.execute(_SET_AND_LOG_PG, ledger).rowcount
        connection.execute(text("DROP TABLE count_target"))
    else:
        connection.execute(_CREATE_MISSING, {"now": now})
        written = connection.execute(_SET_SQLITE, {"now": now}).rowcount
        if written == len(rows):
            connection.execute(_LOG_SQLITE, ledger)
        connection.execute(text("DROP TABLE temp.count_target"))
    if written != len(rows):
        raise StaleCount(
            f"{len(rows) - written} of {len(rows)} counts changed meanwhile; nothing was applied.",
            refused=len(rows) - written,
        )
    return written
