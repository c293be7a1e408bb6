"""Many on-hand counts at once (`set_counts`): the bulk form of `change_balance` with
an expected count, for imports and brand syncs."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import (
    Executable,
    Integer,
    String,
    bindparam,
    column,
    exists,
    func,
    insert,
    literal,
    select,
    table,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from models.base import UTCDateTime, utcnow
from models.errors import StaleCount
from models.events import (
    Event,
    emit_stock_changes,
    insert_events,
    stock_event_rows,
    time_params,
    writing_enabled,
)
from models.stock_ledger import (
    LedgerEntry,
    LedgerReason,
    StockBalance,
    ensure_balances,
    require_quantity,
)

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
_TARGET_TYPES = ("int4", "int4", "int4", "int4", "text")
_LEDGER_PARAMS = (
    bindparam("now", type_=UTCDateTime),
    bindparam("reason", type_=String),
    bindparam("reference", type_=String),
    bindparam("actor", type_=String),
)
# The guard is change_balance's with expected_on_hand: compare-and-swap on on hand,
# never below what is reserved. On PostgreSQL one statement does it all, as
# `_set_log_and_emit_pg` builds it: balances that do not exist yet (expected 0) are
# inserted with their new count, existing ones updated under the guard (the UPDATE does
# not see the rows inserted beside it), both feed the ledger INSERT, and the ledger rows'
# RETURNING feeds their `stock.changed` events (each taking its ledger row's id), so the
# rows just written are never read back.
_target = table(
    "count_target",
    column("variant_id", Integer),
    column("warehouse_id", Integer),
    column("expected", Integer),
    column("new_on_hand", Integer),
    column("note", String),
)


def _key(rows) -> ColumnElement:
    """A balance's key in `rows` (a table or CTE), for joins on it."""
    return tuple_(rows.c.variant_id, rows.c.warehouse_id)


