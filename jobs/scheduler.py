"""Background jobs on APScheduler.

For now one job: expire overdue reservations every few seconds, so their units
return to available even when a storefront never calls back. The scheduler runs in
the app process (one per process); later issues add a persistent job store and a
leader lock for running several processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from jobs.alert_scan import ALERT_SCAN_SECONDS, run_alert_scan
from models.base import utcnow
from models.db import transaction
from models.reservations import expire_due

log = logging.getLogger("rackroom.jobs")
EXPIRY_BATCH = 500


def expire_reservations(engine: Engine | None = None) -> int:
    """Expire every overdue reservation, a batch per transaction; returns how many."""
    total = 0
    while True:
        with transaction(engine) as session:
            expired = expire_due(session, limit=EXPIRY_BATCH)
        total += expired
        if expired < EXPIRY_BATCH:
            break
    if total:
        log.info("expired %d reservation(s)", total)
    return total


def build_scheduler(
    engine: Engine | None = None, *, expiry_seconds: float = 5.0
) -> BackgroundScheduler:
    """A scheduler with Rackroom's jobs registered (not started)."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    scheduler.add_job(
        expire_reservations,
        "interval",
        seconds=expiry_seconds,
        id="expire_reservations",
        name="Expire overdue reservations",
        kwargs={"engine": engine},
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        run_alert_scan,
        "interval",
        seconds=ALERT_SCAN_SECONDS,
        id="scan_alerts",
        name="Alert scan (low stock, out of stock, broken size runs)",
        kwargs={"engine": engine},
    )
    return scheduler


def in_app_scheduler_enabled() -> bool:
    """RACKROOM_SCHEDULER=off keeps the web process from running jobs (another does)."""
    return os.environ.get("RACKROOM_SCHEDULER", "on").strip().lower() not in {"off", "0", "no"}


@contextmanager
def running_scheduler(engine: Engine | None = None) -> Iterator[BackgroundScheduler | None]:
    """Run the jobs for the duration of the block (or not at all when disabled)."""
    if not in_app_scheduler_enabled():
        log.info("in-process scheduler disabled by RACKROOM_SCHEDULER")
        yield None
        return
    scheduler = build_scheduler(engine)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
