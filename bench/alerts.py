"""Full alert scan over the seeded data set vs one hand-written low-stock query, same run.

Ours is `models.alerts.scan_alerts` in one transaction: low and out of stock for every
watched balance, broken size runs for every watched style-colour × warehouse, then
resolve / raise / reopen against the alert table. The baseline is ONE hand-written SQL
query that computes only the low-stock set (0 < available ≤ the most specific rule's
threshold) — the least any scan has to do. Both run in this process on the same data;
the bench checks that they agree on the low-stock set.

Rules (inserted for the bench): a default per brand at each distribution centre, store
rules (out of stock only) for every fifth brand, product rules (all warehouses and one
warehouse) and variant rules (all warehouses and one store), so every level of
inheritance is exercised. The seeded stock is thin (many balances of a few units), so
even these thresholds put a large share of balances in the inbox.

The first scan raises every alert (an empty inbox), with its `alert.raised` events; the
steady scans, each after 200 stock changes, are what the job does every few minutes.
Two ratios against the baseline (median of 3; the faster of the baseline with and
without its prefilter): `ratio_steady` (also `ratio`, the headline: aim ≤ 1.2) and
`ratio_first` (aim ≤ 3). The baseline only reads; for the record, `ratio_first_writes`
sets the first scan against a hand-written statement that also writes its alerts and
events (BASELINE_WRITE; no aim).

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/alerts.py [--scale small]

large: the large seed (200k variants × 8 warehouses = 1.6M balances, 5M sale lines);
small: the small seed (20k variants, 160k balances).
"""

from __future__ import annotations

import random
import statistics
import time

from _common import bench_engine, emit, parse_args
from sqlalchemy import Engine, func, insert, select, text

from jobs.seed import run_seed
from models.alerts import Alert, AlertRule, scan_alerts
from models.base import utcnow
from models.catalog import Brand, Product, Variant, Warehouse
from models.db import read_session, transaction
from models.stock import LedgerReason, StockBalance, adjust

SEED = 7
RUNS = 3

#: The rule slots of a balance `b` of variant `v`, most specific first: the LEFT JOINs
#: both hand-written baselines take its threshold from (COALESCE in this order).
RULE_SLOTS = """
    LEFT JOIN alert_rule vw ON vw.level = 'variant' AND vw.subject_id = v.id
                           AND vw.warehouse_id = b.warehouse_id
    LEFT JOIN alert_rule va ON va.level = 'variant' AND va.subject_id = v.id
                           AND va.warehouse_id IS NULL
    LEFT JOIN alert_rule pw ON pw.level = 'product' AND pw.subject_id = v.product_id
                           AND pw.warehouse_id = b.warehouse_id
    LEFT JOIN alert_rule pa ON pa.level = 'product' AND pa.subject_id = v.product_id
                           AND pa.warehouse_id IS NULL
    LEFT JOIN alert_rule bw ON bw.level = 'brand' AND bw.subject_id = v.brand_id
                           AND bw.warehouse_id = b.warehouse_id
    LEFT JOIN alert_rule ba ON ba.level = 'brand' AND ba.subject_id = v.brand_id
                           AND ba.warehouse_id IS NULL
"""
#: The hand-written baseline: one statement, the rule slots as LEFT JOINs, COALESCE in
#: order of specificity, and the obvious prefilter (nothing above the highest threshold).
BASELINE = text(
    f"""
    SELECT b.variant_id, b.warehouse_id
    FROM stock_balance b
    JOIN variant v ON v.id = b.variant_id
    {RULE_SLOTS}
    WHERE b.on_hand - b.reserved > 0
      AND b.on_hand - b.reserved <= (SELECT max(threshold) FROM alert_rule)
      AND b.on_hand - b.reserved <= COALESCE(vw.threshold, va.threshold, pw.threshold,
                                             pa.threshold, bw.threshold, ba.threshold)
    """
)
#: The same without the prefilter, for the record.
BASELINE_PLAIN = text(
    str(BASELINE).replace(
        "AND b.on_hand - b.reserved <= (SELECT max(threshold) FROM alert_rule)\n", ""
    )
)


