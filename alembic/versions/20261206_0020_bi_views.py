"""The `bi` schema (PostgreSQL only): documented read-only views for Metabase, Looker and
the like, with no personal data (no emails, names, respondent ids, free-text notes) and no
secrets. `rackroom bi grant ROLE` makes a login role that can read this schema and nothing
else; the views run with their owner's rights, so that role needs no grant on the tables
beneath. docs/bi.md describes each view. SQLite has no schemas: nothing is made there.

Revision ID: 0020_bi_views
Revises: 0019_cycle_counts
Create Date: 2026-12-06 05:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_bi_views"
down_revision: str | None = "0019_cycle_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: name → (comment, SELECT). Kept in the order docs/bi.md lists them.
VIEWS: dict[str, tuple[str, str]] = {
    "stock_levels": (
        "One row per variant and warehouse: on hand, reserved, available, incoming.",
        """
        SELECT b.code AS brand, p.style_code AS style, p.name AS product, p.category,
               v.sku, v.colour, v.size, v.size_system, v.size_rank, v.barcode,
               v.price_cents, w.code AS warehouse, w.name AS warehouse_name,
               s.on_hand, s.reserved, s.on_hand - s.reserved AS available, s.incoming,
               s.updated_at
          FROM stock_balance s
          JOIN variant v ON v.id = s.variant_id
          JOIN product p ON p.id = v.product_id
          JOIN brand b ON b.id = v.brand_id
          JOIN warehouse w ON w.id = s.warehouse_id
        """,
    ),
    "ledger": (
        "Every stock movement, append-only: the deltas, the reason, the reference and the"
        " kind of actor (never a person's email).",
        # The actor as a kind only: "user" for a person (their email is left out), else
        # the prefix of a system actor such as "api", "sync" or "import".
        """
        SELECT l.id, l.created_at, b.code AS brand, v.sku, w.code AS warehouse,
               l.on_hand_delta, l.reserved_delta, l.incoming_delta, l.reason, l.reference,
               CASE WHEN position('@' IN l.actor) > 0 THEN 'user'
                    WHEN position(':' IN l.actor) > 0 THEN split_part(l.actor, ':', 1)
                    ELSE l.actor END AS actor_kind
          FROM stock_ledger l
          JOIN variant v ON v.id = l.variant_id
          JOIN brand b ON b.id = v.brand_id
          JOIN warehouse w ON w.id = l.warehouse_id
        """,
    ),
    "sales_daily": (
        "Units, revenue and orders per day, variant, warehouse and channel (UTC days).",
        """
        SELECT (sl.sold_at AT TIME ZONE 'UTC')::date AS day, b.code AS brand,
               p.style_code AS style, p.category, v.sku, w.code AS warehouse, sl.channel,
               sum(sl.qty) AS units, sum(sl.qty * sl.unit_price_cents) AS revenue_cents,
               count(DISTINCT sl.order_ref) AS orders
          FROM sale_line sl
          JOIN variant v ON v.id = sl.variant_id
          JOIN product p ON p.id = v.product_id
          JOIN brand b ON b.id = v.brand_id
          JOIN warehouse w ON w.id = sl.warehouse_id
         GROUP BY 1, b.code, p.style_code, p.category, v.sku, w.code, sl.channel
        """,
    ),
    "alerts": (
        "Low-stock and broken-size-run alerts with when they were raised, acknowledged,"
        " snoozed and resolved (not who acknowledged them).",
        """
        SELECT a.id, a.kind, a.status, b.code AS brand, p.style_code AS style, a.colour,
               v.sku, w.code AS warehouse, a.available, a.threshold, a.raised_at,
               a.acknowledged_at, a.snoozed_until, a.resolved_at
          FROM alert a
          JOIN brand b ON b.id = a.brand_id
          LEFT JOIN product p ON p.id = a.product_id
          LEFT JOIN variant v ON v.id = a.variant_id
          LEFT JOIN warehouse w ON w.id = a.warehouse_id
        """,
    ),
    "transfers": (
        "Transfers between warehouses: route, status, dates and unit totals (no notes, no"
        " people).",
        """
        SELECT t.id, t.status, src.code AS source, dst.code AS destination, t.created_at,
               t.updated_at, t.shipped_at, t.received_at,
               coalesce(l.lines, 0) AS lines, coalesce(l.units, 0) AS units,
               coalesce(l.received, 0) AS received_units,
               coalesce(l.damaged, 0) AS damaged_units, coalesce(l.short, 0) AS short_units
          FROM transfer t
          JOIN warehouse src ON src.id = t.source_warehouse_id
          JOIN warehouse dst ON dst.id = t.dest_warehouse_id
          LEFT JOIN (
                SELECT transfer_id, count(*) AS lines, sum(qty) AS units,
                       sum(received_qty) AS received, sum(damaged_qty) AS damaged,
                       sum(short_qty) AS short
                  FROM transfer_line GROUP BY transfer_id
          ) l ON l.transfer_id = t.id
        """,
    ),
    "sync_runs": (
        "Brand API syncs: when, how, what they changed and whether they failed (no URLs,"
        " tokens or error texts).",
        """
        SELECT r.id, b.code AS brand, r.style, r.policy, r.trigger, r.status, r.started_at,
               r.finished_at, r.requests, r.retries, r.pages, r.bytes, r.items, r.changed,
               r.unchanged, r.skipped, r.conflicts_source, r.conflicts_platform, r.stale,
               r.clamped, r.error_count
          FROM sync_run r
          JOIN brand b ON b.id = r.brand_id
        """,
    ),
    "poll_votes_daily": (
        "Customer poll votes per day, poll, option and source (no respondent ids).",
        """
        SELECT (pv.answered_at AT TIME ZONE 'UTC')::date AS day, po.id AS poll_id,
               po.question, b.code AS brand, po.status AS poll_status, o.label AS option,
               o.signal_style, o.signal_size, o.signal_colour, o.signal_category,
               pv.source, count(*) AS votes
          FROM poll_vote pv
          JOIN poll po ON po.id = pv.poll_id
          JOIN poll_option o ON o.id = pv.option_id
          LEFT JOIN brand b ON b.id = po.brand_id
         GROUP BY 1, po.id, po.question, b.code, po.status, o.id, o.label, o.signal_style,
               o.signal_size, o.signal_colour, o.signal_category, pv.source
        """,
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SCHEMA bi")
    op.execute(
        "COMMENT ON SCHEMA bi IS 'Read-only views for BI tools (docs/bi.md): no personal "
        "data, no secrets. rackroom bi grant ROLE gives a login role this schema only.'"
    )
    for name, (comment, select) in VIEWS.items():
        op.execute(f"CREATE VIEW bi.{name} AS {select}")
        quoted = comment.replace("'", "''")
        op.execute(f"COMMENT ON VIEW bi.{name} IS '{quoted}'")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP SCHEMA bi CASCADE")
