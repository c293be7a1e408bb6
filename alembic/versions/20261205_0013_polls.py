"""Polls: a random slug for every poll's public links (ids are sequential), and a
`published` flag — a poll is public only when published and open.

Existing polls get a fresh slug each and stay unpublished: their old /embed/poll/{id}
links stop working anyway, so whoever embedded one publishes it and pastes the new
link. The embed rate-limit counters are emptied (they now carry their window's length
in the key; they are counters of the current minute or day, nothing more).

Revision ID: 0013_polls
Revises: 0012_secrets
Create Date: 2026-12-05 08:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0013_polls"
down_revision: str | None = "0012_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _new_slug() -> str:
    """The same shape as `models.polls.manage.new_slug` (kept here: migrations are frozen)."""
    while True:
        slug = secrets.token_urlsafe(12)
        if not slug.isdigit():
            return slug


def upgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=True))
        batch.add_column(
            sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    bind = op.get_bind()
    poll = sa.table("poll", sa.column("id", sa.Integer), sa.column("slug", sa.String))
    for (poll_id,) in bind.execute(sa.select(poll.c.id)).all():
        bind.execute(sa.update(poll).where(poll.c.id == poll_id).values(slug=_new_slug()))
    with op.batch_alter_table("poll") as batch:
        batch.alter_column("slug", existing_type=sqlmodel.sql.sqltypes.AutoString(length=32),
                           nullable=False)
        batch.create_unique_constraint("uq_poll_slug", ["slug"])
    op.execute("DELETE FROM poll_rate_limit")


def downgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.drop_constraint("uq_poll_slug", type_="unique")
        batch.drop_column("published")
        batch.drop_column("slug")
