"""Vendor feed import: rows per second for the dry run and the apply, vs a raw SQL baseline.

The feed is a Shopify inventory export (Handle, Title, Size/Color options, the brand's
SKU, Location, On hand) over a catalogue the benchmark builds first: 100,000 rows at
--scale large (50,000 variants × 2 locations; ~90% of the counts differ, so ~90k
balances change, each with its ledger row). Ours is `jobs.imports.dry_run` then
`jobs.imports.apply_import` on the file's bytes: decode, sniff, polars parse, feed,
normalise, check, plan, then the one-transaction bulk write.

The raw baseline, in the same run, on a second feed with other counts: polars reads the
file; COPY (PostgreSQL) or executemany (SQLite) puts SKU/location/count into a temp
table; one INSERT … ON CONFLICT DO UPDATE upserts the balances and one INSERT writes
their ledger rows — no checks, no normalising, no dry run.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/import.py [--scale small]
    DATABASE_URL=sqlite:///var/bench.db python bench/import.py   # after alembic upgrade head
"""

from __future__ import annotations

import io
import random
import time

import polars as pl
from _common import bench_engine, emit, parse_args
from sqlalchemy import Engine, insert, select, text

from jobs.imports import ImportOptions, apply_import, dry_run
from models.base import utcnow
from models.catalog import Product, SkuAlias, Variant, create_brand, create_warehouse
from models.db import read_session, transaction
from models.stock import LedgerEntry, StockBalance, reconcile

SIZES = ("XS", "S", "M", "L", "XL")
COLOURS = ("Black", "Navy", "Ecru", "Olive", "Rust")
WAREHOUSES = (("BW1", "Bench North"), ("BW2", "Bench South"))


def build(engine: Engine, variants: int) -> list[tuple[str, str, str, str, str]]:
    """The brand's catalogue with stock; returns (handle, title, size, colour, alias) each."""
    catalogue = []
    now = utcnow()
    with transaction(engine) as session:
        brand = create_brand(session, "BENCH", "Bench")
        warehouse_ids = [create_warehouse(session, c, n).id for c, n in WAREHOUSES]
        styles = variants // len(SIZES)
        session.execute(
            insert(Product.__table__),
            [
                {
                    "brand_id": brand.id,
                    "style_code": f"style-{s:06d}",
                    "name": f"Bench style {s}",
                    "category": "tees",
                    "attributes": {},
                    "created_at": now,
                }
                for s in range(styles)
            ],
        )
        product_ids = dict(session.execute(select(Product.style_code, Product.id)).all())
        rows = []
        for s in range(styles):
            handle, colour = f"style-{s:06d}", COLOURS[s % len(COLOURS)]
            for size in SIZES:
                i = len(rows)
                rows.append(
                    {
                        "product_id": product_ids[handle],
                        "brand_id": brand.id,
                        "sku": f"BENCH-{handle.upper()}-{colour.upper()}-{size}",
                        "colour": colour,
                        "size": size,
                        "size_system": "alpha",
                        "size_rank": SIZES.index(size) * 10 + 10,
                        "price_cents": 2500,
                        "created_at": now,
                    }
                )
                catalogue.append((handle, f"Bench style {s}", size, colour, f"B{i:07d}"))
        session.execute(insert(Variant.__table__), rows)
        ids = list(session.scalars(select(Variant.id).order_by(Variant.id)))
        session.execute(
            insert(SkuAlias.__table__),
            [
                {"variant_id": v, "brand_id": brand.id, "kind": "shopify", "code": c[4]}
                for v, c in zip(ids, catalogue, strict=True)
            ],
        )
        rng = random.Random(3)
        balances = [
            (v, w, rng.randint(0, 20)) for v in ids for w in warehouse_ids
        ]
        session.execute(
            insert(StockBalance.__table__),
            [
                {"variant_id": v, "warehouse_id": w, "on_hand": q, "reserved": 0, "incoming": 0,
                 "updated_at": now}
                for v, w, q in balances
            ],
        )
        session.execute(
            insert(LedgerEntry.__table__),
            [
                {"variant_id": v, "warehouse_id": w, "on_hand_delta": q, "reserved_delta": 0,
                 "incoming_delta": 0, "reason": "receipt", "actor": "bench", "created_at": now}
                for v, w, q in balances
            ],
        )
    return catalogue


