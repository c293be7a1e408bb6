"""Stock grid page time (p50/p95) through models.grid vs hand-written SQL, in the same run.

Ours is `models.grid.balance_grid` / `size_run_grid` in a `read_session`: the filter's
validation, its statements (warehouses, counts, the page's keys, then the page's facts
and balances) and the rows built for the UI. The baseline is the same page written by
hand: plain SQL text over one psycopg connection, the same statements a person would
write for these filters, rows built as plain tuples and dicts. Both return the same
rows (checked on every call); they alternate call by call so that load on the machine
hits both alike.

The typical filters: one brand; a text search (style code, product word, SKU
fragment, brand alias, barcode); low stock only; sort by available (both ways). Each
is timed for the balances view and the size-run view, over several brands, terms and
pages. `ratio_catalogue` is the worst whole-catalogue page (low stock, sort by
available) over the one-brand page, ours, same view and run (issue 16: ≤ 10). The
browser's time to show a page after a filter change is measured by the end-to-end
suite (Playwright), not here.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/grid.py [--scale small]

The bench seeds the database itself: `rackroom seed` at the large scale (200k
variants × 8 warehouses = 1.6M balances) by default, its small scale (20k variants)
with --scale small; then VACUUM ANALYZE, as autovacuum would have done.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _common import bench_engine, emit, parse_args
from sqlalchemy import Engine

from jobs.seed import run_seed
from models.db import read_session
from models.grid import (
    LOW_STOCK_THRESHOLD,
    SIZE_SYSTEM_ORDER,
    GridFilter,
    balance_grid,
    escape_like,
    is_broken_size_run,
    size_run_grid,
)

SEED = 11
PAGE_SIZE = 50

# --- the baseline: hand-written SQL ---------------------------------------------------------

WAREHOUSES = "SELECT id, code, name FROM warehouse WHERE is_active ORDER BY priority, code"
DETAILS = """
SELECT v.id, v.product_id, v.sku, br.code, p.name, p.style_code, p.category, v.colour,
       v.size, v.size_system, v.barcode, b.warehouse_id, b.on_hand, b.reserved, b.incoming
FROM variant v
JOIN product p ON p.id = v.product_id
JOIN brand br ON br.id = v.brand_id
LEFT JOIN stock_balance b ON b.variant_id = v.id
WHERE v.id = ANY(%s)
"""
SEARCH = """
SELECT id, product_id, sku, colour FROM variant
 WHERE sku ILIKE %(p)s OR barcode ILIKE %(p)s
UNION
SELECT v.id, v.product_id, v.sku, v.colour FROM variant v
  JOIN sku_alias a ON a.variant_id = v.id WHERE a.code ILIKE %(p)s
UNION
SELECT id, product_id, sku, colour FROM variant
 WHERE product_id = ANY(ARRAY(
   SELECT id FROM product WHERE name ILIKE %(p)s OR style_code ILIKE %(p)s))
"""
LOW = """
SELECT variant_id FROM stock_balance GROUP BY variant_id
HAVING sum(on_hand - reserved) BETWEEN 1 AND %(low)s
"""
TOTALS = "SELECT variant_id, sum(on_hand - reserved) AS available FROM stock_balance GROUP BY 1"

BALANCE_PAGES = {
    "brand": (
        "SELECT count(*) FROM variant WHERE brand_id = %(brand)s",
        "SELECT id FROM variant WHERE brand_id = %(brand)s ORDER BY sku LIMIT %(limit)s"
        " OFFSET %(offset)s",
    ),
    "search": (
        None,
        f"SELECT id, count(*) OVER () FROM ({SEARCH}) m ORDER BY sku LIMIT %(limit)s"
        " OFFSET %(offset)s",
    ),
    "low": (
        None,
        f"SELECT v.id, count(*) OVER () FROM variant v JOIN ({LOW}) low ON low.variant_id = v.id"
        " ORDER BY v.sku LIMIT %(limit)s OFFSET %(offset)s",
    ),
    "available": (
        "SELECT count(*) FROM variant",
        f"SELECT v.id FROM variant v LEFT JOIN ({TOTALS}) t ON t.variant_id = v.id"
        " ORDER BY coalesce(t.available, 0) {direction}, v.sku {tie} LIMIT %(limit)s"
        " OFFSET %(offset)s",
    ),
}
RUN_CELLS = """
SELECT v.product_id, v.colour, v.size, v.size_system, v.size_rank, br.code, p.name,
       p.style_code, p.category,
       (SELECT coalesce(sum(b.on_hand - b.reserved), 0) FROM stock_balance b
         WHERE b.variant_id = v.id)
