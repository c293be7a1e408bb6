"""Per-variant stock totals (all warehouses): on hand, reserved, incoming and available,
kept by triggers on `stock_balance` in the same transaction as every balance change, so
whole-catalogue low-stock and sort-by-available pages read an index instead of every
balance. Every variant has a row (a trigger on `variant` adds it), backfilled here.

PostgreSQL: a statement-level AFTER trigger (transition tables, no per-row overhead)
records each statement's deltas per variant in `variant_stock_delta` (unlogged,
insert-only: no lock on anything shared), and a deferred constraint trigger, fired once
per transaction, applies its deltas to `variant_stock` at commit in variant-id order. Upserting the
totals row at each statement instead would hold it from the first statement to commit,
and a transaction that then changes another balance of that variant (a transfer ships
from one warehouse, then books incoming at the other) deadlocks with anyone holding that
balance and waiting for the totals row (a reservation at the destination). At commit a
transaction takes no balance lock any more, and takes totals rows in one order: no cycle.
SQLite: row-level triggers (one writer at a time).

Revision ID: 0017_variant_totals
Revises: 0016_auth_cookie
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_variant_totals"
down_revision: str | None = "0016_auth_cookie"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One statement's deltas, summed per variant, kept for the commit. The transaction's first
# delta row is its leader (a transaction-local setting remembers that one was written):
# the deferred trigger fires for that row only, once per transaction.
_RECORD_PG = """
    first := current_setting('rackroom.variant_stock_tx', true) IS DISTINCT FROM tx::text;
    INSERT INTO variant_stock_delta (tx, variant_id, on_hand, reserved, incoming, leader)
    SELECT tx, variant_id, sum(on_hand), sum(reserved), sum(incoming),
           first AND row_number() OVER (ORDER BY variant_id) = 1
      FROM ({rows}) AS d
     GROUP BY variant_id
    HAVING sum(on_hand) <> 0 OR sum(reserved) <> 0 OR sum(incoming) <> 0;
    IF first AND FOUND THEN
        PERFORM set_config('rackroom.variant_stock_tx', tx::text, true);
    END IF
"""
_NEW = "SELECT variant_id, on_hand, reserved, incoming FROM new_rows"
_OLD = (
    "SELECT variant_id, -on_hand AS on_hand, -reserved AS reserved, -incoming AS incoming"
    " FROM old_rows"
)

TRIGGERS_PG = f"""
ALTER TABLE variant_stock_delta SET UNLOGGED;
CREATE FUNCTION variant_stock_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx bigint := txid_current();
    first boolean;
BEGIN
{_RECORD_PG.format(rows=_NEW)};
    RETURN NULL;
END $$;
CREATE FUNCTION variant_stock_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx bigint := txid_current();
    first boolean;
BEGIN
{_RECORD_PG.format(rows=_NEW + " UNION ALL " + _OLD)};
    RETURN NULL;
END $$;
CREATE FUNCTION variant_stock_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx bigint := txid_current();
    first boolean;
BEGIN
{_RECORD_PG.format(rows=_OLD)};
    RETURN NULL;
END $$;
CREATE FUNCTION variant_stock_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH taken AS (
        DELETE FROM variant_stock_delta WHERE tx = NEW.tx
        RETURNING variant_id, on_hand, reserved, incoming
    )
    INSERT INTO variant_stock AS t (variant_id, on_hand, reserved, incoming)
    SELECT variant_id, sum(on_hand), sum(reserved), sum(incoming)
      FROM taken
     GROUP BY variant_id
    HAVING sum(on_hand) <> 0 OR sum(reserved) <> 0 OR sum(incoming) <> 0
     ORDER BY variant_id
    ON CONFLICT (variant_id) DO UPDATE
       SET on_hand = t.on_hand + excluded.on_hand,
           reserved = t.reserved + excluded.reserved,
           incoming = t.incoming + excluded.incoming;
    RETURN NULL;