def feed(catalogue: list[tuple[str, str, str, str, str]], seed: int) -> bytes:
    """A Shopify inventory export: one row per variant per location, new counts 0–40."""
    rng = random.Random(seed)
    columns: dict[str, list] = {name: [] for name in (
        "Handle", "Title", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
        "SKU", "Location", "Available", "On hand")}
    for handle, title, size, colour, alias in catalogue:
        for _code, name in WAREHOUSES:
            qty = rng.randint(0, 40)
            for key, value in (("Handle", handle), ("Title", title), ("Option1 Name", "Size"),
                               ("Option1 Value", size), ("Option2 Name", "Color"),
                               ("Option2 Value", colour), ("SKU", alias), ("Location", name),
                               ("Available", qty), ("On hand", qty)):
                columns[key].append(value)
    buffer = io.BytesIO()
    pl.DataFrame(columns).write_csv(buffer)
    return buffer.getvalue()


_RAW_UPSERT_PG = """
WITH src AS (
    SELECT a.variant_id, w.id AS warehouse_id, t.on_hand, COALESCE(b.on_hand, 0) AS old
    FROM raw_feed t
    JOIN sku_alias a ON a.brand_id = %(brand)s AND a.code = t.sku
    JOIN warehouse w ON w.name = t.location
    LEFT JOIN stock_balance b ON b.variant_id = a.variant_id AND b.warehouse_id = w.id
    WHERE t.on_hand <> COALESCE(b.on_hand, 0)
), up AS (
    INSERT INTO stock_balance (variant_id, warehouse_id, on_hand, reserved, incoming, updated_at)
    SELECT variant_id, warehouse_id, on_hand, 0, 0, now() FROM src
    ON CONFLICT (variant_id, warehouse_id)
    DO UPDATE SET on_hand = excluded.on_hand, updated_at = excluded.updated_at
    RETURNING variant_id
)
INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, reserved_delta,
                          incoming_delta, reason, reference, actor, created_at)
SELECT variant_id, warehouse_id, on_hand - old, 0, 0, 'import', 'raw', 'bench', now() FROM src
"""

_RAW_SRC_SQLITE = """
CREATE TEMP TABLE raw_src AS
SELECT a.variant_id, w.id AS warehouse_id, t.on_hand, COALESCE(b.on_hand, 0) AS old
FROM raw_feed t
JOIN sku_alias a ON a.brand_id = ? AND a.code = t.sku
JOIN warehouse w ON w.name = t.location
LEFT JOIN stock_balance b ON b.variant_id = a.variant_id AND b.warehouse_id = w.id
WHERE t.on_hand <> COALESCE(b.on_hand, 0)
"""


