"""Background jobs on APScheduler: registered here, stored in our database, run by one leader.

All jobs are registered in `build_scheduler` (the one place), plus one sync job per
brand connector (`sync_connector_jobs`, kept in step with the `sync_connector` table):

| job id               | when                       | what                                   |
|----------------------|----------------------------|----------------------------------------|
| expire_reservations  | every 5 s                  | overdue reservations back to available |
| nightly_snapshot     | 00:10 UTC                  | stock per day × brand × warehouse × category |
| nightly_reconcile    | 01:00 UTC                  | balances vs ledger; drift recorded     |
| scan_alerts          | at start + RACKROOM_ALERT_SCAN_INTERVAL | low/out of stock, size runs |
| archive_alerts       | 02:00 UTC                  | resolved alerts past their time: archive |
| refresh_analytics    | every 1 s                  | analytics frames, files for the workers |
| purge_events         | hourly                     | events past RACKROOM_EVENT_RETENTION   |
| sync:<BRAND>         | the connector's interval   | the brand's stock feed                 |
| sync-now:<BRAND>     | once, when asked           | "run now" from a page                  |

Jobs live in APScheduler's SQLAlchemyJobStore in our database (`apscheduler_jobs`,
created by our migration), so next run times survive restarts: a nightly job missed
while no scheduler ran is run on start within its grace time. Job arguments are
pickled into that table: register module-level functions with plain arguments (brand
codes, numbers), never an engine or a session; jobs find the database through
`jobs.housekeeping.job_engine()`.

`SchedulerService` makes exactly one scheduler active, wherever it runs (in the web
app's process by default, or `python -m jobs`): it holds a PostgreSQL advisory lock
(a file lock on SQLite) while it leads; other instances stand by, polling the lock,
and take over when the leader goes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select

from jobs import metrics
from jobs.alert_scan import run_alert_archive, run_alert_scan
from jobs.analytics.shared import TICK_EVERY, refresh_analytics
from jobs.events.service import EventService
from jobs.housekeeping import (
    expire_reservations,
    job_engine,
    purge_events,
    reconcile_stock,
    set_job_engine,
    snapshot_stock,
    sync_brand,
)
from jobs.leader import LeaderLock, leader_lock
from models.base import utcnow
from models.catalog import Brand
from models.db import create_db_engine, get_engine, read_session, transaction
from models.scheduling import (
    SCHEDULER_JOBS_TABLE,
    beat_as_leader,
    record_job_run,
    runner_name,
)
from models.settings import settings
from models.syncs import Connector, close_abandoned_runs, sync_job_id

log = logging.getLogger("rackroom.jobs")

NIGHTLY_GRACE = 12 * 3600
#: Jobs that run every few seconds: their successful runs are logged at DEBUG only.
QUIET_JOBS = frozenset({"expire_reservations", "refresh_analytics"})
#: Runs still "running" after this long belonged to a process that died.
ABANDONED_AFTER = timedelta(minutes=20)

__all__ = [
    "SchedulerService",
    "build_scheduler",
    "expire_reservations",
    "in_app_scheduler_enabled",
    "running_scheduler",
    "sync_connector_jobs",
]


def build_scheduler(
    engine: Engine | None = None,
    *,
    expiry_seconds: float = 5.0,
    persistent: bool = True,
    sync_concurrency: int | None = None,
) -> BackgroundScheduler:
    """A scheduler with Rackroom's jobs registered (not started).

    With `persistent`, jobs are kept in the database's `apscheduler_jobs`; a job whose
    schedule has not changed keeps its stored next run time (so a missed nightly run
    is caught up), one whose schedule changed starts afresh.
    """
    engine = engine or get_engine()
    set_job_engine(engine)
    # Jobs with nothing worth keeping across restarts, run too often to write their next
    # run time to the database each time.
    jobstores: dict[str, Any] = {"volatile": MemoryJobStore()}
    store = None
    if persistent:
        store = SQLAlchemyJobStore(engine=_store_engine(engine), tablename=SCHEDULER_JOBS_TABLE)
        jobstores["default"] = store
    scheduler = BackgroundScheduler(
        jobstores=jobstores,
        executors={
            "default": ThreadPoolExecutor(4),
            # Syncs run in their own pool: at most RACKROOM_SYNC_CONCURRENCY brands at once.
            "syncs": ThreadPoolExecutor(sync_concurrency or settings().sync_concurrency),
        },
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    stored = _stored_jobs(store, scheduler) if store is not None else {}

    def add(func, trigger: BaseTrigger, job_id: str, name: str, **options: Any) -> None:
        kept = stored.get(job_id)
        if kept is not None and kept[0] == str(trigger) and kept[1] == _ref(func):
            options.setdefault("next_run_time", kept[2])
        scheduler.add_job(func, trigger, id=job_id, name=name, replace_existing=True, **options)

    add(
        expire_reservations,
        IntervalTrigger(seconds=expiry_seconds, timezone=UTC),
        "expire_reservations",
        "Expire overdue reservations",
        next_run_time=utcnow(),
    )
    add(
        snapshot_stock,
        CronTrigger(hour=0, minute=10, timezone=UTC),
        "nightly_snapshot",
        "Nightly stock snapshot",
        misfire_grace_time=NIGHTLY_GRACE,
    )
    add(
        reconcile_stock,
        CronTrigger(hour=1, minute=0, timezone=UTC),
        "nightly_reconcile",
        "Nightly reconcile (balances vs ledger)",
        misfire_grace_time=NIGHTLY_GRACE,
    )
    add(
        run_alert_scan,
        IntervalTrigger(seconds=settings().alert_scan_interval.total_seconds(), timezone=UTC),
        "scan_alerts",
        "Alert scan (low stock, out of stock, broken size runs)",
        # At start too: a new install (or one that was down) shows its alerts at once,
        # not an interval later; a scan after a recent one only re-checks what changed.
        next_run_time=utcnow(),
    )
    add(
        run_alert_archive,
        CronTrigger(hour=2, minute=0, timezone=UTC),
        "archive_alerts",
        "Archive resolved alerts past RACKROOM_ALERT_ARCHIVE_AFTER",
        misfire_grace_time=NIGHTLY_GRACE,
    )
    add(
        refresh_analytics,
        IntervalTrigger(seconds=TICK_EVERY, timezone=UTC),
        "refresh_analytics",
        "Refresh and publish the analytics frames for the web workers",
        jobstore="volatile",
    )
    add(
        purge_events,
        IntervalTrigger(hours=1, timezone=UTC),
        "purge_events",
        "Purge events past their retention (and their webhook deliveries)",
    )
    return scheduler


def _store_engine(engine: Engine) -> Engine:
    """The job store's own small engine: APScheduler disposes its engine on shutdown,
    which must not be the application's (an in-memory SQLite database cannot be shared
    that way, and keeps the application's)."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine
    return create_db_engine(engine.url.render_as_string(hide_password=False), pool_size=2)


