"""Many on-hand counts at once (`set_counts`): the bulk form of `change_balance` with
an expected count, for imports and brand syncs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, bindparam, text
from sqlmodel import Session

from models.base import UTCDateTime, utcnow
from models.errors import StaleCount
from models.events import emit_stock_changes
from models.stock_ledger import LedgerReason, ensure_balances, require_quantity

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
    "AND t.warehouse_id = m.warehouse_id ORDER BY m.variant_id, m.warehouse_id RETURNING id"
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
    and applied by one UPDATE and one ledger INSERT. Missing balance rows are created
    (with their new count on PostgreSQL, at zero then updated on SQLite). If the guard
    refuses any target (its count is no longer `expected`, or the new count is below
    what is reserved), StaleCount is raised and the caller's
    transaction must roll back: this function never writes part of `targets`.
    Callers that read the balances FOR UPDATE in the same transaction see no refusals.
    A target from 0 to 0 creates its balance at 0 if there is none (`ensure_balances`).
    """
    ensure_balances(
        session, [(t.variant_id, t.warehouse_id) for t in targets if t.on_hand == t.expected == 0]
    )
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
    ledger_ids: list[int] = []
    if postgres:
        ledger_ids = list(connection.execute(_SET_AND_LOG_PG, ledger).scalars())
        written = len(ledger_ids)
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
    emit_stock_changes(session, ledger_ids, now)
    return written
