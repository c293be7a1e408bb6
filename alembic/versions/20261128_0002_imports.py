"""Vendor feed imports: the import history (import_run) and saved column mappings.

Revision ID: 0002_imports
Revises: 0001
Create Date: 2026-11-28 02:28:58.367616
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = '0002_imports'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('column_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('spec', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('brand_id', 'name')
    )
    op.create_table('import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mapping_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('warehouse_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('skip_invalid', sa.Boolean(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('new_products', sa.Integer(), nullable=False),
    sa.Column('new_variants', sa.Integer(), nullable=False),
    sa.Column('new_aliases', sa.Integer(), nullable=False),
    sa.Column('changed_balances', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('invalid_rows', sa.Integer(), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('dry_run', 'applied', 'failed', 'refused')", name='import_status'),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouse.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_import_run_brand_created', 'import_run', ['brand_id', 'created_at'], unique=False)
    op.create_index('ix_import_run_brand_sha256', 'import_run', ['brand_id', 'sha256'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_import_run_brand_sha256', table_name='import_run')
    op.drop_index('ix_import_run_brand_created', table_name='import_run')
    op.drop_table('import_run')
    op.drop_table('column_mapping')