def raw_baseline(engine: Engine, data: bytes, brand_id: int) -> tuple[float, int]:
    """polars read → temp table → one upsert + ledger rows; (seconds, balances changed)."""
    started = time.perf_counter()
    frame = pl.read_csv(data, columns=["SKU", "Location", "On hand"],
                        schema_overrides={"SKU": pl.Utf8, "Location": pl.Utf8,
                                          "On hand": pl.Int64})
    connection = engine.raw_connection()
    try:
        cur = connection.cursor()
        if engine.dialect.name == "postgresql":
            cur.execute("CREATE TEMP TABLE raw_feed (sku text, location text, on_hand int) "
                        "ON COMMIT DROP")
            with cur.copy("COPY raw_feed (sku, location, on_hand) FROM STDIN") as copy:
                for row in frame.iter_rows():
                    copy.write_row(row)
            cur.execute(_RAW_UPSERT_PG, {"brand": brand_id})
            changed = cur.rowcount
        else:
            cur.execute("BEGIN IMMEDIATE")
            cur.execute("CREATE TEMP TABLE raw_feed (sku TEXT, location TEXT, on_hand INTEGER)")
            cur.executemany("INSERT INTO raw_feed VALUES (?, ?, ?)", frame.iter_rows())
            cur.execute(_RAW_SRC_SQLITE, (brand_id,))
            cur.execute(
                "INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, "
                "reserved_delta, incoming_delta, reason, reference, actor, created_at) "
                "SELECT variant_id, warehouse_id, on_hand - old, 0, 0, 'import', 'raw', 'bench', "
                "CURRENT_TIMESTAMP FROM raw_src"
            )
            changed = cur.rowcount
            cur.execute(
                "INSERT INTO stock_balance (variant_id, warehouse_id, on_hand, reserved, "
                "incoming, updated_at) SELECT variant_id, warehouse_id, on_hand, 0, 0, "
                "CURRENT_TIMESTAMP FROM raw_src WHERE true ON CONFLICT (variant_id, warehouse_id) "
                "DO UPDATE SET on_hand = excluded.on_hand, updated_at = excluded.updated_at"
            )
            cur.execute("DROP TABLE raw_feed")
            cur.execute("DROP TABLE raw_src")
        connection.commit()
    finally:
        connection.close()
    return time.perf_counter() - started, changed


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    variants = 5_000 if args.scale == "small" else 50_000
    engine = bench_engine(pool_size=4)
    started = time.perf_counter()
    catalogue = build(engine, variants)
    print(f"built {len(catalogue):,} variants × {len(WAREHOUSES)} warehouses with stock in "
          f"{time.perf_counter() - started:.1f} s ({engine.dialect.name})")
    ours_feed, raw_feed = feed(catalogue, seed=11), feed(catalogue, seed=12)
    rows = len(catalogue) * len(WAREHOUSES)
    options = ImportOptions(brand_code="BENCH", file_name="bench.csv", actor="bench")

    t = time.perf_counter()
    planned = dry_run(ours_feed, options, engine=engine)
    dry_seconds = time.perf_counter() - t
    assert planned.status == "dry_run" and not planned.errors, planned.message
    t = time.perf_counter()
    applied = apply_import(ours_feed, options, engine=engine)
    apply_seconds = time.perf_counter() - t
    assert applied.status == "applied", applied.message
    assert applied.counts.changed_balances == planned.counts.changed_balances

    with read_session(engine) as session:
        brand_id = session.scalar(text("SELECT id FROM brand WHERE code = 'BENCH'"))
    raw_seconds, raw_changed = raw_baseline(engine, raw_feed, brand_id)
    with read_session(engine) as session:
        drift = reconcile(session)
    assert drift == [], drift[:3]

    dry_rps, apply_rps, raw_rps = rows / dry_seconds, rows / apply_seconds, rows / raw_seconds
    print(f"feed: {rows:,} rows, {len(ours_feed) / 1e6:.1f} MB; ours changes "
          f"{applied.counts.changed_balances:,} balances, raw {raw_changed:,}")
    print(f"{'phase':<26} {'seconds':>8} {'rows/s':>10} {'vs raw':>7}")
    for name, seconds, rps in (
        ("dry run (read + plan)", dry_seconds, dry_rps),
        ("apply (read+plan+write)", apply_seconds, apply_rps),
        ("raw baseline", raw_seconds, raw_rps),
    ):
        print(f"{name:<26} {seconds:>8.2f} {rps:>10,.0f} {rps / raw_rps:>7.2f}")
    emit(
        {
            "bench": "import",
            "scale": args.scale,
            "database": engine.dialect.name,
            "rows": rows,
            "changed": applied.counts.changed_balances,
            "dry_run_rows_per_s": round(dry_rps),
            "apply_rows_per_s": round(apply_rps),
            "raw_rows_per_s": round(raw_rps),
            "dry_run_ratio": round(dry_rps / raw_rps, 3),
            "ratio": round(apply_rps / raw_rps, 3),
        }
    )


if __name__ == "__main__":
    main()
