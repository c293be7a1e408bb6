"""The sign-in hand-off code: the hash of a session's one unredeemed code, so the code
that carries the token to `GET /auth/session` works once (models/session_codes.py).

Revision ID: 0016_auth_cookie
Revises: 0015_sec_limits
Create Date: 2026-12-06 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_auth_cookie"
down_revision: str | None = "0015_sec_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_session") as batch:
        batch.add_column(sa.Column("handoff_hash", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_login_session_handoff_hash"), ["handoff_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_session") as batch:
        batch.drop_index(batch.f("ix_login_session_handoff_hash"))
        batch.drop_column("handoff_hash")
