"""Prometheus metrics (all named `rackroom_*`), shared by every process of one server.

Two kinds:

- **Counted in process** (requests, Reflex events, reservations, job runs, the
  database pool): `prometheus_client` metrics below. With `PROMETHEUS_MULTIPROC_DIR`
  set (the production launcher sets it, wiped at each start) each process writes its
  counts to files there and `render()` adds up every process's, so any web worker
  answers /metrics for all of them and for the jobs process beside them.
- **Read from the database** at scrape time (`DatabaseCollector`): ledger rows by
  reason, import runs and rows, sync runs and the age of each brand's last good sync,
  open alerts, out-of-stock variants, the leader's heartbeat. These are facts about
  the data, true whichever process asks; they are cached for `CACHE_SECONDS` so a
  burst of scrapes costs one round of queries.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

from models.base import utcnow
from models.db import get_engine, read_session
from models.health import LedgerTally, OperationalCounts, operational_counts
from models.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 10.0
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "rackroom_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "rackroom_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
EVENTS = Counter(
    "rackroom_events_total",
    "Reflex events handled, by handler and outcome (ok, error).",
    ["handler", "outcome"],
)
EVENT_LATENCY = Histogram(
    "rackroom_event_duration_seconds",
    "Time to handle a Reflex event (a background event: its whole run), by handler.",
    ["handler"],
    buckets=_LATENCY_BUCKETS,
)
RESERVATIONS = Counter(
    "rackroom_reservations_total",
    "Reservation outcomes: created, replayed (idempotent retry), refused (by reason), "
    "committed, released, expired.",
    ["outcome", "reason"],
)
JOB_RUNS = Counter(
    "rackroom_job_runs_total",
    "Scheduled job runs by job and outcome (ok, failed, missed).",
    ["job", "outcome"],
)
OUTBOX_RELAYED = Counter(
    "rackroom_outbox_relayed_total",
    "Outbox events the relay has read and handed on, by event type.",
    ["type"],
)
WEBHOOK_ATTEMPTS = Counter(
    "rackroom_webhook_attempts_total",
    "Webhook delivery attempts by result (delivered, retrying, failed: given up or 410).",
    ["result"],
)
AMQP_PUBLISHED = Counter(
    "rackroom_amqp_published_total",
    "Events RabbitMQ has confirmed.",
)
SCHEDULER_LEADER = Gauge(
    "rackroom_scheduler_leader",
    "1 for each live process that leads the scheduler (should add up to 1).",
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "rackroom_db_pool_connections_in_use",
    "Database connections checked out of the pools of live processes.",
    multiprocess_mode="livesum",
)


def count_reservation(outcome: str, reason: str = "") -> None:
    RESERVATIONS.labels(outcome=outcome, reason=reason).inc()


def count_job_run(job_id: str, outcome: str) -> None:
    # One series per job, not per brand run-now: "sync-now:NRD" and "sync:NRD" stay apart
    # but bounded by the number of brands.
    JOB_RUNS.labels(job=job_id, outcome=outcome).inc()


_pool_hooked = False


def instrument_pools() -> None:
    """Count connections in use across every engine of this process (once)."""
    global _pool_hooked
    if _pool_hooked:
        return
    _pool_hooked = True
    event.listen(Pool, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(Pool, "checkin", lambda *_: DB_POOL_IN_USE.dec())


def start_process_metrics(configured: Settings) -> None:
    """Call once when a process starts (web worker, jobs): pool accounting on."""
    del configured  # the multiprocess directory is read by prometheus_client itself
    instrument_pools()


class DatabaseCollector(Collector):
    """Metrics that are facts about the data, read at scrape time (cached briefly)."""

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._ledger = LedgerTally()
        self._lock = threading.Lock()
        self._cached: tuple[float, OperationalCounts] | None = None

    def _counts(self) -> OperationalCounts | None:
        with self._lock:
            engine = get_engine()
            if engine is not self._engine:  # another database: start the tally afresh
                self._engine, self._ledger, self._cached = engine, LedgerTally(), None
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            try:
                with read_session(engine) as session:
                    counts = operational_counts(session, self._ledger)
            except Exception:
                log.exception("could not read operational counts for /metrics")
                return self._cached[1] if self._cached else None
            self._cached = (time.monotonic(), counts)
            return counts

    def collect(self) -> Iterator:
        counts = self._counts()
        up = GaugeMetricFamily(
            "rackroom_database_up", "1 when the database answered the last scrape's queries."
        )
        up.add_metric([], 1 if counts is not None else 0)
        yield up
        if counts is None:
            return
        ledger = CounterMetricFamily(
            "rackroom_ledger_rows", "Stock ledger rows written, by reason.", labels=["reason"]
        )
        for reason, total in sorted(counts.ledger_rows_by_reason.items()):
            ledger.add_metric([reason], total)
        yield ledger
        runs = CounterMetricFamily(
            "rackroom_import_runs", "Vendor feed import runs, by status.", labels=["status"]
        )
        rows = CounterMetricFamily(
            "rackroom_import_rows", "Rows in vendor feed import runs, by status.", labels=["status"]
        )
        for status, total in sorted(counts.import_runs_by_status.items()):
            runs.add_metric([status], total)
            rows.add_metric([status], counts.import_rows_by_status.get(status, 0))
        yield runs
        yield rows
        syncs = CounterMetricFamily(
            "rackroom_sync_runs",
            "Brand sync runs, by brand and status.",
            labels=["brand", "status"],
        )
        for (brand, status), total in sorted(counts.sync_runs.items()):
            syncs.add_metric([brand, status], total)
        yield syncs
        now = utcnow()
        since = GaugeMetricFamily(
            "rackroom_sync_seconds_since_success",
            "Seconds since each brand's last successful (or not-modified) sync.",
            labels=["brand"],
        )
        for brand, finished in sorted(counts.last_good_sync.items()):
            since.add_metric([brand], max(0.0, (now - finished).total_seconds()))
        yield since
        alerts = GaugeMetricFamily(
            "rackroom_open_alerts", "Alerts not yet resolved, by kind.", labels=["kind"]
        )
        for kind, total in sorted(counts.open_alerts_by_kind.items()):
            alerts.add_metric([kind], total)
        yield alerts
        oos = GaugeMetricFamily(
            "rackroom_out_of_stock_variants",
            "Variants with stock rows but nothing available in any warehouse.",
        )
        oos.add_metric([], counts.out_of_stock_variants)
        yield oos
        seen = GaugeMetricFamily(
            "rackroom_scheduler_leader_heartbeat_age_seconds",
            "Seconds since the scheduler leader last recorded its heartbeat (none: never).",
        )
        if counts.leader_seen_at is not None:
            seen.add_metric([], max(0.0, (now - counts.leader_seen_at).total_seconds()))
        yield seen


_database_collector = DatabaseCollector()
_default_registered = False


def _forget_dead_processes(path: str) -> None:
    """Drop the live-gauge files of processes that have died (a killed worker)."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = Path(name).stem.rsplit("_", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            mark_process_dead(int(pid), path)
        except PermissionError:
            pass


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics, and its content type."""
    global _default_registered
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        _forget_dead_processes(path)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)
        registry.register(_database_collector)
    else:
        registry = REGISTRY
        if not _default_registered:
            registry.register(_database_collector)
            _default_registered = True
    return generate_latest(registry), CONTENT_TYPE_LATEST
