"""The incremental alert scan: where the last scan left off, the rules it applied, the
persisted core-size flags, and (SQLite) the variants changed since.

PostgreSQL finds changed balances and variants by their row versions' xmin against the
last scan's snapshot (no trigger on the stock hot path); SQLite, one writer at a time,
has triggers that note the variant in `alert_dirty`.

Revision ID: 0018_alert_scan
Revises: 0017_variant_totals
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import models.base
from alembic import op

revision: str = "0018_alert_scan"
down_revision: str | None = "0017_variant_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS_SQLITE = {
    "alert_dirty_balance_insert": """AFTER INSERT ON stock_balance BEGIN
        INSERT OR IGNORE INTO alert_dirty (variant_id) VALUES (NEW.variant_id); END""",
    "alert_dirty_balance_update": """AFTER UPDATE OF variant_id, warehouse_id, on_hand,
        reserved ON stock_balance BEGIN
        INSERT OR IGNORE INTO alert_dirty (variant_id) VALUES (NEW.variant_id);
        INSERT OR IGNORE INTO alert_dirty (variant_id) VALUES (OLD.variant_id); END""",
    "alert_dirty_variant_insert": """AFTER INSERT ON variant BEGIN
        INSERT OR IGNORE INTO alert_dirty (variant_id) VALUES (NEW.id); END""",
    "alert_dirty_variant_update": """AFTER UPDATE OF brand_id, product_id, colour, size,
        size_rank, size_system ON variant BEGIN
        INSERT OR IGNORE INTO alert_dirty (variant_id) VALUES (NEW.id); END""",
}


def upgrade() -> None:
    op.create_table(
        "alert_scan_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("scanned_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("full_scan_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "alert_rule_seen",
        sa.Column("rule_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id"),
    )
    op.create_table(
        "variant_core",
        sa.Column("variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("core", sa.Integer(), nullable=False),
        sa.Column("core_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("variant_id"),
    )
    op.create_index("ix_variant_core_run", "variant_core", ["run_id"])
    op.create_table(
        "alert_dirty",
        sa.Column("variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("variant_id"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name, body in TRIGGERS_SQLITE.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS_SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("alert_dirty")
    op.drop_index("ix_variant_core_run", table_name="variant_core")
    op.drop_table("variant_core")
    op.drop_table("alert_rule_seen")
    op.drop_table("alert_scan_state")
