"""The scheduled jobs' bodies (registered in `jobs.scheduler.build_scheduler`).

Each is a plain module-level function without arguments that cannot be stored
(APScheduler pickles a job's arguments into the job store): they find the database
through `job_engine()`, which the scheduler sets when it is built. Each catches what
it can report and records it; APScheduler also survives anything that escapes.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine

from jobs import metrics
from models.base import utcnow
from models.db import get_engine, transaction
from models.errors import NotFound
from models.reservations import expire_due
from models.scheduling import record_job_run
from models.settings import settings
from models.stock import reconcile, reconcile_totals
from models.syncs import SyncBusy

log = logging.getLogger("rackroom.jobs")
EXPIRY_BATCH = 500
DRIFT_SAMPLES = 20

_engine: Engine | None = None


def set_job_engine(engine: Engine | None) -> None:
    """The database the jobs of this process work on (None: the default engine)."""
    global _engine
    _engine = engine


def job_engine() -> Engine:
    return _engine or get_engine()


def expire_reservations(engine: Engine | None = None) -> int:
    """Expire every overdue reservation, a batch per transaction; returns how many."""
    total = 0
    while True:
        with transaction(engine or job_engine()) as session:
            expired = expire_due(session, limit=EXPIRY_BATCH)
        total += expired
        if expired < EXPIRY_BATCH:
            break
    if total:
        log.info("expired %d reservation(s)", total)
        metrics.RESERVATIONS.labels(outcome="expired", reason="").inc(total)
    return total


def snapshot_stock() -> int:
    """Nightly: today's stock per brand × warehouse × category (see models.snapshots)."""
    from models.snapshots import take_stock_snapshot

    started = utcnow()
    clock = time.perf_counter()
    with transaction(job_engine()) as session:
        rows = take_stock_snapshot(session)
        record_job_run(
            session,
            "nightly_snapshot",
            status="ok",
            started_at=started,
            summary=f"snapshot of {started.date()}: {rows:,} rows in "
            f"{time.perf_counter() - clock:.2f}s",
            detail={"day": started.date().isoformat(), "rows": rows},
        )
    log.info("nightly snapshot: %d rows", rows)
    return rows


def reconcile_stock() -> int:
    """Nightly: prove balances equal their ledger and the per-variant totals their
    balances; record any drift found (count + samples)."""
    started = utcnow()
    clock = time.perf_counter()
    with transaction(job_engine()) as session:
        drifts = reconcile(session)
        totals = reconcile_totals(session)
        seconds = time.perf_counter() - clock
        if drifts or totals:
            summary = (
                f"{len(drifts):,} balance(s) differ from their ledger, "
                f"{len(totals):,} variant or style-colour total(s) from their balances"
            )
            first = (drifts or totals)[0].describe()
            log.warning("nightly reconcile: %s; first: %s", summary, first)
        else:
            summary = "every balance matches its ledger and every total its balances"
        record_job_run(
            session,
            "nightly_reconcile",
            status="drift" if drifts or totals else "ok",
            started_at=started,
            summary=f"{summary} ({seconds:.2f}s)",
            detail={
                "drifts": len(drifts),
                "total_drifts": len(totals),
                "samples": [
                    {
                        "variant_id": d.variant_id,
                        "warehouse_id": d.warehouse_id,
                        "balance": list(d.balance),
                        "ledger": list(d.ledger),
                        "describe": d.describe(),
                    }
                    for d in drifts[:DRIFT_SAMPLES]
                ]
                + [
                    {**t.detail(), "describe": t.describe()}
                    for t in totals[:DRIFT_SAMPLES]
                ],
            },
        )
    return len(drifts) + len(totals)


def sync_brand(brand_code: str) -> str:
    """One scheduled sync of one brand; returns the run's status (never raises)."""
    from jobs.syncs.run import run_sync

    try:
        return run_sync(brand_code, engine=job_engine(), trigger="schedule").status
    except SyncBusy as busy:
        log.info("sync %s skipped: %s", brand_code, busy.message)
        return "busy"
    except NotFound as missing:
        log.warning("sync %s skipped: %s", brand_code, missing.message)
        return "no connector"


def purge_events(engine: Engine | None = None) -> int:
    """Delete events older than RACKROOM_EVENT_RETENTION (30 days) that every reader has
    passed, with their webhook deliveries; returns how many events went."""
    from models.events import purge_events as purge

    total = 0
    while True:
        with transaction(engine or job_engine()) as session:
            deleted = purge(session, older_than=utcnow() - settings().event_retention)
        total += deleted
        if deleted == 0:
            break
    if total:
        log.info("purged %d event(s) past their retention", total)
    return total
