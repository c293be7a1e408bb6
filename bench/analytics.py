"""Analytics as a manager's filter change pays it, vs the same sums written directly in polars.

Seeds the `--scale` dataset (large: 5M sale lines) into DATABASE_URL (a migrated, empty
PostgreSQL database), then measures:

* cold start: loading the sale lines, balances, receipts and catalogue into memory,
  through ADBC and through COPY→CSV (and a cursor at small scale);
* publishing: the leader writing the frames as Arrow IPC files (`jobs.analytics.shared`,
  into a temporary folder), and a second process started afresh beside the ticking
  leader (interpreter, imports and engine; then mapping the files, catching up, one
  chart: ready): wall time from the spawn, and the private memory it holds (the frames
  stay in the shared page cache);
* ours: `AnalyticsData.frames()` of a reader on the shared files, checking for changes
  on every call here (max_staleness=0) while the leader refreshes every second as the
  scheduler's job does (`AnalyticsData.lead`, in a thread here), plus `sales_velocity`,
  `weeks_of_cover` and `size_curve` with labels and sorting, for the biggest brand and
  for all brands;
* raw: the same results (same rows, labels and order; checked equal) written directly
  in polars on frames loaded in this process's memory, in this run, so the ratio is what
  our layer costs (the refresh check, the mapped files, filter scoping, grouping);
* for reference, the velocity as a PostgreSQL GROUP BY per filter change.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/analytics.py [--scale small]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from _common import bench_engine, emit, parse_args
from sqlalchemy import func, select, text

from jobs.analytics import metrics as m
from jobs.analytics.frames import AnalyticsData
from jobs.analytics.shared import TICK_EVERY, FrameStore
from jobs.seed import run_seed
from models.db import read_session
from models.reservations import SaleLine

RUNS = 9

#: The second process: from its first line to mapped frames and one chart computed.
#: A web worker has its database engine (and so its driver imported) from startup, as
#: it serves any page: creating the engine counts with the imports, reported apart
#: (`engine_s`; psycopg's import is most of it, up to 2 s on a loaded machine where
#: PYTHONDONTWRITEBYTECODE makes every import compile). Ready = from there, with no
#: connection open yet, to mapped frames caught up and one chart.
SECOND_PROCESS = """
import json, sys, time
began = time.perf_counter()
from datetime import date
from pathlib import Path
from jobs.analytics import metrics as m
from jobs.analytics.frames import AnalyticsData
from jobs.analytics.shared import FrameStore
from models.db import create_db_engine
engine_began = time.perf_counter()
engine = create_db_engine(sys.argv[1])
imported = time.perf_counter()
data = AnalyticsData(engine, store=FrameStore.for_engine(engine, Path(sys.argv[2])))
frames = data.frames()
mapped = time.perf_counter()
m.sales_velocity(frames, m.Filters(brand_id=int(sys.argv[3]), end=date.today()),
                 brand_scope=None)
done = time.perf_counter()
memory = {}
for line in open("/proc/self/status"):
    if line.startswith(("RssAnon", "RssFile")):
        memory[line.split(":")[0]] = int(line.split()[1]) / 1024
print(json.dumps({"imports_s": imported - began, "engine_s": imported - engine_began,
                  "map_s": mapped - imported,
                  "chart_s": done - mapped, "adopted": data._version is not None,
                  "private_mb": memory["RssAnon"], "file_mb": memory["RssFile"]}))
"""


def second_process(url: str, root: str, brand_id: int) -> tuple[float, dict]:
    """Wall seconds from spawning a fresh interpreter to its first chart, and its report."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SECOND_PROCESS, url, root, str(brand_id)],
                          check=True, capture_output=True, text=True)
    return time.perf_counter() - began, json.loads(done.stdout.strip().splitlines()[-1])


def timed(work, runs: int = RUNS) -> float:
    """Median milliseconds of `runs` calls, after one warm-up call."""
    work()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def timed_pair(ours, raw, runs: int = RUNS) -> tuple[float, float]:
    """Median milliseconds of `runs` calls of each, taken in turns (a busy moment of the
    machine then falls on both sides alike), after one warm-up call of each."""
    ours(), raw()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for side, work in zip(samples, (ours, raw), strict=True):
            began = time.perf_counter()
            work()
            side.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