#: A second hand-written baseline that also does the first scan's writes: ONE statement
#: computing low and out of stock as above (no prefilter on > 0), inserting them into a
#: copy of `alert` (its indexes and checks) and an `alert.raised` event per row into a
#: copy of `event` (json_build_object payload), in a transaction that is rolled back.
#: It leaves out broken size runs (~9% of the first scan's alerts), so it is the
#: smaller job; `ratio_first_writes` = first scan / this.
WRITE_TABLES = (
    "CREATE TABLE bench_alert (LIKE alert INCLUDING ALL)",
    "CREATE TABLE bench_event (LIKE event INCLUDING ALL)",
)
BASELINE_WRITE = text(
    f"""
    WITH cond AS (
        SELECT CASE WHEN b.on_hand - b.reserved <= 0 THEN 'out_of_stock' ELSE 'low_stock' END
                 AS kind,
               v.brand_id, v.product_id, b.variant_id, v.colour, b.warehouse_id,
               COALESCE(vw.id, va.id, pw.id, pa.id, bw.id, ba.id) AS rule_id,
               b.on_hand - b.reserved AS available,
               COALESCE(vw.threshold, va.threshold, pw.threshold, pa.threshold,
                        bw.threshold, ba.threshold) AS threshold
        FROM stock_balance b
        JOIN variant v ON v.id = b.variant_id
        {RULE_SLOTS}
        WHERE b.on_hand - b.reserved <= (SELECT max(threshold) FROM alert_rule)
          AND b.on_hand - b.reserved <= COALESCE(vw.threshold, va.threshold, pw.threshold,
                                                 pa.threshold, bw.threshold, ba.threshold)
    ), raised AS (
        INSERT INTO bench_alert (subject_key, kind, brand_id, product_id, variant_id, colour,
                                 warehouse_id, rule_id, available, threshold, status, raised_at)
        SELECT 'w' || warehouse_id || '\\:v' || variant_id, kind, brand_id, product_id,
               variant_id, colour, warehouse_id, rule_id, available, threshold, 'open', now()
        FROM cond
        RETURNING *
    ), events AS (
        INSERT INTO bench_event (type, occurred_at, brand_id, order_key, data)
        SELECT 'alert.raised', now(), r.brand_id, 'alert:' || r.id,
               json_build_object('alert_id', r.id, 'kind', r.kind, 'status', r.status,
                                 'brand', br.code, 'style_code', p.style_code,
                                 'colour', r.colour, 'sku', v.sku, 'size', v.size,
                                 'warehouse', w.code, 'available', r.available,
                                 'threshold', r.threshold, 'at', now()::text)
        FROM raised r
        JOIN brand br ON br.id = r.brand_id
        JOIN product p ON p.id = r.product_id
        JOIN warehouse w ON w.id = r.warehouse_id
        JOIN variant v ON v.id = r.variant_id
    )
    SELECT count(*) FROM raised
    """
)


def make_rules(engine: Engine) -> int:
    """Rules at every level, deterministically spread over the catalogue."""
    now = utcnow()
    with transaction(engine) as session:
        brands = list(session.scalars(select(Brand.id).order_by(Brand.id)))
        places = dict(session.execute(select(Warehouse.code, Warehouse.id)).all())
        stores = [w for code, w in places.items() if code.startswith("ST-")]
        centres = [w for code, w in places.items() if not code.startswith("ST-")]
        main = places.get("WH-AMS", min(places.values()))
        london = places.get("ST-LDN", stores[0] if stores else main)
        products = list(session.scalars(select(Product.id).order_by(Product.id)))
        variants = list(session.scalars(select(Variant.id).order_by(Variant.id)))
        rows = []

        def rule(level, subject, warehouse, threshold, reorder=0):
            rows.append(
                {
                    "level": level,
                    "subject_id": subject,
                    "warehouse_id": warehouse,
                    "threshold": threshold,
                    "reorder_qty": reorder,
                    "lead_time_days": 14,
                    "target_cover_days": 28,
                    "updated_by": "bench",
                    "created_at": now,
                    "updated_at": now,
                }
            )

        # Brand defaults at the distribution centres; stores watched (out of stock
        # only) for every fifth brand; overrides for some styles and SKUs.
        for i, brand in enumerate(brands):
            for place in centres:
                rule("brand", brand, place, 2, 6)
            if i % 5 == 0:
                for store in stores:
                    rule("brand", brand, store, 0)
        for product in products[::50]:
            rule("product", product, None, 4, 12)
        for product in products[25::100]:
            rule("product", product, main, 6)
        for variant in variants[::200]:
            rule("variant", variant, None, 0)
        for variant in variants[100::500]:
            rule("variant", variant, london, 2)
        session.execute(insert(AlertRule.__table__), rows)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE alert_rule"))
            conn.commit()
    return len(rows)


def timed_scan(engine: Engine):
    started = time.perf_counter()
    with transaction(engine) as session:
        changes = scan_alerts(session)
    return time.perf_counter() - started, changes


def timed_baseline(engine: Engine, query=BASELINE) -> tuple[float, set[tuple[int, int]]]:
    started = time.perf_counter()
    with read_session(engine) as session:
        rows = session.execute(query).all()
    return time.perf_counter() - started, {(r[0], r[1]) for r in rows}


def timed_baseline_write(engine: Engine) -> tuple[float, int]:
    """BASELINE_WRITE into fresh copies of the tables, rolled back (so nothing is left)."""
    with engine.connect() as conn:
        for statement in WRITE_TABLES:
            conn.execute(text(statement))
        started = time.perf_counter()
        written = conn.execute(BASELINE_WRITE).scalar_one()
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds, written