END $$;
CREATE TRIGGER variant_stock_insert AFTER INSERT ON stock_balance
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION variant_stock_on_insert();
CREATE TRIGGER variant_stock_update AFTER UPDATE ON stock_balance
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION variant_stock_on_update();
CREATE TRIGGER variant_stock_delete AFTER DELETE ON stock_balance
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION variant_stock_on_delete();
CREATE CONSTRAINT TRIGGER variant_stock_at_commit AFTER INSERT ON variant_stock_delta
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.leader) EXECUTE FUNCTION variant_stock_apply();
CREATE FUNCTION variant_stock_new_variants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO variant_stock (variant_id)
    SELECT id FROM new_rows ORDER BY id
    ON CONFLICT (variant_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER variant_stock_new_variant AFTER INSERT ON variant
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION variant_stock_new_variants();
"""

DROP_PG = """
DROP TRIGGER IF EXISTS variant_stock_new_variant ON variant;
DROP TRIGGER IF EXISTS variant_stock_insert ON stock_balance;
DROP TRIGGER IF EXISTS variant_stock_update ON stock_balance;
DROP TRIGGER IF EXISTS variant_stock_delete ON stock_balance;
DROP TRIGGER IF EXISTS variant_stock_at_commit ON variant_stock_delta;
DROP FUNCTION IF EXISTS variant_stock_new_variants();
DROP FUNCTION IF EXISTS variant_stock_on_insert();
DROP FUNCTION IF EXISTS variant_stock_on_update();
DROP FUNCTION IF EXISTS variant_stock_on_delete();
DROP FUNCTION IF EXISTS variant_stock_apply();
"""


def _sqlite_apply(sign: str, row: str) -> str:
    return (
        f"INSERT OR IGNORE INTO variant_stock (variant_id) VALUES ({row}.variant_id);"
        f" UPDATE variant_stock SET on_hand = on_hand {sign} {row}.on_hand,"
        f" reserved = reserved {sign} {row}.reserved, incoming = incoming {sign} {row}.incoming"
        f" WHERE variant_id = {row}.variant_id;"
    )


TRIGGERS_SQLITE = (
    "CREATE TRIGGER variant_stock_insert AFTER INSERT ON stock_balance BEGIN "
    + _sqlite_apply("+", "NEW")
    + " END",
    "CREATE TRIGGER variant_stock_update AFTER UPDATE ON stock_balance BEGIN "
    + _sqlite_apply("-", "OLD")
    + " "
    + _sqlite_apply("+", "NEW")
    + " END",
    "CREATE TRIGGER variant_stock_delete AFTER DELETE ON stock_balance BEGIN "
    + _sqlite_apply("-", "OLD")
    + " END",
    "CREATE TRIGGER variant_stock_new_variant AFTER INSERT ON variant BEGIN"
    " INSERT OR IGNORE INTO variant_stock (variant_id) VALUES (NEW.id); END",
)

BACKFILL = """
INSERT INTO variant_stock (variant_id, on_hand, reserved, incoming)
SELECT v.id, coalesce(sum(b.on_hand), 0), coalesce(sum(b.reserved), 0),
       coalesce(sum(b.incoming), 0)
  FROM variant v LEFT JOIN stock_balance b ON b.variant_id = v.id
 GROUP BY v.id
 ORDER BY v.id
"""


def upgrade() -> None:
    op.create_table(
        "variant_stock",
        sa.Column(
            "variant_id",
            sa.Integer(),
            sa.ForeignKey("variant.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("on_hand", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("incoming", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("available", sa.Integer(), sa.Computed("on_hand - reserved", persisted=True)),
    )
    # PostgreSQL's commit-time queue (unused on SQLite, created alike for one schema).
    op.create_table(
        "variant_stock_delta",
        sa.Column("tx", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("incoming", sa.Integer(), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_variant_stock_delta_tx", "variant_stock_delta", ["tx"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # Taken before the backfill reads: no balance may change between the two.
        op.execute("LOCK TABLE stock_balance, variant IN SHARE ROW EXCLUSIVE MODE")
    op.execute(BACKFILL)
    op.create_index("ix_variant_stock_available", "variant_stock", ["available", "variant_id"])
    op.create_index("ix_variant_stock_on_hand", "variant_stock", ["on_hand", "variant_id"])
    op.create_index("ix_variant_stock_reserved", "variant_stock", ["reserved", "variant_id"])
    op.create_index("ix_variant_stock_incoming", "variant_stock", ["incoming", "variant_id"])
    if dialect == "postgresql":
        op.execute(TRIGGERS_PG)
    else:
        for statement in TRIGGERS_SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_PG)
    else:
        for name in ("insert", "update", "delete", "new_variant"):
            op.execute(f"DROP TRIGGER IF EXISTS variant_stock_{name}")
    op.drop_table("variant_stock_delta")
    op.drop_table("variant_stock")
