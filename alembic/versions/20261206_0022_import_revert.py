"""Import reverts: when an applied import was undone, and by whom.

Revision ID: 0022_import_revert
Revises: 0021_alert_archive
Create Date: 2026-12-06 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import models.base
from alembic import op

revision: str = "0022_import_revert"
down_revision: str | None = "0021_alert_archive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "import_run", sa.Column("reverted_at", models.base.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "import_run",
        sa.Column("reverted_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("import_run") as batch:
        batch.drop_column("reverted_by")
        batch.drop_column("reverted_at")
