"""`rackroom seed`: fill an empty database with demo or benchmark data, fast.

The whole seed is one transaction, so it lands complete or not at all. Balances are
written with one "receipt" ledger row each (bulk-inserted side by side, from the same
frame), so `rackroom reconcile` holds afterwards; the few reservations go through
`models.reservations.reserve` like any checkout. The demo scale also gets alert rules
and customer polls with answers (`jobs/seed_signals.py`), and transfers and cycle counts
at each step (`jobs/seed_workflows.py`), through the domain as well.

Bulk tables are loaded without their foreign keys and secondary indexes, which are put
back afterwards from the definitions the database itself reports (`pg_get_indexdef`,
`pg_get_constraintdef`, `sqlite_master.sql`), so the schema ends exactly as Alembic made
it. On PostgreSQL that is the difference between ~96k and ~830k rows/s (DESIGN.md);
the rows go in with COPY, generated chunk by chunk while the previous chunk is sent.
On SQLite, batched executemany in the same single transaction.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlmodel import Session

from jobs.demo_logins import DEMO_PASSWORD, STAFF, vendor_email
from jobs.seed_catalog import DEMO_BRANDS, SCALES, Catalog, ScaleSpec, build_catalog
from jobs.seed_data import SEED_ACTOR, TIMESTAMP_FORMATS, Ids, SeedData, TableLoad
from jobs.seed_signals import seed_signals
from jobs.seed_workflows import seed_workflows
from models.base import utcnow
from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse
from models.db import get_engine
from models.errors import Conflict
from models.reservations import SaleLine, reserve
from models.stock import LedgerEntry, StockBalance
from models.users import User, create_user

Echo = Callable[[str], None]

#: Tables with explicit ids in the bulk load: their sequences are moved past them.
_ID_TABLES = ("product", "variant", "sku_alias", "stock_ledger", "sale_line")


@dataclass(frozen=True, slots=True)
class TableStats:
    table: str
    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@dataclass
class SeedResult:
    """What a seed loaded and how fast; `loads` can regenerate the same rows."""

    scale: str
    dialect: str
    tables: list[TableStats] = field(default_factory=list)
    rebuild_seconds: float = 0.0
    total_seconds: float = 0.0
    #: Seconds spent outside the table loads: catalogue, accounts, ANALYZE, ...
    phases: dict[str, float] = field(default_factory=dict)
    loads: list[TableLoad] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.total_seconds if self.total_seconds else float("inf")


def run_seed(
    *,
    scale: str,
    seed: int,
    if_empty: bool,
    report: bool,
    echo: Echo,
    engine: Engine | None = None,
    as_of: date | None = None,
) -> None:
    """Seed `engine` (default: DATABASE_URL) at `scale`; see `seed_database`."""
    result = seed_database(
        engine or get_engine(), scale=scale, seed=seed, if_empty=if_empty, echo=echo, as_of=as_of
    )
    if result is None:
        return
    c = result.counts
    echo(
        f"seeded {scale} data (seed {seed}) into {result.dialect} in {result.total_seconds:.1f} s: "
        f"{c['brands']} brands, {c['product']:,} styles, {c['variant']:,} variants, "
        f"{c['warehouses']} warehouses, {c['stock_balance']:,} balances, "
        f"{c['sale_line']:,} sale lines, {c['users']} users, {c['reservations']} reservations"
        + (f", {c['alert_rules']} alert rules, {c['polls']} polls with {c['votes']:,} votes"
           if c["polls"] else "")
        + (f", {c['transfers']} transfers, {c['count_items']:,} SKUs classed for cycle "
           f"counts, {c['variances']} count variance{'' if c['variances'] == 1 else 's'} to approve"
           if c["transfers"] else "")
    )
    if report:
        for line in report_lines(result):
            echo(line)


def report_lines(result: SeedResult) -> list[str]:
    lines = [f"{'table':<16} {'rows':>11} {'seconds':>8} {'rows/s':>11}"]
    for t in result.tables:
        lines.append(f"{t.table:<16} {t.rows:>11,} {t.seconds:>8.2f} {t.rows_per_s:>11,.0f}")
    lines.append(f"{'(indexes+FKs)':<16} {'':>11} {result.rebuild_seconds:>8.2f}")
    for phase, seconds in result.phases.items():
        lines.append(f"{'(' + phase + ')':<16} {'':>11} {seconds:>8.2f}")
    lines.append(
        f"{'overall':<16} {result.rows:>11,} {result.total_seconds:>8.2f} "
        f"{result.rows_per_s:>11,.0f}"
    )
    return lines


def seed_database(
    engine: Engine,
    *,
    scale: str,
    seed: int,
    if_empty: bool = False,
    echo: Echo = lambda _line: None,
    as_of: date | None = None,
    progress: bool = True,
) -> SeedResult | None:
    """Load the `scale` dataset for `seed` in one transaction; None if skipped.

    Refuses (Conflict) when the database already has brands, unless `if_empty`, in
    which case it does nothing. Sales cover the 365 days before `as_of` (today, UTC).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    spec = SCALES[scale]
    as_of = as_of or datetime.now(UTC).date()
    started = time.perf_counter()
    with engine.begin() as conn:
        if conn.execute(select(Brand.id).limit(1)).first() is not None:
            if if_empty:
                echo("seed skipped: the database already has brands")
                return None
            raise Conflict(
                "The database already has brands; seed fills an empty catalogue only "
                "(use --if-empty to skip quietly).",
            )
        dialect = conn.dialect.name
        result = SeedResult(scale=scale, dialect=dialect)
        catalog = build_catalog(spec, seed)
        ids = Ids(
            brands=_insert_brands(conn, catalog),
            warehouses=_ensure_warehouses(conn, spec),
            product_offset=_max_id(conn, Product),
            variant_offset=_max_id(conn, Variant),
            alias_offset=_max_id(conn, SkuAlias),
            ledger_offset=_max_id(conn, LedgerEntry),
            sale_offset=_max_id(conn, SaleLine),
        )
        data = SeedData(spec, seed, catalog, ids, as_of=as_of,
                        timestamp_format=TIMESTAMP_FORMATS[dialect])
        result.loads = data.tables()
        result.phases["catalogue+plan"] = time.perf_counter() - started
        loader = _loader(conn)
        try:
            saved = loader.drop_secondary([load.table for load in result.loads])
            with _progress(progress) as bar:
                for load in result.loads:
                    result.tables.append(loader.load(load, bar))
                rebuild_started = time.perf_counter()
                loader.restore(saved, bar)
                result.rebuild_seconds = time.perf_counter() - rebuild_started
            loader.reset_sequences(_ID_TABLES)
        finally:
            loader.close()

        accounts_started = time.perf_counter()
        with Session(bind=conn) as session:
            users = _create_users(session, catalog)
            reservations = _create_reservations(session, spec, seed, ids.warehouses[0])
            # Rules, polls, transfers and counts for the demo only: benchmarks set up
            # their own.
            signals = seed_signals(session, seed=seed, as_of=as_of) if scale == "demo" else {}
            work = seed_workflows(session, as_of=as_of) if scale == "demo" else {}
            session.flush()
        result.phases["users+holds"] = time.perf_counter() - accounts_started
        commit_started = time.perf_counter()
    result.phases["commit"] = time.perf_counter() - commit_started
    if dialect == "postgresql":
        analyze_started = time.perf_counter()
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE " + ", ".join(load.table for load in result.loads))
            conn.commit()
        result.phases["analyze"] = time.perf_counter() - analyze_started
    result.total_seconds = time.perf_counter() - started
    result.counts = {load.table: load.rows for load in result.loads} | {
        "brands": len(catalog.brands),
        "warehouses": len(spec.warehouses),
        "users": users,
        "reservations": reservations,
        "alert_rules": signals.get("alert_rules", 0),
        "polls": signals.get("polls", 0),
        "votes": signals.get("votes", 0),
        "transfers": work.get("transfers", 0),
        "count_items": work.get("count_items", 0),
        "variances": work.get("variances", 0),
    }
    return result


