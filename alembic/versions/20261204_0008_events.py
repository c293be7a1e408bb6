"""Events: the outbox (event, event_cursor) and webhooks (endpoints, deliveries, attempts).

On PostgreSQL an event's id comes from the ledger's sequence, so a stock.changed event
can carry its ledger row's id as its own (events of a variant are then in ledger order);
on SQLite the event table is AUTOINCREMENT, so an id is never reused after a purge.

Revision ID: 0008_events
Revises: 0007_scheduler_leader
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0008_events'
down_revision: str | None = '0007_scheduler_leader'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = models.base.UTCDateTime(timezone=True)
OUTSTANDING = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    id_default = sa.text("nextval('stock_ledger_id_seq')") if postgres else None
    op.create_table('event',
    sa.Column('id', BigId, nullable=False, server_default=id_default),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('occurred_at', When, nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('order_key', sa.String(length=64), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )
    op.create_index('ix_event_occurred_at', 'event', ['occurred_at'])
    op.create_table('event_cursor',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('name'),
    )
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    sa.Column('secret_enc', sa.String(length=500), nullable=False),
    sa.Column('previous_secret_enc', sa.String(length=500), nullable=True),
    sa.Column('previous_secret_until', When, nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('updated_at', When, nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_table('webhook_delivery',
    sa.Column('id', BigId, nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', BigId, nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('order_key', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', When, nullable=False),
    sa.Column('locked_until', When, nullable=True),
    sa.Column('first_attempt_at', When, nullable=True),
    sa.Column('last_attempt_at', When, nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('delivered_at', When, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sending', 'delivered', 'failed')", name='webhook_delivery_status'),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('endpoint_id', 'event_id', name='uq_webhook_delivery_event'),
    )
    op.create_index('ix_webhook_delivery_due', 'webhook_delivery', ['next_attempt_at'],
                    postgresql_where=OUTSTANDING, sqlite_where=OUTSTANDING)
    op.create_index('ix_webhook_delivery_order', 'webhook_delivery',
                    ['endpoint_id', 'order_key', 'event_id'],
                    postgresql_where=OUTSTANDING, sqlite_where=OUTSTANDING)
    op.create_index('ix_webhook_delivery_endpoint', 'webhook_delivery', ['endpoint_id', 'id'])
    op.create_index('ix_webhook_delivery_event', 'webhook_delivery', ['event_id'])
    op.create_table('webhook_attempt',
    sa.Column('id', BigId, nullable=False),
    sa.Column('delivery_id', BigId, nullable=False),
    sa.Column('attempted_at', When, nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_attempt_delivery', 'webhook_attempt', ['delivery_id', 'id'])


def downgrade() -> None:
    op.drop_table('webhook_attempt')
    op.drop_table('webhook_delivery')
    op.drop_table('webhook_endpoint')
    op.drop_table('event_cursor')
    op.drop_index('ix_event_occurred_at', table_name='event')
    op.drop_table('event')
