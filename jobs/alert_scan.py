"""The alert scan job: keep every watched balance and size run's alerts current on a schedule
(incremental: only what changed since the last scan; see `models.alerts.scan`).

`check_alerts_for` keeps alerts current as operations run; this scan catches what
those calls could not see (reservations, imports and syncs that do not call it, rule
changes, snoozes running out). It is set-based and idempotent, so a retry after a
lock conflict is safe.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from models.alerts import AlertChanges, archive_resolved, scan_alerts
from models.db import transaction

log = logging.getLogger("rackroom.jobs")
ATTEMPTS = 3


def run_alert_scan(engine: Engine | None = None) -> AlertChanges:
    """One scan in one transaction, retried on a deadlock or serialisation failure.

    Without `engine` it works on the scheduler's database (`job_engine()`), so the job
    stores no arguments in the persistent job store.
    """
    if engine is None:
        try:
            from jobs.housekeeping import job_engine
        except ImportError:  # an older scheduler without the job engine: the default one
            engine = None
        else:
            engine = job_engine()
    for attempt in range(1, ATTEMPTS + 1):
        started = time.perf_counter()
        try:
            with transaction(engine) as session:
                changes = scan_alerts(session)
        except OperationalError:
            if attempt == ATTEMPTS:
                raise
            log.warning("alert scan hit a lock conflict; retrying (%d/%d)", attempt, ATTEMPTS)
            time.sleep(0.2 * attempt)
            continue
        log.info(
            "alert scan in %.2f s: %d raised, %d resolved, %d reopened",
            time.perf_counter() - started,
            changes.raised,
            changes.resolved,
            changes.reopened,
        )
        return changes
    raise AssertionError("unreachable")


def run_alert_archive(engine: Engine | None = None) -> int:
    """Nightly: move alerts resolved longer ago than RACKROOM_ALERT_ARCHIVE_AFTER to the
    archive, in one transaction; returns how many moved."""
    if engine is None:
        from jobs.housekeeping import job_engine

        engine = job_engine()
    with transaction(engine) as session:
        moved = archive_resolved(session)
    if moved:
        log.info("archived %d resolved alert(s)", moved)
    return moved
