"""Transfers (with lines and a timeline of events), low-stock rules and the alert inbox.

The alert table's partial unique index allows one unresolved alert per (kind, subject).

Revision ID: 0005_transfers_alerts
Revises: 0004_syncs
Create Date: 2026-11-28 02:48:04.291125
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = '0005_transfers_alerts'
down_revision: str | None = '0004_syncs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alert_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=True),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('reorder_qty', sa.Integer(), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('target_cover_days', sa.Integer(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level IN ('brand', 'product', 'variant')", name='alert_rule_level'),
    sa.CheckConstraint('threshold >= 0 AND reorder_qty >= 0 AND lead_time_days >= 0 AND target_cover_days >= 0', name='alert_rule_not_negative'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouse.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_alert_rule_everywhere', 'alert_rule', ['level', 'subject_id'], unique=True, postgresql_where=sa.text('warehouse_id IS NULL'), sqlite_where=sa.text('warehouse_id IS NULL'))
    op.create_index('uq_alert_rule_warehouse', 'alert_rule', ['level', 'subject_id', 'warehouse_id'], unique=True, postgresql_where=sa.text('warehouse_id IS NOT NULL'), sqlite_where=sa.text('warehouse_id IS NOT NULL'))
    op.create_table('transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_warehouse_id', sa.Integer(), nullable=False),
    sa.Column('dest_warehouse_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('shipped_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'requested', 'approved', 'in_transit', 'received', 'cancelled')", name='transfer_status'),
    sa.CheckConstraint('source_warehouse_id <> dest_warehouse_id', name='transfer_two_places'),
    sa.ForeignKeyConstraint(['approved_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['dest_warehouse_id'], ['warehouse.id'], ),
    sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['source_warehouse_id'], ['warehouse.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_transfer_dest', 'transfer', ['dest_warehouse_id', 'status'], unique=False)
    op.create_index('ix_transfer_source', 'transfer', ['source_warehouse_id', 'status'], unique=False)
    op.create_index('ix_transfer_status_id', 'transfer', ['status', 'id'], unique=False)
    op.create_table('alert',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=True),
    sa.Column('colour', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('available', sa.Integer(), nullable=True),
    sa.Column('threshold', sa.Integer(), nullable=True),
    sa.Column('raised_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('snoozed_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('snoozed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('resolved_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('low_stock', 'out_of_stock', 'broken_size_run')", name='alert_kind'),
    sa.CheckConstraint("status IN ('open', 'acknowledged', 'snoozed', 'resolved')", name='alert_status'),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.ForeignKeyConstraint(['variant_id'], ['variant.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouse.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_alert_product_colour', 'alert', ['product_id', 'colour'], unique=False)
    op.create_index('ix_alert_status_brand', 'alert', ['status', 'brand_id'], unique=False)
    op.create_index('ix_alert_variant', 'alert', ['variant_id'], unique=False)
    op.create_index('ix_alert_warehouse_status', 'alert', ['warehouse_id', 'status'], unique=False)
    op.create_index('uq_alert_unresolved_subject', 'alert', ['kind', 'subject_key'], unique=True, postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"))
    op.create_table('transfer_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_transfer_event_transfer', 'transfer_event', ['transfer_id', 'id'], unique=False)
    op.create_table('transfer_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('received_qty', sa.Integer(), nullable=False),
    sa.Column('damaged_qty', sa.Integer(), nullable=False),
    sa.Column('short_qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name='transfer_line_qty_positive'),
    sa.CheckConstraint('received_qty >= 0 AND damaged_qty >= 0 AND short_qty >= 0 AND received_qty + damaged_qty + short_qty <= qty', name='transfer_line_accounted_within_qty'),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfer.id'], ),
    sa.ForeignKeyConstraint(['variant_id'], ['variant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('transfer_id', 'variant_id', name='uq_transfer_line_variant')
    )
    op.create_index('ix_transfer_line_variant', 'transfer_line', ['variant_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_transfer_line_variant', table_name='transfer_line')
    op.drop_table('transfer_line')
    op.drop_index('ix_transfer_event_transfer', table_name='transfer_event')
    op.drop_table('transfer_event')
    op.drop_index('uq_alert_unresolved_subject', table_name='alert', postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"))
    op.drop_index('ix_alert_warehouse_status', table_name='alert')
    op.drop_index('ix_alert_variant', table_name='alert')
    op.drop_index('ix_alert_status_brand', table_name='alert')
    op.drop_index('ix_alert_product_colour', table_name='alert')
    op.drop_table('alert')
    op.drop_index('ix_transfer_status_id', table_name='transfer')
    op.drop_index('ix_transfer_source', table_name='transfer')
    op.drop_index('ix_transfer_dest', table_name='transfer')
    op.drop_table('transfer')
    op.drop_index('uq_alert_rule_warehouse', table_name='alert_rule', postgresql_where=sa.text('warehouse_id IS NOT NULL'), sqlite_where=sa.text('warehouse_id IS NOT NULL'))
    op.drop_index('uq_alert_rule_everywhere', table_name='alert_rule', postgresql_where=sa.text('warehouse_id IS NULL'), sqlite_where=sa.text('warehouse_id IS NULL'))
    op.drop_table('alert_rule')
