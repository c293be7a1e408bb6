"""Size systems: a brand's size system hint (how a bare "42" reads), and variant ranks
recomputed for the ladder that now reaches 6XL, combined sizes (S/M between S and M)
and plain numbers in the alpha system (in number order, after the letter sizes).

Only ranks are recomputed; labels stay as stored (renaming one could collide with a
sibling variant's label, and SKUs were built from them).

Revision ID: 0025_size_hint
Revises: 0024_attrs
Create Date: 2026-12-07 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0025_size_hint"
down_revision: str | None = "0024_attrs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_variant = sa.table(
    "variant",
    sa.column("id", sa.Integer),
    sa.column("size", sa.String),
    sa.column("size_system", sa.String),
    sa.column("size_rank", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("brand") as batch:
        batch.add_column(sa.Column("size_system_hint", sqlmodel.sql.sqltypes.AutoString(length=20)))
    _rerank()


def _rerank() -> None:
    """One UPDATE per distinct (system, label) whose rank changed: a catalogue has a
    few hundred distinct sizes, however many variants."""
    from models.sizes import size_rank

    bind = op.get_bind()
    labels = bind.execute(
        sa.select(_variant.c.size_system, _variant.c.size, _variant.c.size_rank).distinct()
    ).all()
    for system, label, rank in labels:
        try:
            new = size_rank(system, label)
        except ValueError:  # a system this code does not know: leave its rank alone
            continue
        if new != rank:
            bind.execute(
                sa.update(_variant)
                .where(_variant.c.size_system == system, _variant.c.size == label)
                .values(size_rank=new)
            )


def downgrade() -> None:
    # Ranks stay as recomputed: they only order sizes, and the older code reads them as is.
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild would drop the brand table, which
    # every product and variant points at, with foreign keys on.
    op.drop_column("brand", "size_system_hint")
