"""Seed throughput (rows/s) against the raw bulk-load ceiling, in the same run.

Ours is `jobs.seed.seed_database` end to end: catalogue, rows generated while they
stream in, foreign keys and indexes dropped and rebuilt, sequences, demo users and
reservations, one transaction, ANALYZE. The raw ceiling loads exactly the same rows
(regenerated beforehand, untimed) into constraint-free copies of the tables: COPY into
UNLOGGED tables on PostgreSQL, plain executemany into TEMP tables on SQLite.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/seed.py [--scale small]

small is the large layout reduced (20k variants, 200k sale lines); large is 200k
variants × 8 warehouses and 5M sale lines.
"""

from __future__ import annotations

import io
import sys
import time
from typing import Any

from _common import bench_engine, emit, parse_args
from sqlalchemy import Engine

from jobs.seed import report_lines, seed_database
from jobs.seed_data import TableLoad

SEED = 7


def raw_postgres(engine: Engine, loads: list[TableLoad]) -> tuple[int, float]:
    from psycopg import sql

    payloads = []
    for load in loads:
        chunks = []
        for frame in load.chunks():
            buffer = io.BytesIO()
            frame.select(load.columns).write_csv(buffer, include_header=False)
            chunks.append(buffer.getvalue())
        payloads.append((load, chunks))
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor() as cur:
            for load, _ in payloads:
                cur.execute(
                    sql.SQL("DROP TABLE IF EXISTS {0}; CREATE UNLOGGED TABLE {0} (LIKE {1})")
                    .format(sql.Identifier(f"raw_{load.table}"), sql.Identifier(load.table))
                )
        driver.commit()
        started = time.perf_counter()
        with driver.cursor() as cur:
            for load, chunks in payloads:
                statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    sql.Identifier(f"raw_{load.table}"),
                    sql.SQL(", ").join(map(sql.Identifier, load.columns)))
                with cur.copy(statement) as copy:
                    for chunk in chunks:
                        copy.write(chunk)
        driver.commit()
        seconds = time.perf_counter() - started
        with driver.cursor() as cur:
            for load, _ in payloads:
                cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"raw_{load.table}")))
        driver.commit()
    finally:
        raw.close()
    return sum(load.rows for load in loads), seconds


def raw_sqlite(engine: Engine, loads: list[TableLoad]) -> tuple[int, float]:
    batches = [(load, [frame.select(load.columns).rows() for frame in load.chunks()])
               for load in loads]
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        for load, _ in batches:
            driver.execute(f'CREATE TEMP TABLE "raw_{load.table}" AS '
                           f'SELECT {", ".join(load.columns)} FROM "{load.table}" WHERE 0')
        started = time.perf_counter()
        driver.execute("BEGIN")
        for load, chunks in batches:
            marks = ", ".join("?" for _ in load.columns)
            for rows in chunks:
                driver.executemany(f'INSERT INTO "raw_{load.table}" VALUES ({marks})', rows)
        driver.execute("COMMIT")
        seconds = time.perf_counter() - started
        for load, _ in batches:
            driver.execute(f'DROP TABLE "raw_{load.table}"')
    finally:
        raw.close()
    return sum(load.rows for load in loads), seconds


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    engine = bench_engine(pool_size=2)
    dialect = engine.dialect.name
    print(f"seeding scale={args.scale} seed={SEED} into {dialect} ...", flush=True)
    result = seed_database(engine, scale=args.scale, seed=SEED, progress=sys.stderr.isatty())
    assert result is not None
    for line in report_lines(result):
        print("  " + line)
    print(f"ours: {result.rows:,} rows in {result.total_seconds:.2f} s "
          f"= {result.rows_per_s:,.0f} rows/s (everything, one transaction)", flush=True)

    raw = raw_postgres if dialect == "postgresql" else raw_sqlite
    rows, seconds = raw(engine, result.loads)
    raw_rate = rows / seconds
    what = "COPY into unlogged constraint-free copies" if dialect == "postgresql" else (
        "executemany into constraint-free temp tables")
    print(f"raw:  {rows:,} rows in {seconds:.2f} s = {raw_rate:,.0f} rows/s ({what}, "
          "rows pre-generated)")
    emit({
        "bench": "seed",
        "scale": args.scale,
        "database": dialect,
        "rows": result.rows,
        "rows_per_s": round(result.rows_per_s),
        "raw_rows_per_s": round(raw_rate),
        "ratio": round(result.rows_per_s / raw_rate, 3),
    })
    engine.dispose()


if __name__ == "__main__":
    main()
