"""The scheduler leader's heartbeat: one row the leading process refreshes every few
seconds, which /api/v1/ready reads to tell whether anyone is running the jobs.

Revision ID: 0007_scheduler_leader
Revises: 0006_grid_search
Create Date: 2026-12-04 15:45:08.647090
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = '0007_scheduler_leader'
down_revision: str | None = '0006_grid_search'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scheduler_leader',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('runner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('leading_since', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('scheduler_leader')
