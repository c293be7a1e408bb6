"""The import's reads of what the database already holds: other brands' codes, taken
barcodes, the touched balances and the warehouses, in chunks of IN lists."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Select, select
from sqlmodel import Session

from models.catalog import Brand, SkuAlias, Variant, Warehouse
from models.stock import StockBalance

IN_CHUNK = 5_000


def chunks(items: list[str], size: int = IN_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fetch_all(connection: Connection, query: Select) -> list[tuple]:
    """All rows as the driver's tuples: for 100k-row reads of plain ints and strings,
    SQLAlchemy's per-row Result processing costs more than the query."""
    result = connection.execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def foreign_skus(session: Session, brand_id: int, skus: list[str]) -> dict[str, str]:
    """Which of `skus` name another brand's variant — its canonical SKU, one of its
    aliases or a barcode: sku → that brand's code. Such a code would become an alias
    of ours and hijack the other brand's lookups (a 409 at its checkout)."""
    found: dict[str, str] = {}
    for chunk in chunks(skus):
        for column, brand_column, join in (
            (Variant.sku, Variant.brand_id, Brand.id == Variant.brand_id),
            (SkuAlias.code, SkuAlias.brand_id, Brand.id == SkuAlias.brand_id),
            (Variant.barcode, Variant.brand_id, Brand.id == Variant.brand_id),
        ):
            for code, owner in session.execute(
                select(column, Brand.code)
                .join(Brand, join)
                .where(column.in_(chunk), brand_column != brand_id)
            ):
                found.setdefault(code, owner)
    return found


def taken_barcodes(session: Session, brand_id: int, codes: list[str]) -> dict[str, str]:
    """Which of `codes` are already a barcode, SKU or alias (of any brand): code → the
    owning brand's code. A new variant's barcode must name nothing else."""
    found: dict[str, str] = {}
    for chunk in chunks(codes):
        for column, join in (
            (Variant.barcode, Brand.id == Variant.brand_id),
            (Variant.sku, Brand.id == Variant.brand_id),
            (SkuAlias.code, Brand.id == SkuAlias.brand_id),
        ):
            for code, owner in session.execute(
                select(column, Brand.code).join(Brand, join).where(column.in_(chunk))
            ):
                found.setdefault(code, owner)
    return found


def touched_balances(
    session: Session, brand_id: int, pairs: set[tuple[int, int]], *, lock: bool
) -> dict[tuple[int, int], tuple[int, int]]:
    """(on hand, reserved) of the touched balances.

    With `lock` (PostgreSQL) only the touched variants' rows are read, FOR UPDATE, in
    (variant, warehouse) order: chunks of ascending variant ids, each sorted. Without it,
    a big file reads the brand's balances in one scan instead of many IN lists.
    """
    if not pairs:
        return {}
    balance = StockBalance.__table__
    variant = Variant.__table__
    warehouses = sorted({w for _v, w in pairs})
    columns = (balance.c.variant_id, balance.c.warehouse_id, balance.c.on_hand, balance.c.reserved)
    order = (balance.c.variant_id, balance.c.warehouse_id)
    lock = lock and session.get_bind().dialect.name == "postgresql"
    variant_ids = sorted({v for v, _w in pairs})
    if lock or len(variant_ids) <= 4 * IN_CHUNK:
        queries = []
        for start in range(0, len(variant_ids), IN_CHUNK):
            chunk = variant_ids[start : start + IN_CHUNK]
            query = (
                select(*columns)
                .where(balance.c.variant_id.in_(chunk), balance.c.warehouse_id.in_(warehouses))
                .order_by(*order)
            )
            queries.append(query.with_for_update(of=balance) if lock else query)
    else:
        queries = [
            select(*columns)
            .join(variant, variant.c.id == balance.c.variant_id)
            .where(variant.c.brand_id == brand_id, balance.c.warehouse_id.in_(warehouses))
        ]
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for query in queries:
        for v, w, on_hand, reserved in fetch_all(session.connection(), query):
            if (v, w) in pairs:
                found[(v, w)] = (on_hand, reserved)
    return found


def all_warehouses(session: Session) -> list[tuple[int, str, str]]:
    return [
        (wid, code, name)
        for wid, code, name in session.execute(
            select(Warehouse.id, Warehouse.code, Warehouse.name).order_by(Warehouse.id)
        )
    ]
