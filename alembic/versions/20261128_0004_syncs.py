"""Brand syncs and the scheduler: connectors, sync runs, per-item source state, job runs,
and APScheduler's job store table (apscheduler_jobs, the shape SQLAlchemyJobStore expects).

Revision ID: 0004_syncs
Revises: 0003_demand
Create Date: 2026-11-28 02:41:51.311085
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = '0004_syncs'
down_revision: str | None = '0003_demand'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25).with_variant(sa.DOUBLE_PRECISION(precision=53), 'postgresql'), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_apscheduler_jobs_next_run_time'), 'apscheduler_jobs', ['next_run_time'], unique=False)
    op.create_table('job_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('runner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_job_run_job_started', 'job_run', ['job_id', 'started_at'], unique=False)
    op.create_table('sync_connector',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('style', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('auth_header', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('page_size', sa.Integer(), nullable=False),
    sa.Column('every_seconds', sa.Integer(), nullable=False),
    sa.Column('policy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('last_modified', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('running_since', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_requested_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("policy IN ('newest', 'platform')", name='sync_connector_policy'),
    sa.CheckConstraint("style IN ('json', 'csv')", name='sync_connector_style'),
    sa.CheckConstraint('every_seconds >= 5', name='sync_connector_every'),
    sa.CheckConstraint('page_size BETWEEN 1 AND 10000', name='sync_connector_page_size'),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('brand_id')
    )
    op.create_table('sync_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('style', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('policy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('conflicts_source', sa.Integer(), nullable=False),
    sa.Column('conflicts_platform', sa.Integer(), nullable=False),
    sa.Column('stale', sa.Integer(), nullable=False),
    sa.Column('clamped', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('failure', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('conflicts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'unchanged', 'failed', 'abandoned')", name='sync_run_status'),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sync_run_brand_started', 'sync_run', ['brand_id', 'started_at'], unique=False)
    op.create_index('ix_sync_run_status', 'sync_run', ['status'], unique=False)
    op.create_table('sync_item_state',
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('source_quantity', sa.Integer(), nullable=False),
    sa.Column('source_updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('synced_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('variant_id', 'warehouse_id')
    )
    op.create_index('ix_sync_item_state_brand', 'sync_item_state', ['brand_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sync_item_state_brand', table_name='sync_item_state')
    op.drop_table('sync_item_state')
    op.drop_index('ix_sync_run_status', table_name='sync_run')
    op.drop_index('ix_sync_run_brand_started', table_name='sync_run')
    op.drop_table('sync_run')
    op.drop_table('sync_connector')
    op.drop_index('ix_job_run_job_started', table_name='job_run')
    op.drop_table('job_run')
    op.drop_index(op.f('ix_apscheduler_jobs_next_run_time'), table_name='apscheduler_jobs')
    op.drop_table('apscheduler_jobs')
