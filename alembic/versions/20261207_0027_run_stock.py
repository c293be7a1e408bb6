"""Per-style-colour stock totals (`run_stock`): a size run's on hand, reserved, incoming
and available over all its variants and warehouses, and its first SKU, so the
whole-catalogue size-run view sorted by a quantity reads an index instead of summing
every variant's totals per page (issue 16: 0.9 s → a few ms at the large scale).

PostgreSQL: the commit-time apply of 0017 (`variant_stock_apply`) also adds the
transaction's deltas per run, first and in (product, colour) order, then per variant in
variant order as before: every transaction takes run rows, then variant rows, each in one
order, and only at commit, so no cycle. A statement trigger on `variant` adds a new run's
row (no lock on an existing one) and lowers a run's first SKU when a new size sorts
before it (only then is the existing row taken before commit).
SQLite: row triggers on `variant_stock` and `variant` (one writer at a time).
Variants are never deleted or re-keyed; a product's runs go with it (ON DELETE CASCADE).

Revision ID: 0027_run_stock
Revises: 0026_import_attrs
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0027_run_stock"
down_revision: str | None = "0026_import_attrs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Put first into 0017's commit-time apply (`variant_stock_apply`): the runs' deltas.
RUNS_FIRST = """
    INSERT INTO run_stock AS r (product_id, colour, first_sku, on_hand, reserved, incoming)
    SELECT v.product_id, v.colour, min(v.sku), sum(d.on_hand), sum(d.reserved),
           sum(d.incoming)
      FROM variant_stock_delta d JOIN variant v ON v.id = d.variant_id
     WHERE d.tx = NEW.tx
     GROUP BY v.product_id, v.colour
    HAVING sum(d.on_hand) <> 0 OR sum(d.reserved) <> 0 OR sum(d.incoming) <> 0
     ORDER BY v.product_id, v.colour
    ON CONFLICT (product_id, colour) DO UPDATE
       SET on_hand = r.on_hand + excluded.on_hand,
           reserved = r.reserved + excluded.reserved,
           incoming = r.incoming + excluded.incoming;"""


def _replace_apply(change: Callable[[str], str]) -> None:
    """Redefine `variant_stock_apply` as `change` makes its body (PostgreSQL)."""
    body = op.get_bind().exec_driver_sql(
        "SELECT prosrc FROM pg_proc WHERE proname = 'variant_stock_apply'"
    ).scalar_one()
    op.execute(
        "CREATE OR REPLACE FUNCTION variant_stock_apply() RETURNS trigger"
        f" LANGUAGE plpgsql AS $${change(body)}$$"
    )


NEW_RUNS_PG = """
CREATE FUNCTION run_stock_new_variants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_stock (product_id, colour, first_sku)
    SELECT product_id, colour, min(sku) FROM new_rows
     GROUP BY product_id, colour
     ORDER BY product_id, colour
    ON CONFLICT (product_id, colour) DO NOTHING;
    UPDATE run_stock r SET first_sku = n.sku
      FROM (SELECT product_id, colour, min(sku) AS sku FROM new_rows
             GROUP BY product_id, colour) n
     WHERE r.product_id = n.product_id AND r.colour = n.colour AND n.sku < r.first_sku;
    RETURN NULL;
END $$;
CREATE TRIGGER run_stock_new_variant AFTER INSERT ON variant
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION run_stock_new_variants();
"""

DROP_PG = """
DROP TRIGGER IF EXISTS run_stock_new_variant ON variant;
DROP FUNCTION IF EXISTS run_stock_new_variants();
"""

_RUN_OF = (
    "product_id = (SELECT product_id FROM variant WHERE id = NEW.variant_id)"
    " AND colour = (SELECT colour FROM variant WHERE id = NEW.variant_id)"
)
TRIGGERS_SQLITE = {
    "run_stock_new_variant": (
        "AFTER INSERT ON variant BEGIN"
        " INSERT OR IGNORE INTO run_stock (product_id, colour, first_sku)"
        " VALUES (NEW.product_id, NEW.colour, NEW.sku);"
        " UPDATE run_stock SET first_sku = NEW.sku WHERE product_id = NEW.product_id"
        " AND colour = NEW.colour AND NEW.sku < first_sku; END"
    ),
    "run_stock_totals_insert": (
        "AFTER INSERT ON variant_stock BEGIN"
        " UPDATE run_stock SET on_hand = on_hand + NEW.on_hand,"
        " reserved = reserved + NEW.reserved, incoming = incoming + NEW.incoming"
        f" WHERE {_RUN_OF}; END"
    ),
    "run_stock_totals_update": (
        "AFTER UPDATE ON variant_stock BEGIN"
        " UPDATE run_stock SET on_hand = on_hand + NEW.on_hand - OLD.on_hand,"
        " reserved = reserved + NEW.reserved - OLD.reserved,"
        " incoming = incoming + NEW.incoming - OLD.incoming"
        f" WHERE {_RUN_OF}; END"
    ),
}

BACKFILL = """
INSERT INTO run_stock (product_id, colour, first_sku, on_hand, reserved, incoming)
SELECT v.product_id, v.colour, min(v.sku), coalesce(sum(t.on_hand), 0),
       coalesce(sum(t.reserved), 0), coalesce(sum(t.incoming), 0)
  FROM variant v LEFT JOIN variant_stock t ON t.variant_id = v.id
 GROUP BY v.product_id, v.colour
 ORDER BY v.product_id, v.colour
"""


def upgrade() -> None:
    op.create_table(
        "run_stock",
        sa.Column(
            "product_id",
            sa.Integer(),
            sa.ForeignKey("product.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("colour", sa.String(length=60), primary_key=True),
        sa.Column("first_sku", sa.String(length=64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("incoming", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("available", sa.Integer(), sa.Computed("on_hand - reserved", persisted=True)),
        sa.Column("short", sa.Integer(), sa.Computed("reserved - on_hand", persisted=True)),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # No balance, variant or pending delta may change between the backfill and the
        # triggers (a transaction in flight commits its deltas before this goes on).
        op.execute(
            "LOCK TABLE stock_balance, variant, variant_stock, variant_stock_delta"
            " IN SHARE ROW EXCLUSIVE MODE"
        )
    op.execute(BACKFILL)
    op.create_index("ix_run_stock_available", "run_stock", ["available", "first_sku"])
    op.create_index("ix_run_stock_short", "run_stock", ["short", "first_sku"])
    if dialect == "postgresql":
        _replace_apply(lambda body: body.replace("BEGIN", "BEGIN" + RUNS_FIRST, 1))
        op.execute(NEW_RUNS_PG)
    else:
        for name, body in TRIGGERS_SQLITE.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_PG)
        _replace_apply(lambda body: body.replace(RUNS_FIRST, "", 1))
    else:
        for name in TRIGGERS_SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("run_stock")
