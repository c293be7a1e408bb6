"""Stock balances and their append-only ledger, and the operations that change them.

`models.stock` is the public face (import from there); this module holds the tables
and the single-balance operations, `stock_counts` the bulk count, `stock_reconcile`
the ledger check.

Every change to a balance goes through `change_balance`: one guarded UPDATE whose
WHERE clause refuses any result that would break the invariants
(0 ≤ reserved ≤ on hand, incoming ≥ 0), followed by the ledger row in the same
transaction. There is no read-modify-write in Python, so concurrent callers cannot
oversell, on PostgreSQL (row locks, re-checked WHERE) or SQLite (one writer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Index,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Variant, Warehouse
from models.errors import InsufficientStock, InvalidQuantity, NotFound, StaleCount
from models.events import (
    extra_event_rows,
    insert_events,
    stock_event_rows,
    time_params,
    writing_enabled,
)


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
    IMPORT_REVERT = "import_revert"
    SYNC = "sync"
    CYCLE_COUNT = "cycle_count"


#: Reasons a person may give for correcting a count by hand.
ADJUSTMENT_REASONS = (
    LedgerReason.COUNT,
    LedgerReason.DAMAGED,
    LedgerReason.FOUND,
    LedgerReason.CORRECTION,
    LedgerReason.LOST,
)
#: Reasons `set_count` accepts: a person's, and a planned cycle count's.
COUNT_REASONS = (*ADJUSTMENT_REASONS, LedgerReason.CYCLE_COUNT)


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


def _update_and_log(*, with_expected: bool, events: bool):
    """PostgreSQL: the guarded UPDATE, its ledger INSERT and (with `events`) its
    `stock.changed` event and any extra event (`x_type`), as one statement (one round
    trip). Nothing is written when the guard refuses."""
    changed = _guarded_update(with_expected=with_expected).cte("changed")
    logged = (
        insert(_ledger)
        .from_select(
            ["variant_id", "warehouse_id", *_LEDGER_VALUES],
            select(changed.c.variant_id, changed.c.warehouse_id, *_LEDGER_VALUES.values()),
        )
        .returning(_ledger.c.id)
        .cte("logged")
    )
    result = select(
        changed.c.variant_id,
        changed.c.warehouse_id,
        changed.c.on_hand,
        changed.c.reserved,
        changed.c.incoming,
    )
    if not events:
        return result.add_cte(logged)
    src = select(
        logged.c.id.label("ledger_id"),
        changed.c.variant_id,
        changed.c.warehouse_id,
        changed.c.on_hand,
        changed.c.reserved,
        changed.c.incoming,
        *(_LEDGER_VALUES[name].label(name) for name in _EVENT_FROM_LEDGER),
    ).select_from(changed.join(logged, true()))
    src = src.cte("src")
    evented = insert_events(stock_event_rows("postgresql", src, with_id=True), with_id=True)
    extra = insert_events(extra_event_rows("postgresql", src))
    return result.add_cte(logged, evented.cte("evented"), extra.cte("extra"))


#: Ledger values an event repeats (the deltas, reason and reference).
_EVENT_FROM_LEDGER = (
    "on_hand_delta",
    "reserved_delta",
    "incoming_delta",
    "reason",
    "reference",
)
_UPDATE = {flag: _guarded_update(with_expected=flag) for flag in (False, True)}
_UPDATE_AND_LOG = {
    (flag, events): _update_and_log(with_expected=flag, events=events)
    for flag in (False, True)
    for events in (False, True)
}
_LOG = (
    insert(_ledger)
    .values(
        variant_id=bindparam("b_variant", type_=Integer),
        warehouse_id=bindparam("b_warehouse", type_=Integer),
        **_LEDGER_VALUES,
    )
    .returning(_ledger.c.id)
)
# SQLite: the event rows from parameters (the balance after, and the ledger row's id).
_SQLITE_SRC = select(
    bindparam("s_ledger", type_=Integer).label("ledger_id"),
    bindparam("b_variant", type_=Integer).label("variant_id"),
    bindparam("b_warehouse", type_=Integer).label("warehouse_id"),
    bindparam("s_on_hand", type_=Integer).label("on_hand"),
    bindparam("s_reserved", type_=Integer).label("reserved"),
    bindparam("s_incoming", type_=Integer).label("incoming"),
    *(_LEDGER_VALUES[name].label(name) for name in _EVENT_FROM_LEDGER),
).subquery("src")
_SQLITE_EVENT = insert_events(stock_event_rows("sqlite", _SQLITE_SRC, with_id=False))
_SQLITE_EXTRA = insert_events(extra_event_rows("sqlite", _SQLITE_SRC))


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
    event: tuple[str, dict[str, Any]] | None = None,
) -> Balance | None:
    """Apply deltas to one balance and write its ledger row and its events, or change nothing.

    Returns the new balance, or None when the guard refused (the deltas would make
    available, reserved or incoming negative, or `expected_on_hand` did not match).
    A missing balance row counts as all zeros and is created when the change is an
    increase. Every change writes a `stock.changed` event; `event` (type, data) adds
    one more beside it (a reservation's), written only if the change is. The
    statements are built once at import; only parameters vary.
    """
    now = utcnow()
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
        "b_now": now,
        "x_type": event[0] if event else None,
        "x_data": json.dumps(event[1]) if event else None,
        **time_params(now),
    }
    with_expected = expected_on_hand is not None
    events = writing_enabled()
    one_statement = session.get_bind().dialect.name == "postgresql"
    statement = _UPDATE_AND_LOG[with_expected, events] if one_statement else _UPDATE[with_expected]
    connection = session.connection()  # Core statements skip the ORM's execution layer
    row = connection.execute(statement, params).one_or_none()
    if row is None:
        # Either the guard refused, or there was no balance row when the statement
        # began: one may have been committed since (a concurrent first change, seen by
        # the check below but not by the statement) or is created now. Try once more.
        _create_missing_balance(session, variant_id, warehouse_id)
        row = connection.execute(statement, params).one_or_none()
    if row is None:
        return None
    if not one_statement:
        ledger_id = connection.execute(_LOG, params).scalar_one()
        if events:
            after = {"s_ledger": ledger_id, "s_on_hand": row[2], "s_reserved": row[3]}
            after["s_incoming"] = row[4]
            connection.execute(_SQLITE_EVENT, {**params, **after})
            if event:
                connection.execute(_SQLITE_EXTRA, {**params, **after})
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


def ensure_balances(session: Session, pairs: list[tuple[int, int]]) -> None:
    """Give each (variant, warehouse) without a balance one at zero, in key order.

    A source that states "0 units here" (an import row, a sync item, a count) makes the
    level exist, so listings show it at 0 rather than leave it out. No ledger row: nothing
    moved, and the balance still equals its (empty) ledger.
    """
    keys = sorted(set(pairs))
    if not keys:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_balance).on_conflict_do_nothing()
    now = utcnow()
    for start in range(0, len(keys), 1000):
        session.execute(
            statement,
            [
                {
                    "variant_id": v,
                    "warehouse_id": w,
                    "on_hand": 0,
                    "reserved": 0,
                    "incoming": 0,
                    "updated_at": now,
                }
                for v, w in keys[start : start + 1000]
            ],
        )


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
    reason = _adjustment_reason(reason, COUNT_REASONS)
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
            if on_hand == 0:  # "0 here" is a level: it exists (and is listed) at 0
                ensure_balances(session, [(variant_id, warehouse_id)])
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


def _adjustment_reason(
    reason: LedgerReason | str, reasons: tuple[LedgerReason, ...] = ADJUSTMENT_REASONS
) -> LedgerReason:
    try:
        parsed = LedgerReason(reason)
    except ValueError:
        parsed = None
    if parsed not in reasons:
        allowed = ", ".join(r.value for r in reasons)
        raise InvalidQuantity(f"Reason {reason!r} is not one of: {allowed}.", field="reason")
    return parsed
