"""Import attribute changes: the products whose attributes an applied import changed,
their attributes before and after, so a revert can put them back.

Imports applied before this revision have no rows here: their revert puts back stock only.

Revision ID: 0026_import_attrs
Revises: 0025_size_hint
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from models.catalog import JSONType  # JSON, JSONB on PostgreSQL, as product.attributes

revision: str = "0026_import_attrs"
down_revision: str | None = "0025_size_hint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_attribute_change",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("before", JSONType, nullable=False),
        sa.Column("after", JSONType, nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["import_run.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"]),
        sa.PrimaryKeyConstraint("import_id", "product_id"),
    )


def downgrade() -> None:
    op.drop_table("import_attribute_change")