def _ref(func) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _stored_jobs(
    store: SQLAlchemyJobStore, scheduler: BackgroundScheduler
) -> dict[str, tuple[str, str, datetime | None]]:
    """job id → (trigger as text, function reference, next run), read through the job
    store's own API before the scheduler starts (and replaces them)."""
    try:
        store.start(scheduler, "default")
        jobs = store.get_all_jobs()  # drops (and logs) jobs an older version stored
    except Exception:  # no table yet (an unmigrated database): nothing to keep
        log.warning("could not read the job store; jobs start with fresh schedules")
        return {}
    return {job.id: (str(job.trigger), job.func_ref, job.next_run_time) for job in jobs}


def sync_connector_jobs(scheduler: BackgroundScheduler, engine: Engine | None = None) -> None:
    """Make the scheduler's `sync:<BRAND>` jobs match the connectors (add, reschedule,
    pause, resume, remove) and queue a one-off run for each "run now" request."""
    engine = engine or job_engine()
    now = utcnow()
    with read_session(engine) as session:
        rows = session.execute(
            select(
                Brand.code, Connector.every_seconds, Connector.paused, Connector.run_requested_at
            ).join(Brand, Brand.id == Connector.brand_id)
        ).all()
    existing = {job.id: job for job in scheduler.get_jobs() if job.id.startswith("sync:")}
    for code, every, paused, requested in rows:
        job_id = sync_job_id(code)
        job = existing.pop(job_id, None)
        if job is None:
            scheduler.add_job(
                sync_brand,
                IntervalTrigger(seconds=every, timezone=UTC),
                id=job_id,
                name=f"Sync {code}",
                kwargs={"brand_code": code},
                executor="syncs",
                misfire_grace_time=max(60, every),
                next_run_time=None if paused else now,
                replace_existing=True,
            )
            log.info("scheduled sync of %s every %ss%s", code, every, " (paused)" if paused else "")
        else:
            if job.trigger.interval.total_seconds() != every:
                scheduler.reschedule_job(
                    job_id, trigger=IntervalTrigger(seconds=every, timezone=UTC)
                )
                log.info("rescheduled sync of %s: every %ss", code, every)
                job = scheduler.get_job(job_id)
            if paused and job.next_run_time is not None:
                scheduler.pause_job(job_id)
                log.info("paused sync of %s", code)
            elif not paused and job.next_run_time is None:
                scheduler.resume_job(job_id)
                log.info("resumed sync of %s", code)
        if requested is not None:
            scheduler.add_job(
                sync_brand,
                DateTrigger(run_date=now, timezone=UTC),
                id=f"sync-now:{code}",
                name=f"Sync {code} now",
                kwargs={"brand_code": code},
                executor="syncs",
                misfire_grace_time=300,
                replace_existing=True,
            )
    for job_id in existing:
        try:
            scheduler.remove_job(job_id)
            log.info("removed %s (its connector is gone)", job_id)
        except JobLookupError:
            pass


