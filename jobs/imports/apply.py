"""Write a plan: new products, variants and aliases, then every balance change with its ledger row.

Runs inside the caller's transaction (the apply's one transaction), in bulk:

* products and variants: one multi-row INSERT … RETURNING per batch; aliases likewise;
* existing products' attributes the file changes: set, with their before and after
  recorded in `import_attribute_change` for the import's revert (an executemany each);
* balances: `models.stock.set_counts`, the bulk form of `change_balance` with
  `expected_on_hand` — the counts go into a temporary table (COPY on PostgreSQL,
  executemany on SQLite), one guarded UPDATE (``on_hand = expected AND new >= reserved``)
  sets them and one INSERT writes exactly one ledger row per changed balance (reason
  "import", reference "import:<id>", note "row N"). If the guard refuses any row it
  raises StaleCount and the whole apply rolls back.

The balances were read (and on PostgreSQL locked, in variant/warehouse order) by the
plan in the same transaction, so the guard only trips on a balance row created
concurrently.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlmodel import Session

from jobs.imports.attributes import write_attribute_changes
from jobs.imports.plan import Plan
from jobs.imports.results import Progress
from models.base import utcnow
from models.catalog import Product, SkuAlias, Variant
from models.stock import CountTarget, LedgerReason, set_counts

_BATCH = 2_000


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
    write_attribute_changes(session, plan.attribute_changes, import_id)
    report("writing", 0.4)

    targets = [
        CountTarget(
            c.variant if isinstance(c.variant, int) else variant_ids[c.variant],
            c.warehouse_id,
            c.old,
            c.new,
            f"row {c.row}",
        )
        for c in [*plan.changes, *plan.zeros]
    ]
    report("writing", 0.5)
    set_counts(
        session,
        targets,
        reason=LedgerReason.IMPORT,
        actor=actor,
        reference=f"import:{import_id}",
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