# --- small tables ---------------------------------------------------------------------------


def _max_id(conn: Connection, model: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one())


def _insert_brands(conn: Connection, catalog: Catalog) -> list[int]:
    table = Brand.__table__
    now = utcnow()
    return [
        conn.execute(
            insert(table).values(code=b.code, name=b.name, created_at=now).returning(table.c.id)
        ).scalar_one()
        for b in catalog.brands
    ]


def _ensure_warehouses(conn: Connection, spec: ScaleSpec) -> list[int]:
    """Ids of the spec's warehouses, creating those whose code does not exist yet."""
    table = Warehouse.__table__
    ids = []
    for w in spec.warehouses:
        existing = conn.execute(select(table.c.id).where(table.c.code == w.code)).scalar()
        if existing is None:
            existing = conn.execute(
                insert(table)
                .values(code=w.code, name=w.name, kind=w.kind, priority=w.priority,
                        is_active=True, created_at=utcnow())
                .returning(table.c.id)
            ).scalar_one()
        ids.append(existing)
    return ids


def _create_users(session: Session, catalog: Catalog) -> int:
    """The demo staff, and a vendor for each demo brand; existing emails are left alone."""
    wanted: list[tuple[str, str, str | None, str]] = [
        (email, role.value, None, name) for email, role, name in STAFF
    ]
    demo_codes = {b.code for b in DEMO_BRANDS}
    for brand in catalog.brands:
        if brand.code in demo_codes:
            wanted.append((vendor_email(brand.slug), "vendor", brand.code, f"{brand.name} team"))
    existing = set(session.scalars(select(User.email)))
    created = 0
    for email, role, brand_code, name in wanted:
        if email not in existing:
            create_user(session, email, DEMO_PASSWORD, role, brand_code=brand_code, name=name)
            created += 1
    return created


