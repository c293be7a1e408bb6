"""Cycle counts: the plan per warehouse and class, each variant's class, count sheets
and their lines (expected hidden from counters), and managers' variance decisions.

Revision ID: 0019_cycle_counts
Revises: 0018_alert_scan
Create Date: 2026-12-06 05:13:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import models.base
from alembic import op

revision: str = "0019_cycle_counts"
down_revision: str | None = "0018_alert_scan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cycle_count_plan",
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("abc_class", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("tolerance", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("abc_class IN ('A', 'B', 'C')", name="cycle_count_plan_class"),
        sa.CheckConstraint("interval_days > 0", name="cycle_count_plan_interval_positive"),
        sa.CheckConstraint("tolerance >= 0", name="cycle_count_plan_tolerance_not_negative"),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouse.id"],
        ),
        sa.PrimaryKeyConstraint("warehouse_id", "abc_class"),
    )
    op.create_table(
        "count_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("count_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'submitted')", name="count_sheet_status"),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouse.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("count_sheet", schema=None) as batch_op:
        batch_op.create_index(
            "ix_count_sheet_warehouse_status", ["warehouse_id", "status"], unique=False
        )

    op.create_table(
        "count_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("abc_class", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("counted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'applied', 'pending', 'rejected', 'conflict')",
            name="count_line_status",
        ),
        sa.CheckConstraint(
            "counted IS NULL OR counted >= 0", name="count_line_counted_not_negative"
        ),
        sa.CheckConstraint("expected >= 0", name="count_line_expected_not_negative"),
        sa.ForeignKeyConstraint(
            ["counted_by_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["count_sheet.id"],
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sheet_id", "variant_id", name="uq_count_line_variant"),
    )
    with op.batch_alter_table("count_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_count_line_sheet_id"), ["sheet_id"], unique=False)
        batch_op.create_index("ix_count_line_status", ["status", "id"], unique=False)

    op.create_table(
        "cycle_count_item",
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("abc_class", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("units_sold", sa.Integer(), nullable=False),
        sa.Column("classified_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_counted_on", sa.Date(), nullable=True),
        sa.CheckConstraint("abc_class IN ('A', 'B', 'C')", name="cycle_count_item_class"),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouse.id"],
        ),
        sa.PrimaryKeyConstraint("warehouse_id", "variant_id"),
    )
    with op.batch_alter_table("cycle_count_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cycle_count_item_warehouse_class", ["warehouse_id", "abc_class"], unique=False
        )

    op.create_table(
        "count_variance_decision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["count_line.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_id"),
    )


def downgrade() -> None:
    op.drop_table("count_variance_decision")
    with op.batch_alter_table("cycle_count_item", schema=None) as batch_op:
        batch_op.drop_index("ix_cycle_count_item_warehouse_class")

    op.drop_table("cycle_count_item")
    with op.batch_alter_table("count_line", schema=None) as batch_op:
        batch_op.drop_index("ix_count_line_status")
        batch_op.drop_index(batch_op.f("ix_count_line_sheet_id"))

    op.drop_table("count_line")
    with op.batch_alter_table("count_sheet", schema=None) as batch_op:
        batch_op.drop_index("ix_count_sheet_warehouse_status")

    op.drop_table("count_sheet")
    op.drop_table("cycle_count_plan")
