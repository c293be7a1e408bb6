"""Write a plan: new products, variants and aliases, then every balance change with its ledger row.

Runs inside the caller's transaction (the apply's one transaction), in bulk:

* products and variants: one multi-row INSERT … RETURNING per batch;
* balances: the changes go into a temporary table (COPY on PostgreSQL, executemany on
  SQLite); missing balance rows are created at zero; then ONE guarded UPDATE sets each
  on hand — ``WHERE on_hand = expected AND new >= reserved``, the same compare-and-swap
  and guard as `models.stock.change_balance` with `expected_on_hand` — and one INSERT
  writes exactly one ledger row (reason "import", reference "import:<id>") per balance
  it changed. On PostgreSQL both are a single statement (UPDATE … RETURNING feeding the
  INSERT). If the guard refuses any row (a concurrent change), the whole apply fails
  and rolls back: no balance is ever written without its ledger row.

The balances were read (and on PostgreSQL locked, in variant/warehouse order) by the
plan in the same transaction, so the guard only trips on a balance row created
concurrently.
"""

from __future__ import annotations

from sqlalchemy import String, bindparam, insert, select, text
from sqlmodel import Session

from jobs.imports.plan import Plan
from jobs.imports.results import Progress
from models.base import UTCDateTime, utcnow
from models.catalog import Product, SkuAlias, Variant
from models.stock import LedgerReason

_BATCH = 2_000


class ConcurrentChange(RuntimeError):
    """A balance changed between planning and writing; nothing was applied."""