def _create_reservations(session: Session, spec: ScaleSpec, seed: int, warehouse_id: int) -> int:
    """A handful of live checkout holds, made the way a storefront makes them."""
    if not spec.reservations:
        return 0
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    balance = StockBalance.__table__
    candidates = list(session.execute(
        select(balance.c.variant_id)
        .where(balance.c.warehouse_id == warehouse_id, balance.c.on_hand >= 6)
        .order_by(balance.c.variant_id)
        .limit(500)
    ).scalars())
    now = utcnow()
    picked = rng.sample(candidates, min(spec.reservations, len(candidates)))
    for n, variant_id in enumerate(picked, start=1):
        reserve(
            session, variant_id, rng.choice((1, 1, 1, 2)), channel="web",
            order_ref=f"WEB-CHK-{seed:03d}-{n:04d}", actor=SEED_ACTOR,
            warehouse_id=warehouse_id, ttl=timedelta(minutes=rng.randint(60, 2 * 24 * 60)),
            now=now,
        )
    return len(picked)


# --- bulk loading -----------------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr (only when it is a terminal)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=not (enabled and console.is_terminal),
    )
    with bar:
        yield bar


class _PostgresLoader:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def drop_secondary(self, tables: list[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
        """Drop the tables' foreign keys and non-constraint indexes; return how to rebuild."""
        from psycopg import sql

        with self.driver.cursor() as cur:
            cur.execute(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[]) "
                "ORDER BY 1, 2",
                (tables,),
            )
            foreign_keys = [tuple(row) for row in cur.fetchall()]
            cur.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
                "AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY 1",
                (tables,),
            )
            indexes = cur.fetchall()
            for table, name, _ in foreign_keys:
                cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.SQL(table), sql.Identifier(name)))
            for name, _ in indexes:
                cur.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))
        return foreign_keys, [definition for _, definition in indexes]

    def restore(self, saved: tuple[list[tuple[str, str, str]], list[str]], bar: Any) -> None:
        from psycopg import sql

        foreign_keys, indexes = saved
        task = bar.add_task("indexes + FKs", total=len(indexes) + len(foreign_keys))
        with self.driver.cursor() as cur:
            cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for definition in indexes:
                cur.execute(sql.SQL(definition))
                bar.advance(task)
            for table, name, definition in foreign_keys:
                cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.SQL(table), sql.Identifier(name), sql.SQL(definition)))
                bar.advance(task)

    def load(self, load: TableLoad, bar: Any) -> TableStats:
        from psycopg import sql
        from psycopg.copy import QueuedLibpqWriter

        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(load.table), sql.SQL(", ").join(map(sql.Identifier, load.columns)))
        task = bar.add_task(load.table, total=load.rows)
        started = time.perf_counter()
        rows = 0
        with (
            self.driver.cursor() as cur,
            cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy,
        ):
            for frame in load.chunks():
                buffer = io.BytesIO()
                frame.select(load.columns).write_csv(buffer, include_header=False)
                copy.write(buffer.getvalue())
                rows += frame.height
                bar.advance(task, frame.height)
        return TableStats(load.table, rows, time.perf_counter() - started)

    def close(self) -> None:
        """Nothing to put back: SET LOCAL settings end with the transaction."""

    def reset_sequences(self, tables: tuple[str, ...]) -> None:
        from psycopg import sql

        with self.driver.cursor() as cur:
            for table in tables:
                cur.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {} "
                        "HAVING max(id) IS NOT NULL"
                    ).format(sql.Identifier(table)),
                    (table,),
                )


