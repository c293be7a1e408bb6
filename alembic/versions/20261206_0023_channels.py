"""Channels: warehouses gain a country and coordinates; channels with their ordered
warehouses and allocation strategy; a reservation may be split over several rows
(`line`, part of the idempotency key).

Revision ID: 0023_channels
Revises: 0022_import_revert
Create Date: 2026-12-06 19:50:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel

import models.base
from alembic import op

revision: str = "0023_channels"
down_revision: str | None = "0022_import_revert"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KEY = ["channel", "order_ref", "variant_id"]
_NEW_KEY = [*_OLD_KEY, "line"]


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds a table to change its constraints, and dropping the old table with
    foreign keys on would count every row pointing at it as a violation, even after the
    new one takes its name. Foreign keys can only be switched off between transactions:
    the work so far is committed (the version table says 0022), the rebuild runs with
    them off, `foreign_key_check` proves nothing dangles, and they go back on."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("COMMIT")
    op.execute("PRAGMA foreign_keys = OFF")
    op.execute("BEGIN IMMEDIATE")
    yield
    dangling = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise RuntimeError(f"0023_channels: rows point at nothing: {dangling[:5]}")
    op.execute("COMMIT")
    op.execute("PRAGMA foreign_keys = ON")
    op.execute("BEGIN IMMEDIATE")


def upgrade() -> None:
    with _foreign_keys_off():
        _upgrade()


def downgrade() -> None:
    with _foreign_keys_off():
        _downgrade()


def _upgrade() -> None:
    with op.batch_alter_table("warehouse") as batch:
        batch.add_column(sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2)))
        batch.add_column(sa.Column("latitude", sa.Float()))
        batch.add_column(sa.Column("longitude", sa.Float()))
        batch.create_check_constraint(
            "warehouse_latitude_range", "latitude BETWEEN -90 AND 90"
        )
        batch.create_check_constraint(
            "warehouse_longitude_range", "longitude BETWEEN -180 AND 180"
        )
        batch.create_check_constraint(
            "warehouse_coordinates_paired", "(latitude IS NULL) = (longitude IS NULL)"
        )
    op.create_table(
        "channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("strategy", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("allow_split", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "strategy IN ('priority', 'most-stock', 'nearest')", name="channel_strategy"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "channel_warehouse",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position >= 0", name="channel_warehouse_position_not_negative"),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"]),
        sa.PrimaryKeyConstraint("channel_id", "warehouse_id"),
        sa.UniqueConstraint("channel_id", "position", name="uq_channel_warehouse_position"),
    )
    with op.batch_alter_table("reservation") as batch:
        batch.add_column(sa.Column("line", sa.Integer(), server_default="0", nullable=False))
        batch.drop_constraint("uq_reservation_idempotency", type_="unique")
        batch.create_unique_constraint("uq_reservation_idempotency", _NEW_KEY)


def _downgrade() -> None:
    # Split holds cannot live under the old key: all but their first row go.
    op.execute("DELETE FROM reservation WHERE line > 0")
    with op.batch_alter_table("reservation") as batch:
        batch.drop_constraint("uq_reservation_idempotency", type_="unique")
        batch.create_unique_constraint("uq_reservation_idempotency", _OLD_KEY)
        batch.drop_column("line")
    op.drop_table("channel_warehouse")
    op.drop_table("channel")
    with op.batch_alter_table("warehouse") as batch:
        batch.drop_constraint("warehouse_coordinates_paired", type_="check")
        batch.drop_constraint("warehouse_longitude_range", type_="check")
        batch.drop_constraint("warehouse_latitude_range", type_="check")
        batch.drop_column("longitude")
        batch.drop_column("latitude")
        batch.drop_column("country")
