"""Undo an applied import: compensating ledger rows that put back every balance it set,
and the product attributes it changed put back as they were.

One transaction: the import's own ledger rows (reason "import", reference "import:<id>")
say which balances it changed and by how much; the value it set is the ledger's running
sum up to that row. Each balance must still hold that value (compare-and-swap) and keep
its reservations covered once put back. Its `import_attribute_change` rows say which
products' attributes it changed, from what to what: each product must still hold what
the import wrote (not edited on the product page or by a later import since), and then
gets back what it had. Otherwise the revert is refused, naming every balance that moved
and every product edited since, and nothing changes. Imports applied before migration
0026 recorded no attribute changes: their revert puts back stock only. Products and
variants the import created stay (with their stock put back): SKUs may already be in
orders, labels or other systems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Row, func, select, text
from sqlmodel import Session

from jobs.imports.attributes import set_attributes
from jobs.imports.results import ImportRefused
from models.audit import record as audit_record
from models.base import utcnow
from models.catalog import Brand, Product, Variant, Warehouse
from models.db import get_engine, transaction
from models.errors import NotFound
from models.imports import ImportAttributeChange, ImportRun, ImportStatus
from models.stock import CountTarget, LedgerEntry, LedgerReason, StockBalance, set_counts

#: Moved balances and edited products a refusal names in its message (`details["moved"]`
#: and `details["edited"]` have them all).
SHOWN_MOVED = 20
_LOCK_KEY = 0x494D50  # the apply's: a revert and an apply of one brand never interleave


@dataclass(frozen=True, slots=True)
class MovedBalance:
    """A balance the import set that is no longer what it set (or cannot go back)."""

    sku: str
    warehouse: str
    import_set: int
    now: int
    put_back: int
    reserved: int

    def describe(self) -> str:
        if self.now != self.import_set:
            where = f"{self.sku} @ {self.warehouse}"
            return f"{where}: the import set {self.import_set}, now {self.now}"
        return (
            f"{self.sku} @ {self.warehouse}: putting back {self.put_back} would go below the "
            f"{self.reserved} reserved"
        )


@dataclass(frozen=True, slots=True)
class EditedProduct:
    """A product whose attributes the import changed and that no longer holds what it set."""

    style: str
    title: str
    fields: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"{self.style} ({self.title}): {', '.join(self.fields)} changed since the import"
        )


@dataclass(slots=True)
class RevertResult:
    import_id: int
    brand_code: str
    balances: int
    message: str
    moved: list[MovedBalance] = field(default_factory=list)
    #: Products whose attributes were put back as they were before the import.
    products: int = 0


def revert_import(
    import_id: int,
    *,
    actor: str = "system",
    brand_scope: int | None = None,
    engine: Engine | None = None,
) -> RevertResult:
    """Revert applied import `import_id` in one transaction; raises ImportRefused (nothing
    changed) when it is not an applied import, was reverted already, stock moved, or a
    product whose attributes it changed was edited since.

    `brand_scope` (a vendor's brand) refuses other brands' imports as unknown.
    """
    with transaction(engine or get_engine()) as session:
        run = _locked_run(session, import_id, brand_scope)
        brand = session.get(Brand, run.brand_id)
        assert brand is not None
        reference = f"import:{run.id}"
        changed = _changed_balances(session, reference)
        targets: list[CountTarget] = []
        moved: list[MovedBalance] = []
        for (variant_id, warehouse_id), (import_set, delta, now, reserved, sku, code) in (
            changed.items()
        ):
            put_back = import_set - delta
            if now != import_set or put_back < reserved:
                moved.append(MovedBalance(sku, code, import_set, now, put_back, reserved))
            else:
                targets.append(CountTarget(variant_id, warehouse_id, import_set, put_back,
                                           f"revert of import {run.id}"))
        attributes = _attribute_changes(session, run.id)
        edited = [e for e in map(_edited, attributes) if e is not None]
        if moved or edited:
            raise _refusal(run.id, moved, len(changed), edited, len(attributes))
        written = set_counts(
            session, targets, reason=LedgerReason.IMPORT_REVERT, actor=actor, reference=reference
        )
        set_attributes(session, [(a.id, a.before) for a in attributes])
        run.reverted_at = utcnow()
        run.reverted_by = actor[:200]
        session.add(run)
        audit_record(
            session, actor, "import.revert", target_type="import", target_id=run.id,
            label=run.file_name or f"import {run.id}",
            changes={"brand": brand.code, "balances": written, "products": len(attributes)},
        )
        what = f"{written:,} balance(s)"
        if attributes:
            what += f" and the attributes of {len(attributes):,} product(s)"
        message = (
            f"Reverted import {run.id} ({brand.code}): {what} put back as they were before it."
        )
        return RevertResult(run.id, brand.code, written, message, products=len(attributes))


def _refusal(
    import_id: int,
    moved: list[MovedBalance],
    balances: int,
    edited: list[EditedProduct],
    products: int,
) -> ImportRefused:
    """The refusal naming what moved: balances first, then products edited since."""
    why = []
    if moved:
        why.append(f"{len(moved):,} of the {balances:,} balances it set have moved since")
    if edited:
        why.append(
            f"{len(edited):,} of the {products:,} products whose attributes it changed were "
            "edited since"
        )
    named = [m.describe() for m in moved] + [e.describe() for e in edited]
    shown = "; ".join(named[:SHOWN_MOVED])
    more = f"; and {len(named) - SHOWN_MOVED:,} more" if len(named) > SHOWN_MOVED else ""
    pages = " and ".join(
        page for page, any_ in (("stock page", moved), ("product page", edited)) if any_
    )
    return ImportRefused(
        f"Import {import_id} was not reverted: {' and '.join(why)}. {shown}{more}. Correct "
        f"them by hand ({pages}) instead.",
        moved=[m.describe() for m in moved],
        edited=[e.describe() for e in edited],
    )


def _attribute_changes(session: Session, import_id: int) -> list[Row]:
    """The import's recorded changes (product `id`, `style_code`, `name`, `attributes`
    now, `before`, `after`), in product order and, on PostgreSQL, the products locked."""
    change, product = ImportAttributeChange.__table__, Product.__table__
    query = (
        select(product.c.id, product.c.style_code, product.c.name, product.c.attributes,
               change.c.before, change.c.after)
        .join(product, product.c.id == change.c.product_id)
        .where(change.c.import_id == import_id)
        .order_by(product.c.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=product)
    return list(session.execute(query))


def _edited(change: Row) -> EditedProduct | None:
    """The product when it no longer holds what the import wrote (compare-and-swap)."""
    now: dict[str, Any] = dict(change.attributes or {})
    if now == change.after:
        return None
    names = sorted(set(now) | set(change.after))
    fields = tuple(n for n in names if now.get(n) != change.after.get(n))
    return EditedProduct(change.style_code, change.name, fields)


def _locked_run(session: Session, import_id: int, brand_scope: int | None) -> ImportRun:
    query = select(ImportRun).where(ImportRun.id == import_id)
    if session.get_bind().dialect.name == "postgresql":
        brand_id = session.scalar(select(ImportRun.brand_id).where(ImportRun.id == import_id))
        if brand_id is not None:
            session.execute(
                text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _LOCK_KEY, "b": brand_id}
            )
        query = query.with_for_update()
    run = session.scalars(query).first()
    if run is None or (brand_scope is not None and run.brand_id != brand_scope):
        raise NotFound(f"There is no import {import_id}.", import_id=import_id)
    if run.reverted_at is not None:
        raise ImportRefused(
            f"Import {run.id} was already reverted by {run.reverted_by or 'someone'} on "
            f"{run.reverted_at:%Y-%m-%d %H:%M} UTC; nothing changed.",
            import_id=run.id,
        )
    if run.status != ImportStatus.APPLIED.value:
        raise ImportRefused(
            f"Import {run.id} was {run.status}, not applied: there is nothing to revert.",
            import_id=run.id,
        )
    return run


def _changed_balances(
    session: Session, reference: str
) -> dict[tuple[int, int], tuple[int, int, int, int, str, str]]:
    """(variant, warehouse) → (value the import set, its delta, on hand now, reserved now,
    SKU, warehouse code), in (variant, warehouse) order and, on PostgreSQL, locked."""
    ledger, later = LedgerEntry.__table__.alias("l"), LedgerEntry.__table__.alias("x")
    running = (
        select(func.coalesce(func.sum(later.c.on_hand_delta), 0))
        .where(
            later.c.variant_id == ledger.c.variant_id,
            later.c.warehouse_id == ledger.c.warehouse_id,
            later.c.id <= ledger.c.id,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(ledger.c.variant_id, ledger.c.warehouse_id, ledger.c.on_hand_delta, running)
        .where(ledger.c.reference == reference, ledger.c.reason == LedgerReason.IMPORT.value)
        .order_by(ledger.c.variant_id, ledger.c.warehouse_id)
    ).all()
    if not rows:
        return {}
    balance = StockBalance.__table__
    pairs = {(v, w) for v, w, _d, _s in rows}
    current: dict[tuple[int, int], tuple[int, int, str, str]] = {}
    variant_ids = sorted({v for v, _w in pairs})
    for start in range(0, len(variant_ids), 5_000):
        chunk = variant_ids[start : start + 5_000]
        query = (
            select(balance.c.variant_id, balance.c.warehouse_id, balance.c.on_hand,
                   balance.c.reserved, Variant.sku, Warehouse.code)
            .join(Variant, Variant.id == balance.c.variant_id)
            .join(Warehouse, Warehouse.id == balance.c.warehouse_id)
            .where(balance.c.variant_id.in_(chunk))
            .order_by(balance.c.variant_id, balance.c.warehouse_id)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=balance)
        for v, w, on_hand, reserved, sku, code in session.execute(query):
            if (v, w) in pairs:
                current[(v, w)] = (on_hand, reserved, sku, code)
    out = {}
    for v, w, delta, import_set in rows:
        on_hand, reserved, sku, code = current[(v, w)]
        out[(v, w)] = (int(import_set), delta, on_hand, reserved, sku, code)
    return out