class SchedulerService:
    """Runs the scheduler in this process while it holds the leader lock; stands by otherwise.

    A background thread tries the lock every `poll_seconds`. As leader it starts the
    scheduler, then every `watch_seconds` checks that the lock is still held, brings the
    brand sync jobs in line with the connectors and closes runs whose process died.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        expiry_seconds: float = 5.0,
        poll_seconds: float = 5.0,
        watch_seconds: float = 5.0,
        run_now: Iterable[str] = (),
        lock: LeaderLock | None = None,
    ) -> None:
        self.engine = engine or get_engine()
        self.expiry_seconds = expiry_seconds
        self.poll_seconds = poll_seconds
        self.watch_seconds = watch_seconds
        self.run_now = list(run_now)
        self.lock = lock or leader_lock(self.engine)
        self.scheduler: BackgroundScheduler | None = None
        self.leading_since = utcnow()
        self.became_leader = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> SchedulerService:
        self._thread = threading.Thread(target=self._loop, name="scheduler-leader", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        log.info(_event("scheduler_standby", runner=runner_name()))
        try:
            while not self._stop.is_set():
                if self.scheduler is None:
                    try:
                        acquired = self.lock.acquire()
                    except Exception:
                        log.exception("could not try the leader lock")
                        acquired = False
                    if acquired:
                        self._lead()
                    else:
                        self._stop.wait(self.poll_seconds)
                    continue
                if not self.lock.held():
                    log.error(_event("scheduler_lost_lock", runner=runner_name()))
                    self._step_down()
                    continue
                self._watch()
                self._stop.wait(self.watch_seconds)
        finally:
            self._step_down()

    def _lead(self) -> None:
        try:
            scheduler = build_scheduler(self.engine, expiry_seconds=self.expiry_seconds)
            scheduler.add_listener(
                self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
            )
            scheduler.start()
        except Exception:
            log.exception("the scheduler could not start; releasing the leader lock")
            self.lock.release()
            self._stop.wait(self.poll_seconds)
            return
        self.scheduler = scheduler
        self.leading_since = utcnow()
        metrics.SCHEDULER_LEADER.set(1)
        log.info(_event("scheduler_leader", runner=runner_name()))
        now = utcnow()
        for job_id in self.run_now:
            try:
                scheduler.modify_job(job_id, next_run_time=now)
            except JobLookupError:
                log.warning("--run-now: no job %r", job_id)
        self._watch()
        self.became_leader.set()

    def _watch(self) -> None:
        try:
            with transaction(self.engine) as session:
                beat_as_leader(session, runner_name(), self.leading_since)
        except Exception:
            log.exception("could not record the leader's heartbeat")
        try:
            sync_connector_jobs(self.scheduler, self.engine)
            with transaction(self.engine) as session:
                closed = close_abandoned_runs(session, older_than=utcnow() - ABANDONED_AFTER)
            if closed:
                log.warning("closed %d sync run(s) abandoned by a dead process", closed)
        except Exception:  # keep leading; the next round tries again
            log.exception("keeping the sync jobs in step with the connectors failed")

    def _step_down(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        metrics.SCHEDULER_LEADER.set(0)
        if scheduler is not None:
            try:
                scheduler.shutdown(wait=True)
            except Exception:
                log.exception("scheduler shutdown failed")
            log.info(_event("scheduler_stopped", runner=runner_name()))
        try:
            self.lock.release()
        except Exception:
            log.exception("releasing the leader lock failed")

    def _on_event(self, event: JobExecutionEvent) -> None:
        """A structured log line per job run; failures also go to the job_run history."""
        scheduled = event.scheduled_run_time
        if event.code == EVENT_JOB_MISSED:
            log.warning(_event("job_missed", job=event.job_id, scheduled=scheduled))
            metrics.count_job_run(event.job_id, "missed")
            return
        ok = event.exception is None
        metrics.count_job_run(event.job_id, "ok" if ok else "failed")
        level = logging.DEBUG if event.job_id in QUIET_JOBS else logging.INFO
        log.log(
            level if ok else logging.ERROR,
            _event("job_run", job=event.job_id, scheduled=scheduled, ok=ok, runner=runner_name()),
        )
        if not ok:
            try:
                with transaction(self.engine) as session:
                    record_job_run(
                        session,
                        event.job_id,
                        status="failed",
                        started_at=scheduled or utcnow(),
                        summary=f"{type(event.exception).__name__}: {event.exception}",
                    )
            except Exception:
                log.exception("could not record the failure of %s", event.job_id)


def _event(name: str, **fields: Any) -> str:
    """One JSON log line: {"event": name, ...} (datetimes as ISO 8601)."""
    return json.dumps(
        {
            "event": name,
            **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()},
        }
    )


def in_app_scheduler_enabled() -> bool:
    """RACKROOM_SCHEDULER=off keeps the web process from running jobs (another does)."""
    return settings().scheduler


@contextmanager
def running_scheduler(engine: Engine | None = None) -> Iterator[SchedulerService | None]:
    """Take part in running the jobs for the duration of the block (leader or standby),
    and in moving events out (`jobs/events`: relay, webhook delivery, the broker).

    Several web workers, or a web app beside `python -m jobs`, are fine: one leads.
    """
    if not in_app_scheduler_enabled():
        log.info("in-process scheduler disabled by RACKROOM_SCHEDULER")
        yield None
        return
    service = SchedulerService(engine).start()
    events = EventService(service.engine).start()
    try:
        yield service
    finally:
        events.stop()
        service.stop()
