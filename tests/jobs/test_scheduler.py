"""The scheduler: jobs registered once in the database, sync jobs that follow the connectors,
housekeeping records, the leader lock, and real `python -m jobs` processes — on both
databases (PostgreSQL advisory lock, SQLite file lock)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from jobs.housekeeping import reconcile_stock, set_job_engine, snapshot_stock
from jobs.leader import leader_lock
from jobs.scheduler import SchedulerService, build_scheduler, sync_connector_jobs
from models.db import PROJECT_ROOT, read_session, transaction
from models.scheduling import JobRun, job_health, scheduler_jobs
from models.stock import StockBalance, receive
from models.syncs import (
    SyncRun,
    delete_connector,
    pause_sync,
    request_sync,
    reschedule_sync,
    set_connector,
    sync_health,
)
from tests.factories import make_world
from tests.sync_support import DemoBrand, DemoBrandApi, DemoItem, serve_demo

HOUSEKEEPING = {
    "expire_reservations",
    "nightly_snapshot",
    "nightly_reconcile",
    "scan_alerts",
    "archive_alerts",
    "purge_events",
}


@pytest.fixture(autouse=True)
def _reset_job_engine():
    yield
    set_job_engine(None)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.1)


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_jobs_are_stored_once_and_keep_their_next_run_across_restarts(engine):
    first = build_scheduler(engine)
    first.start()
    assert {j.id for j in first.get_jobs()} >= HOUSEKEEPING
    # Not on the cron's own grid, so only the stored value can bring it back.
    moved = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3, minutes=7)
    first.modify_job("nightly_snapshot", next_run_time=moved)
    first.shutdown()

    again = build_scheduler(engine)
    again.start()
    try:
        assert again.get_job("nightly_snapshot").next_run_time == moved
        assert again.get_job("nightly_reconcile").next_run_time > datetime.now(UTC)
    finally:
        again.shutdown()
    with read_session(engine) as session:
        ids = session.scalars(select(scheduler_jobs.c.id)).all()
        health = {h.job_id: h for h in job_health(session)}
    assert sorted(ids) == sorted(HOUSEKEEPING)
    assert health["nightly_snapshot"].next_run_at == moved


def test_sync_jobs_follow_the_connectors(engine):
    make_world(engine)
    make_world(engine, brand="OTH", warehouses=())
    with transaction(engine) as session:
        set_connector(session, "NRD", style="json", url="http://127.0.0.1:9/a", every="15m")
        set_connector(session, "OTH", style="json", url="http://127.0.0.1:9/b", every="1h")
    scheduler = build_scheduler(engine)
    scheduler.start()
    scheduler.pause()  # keep the jobs from running; only their schedules are looked at
    try:
        sync_connector_jobs(scheduler, engine)
        jobs = {j.id: j for j in scheduler.get_jobs() if j.id.startswith("sync")}
        assert set(jobs) == {"sync:NRD", "sync:OTH"}
        assert jobs["sync:NRD"].trigger.interval == timedelta(minutes=15)
        assert jobs["sync:NRD"].executor == "syncs"
        with read_session(engine) as session:
            health = {h.brand_code: h for h in sync_health(session)}
        assert health["NRD"].next_run_at is not None  # read from the job store

        with transaction(engine) as session:
            pause_sync(session, "NRD")
            reschedule_sync(session, "OTH", "30m")
            request_sync(session, "OTH")
        sync_connector_jobs(scheduler, engine)
        assert scheduler.get_job("sync:NRD").next_run_time is None
        assert scheduler.get_job("sync:OTH").trigger.interval == timedelta(minutes=30)
        assert scheduler.get_job("sync-now:OTH") is not None
        with read_session(engine) as session:
            assert {h.brand_code: h.next_run_at for h in sync_health(session)}["NRD"] is None

        with transaction(engine) as session:
            delete_connector(session, "OTH")
        sync_connector_jobs(scheduler, engine)
        assert scheduler.get_job("sync:OTH") is None
    finally:
        # APScheduler processes due jobs once when a paused scheduler shuts down: none left.
        scheduler.remove_all_jobs()
        scheduler.shutdown()


def test_nightly_snapshot_and_reconcile_record_what_they_found(engine):
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        receive(session, world.variants["S"], world.warehouses["WH2"], 2, actor="t")
    set_job_engine(engine)
    assert snapshot_stock() == 2
    assert reconcile_stock() == 0
    with transaction(engine) as session:  # drift: a balance changed behind the ledger's back
        session.execute(update(StockBalance).values(on_hand=StockBalance.on_hand + 1))
    assert reconcile_stock() == 2
    with read_session(engine) as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.id)).all()
    assert [(r.job_id, r.status) for r in runs] == [
        ("nightly_snapshot", "ok"),
        ("nightly_reconcile", "ok"),
        ("nightly_reconcile", "drift"),
    ]
    assert runs[2].detail["drifts"] == 2
    described = [s["describe"] for s in runs[2].detail["samples"]]
    assert any("on_hand 6 but ledger says 5" in d for d in described)


def test_the_leader_lock_is_exclusive(engine):
    first, second = leader_lock(engine), leader_lock(engine)
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        assert first.held() is True
        first.release()
        assert second.acquire() is True
        assert first.acquire() is False
    finally:
        first.release()
        second.release()


def test_a_failing_sync_never_stops_the_scheduler(engine):
    make_world(engine)
    api = DemoBrandApi([DemoBrand("NRD", [])])
    api.add_fault(kind="html", times=-1)
    with serve_demo(api) as base:
        with transaction(engine) as session:
            set_connector(session, "NRD", style="json", url=f"{base}/brands/NRD/stock")
        service = SchedulerService(engine, expiry_seconds=0.2, poll_seconds=0.1, watch_seconds=0.1)
        service.start()
        try:
            assert service.became_leader.wait(10)

            def failed_runs() -> int:
                with read_session(engine) as session:
                    return session.scalar(select(func.count()).where(SyncRun.status == "failed"))

            wait_for(lambda: failed_runs() == 1, 15, "the scheduled run")
            with transaction(engine) as session:
                request_sync(session, "NRD")  # "run now" from a page, picked up by the leader
            wait_for(lambda: failed_runs() == 2, 15, "the requested run")
            assert service.is_leader and service.scheduler.running
        finally:
            service.stop()
    assert not service.is_leader


# --- two real scheduler processes -------------------------------------------------------


class Process:
    def __init__(self, url: str, *extra: str) -> None:
        # DEBUG: the every-few-seconds expiry job logs its runs only at that level.
        env = os.environ | {
            "DATABASE_URL": url,
            "PYTHONUNBUFFERED": "1",
            "RACKROOM_LOG_LEVEL": "DEBUG",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jobs",
                "--expiry-seconds",
                "0.5",
                "--poll",
                "0.3",
                "--watch",
                "0.3",
                *extra,
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.events: list[dict] = []
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def count(self, event: str, **match) -> int:
        return sum(
            1
            for e in self.events
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        )

    @property
    def runner(self) -> str:
        return next(e["runner"] for e in self.events if e.get("event") == "scheduler_standby")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(30)
        self.reader.join(5)


def test_two_scheduler_processes_run_each_job_once_and_the_standby_takes_over(engine):
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 3, actor="t")
    api = DemoBrandApi([DemoBrand("NRD", [DemoItem("NRD-TEE1-BLK-M", "WH1", 9, None)])])
    with serve_demo(api) as base:
        with transaction(engine) as session:
            set_connector(session, "NRD", style="json", url=f"{base}/brands/NRD/stock", every="1h")
        run_now = ("--run-now", "nightly_snapshot,nightly_reconcile")
        procs = [Process(url_of(engine), *run_now), Process(url_of(engine), *run_now)]
        try:

            def job_runs() -> dict[str, list[str]]:
                with read_session(engine) as session:
                    rows = session.execute(select(JobRun.job_id, JobRun.runner)).all()
                out: dict[str, list[str]] = {}
                for job_id, runner in rows:
                    out.setdefault(job_id, []).append(runner)
                return out

            def sync_runs() -> int:
                with read_session(engine) as session:
                    return session.scalar(select(func.count()).where(SyncRun.status != "running"))

            wait_for(
                lambda: (
                    len(job_runs()) == 2
                    and sync_runs() == 1
                    and sum(p.count("job_run", job="expire_reservations") for p in procs) >= 4
                ),
                45,
                "the leader's first rounds",
            )
            time.sleep(1.5)  # time for a second scheduler to (wrongly) run anything

            leaders = [p for p in procs if p.count("scheduler_leader")]
            assert len(leaders) == 1, [p.lines for p in procs]
            leader, standby = leaders[0], next(p for p in procs if p is not leaders[0])
            assert standby.count("job_run") == 0
            assert job_runs() == {
                "nightly_snapshot": [leader.runner],
                "nightly_reconcile": [leader.runner],
            }
            assert sync_runs() == 1 and api.requests["NRD"] == 1
            ran = [(e["job"], e["scheduled"]) for e in leader.events if e.get("event") == "job_run"]
            assert len(ran) == len(set(ran))  # no scheduled run executed twice

            # The leader dies without a word; the standby takes over.
            leader.stop(signal.SIGKILL)
            wait_for(lambda: standby.count("scheduler_leader") == 1, 30, "the standby to lead")
            wait_for(lambda: len(job_runs()["nightly_snapshot"]) == 2, 30, "the new leader")
            assert job_runs()["nightly_snapshot"][1] == standby.runner
        finally:
            for proc in procs:
                proc.stop()
    assert all(p.proc.returncode in (0, -signal.SIGKILL) for p in procs)