FROM variant v
JOIN product p ON p.id = v.product_id
JOIN brand br ON br.id = v.brand_id
WHERE v.product_id = ANY(%s) AND v.colour = ANY(%s)
"""
RUN_PAGES = {
    "brand": (
        "SELECT count(*) FROM (SELECT 1 FROM variant WHERE brand_id = %(brand)s"
        " GROUP BY product_id, colour) runs",
        "SELECT product_id, colour FROM variant WHERE brand_id = %(brand)s"
        " GROUP BY product_id, colour ORDER BY min(sku) LIMIT %(limit)s OFFSET %(offset)s",
    ),
    "search": (
        None,
        "SELECT product_id, colour, count(*) OVER () FROM variant"
        f" WHERE (product_id, colour) IN (SELECT product_id, colour FROM ({SEARCH}) m)"
        " GROUP BY product_id, colour ORDER BY min(sku) LIMIT %(limit)s OFFSET %(offset)s",
    ),
    "low": (
        None,
        "SELECT product_id, colour, count(*) OVER () FROM variant"
        " WHERE (product_id, colour) IN (SELECT v.product_id, v.colour FROM variant v"
        f" JOIN ({LOW}) low ON low.variant_id = v.id)"
        " GROUP BY product_id, colour ORDER BY min(sku) LIMIT %(limit)s OFFSET %(offset)s",
    ),
    "available": (
        "SELECT count(*) FROM (SELECT 1 FROM variant GROUP BY product_id, colour) runs",
        f"SELECT v.product_id, v.colour FROM variant v LEFT JOIN ({TOTALS}) t"
        " ON t.variant_id = v.id GROUP BY v.product_id, v.colour"
        " ORDER BY coalesce(sum(t.available), 0) {direction}, min(v.sku) {tie}"
        " LIMIT %(limit)s OFFSET %(offset)s",
    ),
}


def _statement(template: str, case: Case) -> str:
    if case.kind != "available":
        return template
    direction = "DESC" if case.descending else "ASC"
    # Ties break by SKU ascending, whichever way the quantity goes (as models.grid does).
    return template.replace("{direction}", direction).replace("{tie}", "ASC")


def _keys_and_total(cur: Any, count_sql: str | None, page_sql: str, case: Case) -> tuple:
    params = case.params()
    total = None
    if count_sql is not None:
        cur.execute(count_sql, params)
        total = cur.fetchone()[0]
    cur.execute(_statement(page_sql, case), params)
    rows = cur.fetchall()
    if count_sql is None:
        total = rows[0][-1] if rows else 0  # page 1..3 of these filters always has rows
        rows = [row[:-1] for row in rows]
    return rows, total


def _no_jit(cur: Any, case: Case) -> None:
    """Stock aggregates: JIT compiling costs more than it saves (models.grid does the same)."""
    if case.kind in ("low", "available"):
        cur.execute("SET LOCAL jit = off")


def raw_balances(conn: Any, case: Case) -> tuple[list[str], int]:
    with conn.cursor() as cur:
        _no_jit(cur, case)
        cur.execute(WAREHOUSES)
        warehouses = cur.fetchall()
        count_sql, page_sql = BALANCE_PAGES[case.kind]
        keys, total = _keys_and_total(cur, count_sql, page_sql, case)
        ids = [key[0] for key in keys]
        cur.execute(DETAILS, (ids,))
        facts: dict[int, tuple] = {}
        stock: dict[int, dict[int, tuple[int, int, int]]] = {}
        for row in cur.fetchall():
            facts.setdefault(row[0], row[:11])
            if row[11] is not None:
                stock.setdefault(row[0], {})[row[11]] = row[12:15]
    conn.rollback()
    rows = []
    for variant_id in ids:
        held = stock.get(variant_id, {})
        cells = [held.get(w[0], (0, 0, 0)) for w in warehouses]
        on_hand, reserved, incoming = (sum(c[n] for c in cells) for n in range(3))
        rows.append((facts[variant_id], cells, on_hand, reserved, on_hand - reserved, incoming))
    return [row[0][2] for row in rows], total


def raw_size_runs(conn: Any, case: Case) -> tuple[list[tuple[int, str]], int]:
    with conn.cursor() as cur:
        _no_jit(cur, case)
        cur.execute(WAREHOUSES)
        cur.fetchall()
        count_sql, page_sql = RUN_PAGES[case.kind]
        keys, total = _keys_and_total(cur, count_sql, page_sql, case)
        keys = [(pid, colour) for pid, colour in keys]
        cur.execute(RUN_CELLS, (sorted({k[0] for k in keys}), sorted({k[1] for k in keys})))
        found = cur.fetchall()
    conn.rollback()
    wanted = set(keys)
    runs: dict[tuple[int, str], list] = {key: [] for key in keys}
    facts = {}
    for pid, colour, size, system, rank, *fact, units in found:
        if (pid, colour) in wanted:
            runs[pid, colour].append((size, system, rank, units))
            facts[pid, colour] = fact
    order = {}
    for cells in runs.values():
        for label, system, rank, _units in cells:
            order.setdefault(label, (SIZE_SYSTEM_ORDER.get(system, 99), rank, label))
    sizes = sorted(order, key=order.__getitem__)
    rows = []
    for key in keys:
        held = {label: units for label, _s, _r, units in runs[key]}
        rows.append(
            (key, facts[key], [held.get(size) for size in sizes], is_broken_size_run(runs[key]))
        )
    return keys, total


# --- the cases -------------------------------------------------------------------------------


class Case:
    """One page request: a typical filter with its brand, term or direction, and a page."""

    def __init__(
        self, kind: str, page: int, *, brand: int = 0, term: str = "", descending: bool = False
    ) -> None:
        self.kind, self.page, self.brand, self.term = kind, page, brand, term
        self.descending = descending

    def grid_filter(self) -> GridFilter:
        return GridFilter(
            brand_ids=(self.brand,) if self.kind == "brand" else (),
            search=self.term,
            stock_state="low" if self.kind == "low" else "all",
            sort="available" if self.kind == "available" else "sku",
            direction="desc" if self.descending else "asc",
            page=self.page,
            page_size=PAGE_SIZE,
        )

    def params(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "p": f"%{escape_like(self.term)}%",
            "low": LOW_STOCK_THRESHOLD,
            "limit": PAGE_SIZE,
            "offset": (self.page - 1) * PAGE_SIZE,
        }

    def __str__(self) -> str:
        detail = self.term or (f"brand {self.brand}" if self.brand else "")
        if self.kind == "available":
            detail = "desc" if self.descending else "asc"
        return f"{self.kind} {detail} p{self.page}".replace("  ", " ")


def cases(engine: Engine, reps: int) -> dict[str, list[Case]]:
    """`reps` pages per filter; three times as many of the cheap ones, which are noisier."""
    with engine.connect() as conn:
        brands = [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT brand_id FROM variant GROUP BY brand_id ORDER BY count(*) DESC, brand_id"
            )
        ]
        style = conn.exec_driver_sql("SELECT style_code FROM product ORDER BY id LIMIT 1 OFFSET 7")
        sku = conn.exec_driver_sql("SELECT sku FROM variant ORDER BY id LIMIT 1 OFFSET 4321")
        alias = conn.exec_driver_sql("SELECT code FROM sku_alias ORDER BY id LIMIT 1 OFFSET 99")
        barcode = conn.exec_driver_sql("SELECT barcode FROM variant ORDER BY id LIMIT 1 OFFSET 999")
        terms = [
            style.scalar_one(),
            "oxford",
            sku.scalar_one()[:-4],
            alias.scalar_one()[:-3],
            barcode.scalar_one(),
            "chelsea",
        ]
    pages = [1, 1, 2, 1, 3]
    return {
        "brand": [
            Case("brand", pages[i % 5], brand=brands[(i * 7) % len(brands)])
            for i in range(3 * reps)
        ],
        "search": [Case("search", 1, term=terms[i % len(terms)]) for i in range(3 * reps)],
        "low": [Case("low", pages[i % 5]) for i in range(reps)],
        "available": [Case("available", pages[i % 5], descending=i % 2 == 0) for i in range(reps)],
    }


# --- measuring -------------------------------------------------------------------------------


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def ours_balances(engine: Engine, case: Case) -> tuple[list[str], int]:
    with read_session(engine) as session:
        page = balance_grid(session, case.grid_filter())
    return [row.sku for row in page.rows], page.total_rows


def ours_size_runs(engine: Engine, case: Case) -> tuple[list[tuple[int, str]], int]:
    with read_session(engine) as session:
        page = size_run_grid(session, case.grid_filter())
    return [(row.product_id, row.colour) for row in page.rows], page.total_rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    engine = bench_engine(pool_size=2)
    if engine.dialect.name != "postgresql":
        sys.exit("bench/grid.py measures PostgreSQL: set DATABASE_URL to an empty PostgreSQL db.")
    scale = "large" if args.scale == "large" else "small"
    reps = 20 if scale == "large" else 10
    started = time.perf_counter()
    run_seed(scale=scale, seed=SEED, if_empty=False, report=False, echo=print, engine=engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE variant, product, sku_alias, stock_balance, brand")
        settings = {
            name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
            for name in ("random_page_cost", "jit", "shared_buffers", "work_mem")
        }
    print(
        f"data ready in {time.perf_counter() - started:.0f} s; PostgreSQL "
        + ", ".join(f"{k}={v}" for k, v in settings.items())
    )

    raw = engine.raw_connection()
    conn = raw.driver_connection
    views = {
        "balances": (ours_balances, raw_balances),
        "size_run": (ours_size_runs, raw_size_runs),
    }
    result: dict[str, Any] = {
        "bench": "grid",
        "scale": scale,
        "database": "postgresql",
        "page_size": PAGE_SIZE,
        "reps": reps,
    }
    ratios = []
    print(
        f"{'view':<9} {'filter':<10} {'ours p50':>9} {'p95':>8} {'raw p50':>9} {'p95':>8}"
        f" {'ratio':>6}   (ms; {3 * reps} pages each for brand and search, {reps} for the rest)"
    )
    for kind, filter_cases in cases(engine, reps).items():
        for view, (ours, baseline) in views.items():
            for case in filter_cases[:2]:  # warm the caches and the statement cache
                ours(engine, case)
                baseline(conn, case)
            ours_ms, raw_ms = [], []
            for n, case in enumerate(filter_cases):
                pair = [
                    ("ours", lambda c=case, fetch=ours: fetch(engine, c)),
                    ("raw", lambda c=case, fetch=baseline: fetch(conn, c)),
                ]
                if n % 2:
                    pair.reverse()
                results = {}
                for name, call in pair:
                    ms, results[name] = timed(call)
                    (ours_ms if name == "ours" else raw_ms).append(ms)
                if results["ours"] != results["raw"]:
                    sys.exit(
                        f"{view} {case}: ours and the baseline differ:\n"
                        f"  ours {results['ours']}\n  raw  {results['raw']}"
                    )
            o50, o95 = statistics.median(ours_ms), percentile(ours_ms, 0.95)
            r50, r95 = statistics.median(raw_ms), percentile(raw_ms, 0.95)
            ratio = o50 / r50
            ratios.append(ratio)
            print(
                f"{view:<9} {kind:<10} {o50:>9.1f} {o95:>8.1f} {r50:>9.1f} {r95:>8.1f}"
                f" {ratio:>6.2f}"
            )
            key = f"{view}_{kind}"
            result |= {
                f"{key}_ours_p50": round(o50, 1),
                f"{key}_ours_p95": round(o95, 1),
                f"{key}_raw_p50": round(r50, 1),
                f"{key}_raw_p95": round(r95, 1),
                f"{key}_ratio": round(ratio, 3),
            }
    raw.close()
    overall = math.exp(statistics.fmean(math.log(r) for r in ratios))
    print(
        f"overall ratio (geometric mean of the p50 ratios): {overall:.2f}; worst {max(ratios):.2f}"
    )
    result["ratio"] = round(overall, 3)
    result["worst_ratio"] = round(max(ratios), 3)
    # Issue 16's aim for the whole catalogue: its low-stock and sort-by-available pages
    # within 10x the one-brand page of the same view, same run (ours, p50).
    catalogue = {
        f"{view}_{kind}": result[f"{view}_{kind}_ours_p50"] / result[f"{view}_brand_ours_p50"]
        for view in views
        for kind in ("low", "available")
    }
    for key, ratio in catalogue.items():
        print(f"{key} p50 / one-brand p50: {ratio:.2f} (aim <= 10)")
    result["ratio_catalogue"] = round(max(catalogue.values()), 3)
    emit(result)


if __name__ == "__main__":
    main()