_CREATE_PG = text(
    "CREATE TEMPORARY TABLE import_target (variant_id integer NOT NULL, "
    "warehouse_id integer NOT NULL, expected integer NOT NULL, new_on_hand integer NOT NULL, "
    "row_no integer NOT NULL) ON COMMIT DROP"
)
_CREATE_SQLITE = text(
    "CREATE TEMPORARY TABLE import_target (variant_id INTEGER NOT NULL, "
    "warehouse_id INTEGER NOT NULL, expected INTEGER NOT NULL, new_on_hand INTEGER NOT NULL, "
    "row_no INTEGER NOT NULL)"
)
_FILL_SQLITE = (
    "INSERT INTO temp.import_target (variant_id, warehouse_id, expected, new_on_hand, row_no) "
    "VALUES (?, ?, ?, ?, ?)"
)
_MISSING = text(
    "INSERT INTO stock_balance (variant_id, warehouse_id, on_hand, reserved, incoming, "
    "updated_at) SELECT t.variant_id, t.warehouse_id, 0, 0, 0, :now FROM import_target t "
    "WHERE t.expected = 0 AND NOT EXISTS (SELECT 1 FROM stock_balance b "
    "WHERE b.variant_id = t.variant_id AND b.warehouse_id = t.warehouse_id) "
    "ORDER BY t.variant_id, t.warehouse_id ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime))
# The guard is the same as change_balance's with expected_on_hand: compare-and-swap on
# on hand, and never below what is reserved.
_UPDATE_AND_LOG_PG = text(
    "WITH changed AS (UPDATE stock_balance b SET on_hand = t.new_on_hand, updated_at = :now "
    "FROM import_target t WHERE b.variant_id = t.variant_id "
    "AND b.warehouse_id = t.warehouse_id AND b.on_hand = t.expected "
    "AND t.new_on_hand >= b.reserved "
    "RETURNING b.variant_id, b.warehouse_id, t.new_on_hand - t.expected AS delta, t.row_no) "
    "INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, reserved_delta, "
    "incoming_delta, reason, reference, actor, note, created_at) "
    "SELECT variant_id, warehouse_id, delta, 0, 0, :reason, :reference, :actor, "
    "'row ' || row_no, :now FROM changed ORDER BY variant_id, warehouse_id"
).bindparams(
    bindparam("now", type_=UTCDateTime),
    bindparam("reason", type_=String),
    bindparam("reference", type_=String),
    bindparam("actor", type_=String),
)
_UPDATE_SQLITE = text(
    "UPDATE stock_balance AS b SET on_hand = t.new_on_hand, updated_at = :now "
    "FROM temp.import_target AS t WHERE b.variant_id = t.variant_id "
    "AND b.warehouse_id = t.warehouse_id AND b.on_hand = t.expected "
    "AND t.new_on_hand >= b.reserved"
).bindparams(bindparam("now", type_=UTCDateTime))
_LOG_SQLITE = text(
    "INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, reserved_delta, "
    "incoming_delta, reason, reference, actor, note, created_at) "
    "SELECT variant_id, warehouse_id, new_on_hand - expected, 0, 0, :reason, :reference, "
    ":actor, 'row ' || row_no, :now FROM temp.import_target ORDER BY variant_id, warehouse_id"
).bindparams(
    bindparam("now", type_=UTCDateTime),
    bindparam("reason", type_=String),
    bindparam("reference", type_=String),
    bindparam("actor", type_=String),
)


def write_plan(
    session: Session,
    plan: Plan,
    *,
    brand_id: int,
    import_id: int,
    actor: str,
    progress: Progress | None = None,
) -> None:
    """Apply `plan` in the session's transaction; raises (and so rolls back) on any refusal."""
    report = progress or (lambda _phase, _fraction: None)
    connection = session.connection()
    now = utcnow()

    # Catalogue: products, then variants (their ids), then aliases.
    product_ids: dict[str, int] = {}
    if plan.products:
        rows = [
            {
                "brand_id": brand_id,
                "style_code": p.style,
                "name": p.name,
                "category": p.category,
                "attributes": p.attributes,
                "created_at": now,
            }
            for p in plan.products
        ]
        statement = insert(Product.__table__).returning(
            Product.__table__.c.id, sort_by_parameter_order=True
        )
        ids = [r[0] for batch in _batches(rows) for r in connection.execute(statement, batch)]
        product_ids = {p.style: pid for p, pid in zip(plan.products, ids, strict=True)}
    report("writing", 0.1)
    variant_ids: dict[tuple[str, str, str], int] = {}
    if plan.variants:
        existing = _product_ids(session, brand_id, {v.style for v in plan.variants})
        existing.update(product_ids)
        rows = [
            {
                "product_id": existing[v.style],
                "brand_id": brand_id,
                "sku": v.sku,
                "colour": v.colour,
                "size": v.size,
                "size_system": v.size_system,
                "size_rank": v.size_rank,
                "barcode": v.barcode,
                "price_cents": v.price_cents,
                "created_at": now,
            }
            for v in plan.variants
        ]
        statement = insert(Variant.__table__).returning(
            Variant.__table__.c.id, sort_by_parameter_order=True
        )
        ids = [r[0] for batch in _batches(rows) for r in connection.execute(statement, batch)]
        variant_ids = {v.key: vid for v, vid in zip(plan.variants, ids, strict=True)}
    report("writing", 0.3)
    if plan.aliases:
        rows = [
            {
                "variant_id": a.variant if isinstance(a.variant, int) else variant_ids[a.variant],
                "brand_id": brand_id,
                "kind": a.kind,
                "code": a.code,
            }
            for a in plan.aliases
        ]
        for batch in _batches(rows):
            connection.execute(insert(SkuAlias.__table__), batch)
    report("writing", 0.4)

    if not plan.changes:
        report("writing", 1.0)
        return
    targets = sorted(
        (
            c.variant if isinstance(c.variant, int) else variant_ids[c.variant],
            c.warehouse_id,
            c.old,
            c.new,
            c.row,
        )
        for c in plan.changes
    )
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(_CREATE_PG)
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(
            "COPY import_target (variant_id, warehouse_id, expected, new_on_hand, row_no) "
            "FROM STDIN"
        ) as copy:
            for target in targets:
                copy.write_row(target)
    else:
        connection.execute(text("DROP TABLE IF EXISTS temp.import_target"))
        connection.execute(_CREATE_SQLITE)
        # The driver's own executemany, in this same transaction: SQLAlchemy's per-row
        # parameter processing would cost more than the insert itself.
        cursor = connection.connection.driver_connection.cursor()
        cursor.executemany(_FILL_SQLITE, targets)
        cursor.close()
    report("writing", 0.55)
    connection.execute(_MISSING, {"now": now})
    report("writing", 0.65)
    ledger = {
        "now": now,
        "reason": LedgerReason.IMPORT.value,
        "reference": f"import:{import_id}",
        "actor": actor,
    }
    if postgres:
        written = connection.execute(_UPDATE_AND_LOG_PG, ledger).rowcount
    else:
        written = connection.execute(_UPDATE_SQLITE, {"now": now}).rowcount
        report("writing", 0.8)
        if written == len(targets):
            connection.execute(_LOG_SQLITE, ledger)
        connection.execute(text("DROP TABLE temp.import_target"))
    if written != len(targets):
        raise ConcurrentChange(
            f"{len(targets) - written} balance(s) changed while the import was being applied; "
            "nothing was applied. Run the import again."
        )
    report("writing", 1.0)


def _batches(rows: list[dict], size: int = _BATCH):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _product_ids(session: Session, brand_id: int, styles: set[str]) -> dict[str, int]:
    product = Product.__table__
    return {
        style: pid
        for pid, style in session.execute(
            select(product.c.id, product.c.style_code).where(product.c.brand_id == brand_id)
        )
        if style in styles
    }

