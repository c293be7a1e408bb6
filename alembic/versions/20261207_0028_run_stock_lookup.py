"""The commit-time apply's run totals look each delta's variant up by its key.

0027 put the runs' deltas first into `variant_stock_apply`, joining the transaction's
deltas to `variant`. With the delta queue's statistics from a big batch the planner
hashes the whole `variant` table for that join (200k rows, two batches at the large
scale: ~60-100 ms of every sync's commit per 10k changed balances), though a
transaction's deltas are a small part of the catalogue. A LATERAL subquery that cannot
be flattened (OFFSET 0) makes it one primary-key lookup per delta row whatever the
statistics say. The result, the locks taken and their order are unchanged.

Revision ID: 0028_run_stock_lookup
Revises: 0027_run_stock
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0028_run_stock_lookup"
down_revision: str | None = "0027_run_stock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOIN = "FROM variant_stock_delta d JOIN variant v ON v.id = d.variant_id"
LOOKUP = (
    "FROM variant_stock_delta d CROSS JOIN LATERAL (SELECT product_id, colour, sku"
    " FROM variant WHERE id = d.variant_id OFFSET 0) v"
)


def _replace_apply(change: Callable[[str], str]) -> None:
    """Redefine `variant_stock_apply` as `change` makes its body (PostgreSQL only)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    body = bind.exec_driver_sql(
        "SELECT prosrc FROM pg_proc WHERE proname = 'variant_stock_apply'"
    ).scalar_one()
    new = change(body)
    if new == body:
        raise RuntimeError("variant_stock_apply does not hold the join this migration replaces")
    op.execute(
        "CREATE OR REPLACE FUNCTION variant_stock_apply() RETURNS trigger"
        f" LANGUAGE plpgsql AS $${new}$$"
    )


def upgrade() -> None:
    _replace_apply(lambda body: body.replace(JOIN, LOOKUP, 1))


def downgrade() -> None:
    _replace_apply(lambda body: body.replace(LOOKUP, JOIN, 1))
