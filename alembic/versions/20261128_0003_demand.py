"""Customer demand: polls, options, votes, webhook replay and rate-limit tables; daily stock snapshots.

Revision ID: 0003_demand
Revises: 0002_imports
Create Date: 2026-11-28 02:40:09.059216
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = '0003_demand'
down_revision: str | None = '0002_imports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('poll_rate_limit',
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('window_start', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'window_start')
    )
    op.create_index(op.f('ix_poll_rate_limit_window_start'), 'poll_rate_limit', ['window_start'], unique=False)
    op.create_table('poll',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('webhook_secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name='poll_status'),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_poll_brand_created', 'poll', ['brand_id', 'created_at'], unique=False)
    op.create_table('stock_snapshot',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('incoming', sa.Integer(), nullable=False),
    sa.Column('lines_in_stock', sa.Integer(), nullable=False),
    sa.Column('taken_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouse.id'], ),
    sa.PrimaryKeyConstraint('day', 'brand_id', 'warehouse_id', 'category')
    )
    op.create_table('poll_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('label_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('signal_brand', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('signal_style', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('signal_size', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('signal_colour', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('signal_category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'id', name='uq_poll_option_poll_id'),
    sa.UniqueConstraint('poll_id', 'label_key', name='uq_poll_option_label')
    )
    op.create_table('poll_signature_use',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('poll_id', 'signature')
    )
    op.create_index(op.f('ix_poll_signature_use_expires_at'), 'poll_signature_use', ['expires_at'], unique=False)
    op.create_table('poll_vote',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=False),
    sa.Column('respondent', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('answered_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('webhook', 'csv', 'embed')", name='poll_vote_source'),
    sa.ForeignKeyConstraint(['poll_id', 'option_id'], ['poll_option.poll_id', 'poll_option.id'], name='fk_poll_vote_option_of_poll'),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'source', 'respondent', name='uq_poll_vote_respondent')
    )
    op.create_index('ix_poll_vote_poll_answered', 'poll_vote', ['poll_id', 'answered_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_poll_vote_poll_answered', table_name='poll_vote')
    op.drop_table('poll_vote')
    op.drop_index(op.f('ix_poll_signature_use_expires_at'), table_name='poll_signature_use')
    op.drop_table('poll_signature_use')
    op.drop_table('poll_option')
    op.drop_table('stock_snapshot')
    op.drop_index('ix_poll_brand_created', table_name='poll')
    op.drop_table('poll')
    op.drop_index(op.f('ix_poll_rate_limit_window_start'), table_name='poll_rate_limit')
    op.drop_table('poll_rate_limit')