class _SqliteLoader:
    BATCH = 50_000
    #: A big page cache keeps the one long transaction from spilling pages to the WAL
    #: mid-way, and in-memory temp storage speeds up the index builds' sorts. Both are
    #: per connection and put back afterwards (the connection returns to the pool).
    PRAGMAS = {"cache_size": -256 * 1024, "temp_store": 2}

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.saved_pragmas = {
            name: self.driver.execute(f"PRAGMA {name}").fetchone()[0] for name in self.PRAGMAS
        }
        for name, value in self.PRAGMAS.items():
            self.driver.execute(f"PRAGMA {name} = {int(value)}")

    def drop_secondary(self, tables: list[str]) -> list[str]:
        """Drop the tables' explicit indexes (foreign keys stay on); return their SQL."""
        marks = ", ".join("?" for _ in tables)
        rows = self.driver.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' "  # noqa: S608
            f"AND sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY name",
            tables,
        ).fetchall()
        for name, _ in rows:
            self.driver.execute(f'DROP INDEX "{name}"')
        return [definition for _, definition in rows]

    def restore(self, saved: list[str], bar: Any) -> None:
        task = bar.add_task("indexes", total=len(saved))
        for definition in saved:
            self.driver.execute(definition)
            bar.advance(task)

    def load(self, load: TableLoad, bar: Any) -> TableStats:
        columns = ", ".join(f'"{c}"' for c in load.columns)
        marks = ", ".join("?" for _ in load.columns)
        statement = f'INSERT INTO "{load.table}" ({columns}) VALUES ({marks})'  # noqa: S608
        task = bar.add_task(load.table, total=load.rows)
        started = time.perf_counter()
        rows = 0
        for frame in load.chunks():
            for start in range(0, frame.height, self.BATCH):
                batch = frame.slice(start, self.BATCH).select(load.columns)
                self.driver.executemany(statement, batch.rows())
                rows += batch.height
                bar.advance(task, batch.height)
        return TableStats(load.table, rows, time.perf_counter() - started)

    def reset_sequences(self, tables: tuple[str, ...]) -> None:
        """Nothing to do: SQLite's INTEGER PRIMARY KEY continues from max(rowid)."""

    def close(self) -> None:
        for name, value in self.saved_pragmas.items():
            self.driver.execute(f"PRAGMA {name} = {int(value)}")


def _loader(conn: Connection) -> _PostgresLoader | _SqliteLoader:
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        return _PostgresLoader(driver)
    if conn.dialect.name == "sqlite":
        return _SqliteLoader(driver)
    raise ValueError(f"seed supports PostgreSQL and SQLite, not {conn.dialect.name}")
