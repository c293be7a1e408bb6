"""Stock grid indexes: a brand's variants in SKU order, and trigram indexes for text search.

The grid's text search is a case-insensitive substring match (ILIKE '%…%') over SKU,
barcode, alias code, product name and style code. On PostgreSQL, GIN trigram indexes
(pg_trgm) answer those without scanning the tables; the extension is created when the
server has it and the migration may create it. Otherwise (and on SQLite, where LIKE
cannot use an index for a substring anyway) the same-named indexes are plain b-trees,
so the schema always matches the models.

Revision ID: 0006_grid_search
Revises: 0005_transfers_alerts
Create Date: 2026-11-28 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_grid_search'
down_revision: str | None = '0005_transfers_alerts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGRAM_INDEXES = (
    ('ix_variant_search_trgm', 'variant', ['sku', 'barcode']),
    ('ix_product_search_trgm', 'product', ['name', 'style_code']),
    ('ix_sku_alias_search_trgm', 'sku_alias', ['code']),
)


def _trigram_available(bind: sa.Connection) -> bool:
    """pg_trgm is installed, or can be installed now by this role."""
    if bind.dialect.name != 'postgresql':
        return False
    installed = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
    if installed.first() is not None:
        return True
    offered = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    )
    if offered.first() is None:
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError:  # e.g. no privilege to create it: plain indexes instead
        return False
    return True


def upgrade() -> None:
    op.create_index('ix_variant_brand_sku', 'variant', ['brand_id', 'sku'], unique=False)
    trigram = _trigram_available(op.get_bind())
    for name, table, columns in _TRIGRAM_INDEXES:
        if trigram:
            op.create_index(
                name,
                table,
                columns,
                unique=False,
                postgresql_using='gin',
                postgresql_ops={column: 'gin_trgm_ops' for column in columns},
            )
        else:
            op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(_TRIGRAM_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index('ix_variant_brand_sku', table_name='variant')
