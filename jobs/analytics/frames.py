"""A columnar, in-memory copy of what analytics reads, kept current incrementally.

Asking PostgreSQL to GROUP BY five million sale lines takes about a second; polars does
the same over an in-memory frame in a few tens of milliseconds (DESIGN.md). So
`AnalyticsData` loads the sale lines, balances, first and last receipts and the catalogue once
(ADBC on PostgreSQL, COPY→CSV without it, a cursor on SQLite) and afterwards only
fetches what changed:

* sale lines and ledger rows are append-only, so they are read by id watermark. Ids
  are handed out before commit, so a row with a lower id can still appear after a
  higher one was read; ids skipped inside the recent window are remembered as gaps and
  asked for again on each refresh for `GAP_TTL`.
* balances change in place, but never without a ledger row in the same transaction
  (DESIGN.md), so the ledger tail says exactly which balances changed: those are
  re-read by key. (An `updated_at` window would re-read every balance a bulk import
  touched on each refresh.)
* the catalogue is small: new variants by id, a full reload every `DIMS_TTL`.

`frames()` returns an immutable `Frames` snapshot; refreshes swap the whole snapshot
under a lock, so any number of threads may compute on snapshots meanwhile.

With a `FrameStore` (`shared_analytics()` has one), the process starts from the newest
version the scheduler's leader published (memory-mapped Arrow IPC files, see
`jobs.analytics.shared`) instead of loading, catches up on changes from there as above,
and moves to each newer version as it appears; `publish()` is the leader's side.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from sqlalchemy import BigInteger, Engine, bindparam, cast, extract, func, select, tuple_
from sqlalchemy.sql import Select

from jobs.analytics.frame_shapes import (
    BALANCE_SCHEMA,
    BRAND_SCHEMA,
    RECEIPT_SCHEMA,
    SALES_SCHEMA,
    UTC_US,
    VARIANT_SCHEMA,
    WAREHOUSE_SCHEMA,
    Frames,
    label_frames,
)
from jobs.analytics.id_tail import GAP_WINDOW
from jobs.analytics.id_tail import IdTail as _IdTail
from models.base import utcnow
from models.catalog import Brand, Product, Variant, Warehouse
from models.db import get_engine, read_session
from models.reservations import SaleLine
from models.stock import LedgerEntry, LedgerReason, StockBalance

if TYPE_CHECKING:
    from jobs.analytics.shared import FrameStore

log = logging.getLogger("rackroom.analytics")

Loader = Literal["auto", "adbc", "copy", "cursor"]

#: Ledger reasons that bring stock into a warehouse (what "days since receipt" counts).
RECEIPT_REASONS = (LedgerReason.RECEIPT.value, LedgerReason.TRANSFER_IN.value)
#: More changed balances than this in one refresh and they are all reloaded in bulk.
MAX_BALANCE_KEYS = 20_000
#: Keys per "(variant_id, warehouse_id) IN (…)" query.
KEY_BATCH = 1_000
DIMS_TTL = timedelta(minutes=10)
#: More chunks than this after appends and a frame is made contiguous again.
MAX_CHUNKS = 16


_s, _b, _l = SaleLine.__table__, StockBalance.__table__, LedgerEntry.__table__
_v, _p = Variant.__table__, Product.__table__


@dataclass
class LoadStats:
    loader: str = ""
    seconds: float = 0.0
    sale_lines: int = 0
    phases: dict[str, float] = field(default_factory=dict)



def _adbc_available() -> bool:
    try:
        import adbc_driver_postgresql  # noqa: F401
    except ImportError:
        return False
    return True


class AnalyticsData:
    """The process's analytics frames for one database; see the module docstring.

    `max_staleness` seconds may pass before `frames()` asks the database for changes
    again (0 asks every time); `store`: the shared files to start from and move to.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        loader: Loader = "auto",
        max_staleness: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        store: FrameStore | None = None,
    ) -> None:
        self.engine = engine or get_engine()
        self.dialect = self.engine.dialect.name
        if loader == "auto":
            if self.dialect != "postgresql":
                loader = "cursor"
            else:
                loader = "adbc" if _adbc_available() else "copy"
        if loader in ("adbc", "copy") and self.dialect != "postgresql":
            raise ValueError(f"the {loader} loader needs PostgreSQL")
        self.loader = loader
        self.max_staleness = max_staleness
        self._clock = clock
        self._lock = threading.Lock()
        self._frames: Frames | None = None
        self._checked = 0.0
        self._dims_loaded = 0.0
        self._sales_tail = _IdTail()
        self._ledger_tail = _IdTail()
        self._variant_mark = 0
        self.load_stats = LoadStats()
        self.store = store
        #: The shared version adopted last, and the frames as published (unchanged since).
        self._version: str | None = None
        self._published: Frames | None = None
        #: The leader's count of refreshes that changed something (`lead`): this process
        #: leads, or the count it last caught up with (its own frames are that fresh).
        self._leading = False
        self._changes = 0
        self._counted: Frames | None = None
        self._published_at = 0.0
        self._synced_tick: int | None = None
        self._pending_tick: int | None = None

    # --- public -----------------------------------------------------------------------

    def frames(self) -> Frames:
        """The current snapshot: loaded on first use, refreshed when older than allowed."""
        current = self._frames
        if current is not None and self._clock() - self._checked < self.max_staleness:
            return current
        with self._lock:
            if self._frames is None:
                self._start()
            elif self._clock() - self._checked >= self.max_staleness:
                self._adopt_newer()
                self._refresh()
            return self._frames

    def reload(self) -> Frames:
        """Drop everything and load from the database (cold start; no shared files)."""
        with self._lock:
            self._load()
            return self._frames

    def refresh(self) -> Frames:
        """Fetch changes now, whatever the staleness."""
        with self._lock:
            self._update()
            return self._frames

    def lead(self, publish_every: float) -> str | None:
        """The leader's job (every second): refresh, tell the other processes whether
        anything changed (the store's tick: they ask the database only then), and
        publish when something changed and `publish_every` seconds have passed since the
        last version; the version written, or None."""
        store = self.store
        if store is None:
            return None
        with self._lock:
            if not self._leading:
                self._leading = True
                self._changes = max(self._changes, store.tick(max_age=None) or 0)
            self._update()
            if self._frames is not self._counted:
                self._changes += 1
                self._counted = self._frames
            changes = self._changes
            due = (self._frames is not self._published
                   and self._clock() - self._published_at >= publish_every)
        store.write_tick(changes)
        return self.publish() if due else None

    def publish(self) -> str | None:
        """Refresh, and write the frames to the store when they changed since the version
        published last (the leader's job); the version written, or None.

        The files are written outside the lock (readers of this process go on meanwhile);
        then this process, too, reads the mapped version instead of its own copy."""
        store = self.store
        if store is None:
            return None
        with self._lock:
            self._update()
            frames = self._frames
            if frames is None or frames is self._published:
                return None
            state = self._state()
            self._published_at = self._clock()
        from jobs.analytics.shared import canary

        version = store.write(frames, state, canary(self.engine, state))
        published = store.open(version)
        with self._lock:
            self._version = version
            if published is not None and self._frames is frames:
                self._frames = self._published = self._counted = published.frames
        log.info("analytics: published %s (%d sale lines)", version, frames.sales.height)
        return version

    # --- shared files -----------------------------------------------------------------

    def _update(self) -> None:
        """Under the lock: start, or move to a newer shared version and catch up."""
        if self._frames is None:
            self._start()
        else:
            self._adopt_newer()
            self._refresh()

    def _start(self) -> None:
        """First use: the newest shared version and what changed since, else a load."""
        if self._adopt_newer():
            self._refresh()
        else:
            self._load()

    def _state(self) -> dict[str, Any]:
        """What a process needs, beside the frames, to go on refreshing from them."""
        now, wall = self._clock(), time.time()
        return {
            "sales": self._sales_tail.export(now, wall),
            "ledger": self._ledger_tail.export(now, wall),
            "sales_mark": self._sales_tail.mark,
            "ledger_mark": self._ledger_tail.mark,
            "variant_mark": self._variant_mark,
            "dims_loaded_at": wall - (now - self._dims_loaded),
            "tick": self._changes if self._leading else self._synced_tick,
        }

    def _adopt_newer(self) -> bool:
        """Under the lock: switch to the store's newest version when it is not the one
        adopted last and belongs to this database (its canary rows are still there)."""
        from jobs.analytics.shared import canary

        store = self.store
        version = store.current() if store is not None else None
        if store is None or version is None or version == self._version:
            return False
        self._version = version  # tried once, whatever comes of it
        published = store.open(version)
        if published is None:
            return False
        if canary(self.engine, published.state) != published.canary:
            log.warning("analytics: shared version %s is of another database life; "
                        "ignored", version)
            return False
        state, now, wall = published.state, self._clock(), time.time()
        self._sales_tail = _IdTail.restored(state["sales"], now, wall)
        self._ledger_tail = _IdTail.restored(state["ledger"], now, wall)
        self._variant_mark = int(state["variant_mark"])
        self._dims_loaded = now - (wall - float(state["dims_loaded_at"]))
        self._frames = self._published = published.frames
        if not self._leading:
            self._synced_tick = state.get("tick")
        self._checked = 0.0
        return True

    # --- reading ----------------------------------------------------------------------

    def _read(self, query: Select, schema: dict[str, pl.DataType], *, bulk: bool) -> pl.DataFrame:
        """Rows of `query` as a frame with `schema`. `bulk` uses the fast loader."""
        if bulk and self.loader == "adbc":
            try:
                return self._read_adbc(query, schema)
            except Exception:  # a driver or connection problem: COPY still works
                log.warning("analytics: ADBC load failed; using COPY from now on", exc_info=True)
                self.loader = "copy"
        if bulk and self.loader == "copy":
            return self._read_copy(query, schema)
        with read_session(self.engine) as session:
            rows = session.execute(query).all()
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")

    def _sql(self, query: Select) -> str:
        # Only our own constant queries reach here (no user values): bulk loads take no
        # parameters, so rendering them literally is safe.
        return str(query.compile(dialect=self.engine.dialect,
                                 compile_kwargs={"literal_binds": True}))

    def _libpq_url(self) -> str:
        url = self.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _read_adbc(self, query: Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        import adbc_driver_manager
        import adbc_driver_postgresql

        database = adbc_driver_postgresql.connect(self._libpq_url())
        try:
            with adbc_driver_manager.AdbcConnection(database) as conn, \
                    adbc_driver_manager.AdbcStatement(conn) as statement:
                statement.set_sql_query(self._sql(query))
                stream, _rows = statement.execute_query()
                frame = pl.DataFrame(stream)
        finally:
            database.close()
        if frame.is_empty() and not frame.columns:
            return pl.DataFrame(schema=schema)
        frame.columns = list(schema)
        return frame.cast(schema)

    def _read_copy(self, query: Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        # Timestamps travel as integer microseconds since the epoch: exact, and no
        # text parsing of time zones.
        columns = []
        for column, (name, dtype) in zip(query.selected_columns, schema.items(), strict=True):
            if dtype == UTC_US:
                column = cast(extract("epoch", column) * 1_000_000, BigInteger)
            columns.append(column.label(name))
        sql = self._sql(query.with_only_columns(*columns))
        buffer = io.BytesIO()
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            raw.rollback()
        finally:
            raw.close()
        read_schema = {n: (pl.Int64 if t == UTC_US else t) for n, t in schema.items()}
        if buffer.getbuffer().nbytes == 0:
            return pl.DataFrame(schema=schema)
        frame = pl.read_csv(buffer.getvalue(), has_header=False, new_columns=list(schema),
                            schema_overrides=read_schema)
        return frame.with_columns(
            pl.from_epoch(pl.col(n), time_unit="us").dt.replace_time_zone("UTC")
            for n, t in schema.items()
            if t == UTC_US
        ).cast(schema)

    # --- queries ----------------------------------------------------------------------

    @staticmethod
    def _variants_query() -> Select:
        return select(
            _v.c.id, _v.c.product_id, _v.c.brand_id, _v.c.sku, _v.c.colour, _v.c.size,
            _v.c.size_system, _v.c.size_rank, _p.c.style_code, _p.c.name, _p.c.category,
        ).join(_p, _p.c.id == _v.c.product_id)

    @staticmethod
    def _sales_query() -> Select:
        return select(_s.c.id, _s.c.variant_id, _s.c.warehouse_id, _s.c.qty, _s.c.sold_at)

    @staticmethod
    def _balances_query() -> Select:
        return select(_b.c.variant_id, _b.c.warehouse_id, _b.c.on_hand, _b.c.reserved,
                      _b.c.incoming, _b.c.updated_at)

    def _load_small_dims(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        brands = self._read(
            select(Brand.id, Brand.code, Brand.name).order_by(Brand.id), BRAND_SCHEMA,
            bulk=False,
        )
        warehouses = self._read(
            select(Warehouse.id, Warehouse.code, Warehouse.name).order_by(Warehouse.id),
            WAREHOUSE_SCHEMA, bulk=False,
        )
        return brands, warehouses

    # --- cold load --------------------------------------------------------------------

    def _load(self) -> None:
        started = time.perf_counter()
        stats = LoadStats(loader=self.loader)
        now = self._clock()
        self._sales_tail, self._ledger_tail = _IdTail(), _IdTail()

        def phase(name: str, begun: float) -> float:
            stats.phases[name] = time.perf_counter() - begun
            return time.perf_counter()

        t = time.perf_counter()
        variants = self._read(self._variants_query().order_by(_v.c.id), VARIANT_SCHEMA,
                              bulk=True)
        brands, warehouses = self._load_small_dims()
        self._variant_mark = int(variants["variant_id"].max() or 0)
        t = phase("catalogue", t)

        # Ids just below the newest may belong to transactions still in flight: read the
        # recent ids first, so any that commit later show up as gaps and are re-asked.
        with read_session(self.engine) as session:
            ledger_mark = session.scalar(select(func.max(_l.c.id))) or 0
        low = max(0, ledger_mark - GAP_WINDOW)
        recent_ledger = self._read(
            select(_l.c.id).where(_l.c.id > bindparam("low", low, type_=BigInteger)),
            {"id": pl.Int64}, bulk=False,
        )["id"]
        self._ledger_tail.mark = low
        self._ledger_tail.advance(recent_ledger, now)
        # The three big reads run side by side (ADBC and COPY release the GIL, and the
        # database serves each on its own connection).
        with ThreadPoolExecutor(max_workers=3) as pool:
            receipts_job = pool.submit(
                self._read,
                select(_l.c.variant_id, _l.c.warehouse_id, func.min(_l.c.created_at),
                       func.max(_l.c.created_at))
                .where(_l.c.reason.in_(RECEIPT_REASONS))
                .group_by(_l.c.variant_id, _l.c.warehouse_id),
                RECEIPT_SCHEMA,
                bulk=True,
            )
            balances_job = pool.submit(self._read, self._balances_query(), BALANCE_SCHEMA,
                                       bulk=True)
            sales_job = pool.submit(self._read, self._sales_query(), SALES_SCHEMA, bulk=True)
            receipts, balances, sales = (
                receipts_job.result(), balances_job.result(), sales_job.result()
            )
        t = phase("receipts+balances+sale_lines (parallel)", t)
        stock = _with_variant_keys(balances.drop("updated_at"), variants)
        self._sales_tail.advance(sales["id"], now)
        sales = _with_variant_keys(sales, variants)
        t = phase("join+index", t)

        self._frames = Frames(
            sales=sales.rechunk(),
            stock=stock.rechunk(),
            receipts=receipts,
            variants=variants,
            brands=brands,
            warehouses=warehouses,
            refreshed_at=utcnow(),
            **label_frames(variants, brands),
        )
        self._checked = self._dims_loaded = self._clock()
        stats.sale_lines = sales.height
        stats.seconds = time.perf_counter() - started
        self.load_stats = stats
        log.info("analytics: loaded %d sale lines in %.2f s (%s)", sales.height,
                 stats.seconds, self.loader)

    # --- incremental refresh ----------------------------------------------------------

    def _changed_balances(
        self, stock: pl.DataFrame, ledger_rows: pl.DataFrame, variants: pl.DataFrame
    ) -> pl.DataFrame:
        """Re-read the balances that new ledger rows changed, and swap them in."""
        keys = ledger_rows.select("variant_id", "warehouse_id").unique()
        if keys.is_empty():
            return stock
        if keys.height > MAX_BALANCE_KEYS:
            fresh = self._read(self._balances_query(), BALANCE_SCHEMA, bulk=True)
            return _with_variant_keys(fresh.drop("updated_at"), variants).rechunk()
        pairs = [tuple(k) for k in keys.iter_rows()]
        parts = [
            self._read(
                self._balances_query().where(
                    tuple_(_b.c.variant_id, _b.c.warehouse_id).in_(pairs[i : i + KEY_BATCH])
                ),
                BALANCE_SCHEMA,
                bulk=False,
            )
            for i in range(0, len(pairs), KEY_BATCH)
        ]
        fresh = pl.concat(parts).drop("updated_at")
        return _append(
            stock.join(keys, on=["variant_id", "warehouse_id"], how="anti"),
            _with_variant_keys(fresh, variants),
        )

    def _unchanged(self) -> bool:
        """Have sale lines, ledger rows or variants appeared since? While the leader
        refreshes (its tick is fresh), its count of changes says so without asking the
        database; otherwise one round trip."""
        tick = self.store.tick() if self.store is not None and not self._leading else None
        if tick is not None:
            if tick == self._synced_tick:
                return True
            self._pending_tick = tick  # in step with it once this refresh is done
            return False
        if self._sales_tail.gaps or self._ledger_tail.gaps:
            return False
        probe = select(
            select(func.max(_s.c.id)).scalar_subquery(),
            select(func.max(_l.c.id)).scalar_subquery(),
            select(func.max(_v.c.id)).scalar_subquery(),
        )
        with read_session(self.engine) as session:
            sales, ledger, variant = session.execute(probe).one()
        return ((sales or 0) <= self._sales_tail.mark and (ledger or 0) <= self._ledger_tail.mark
                and (variant or 0) <= self._variant_mark)

    def _refresh(self) -> None:
        self._pending_tick = None
        self._catch_up()
        if self._pending_tick is not None:
            self._synced_tick = self._pending_tick

    def _catch_up(self) -> None:
        frames = self._frames
        assert frames is not None
        now = self._clock()
        if now - self._dims_loaded < DIMS_TTL.total_seconds() and self._unchanged():
            self._checked = self._clock()
            return
        variants, brands, warehouses = frames.variants, frames.brands, frames.warehouses
        if now - self._dims_loaded >= DIMS_TTL.total_seconds():
            variants = self._read(self._variants_query().order_by(_v.c.id), VARIANT_SCHEMA,
                                  bulk=True)
            brands, warehouses = self._load_small_dims()
            self._dims_loaded = now
        else:
            new_variants = self._read(
                self._variants_query().where(
                    _v.c.id > bindparam("mark", self._variant_mark, type_=BigInteger)
                ),
                VARIANT_SCHEMA,
                bulk=False,
            )
            if len(new_variants):
                variants = pl.concat([variants, new_variants])
                brands, warehouses = self._load_small_dims()
        if len(variants):
            self._variant_mark = max(self._variant_mark, int(variants["variant_id"].max()))

        sales = frames.sales
        new_sales = self._read(
            self._sales_query().where(self._sales_tail.where(_s.c.id)).order_by(_s.c.id),
            SALES_SCHEMA,
            bulk=False,
        )
        self._sales_tail.advance(new_sales["id"], now)
        if len(new_sales):
            sales = _append(sales, _with_variant_keys(new_sales, variants))

        ledger_rows = self._read(
            select(_l.c.id, _l.c.variant_id, _l.c.warehouse_id, _l.c.reason, _l.c.created_at)
            .where(self._ledger_tail.where(_l.c.id)),
            {"id": pl.Int64, "variant_id": pl.Int32, "warehouse_id": pl.Int32,
             "reason": pl.String, "created_at": UTC_US},
            bulk=False,
        )
        self._ledger_tail.advance(ledger_rows["id"], now)
        receipts = frames.receipts
        new_receipts = ledger_rows.filter(pl.col("reason").is_in(RECEIPT_REASONS))
        if len(new_receipts):
            receipts = (
                pl.concat([
                    receipts,
                    new_receipts.select(
                        "variant_id", "warehouse_id",
                        pl.col("created_at").alias("first_receipt_at"),
                        pl.col("created_at").alias("last_receipt_at"),
                    ),
                ])
                .group_by("variant_id", "warehouse_id")
                .agg(pl.col("first_receipt_at").min(), pl.col("last_receipt_at").max())
            )
        stock = self._changed_balances(frames.stock, ledger_rows, variants)
        labels = (
            label_frames(variants, brands)
            if variants is not frames.variants or brands is not frames.brands
            else {}
        )
        self._checked = self._clock()
        if (sales is frames.sales and stock is frames.stock and receipts is frames.receipts
                and variants is frames.variants and brands is frames.brands
                and warehouses is frames.warehouses):
            return  # only open gaps re-asked, none filled: the same snapshot goes on

        self._frames = replace(
            frames,
            sales=sales,
            stock=stock,
            receipts=receipts,
            variants=variants,
            brands=brands,
            warehouses=warehouses,
            refreshed_at=utcnow(),
            **labels,
        )


def _with_variant_keys(frame: pl.DataFrame, variants: pl.DataFrame) -> pl.DataFrame:
    """Add brand_id and product_id (they never change for a variant) for fast filters."""
    return frame.join(
        variants.select("variant_id", "brand_id", "product_id"), on="variant_id", how="left"
    )


def _append(frame: pl.DataFrame, more: pl.DataFrame) -> pl.DataFrame:
    combined = pl.concat([frame, more.select(frame.columns)], rechunk=False)
    if combined.n_chunks() <= MAX_CHUNKS:
        return combined
    # Only what came after the first chunk is made contiguous: the first is the bulk
    # (and may be a shared file's mapped pages, which a rechunk would copy).
    first = combined.get_column(combined.columns[0]).chunk_lengths()[0]
    return pl.concat([combined.slice(0, first), combined.slice(first).rechunk()],
                     rechunk=False)


_shared: dict[str, AnalyticsData] = {}
_shared_lock = threading.Lock()


def shared_analytics(engine: Engine | None = None) -> AnalyticsData:
    """The process-wide `AnalyticsData` for `engine` (default: DATABASE_URL's), starting
    from and following the shared files of its database (`jobs.analytics.shared`)."""
    from jobs.analytics.shared import FrameStore

    engine = engine or get_engine()
    key = engine.url.render_as_string(hide_password=True)
    with _shared_lock:
        data = _shared.get(key)
        if data is None or data.engine is not engine:
            try:
                store = FrameStore.for_engine(engine)
            except Exception:  # the database is down: frames() will say so itself
                log.warning("analytics: no shared files for now", exc_info=True)
                store = None
            data = _shared[key] = AnalyticsData(engine, store=store)
        return data