# --- the same results, written directly in polars on the in-memory frames --------------

VARIANT_COLUMNS = ["variant_id", "sku", "brand", "style_code", "product", "colour", "size"]


def raw_velocity(fr, brand_id: int | None, until: datetime) -> pl.DataFrame:
    lf = fr.sales.lazy().filter(pl.col("sold_at") >= until - timedelta(days=90),
                                pl.col("sold_at") < until)
    if brand_id is not None:
        lf = lf.filter(pl.col("brand_id") == brand_id)
    windows = (7, 28, 90)
    sums = lf.group_by("variant_id").agg(
        pl.col("qty").filter(pl.col("sold_at") >= until - timedelta(days=n)).sum()
        .cast(pl.Int64).alias(f"units_{n}d")
        for n in windows
    ).with_columns((pl.col(f"units_{n}d") / n).alias(f"per_day_{n}d") for n in windows)
    return (
        sums.collect()
        .join(fr.variant_labels, on="variant_id", how="left")
        .select(*VARIANT_COLUMNS, *(c for n in windows for c in (f"units_{n}d",
                                                                 f"per_day_{n}d")))
        .sort(["units_28d", "variant_id"], descending=[True, False], nulls_last=True)
    )


def raw_cover(fr, brand_id: int | None, until: datetime) -> pl.DataFrame:
    sales = fr.sales.lazy().filter(pl.col("sold_at") >= until - timedelta(days=28),
                                   pl.col("sold_at") < until)
    stock = fr.stock.lazy()
    if brand_id is not None:
        sales = sales.filter(pl.col("brand_id") == brand_id)
        stock = stock.filter(pl.col("brand_id") == brand_id)
    sold = sales.group_by("variant_id").agg(units_sold=pl.col("qty").sum().cast(pl.Int64))
    available = stock.group_by("variant_id").agg(
        available=(pl.col("on_hand") - pl.col("reserved")).sum().cast(pl.Int64)
    )
    table = (
        available.join(sold, on="variant_id", how="full", coalesce=True)
        .with_columns(pl.col("available", "units_sold").fill_null(0))
        .filter((pl.col("available") != 0) | (pl.col("units_sold") != 0))
        .with_columns(weekly_velocity=pl.col("units_sold") / 28 * 7)
        .with_columns(
            weeks_of_cover=pl.when(pl.col("weekly_velocity") > 0)
            .then(pl.col("available") / pl.col("weekly_velocity"))
        )
        .collect()
    )
    return (
        table.join(fr.variant_labels, on="variant_id", how="left")
        .select(*VARIANT_COLUMNS, "available", "units_sold", "weekly_velocity", "weeks_of_cover")
        .sort(["weeks_of_cover", "available", "variant_id"], descending=[False, True, False],
              nulls_last=True)
    )