def churn(engine: Engine, balances: list[tuple[int, int]], rng: random.Random, n: int = 200):
    """`n` stock corrections on random balances (as merchandisers would make them)."""
    with transaction(engine) as session:
        for variant_id, warehouse_id in sorted(rng.sample(balances, n)):
            on_hand = session.scalar(
                select(StockBalance.on_hand - StockBalance.reserved).where(
                    StockBalance.variant_id == variant_id,
                    StockBalance.warehouse_id == warehouse_id,
                )
            )
            delta = -min(on_hand, rng.randint(1, 4)) if on_hand and rng.random() < 0.7 else 3
            if delta:
                adjust(
                    session,
                    variant_id,
                    warehouse_id,
                    delta,
                    reason=LedgerReason.COUNT,
                    actor="bench",
                )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    engine = bench_engine(pool_size=4)
    if engine.dialect.name != "postgresql":
        print("note: this benchmark is meant for PostgreSQL; running on", engine.dialect.name)
    started = time.perf_counter()
    run_seed(scale=args.scale, seed=SEED, if_empty=False, report=False, echo=print, engine=engine)
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    rules = make_rules(engine)
    with read_session(engine) as session:
        balances = [
            tuple(r)
            for r in session.execute(select(StockBalance.variant_id, StockBalance.warehouse_id))
        ]
    print(f"{len(balances):,} balances, {rules:,} rules")

    first, first_changes = timed_scan(engine)
    print(f"first scan (empty inbox): {first:.2f} s, {first_changes.raised:,} alerts raised")
    rng = random.Random(SEED)
    scans, baselines, plain = [], [], []
    for _ in range(RUNS):
        churn(engine, balances, rng)
        seconds, changes = timed_scan(engine)
        scans.append(seconds)
        print(
            f"steady scan: {seconds:.2f} s ({changes.raised} raised, {changes.resolved} resolved)"
        )
        seconds, low = timed_baseline(engine)
        baselines.append(seconds)
        plain.append(timed_baseline(engine, BASELINE_PLAIN)[0])
    writes = []
    if engine.dialect.name == "postgresql":
        for _ in range(RUNS):
            seconds, written = timed_baseline_write(engine)
            writes.append(seconds)
    with read_session(engine) as session:
        ours = {
            (r[0], r[1])
            for r in session.execute(
                select(Alert.variant_id, Alert.warehouse_id).where(
                    Alert.kind == "low_stock", Alert.status != "resolved"
                )
            )
        }
        counts = dict(
            session.execute(
                select(Alert.kind, func.count())
                .where(Alert.status != "resolved")
                .group_by(Alert.kind)
            ).all()
        )
    agree = ours == low
    scan = statistics.median(scans)
    # The ratio is taken against the faster of the two hand-written forms.
    baseline = min(statistics.median(baselines), statistics.median(plain))
    ratio = scan / baseline
    print(f"open alerts by kind: {counts}")
    print(f"low-stock set: scan {len(ours):,}, baseline {len(low):,}, identical: {agree}")
    print(f"{'':<34} {'seconds':>8}")
    print(f"{'full scan, first (empty inbox)':<34} {first:>8.3f}")
    print(f"{'full scan, steady (median)':<34} {scan:>8.3f}")
    print(f"{'baseline low-stock query':<34} {statistics.median(baselines):>8.3f}")
    print(f"{'baseline without prefilter':<34} {statistics.median(plain):>8.3f}")
    write = statistics.median(writes) if writes else None
    if write:
        print(f"{'baseline with the writes':<34} {write:>8.3f}  ({written:,} alerts + events)")
    print(f"ratio steady (steady scan / faster baseline): {ratio:.2f}x (aim <= 1.2)")
    print(f"ratio first (first scan / faster baseline):   {first / baseline:.2f}x (aim <= 3)")
    if write:
        print(f"first scan / baseline with the writes:        {first / write:.2f}x (no aim)")
    if not agree:
        raise SystemExit("the scan and the baseline disagree on the low-stock set")
    emit(
        {
            "bench": "alerts",
            "scale": args.scale,
            "database": engine.dialect.name,
            "balances": len(balances),
            "rules": rules,
            "alerts_open": sum(counts.values()),
            "low_stock": len(ours),
            "scan_first_s": round(first, 3),
            "scan_s": round(scan, 3),
            "baseline_s": round(statistics.median(baselines), 3),
            "baseline_plain_s": round(statistics.median(plain), 3),
            "baseline_write_s": round(write, 3) if write else None,
            "ratio_first": round(first / baseline, 3),
            "ratio_first_writes": round(first / write, 3) if write else None,
            "ratio_steady": round(ratio, 3),
            "ratio": round(ratio, 3),
        }
    )


if __name__ == "__main__":
    main()
