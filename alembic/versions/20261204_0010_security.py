"""Security: sign-in throttle counters (one UPSERT per attempt), a session's last use
for the idle timeout, aliases unique across brands and barcodes unique per brand.

Revision ID: 0010_security
Revises: 0009_api_gateway
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = '0010_security'
down_revision: str | None = '0009_api_gateway'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _refuse_duplicates(query: str, what: str) -> None:
    rows = op.get_bind().execute(sa.text(query)).fetchmany(10)
    if rows:
        listed = ", ".join(repr(r[0]) for r in rows)
        raise RuntimeError(
            f"Cannot make {what} unique: these are duplicated: {listed}. "
            "Rename or remove the duplicates, then run the migration again."
        )


def upgrade() -> None:
    _refuse_duplicates(
        "SELECT code FROM sku_alias GROUP BY code HAVING COUNT(*) > 1", "SKU aliases"
    )
    _refuse_duplicates(
        "SELECT barcode FROM variant WHERE barcode IS NOT NULL "
        "GROUP BY brand_id, barcode HAVING COUNT(*) > 1",
        "barcodes within a brand",
    )
    op.create_index('ux_sku_alias_code', 'sku_alias', ['code'], unique=True)
    op.create_index('ux_variant_brand_barcode', 'variant', ['brand_id', 'barcode'], unique=True)
    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('window_start', sa.Float(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('slow_next', sa.Float(), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('login_session') as batch:
        batch.add_column(
            sa.Column('last_seen_at', models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    op.drop_index('ux_variant_brand_barcode', table_name='variant')
    op.drop_index('ux_sku_alias_code', table_name='sku_alias')
    with op.batch_alter_table('login_session') as batch:
        batch.drop_column('last_seen_at')
    op.drop_table('login_throttle')
