"""`variant_stock` without its reserved and incoming indexes.

The grid orders a quantity sort by the quantity, then SKU. Most variants share a
reserved and an incoming of 0, so a whole-catalogue sort by either sorts every totals
row whatever the index (measured at the large scale, 200k variants: 165–212 ms a page
with the index, 146–181 ms without), while each index costs every totals update an
entry (the quantities are indexed, so no update is HOT). Available and on hand, whose
values spread, keep theirs: their sorts walk the index (about 20 ms a page).

Revision ID: 0030_totals_indexes
Revises: 0029_alert_no_fk
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030_totals_indexes"
down_revision: str | None = "0029_alert_no_fk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = ("reserved", "incoming")


def upgrade() -> None:
    for column in DROPPED:
        op.drop_index(f"ix_variant_stock_{column}", table_name="variant_stock")


def downgrade() -> None:
    for column in DROPPED:
        op.create_index(f"ix_variant_stock_{column}", "variant_stock", [column, "variant_id"])
