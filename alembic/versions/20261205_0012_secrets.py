"""Secrets at rest: connector tokens and poll webhook secrets encrypted with Fernet.

`sync_connector.token` becomes `token_enc` and `poll.webhook_secret` becomes
`webhook_secret_enc` (ciphertext, `models.secrets`). Existing values are encrypted here,
so when any exist the key must be configured at migration time: RACKROOM_SECRET_KEY,
or var/secret.key for `make run` (which makes it before migrating). The downgrade
decrypts them back, so it needs the key too. On SQLite `secure_delete` is on while the
plaintext is dropped, so it is not left behind in freed pages of the file.

New columns instead of changing the old ones' type: SQLite would have to rebuild the
poll table, which other tables reference.

Revision ID: 0012_secrets
Revises: 0011_password_change
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_secrets"
down_revision: str | None = "0011_password_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, plaintext column, its old type, encrypted column, nullable)
MOVES = (
    ("sync_connector", "token", sa.String(length=2000), "token_enc", True),
    ("poll", "webhook_secret", sa.String(length=100), "webhook_secret_enc", False),
)


def _copy(table: str, source: str, target: str, convert: Callable[[str], str]) -> None:
    light = sa.table(table, sa.column("id"), sa.column(source), sa.column(target))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(light.c.id, light.c[source]).where(light.c[source].is_not(None))
    ).all()
    for row_id, value in rows:
        bind.execute(sa.update(light).where(light.c.id == row_id).values({target: convert(value)}))


def _move(table: str, source: str, target: str, target_type, nullable: bool, convert) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA secure_delete = ON")
    # SQLite cannot add a NOT NULL column without a default, nor drop one without
    # rebuilding the table: the default '' stays there, unused (every insert sets it).
    default = sa.text("''") if sqlite and not nullable else None
    op.add_column(
        table,
        sa.Column(target, target_type, nullable=nullable or not sqlite, server_default=default),
    )
    _copy(table, source, target, convert)
    if not nullable and not sqlite:
        op.alter_column(table, target, nullable=False)
    op.drop_column(table, source)


def upgrade() -> None:
    from models.secrets import encrypt

    for table, plain, _old_type, enc, nullable in MOVES:
        _move(table, plain, enc, sa.Text(), nullable, encrypt)


def downgrade() -> None:
    from models.secrets import decrypt

    for table, plain, old_type, enc, nullable in MOVES:
        _move(table, enc, plain, old_type, nullable, decrypt)