def raw_size_curve(fr, brand_id: int | None, since: datetime, until: datetime
                   ) -> pl.DataFrame:
    sales = fr.sales.lazy().filter(pl.col("sold_at") >= since, pl.col("sold_at") < until)
    stock = fr.stock.lazy()
    if brand_id is not None:
        sales = sales.filter(pl.col("brand_id") == brand_id)
        stock = stock.filter(pl.col("brand_id") == brand_id)
    sizes = fr.variants.lazy().select("variant_id", "size_system", "size")
    keys = ["size_system", "size"]
    sold = sales.join(sizes, on="variant_id").group_by(keys).agg(
        units_sold=pl.col("qty").sum().cast(pl.Int64)
    )
    held = stock.join(sizes, on="variant_id").group_by(keys).agg(
        on_hand=pl.col("on_hand").sum().cast(pl.Int64)
    )

    def share(column: str) -> pl.Expr:
        values = pl.col(column).clip(0)
        total = values.sum().over("size_system")
        return pl.when(total > 0).then(values / total).otherwise(0.0)

    return (
        sold.join(held, on=keys, how="full", coalesce=True)
        .with_columns(pl.col("units_sold", "on_hand").fill_null(0))
        .filter((pl.col("units_sold") != 0) | (pl.col("on_hand") != 0))
        .join(fr.size_ranks.lazy(), on=keys, how="left")
        .with_columns(sales_share=share("units_sold"), stock_share=share("on_hand"))
        .with_columns(gap=pl.col("stock_share") - pl.col("sales_share"))
        .select("size_system", "size", "size_rank", "units_sold", "on_hand", "sales_share",
                "stock_share", "gap")
        .sort("size_system", "size_rank", "size")
        .collect()
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    engine = bench_engine(pool_size=4)
    if engine.dialect.name != "postgresql":
        raise SystemExit("bench/analytics.py measures PostgreSQL loaders; give a PostgreSQL URL")
    began = time.perf_counter()
    # if_empty: re-running on an already seeded database measures its data again.
    run_seed(scale=args.scale, seed=7, if_empty=True, report=False, echo=print, engine=engine)
    print(f"seeded in {time.perf_counter() - began:.1f} s")
    with read_session(engine) as session:
        session.execute(text("ANALYZE"))
        lines = session.scalar(select(func.count()).select_from(SaleLine))
        biggest = session.execute(
            text("SELECT v.brand_id, count(*) FROM sale_line s JOIN variant v "
                 "ON v.id = s.variant_id GROUP BY v.brand_id ORDER BY 2 DESC LIMIT 1")
        ).one()
    brand_id, brand_lines = int(biggest[0]), int(biggest[1])
    result: dict = {"bench": "analytics", "scale": args.scale, "sale_lines": lines,
                    "brand_sale_lines": brand_lines}

    cold = {}
    loaders = ["adbc", "copy"] + (["cursor"] if args.scale == "small" else [])
    for loader in loaders:
        data = AnalyticsData(engine, loader=loader)
        began = time.perf_counter()
        data.reload()
        cold[loader] = time.perf_counter() - began
        phases = ", ".join(f"{k} {v:.2f}" for k, v in data.load_stats.phases.items())
        print(f"cold start via {loader:<6}: {cold[loader]:6.2f} s ({phases})")
        result[f"cold_start_{loader}_s"] = round(cold[loader], 3)

    # The leader publishes what it loaded; a second process starts from the files.
    root = tempfile.mkdtemp(prefix="rackroom-analytics-")
    store = FrameStore.for_engine(engine, Path(root))
    data.store = store
    frames = data.frames()  # kept in this process's memory for the raw side
    began = time.perf_counter()
    data.lead(publish_every=0)
    publish_s = time.perf_counter() - began
    print(f"publish (write the IPC files): {publish_s:.2f} s")
    result["publish_s"] = round(publish_s, 3)
    # The leader goes on refreshing every second, as the scheduler's job does (a first
    # round now, so its tick is fresh before the second process and the reader start):
    # a worker starting beside a running leader takes the tick's word that nothing
    # changed since the version instead of asking the database.
    data.lead(publish_every=3600)
    leading = threading.Event()

    def lead() -> None:
        while not leading.wait(TICK_EVERY):
            data.lead(publish_every=3600)

    leader = threading.Thread(target=lead, daemon=True)
    leader.start()
    url = engine.url.render_as_string(hide_password=False)
    walls, reports = zip(*(second_process(url, root, brand_id) for _ in range(3)), strict=True)
    wall = statistics.median(walls)
    report = reports[walls.index(wall)]
    if not all(r["adopted"] for r in reports):
        raise SystemExit("the second process did not map the shared files")
    ready = report["map_s"] + report["chart_s"]
    print(f"second process ready: {ready:.3f} s (map + catch up {report['map_s']:.3f}, first "
          f"chart {report['chart_s']:.3f}; a load was {cold['adbc']:.1f} s); from spawn "
          f"{wall:.2f} s of which imports {report['imports_s']:.2f} (engine and driver "
          f"{report['engine_s']:.2f}); private memory "
          f"{report['private_mb']:.0f} MB, mapped/file {report['file_mb']:.0f} MB")
    result["second_process_ready_s"] = round(ready, 3)
    result["second_process_wall_s"] = round(wall, 3)
    result["second_process_imports_s"] = round(report["imports_s"], 3)
    result["second_process_engine_s"] = round(report["engine_s"], 3)
    result["second_process_private_mb"] = round(report["private_mb"])

    # Raw works on frames in this process's memory; ours on a reader of the shared files.
    reader = AnalyticsData(engine, max_staleness=0, store=store)
    reader.frames()
    if reader._version is None:
        raise SystemExit("the reader did not map the shared files")
    today = datetime.now(UTC).date()
    until = m.day_start(today + timedelta(days=1))
    since = until - timedelta(days=m.DEFAULT_PERIOD_DAYS)
    refresh_ms = timed(reader.frames)
    print(f"refresh check (no changes): {refresh_ms:.1f} ms")
    result["refresh_ms"] = round(refresh_ms, 2)

    print(f"{'computation':<24} {'scope':<6} {'ours ms':>9} {'raw ms':>9} {'ratio':>6}")
    ratios = []
    for scope, brand in (("brand", brand_id), ("all", None)):
        filters = m.Filters(brand_id=brand, end=today)
        cases = {
            "velocity": (
                lambda f=filters: m.sales_velocity(reader.frames(), f, brand_scope=None),
                lambda b=brand: raw_velocity(frames, b, until),
            ),
            "weeks_of_cover": (
                lambda f=filters: m.weeks_of_cover(reader.frames(), f, brand_scope=None),
                lambda b=brand: raw_cover(frames, b, until),
            ),
            "size_curve": (
                lambda f=filters: m.size_curve(reader.frames(), f, brand_scope=None),
                lambda b=brand: raw_size_curve(frames, b, since, until),
            ),
        }
        for name, (ours, raw) in cases.items():
            if not ours().equals(raw()):
                raise SystemExit(f"{name} ({scope}): ours and the direct polars differ")
            ours_ms, raw_ms = timed_pair(ours, raw)
            ratio = ours_ms / raw_ms
            ratios.append(ratio)
            print(f"{name:<24} {scope:<6} {ours_ms:>9.1f} {raw_ms:>9.1f} {ratio:>6.2f}")
            result[f"{name}_{scope}_ms"] = round(ours_ms, 2)
            result[f"{name}_{scope}_raw_ms"] = round(raw_ms, 2)
            result[f"{name}_{scope}_ratio"] = round(ratio, 3)

    leading.set()
    leader.join()
    if store.tick() is None:
        raise SystemExit("the leader's tick went stale: the reader asked the database")

    velocity_sql = text(
        "SELECT s.variant_id, sum(s.qty) FILTER (WHERE s.sold_at >= :d7), "
        "sum(s.qty) FILTER (WHERE s.sold_at >= :d28), sum(s.qty) FROM sale_line s "
        "JOIN variant v ON v.id = s.variant_id WHERE s.sold_at >= :d90 AND s.sold_at < :until "
        "AND (CAST(:brand AS integer) IS NULL OR v.brand_id = :brand) GROUP BY s.variant_id"
    )
    for scope, brand in (("brand", brand_id), ("all", None)):
        params = {"d7": until - timedelta(days=7), "d28": until - timedelta(days=28),
                  "d90": until - timedelta(days=90), "until": until, "brand": brand}

        def sql(params=params) -> None:
            with read_session(engine) as session:
                session.execute(velocity_sql, params).all()

        sql_ms = timed(sql, runs=3)
        print(f"{'velocity as SQL':<24} {scope:<6} {sql_ms:>9.1f}   (PostgreSQL GROUP BY)")
        result[f"velocity_sql_{scope}_ms"] = round(sql_ms, 1)

    worst = max(ratios)
    print(f"worst ratio ours/raw: {worst:.2f} (aim ≤ 1.2)")
    result["ratio"] = round(worst, 3)
    shutil.rmtree(root, ignore_errors=True)
    emit(result)


if __name__ == "__main__":
    main()
