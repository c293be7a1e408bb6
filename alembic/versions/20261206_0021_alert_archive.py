"""Archive of resolved alerts: `alert_archive`, where resolved alerts older than
RACKROOM_ALERT_ARCHIVE_AFTER move (with their ids) out of the hot `alert` table; the
inbox's resolved view and the BI view `bi.alerts` read both.

Revision ID: 0021_alert_archive
Revises: 0020_bi_views
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import models.base
from alembic import op

revision: str = "0021_alert_archive"
down_revision: str | None = "0020_bi_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = """a.id, a.kind, a.status, b.code AS brand, p.style_code AS style, a.colour,
               v.sku, w.code AS warehouse, a.available, a.threshold, a.raised_at,
               a.acknowledged_at, a.snoozed_until, a.resolved_at"""
JOINS = """JOIN brand b ON b.id = a.brand_id
          LEFT JOIN product p ON p.id = a.product_id
          LEFT JOIN variant v ON v.id = a.variant_id
          LEFT JOIN warehouse w ON w.id = a.warehouse_id"""
#: bi.alerts before (0020) and after: the same columns, archived alerts included.
BI_ALERTS = f"SELECT {COLUMNS}\n          FROM alert a\n          {JOINS}"
BI_ALERTS_ARCHIVED = (
    f"{BI_ALERTS}\n        UNION ALL\n        SELECT {COLUMNS}\n"
    f"          FROM alert_archive a\n          {JOINS}"
)


def upgrade() -> None:
    op.create_table(
        "alert_archive",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("colour", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("raised_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("snoozed_until", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("resolved_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("archived_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status = 'resolved'", name="alert_archive_resolved"),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"]),
        sa.ForeignKeyConstraint(["variant_id"], ["variant.id"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_archive_raised", "alert_archive", ["raised_at"])
    op.create_index("ix_alert_archive_brand", "alert_archive", ["brand_id", "raised_at"])
    op.create_index("ix_alert_archive_warehouse", "alert_archive", ["warehouse_id", "raised_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE VIEW bi.alerts AS {BI_ALERTS_ARCHIVED}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE VIEW bi.alerts AS {BI_ALERTS}")
    op.drop_index("ix_alert_archive_warehouse", table_name="alert_archive")
    op.drop_index("ix_alert_archive_brand", table_name="alert_archive")
    op.drop_index("ix_alert_archive_raised", table_name="alert_archive")
    op.drop_table("alert_archive")
