"""Per-poll frame origins: the sites allowed to frame a poll's public /embed/ page
(`Content-Security-Policy: frame-ancestors`; none listed: no site may frame it).

Revision ID: 0015_sec_limits
Revises: 0014_audit
Create Date: 2026-12-06 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_sec_limits"
down_revision: str | None = "0014_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.add_column(
            sa.Column("frame_origins", sa.String(length=2000), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.drop_column("frame_origins")