@functools.cache
def _set_log_and_emit_pg(with_events: bool) -> Executable:
    """The PostgreSQL statement over `count_target`; returns how many ledger rows it
    wrote (a count, not their ids: a sync's 10,000 ids each came back only to be counted)."""
    t, b, ledger = _target, StockBalance.__table__, LedgerEntry.__table__
    now = bindparam("now", type_=UTCDateTime)
    zero = literal(0, Integer)
    other = b.alias("other")
    missing = (
        select(t.c.variant_id, t.c.warehouse_id, t.c.new_on_hand, zero, zero, now)
        .where(
            t.c.expected == 0,
            ~exists().where(
                other.c.variant_id == t.c.variant_id, other.c.warehouse_id == t.c.warehouse_id
            ),
        )
        .order_by(t.c.variant_id, t.c.warehouse_id)
    )
    after = (b.c.variant_id, b.c.warehouse_id, b.c.on_hand, b.c.reserved, b.c.incoming)
    created = (
        postgresql.insert(b)
        .from_select(
            ["variant_id", "warehouse_id", "on_hand", "reserved", "incoming", "updated_at"],
            missing,
        )
        .on_conflict_do_nothing()
        .returning(*after, b.c.on_hand.label("delta"))
        .cte("created")
    )
    changed = (
        update(b)
        .where(
            b.c.variant_id == t.c.variant_id,
            b.c.warehouse_id == t.c.warehouse_id,
            b.c.on_hand == t.c.expected,
            t.c.new_on_hand >= b.c.reserved,
        )
        .values(on_hand=t.c.new_on_hand, updated_at=now)
        .returning(*after, (t.c.new_on_hand - t.c.expected).label("delta"))
        .cte("changed")
    )
    moved = union_all(select(created), select(changed)).cte("moved")
    written = (
        insert(ledger)
        .from_select(
            [c.name for c in ledger.c if not c.primary_key],  # every column, in table order
            select(
                moved.c.variant_id,
                moved.c.warehouse_id,
                moved.c.delta,
                zero,
                zero,
                bindparam("reason", type_=String),
                bindparam("reference", type_=String),
                bindparam("actor", type_=String),
                t.c.note,
                now,
            )
            .join(t, _key(t) == _key(moved))
            .order_by(moved.c.variant_id, moved.c.warehouse_id),
        )
        .returning(
            ledger.c.id,
            ledger.c.variant_id,
            ledger.c.warehouse_id,
            ledger.c.on_hand_delta,
            ledger.c.reserved_delta,
            ledger.c.incoming_delta,
            ledger.c.reason,
            ledger.c.reference,
        )
        .cte("written")
    )
    if not with_events:
        return select(func.count()).select_from(written)
    src = (
        select(
            written.c.id.label("ledger_id"),
            written.c.variant_id,
            written.c.warehouse_id,
            moved.c.on_hand,
            moved.c.reserved,
            moved.c.incoming,
            written.c.on_hand_delta,
            written.c.reserved_delta,
            written.c.incoming_delta,
            written.c.reason,
            written.c.reference,
        )
        .join(moved, _key(moved) == _key(written))
        .subquery("src")
    )
    events = insert_events(stock_event_rows("postgresql", src, with_id=True), with_id=True)
    emitted = events.returning(Event.__table__.c.id).cte("emitted")
    return select(func.count()).select_from(emitted)


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
    ":actor, note, :now FROM temp.count_target ORDER BY variant_id, warehouse_id RETURNING id"
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
    and applied set-based (PostgreSQL: one statement writes balances, ledger rows and
    their `stock.changed` events; SQLite: an UPDATE, a ledger INSERT, then the events
    by `emit_stock_changes`), never row by row. Missing balance rows are created
    (with their new count on PostgreSQL, at zero then updated on SQLite). If the guard
    refuses any target (its count is no longer `expected`, or the new count is below
    what is reserved), StaleCount is raised and the caller's
    transaction must roll back: this function never writes part of `targets`.
    Callers that read the balances FOR UPDATE in the same transaction see no refusals.
    A target from 0 to 0 creates its balance at 0 if there is none (`ensure_balances`).
    """
    return set_count_rows(
        session,
        [(t.variant_id, t.warehouse_id, t.expected, t.on_hand, t.note) for t in targets],
        reason=reason,
        actor=actor,
        reference=reference,
    )


#: One target as `set_count_rows` takes it: variant id, warehouse id, expected on hand,
#: new on hand, ledger note.
CountRow = tuple[int, int, int, int, str | None]


def set_count_rows(
    session: Session,
    targets: list[CountRow],
    *,
    reason: LedgerReason | str,
    actor: str,
    reference: str | None = None,
) -> int:
    """`set_counts` for plain tuples (`CountRow`), for callers with many targets: a
    brand sync's tens of thousands then make no `CountTarget` object each (building
    them, and the garbage collector walking them while they live, add up at that size)."""
    ensure_balances(session, [(v, w) for v, w, old, new, _note in targets if new == old == 0])
    rows = sorted(t for t in targets if t[3] != t[2])
    if not rows:
        return 0
    for row in rows:
        if type(row[3]) is not int or not 0 <= row[3] <= 1_000_000_000:  # else plainly valid
            require_quantity(row[3], field="on_hand", allow_zero=True)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    driver = connection.connection.driver_connection
    if postgres:
        connection.execute(_CREATE_TARGETS["postgresql"])
        cursor = driver.cursor()
        with cursor.copy(
            "COPY count_target (variant_id, warehouse_id, expected, new_on_hand, note) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_TARGET_TYPES)  # binary: no text to format and parse per value
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
    ledger_ids: list[int] = []
    if postgres:
        statement = _set_log_and_emit_pg(writing_enabled())
        params = {**ledger, **time_params(now)}
        written = connection.execute(statement, params).scalar_one()
        connection.execute(text("DROP TABLE count_target"))
    else:
        connection.execute(_CREATE_MISSING, {"now": now})
        written = connection.execute(_SET_SQLITE, {"now": now}).rowcount
        if written == len(rows):
            ledger_ids = list(connection.execute(_LOG_SQLITE, ledger).scalars())
        connection.execute(text("DROP TABLE temp.count_target"))
    if written != len(rows):
        raise StaleCount(
            f"{len(rows) - written} of {len(rows)} counts changed meanwhile; nothing was applied.",
            refused=len(rows) - written,
        )
    if not postgres:  # PostgreSQL wrote the events in the statement above
        emit_stock_changes(session, ledger_ids, now)
    return written
