"""What the background scheduler keeps in the database.

- `apscheduler_jobs`: APScheduler's own job store table (SQLAlchemyJobStore). Its
  shape is APScheduler's; it is declared here so our Alembic migration creates it
  (and the job store's own `CREATE TABLE IF NOT EXISTS` finds it there) and so the
  migration test compares it like every other table.
- `JobRun`: the outcome of the housekeeping jobs worth remembering (nightly snapshot,
  nightly reconcile with the drift it found) and of any job that failed.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    LargeBinary,
    Table,
    Unicode,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import JSONType

#: APScheduler 3's SQLAlchemyJobStore table, column for column. Float(25) is what it
#: declares (an 8-byte float); PostgreSQL reports that back as DOUBLE PRECISION.
SCHEDULER_JOBS_TABLE = "apscheduler_jobs"
scheduler_jobs = Table(
    SCHEDULER_JOBS_TABLE,
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column(
        "next_run_time",
        Float(25).with_variant(postgresql.DOUBLE_PRECISION(precision=53), "postgresql"),
        index=True,
    ),
    Column("job_state", LargeBinary, nullable=False),
)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job that is worth a line in the history."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started", "job_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    job_id: str = Field(max_length=100)
    status: str = Field(max_length=16)  # "ok" or "failed"
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    summary: str = Field(default="", max_length=1000)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: Which process ran it: "host:pid" (shows which scheduler was the leader).
    runner: str = Field(default="", max_length=200)


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record_job_run(
    session: Session,
    job_id: str,
    *,
    status: str,
    started_at: datetime,
    summary: str,
    detail: dict[str, Any] | None = None,
) -> JobRun:
    run = JobRun(
        job_id=job_id,
        status=status,
        started_at=started_at,
        finished_at=utcnow(),
        summary=summary[:1000],
        detail=detail or {},
        runner=runner_name(),
    )
    session.add(run)
    session.flush()
    return run


@dataclass(frozen=True, slots=True)
class JobHealth:
    """A scheduled job as a status page shows it."""

    job_id: str
    next_run_at: datetime | None
    last_status: str | None
    last_started_at: datetime | None
    last_summary: str | None
    last_runner: str | None


def job_health(session: Session) -> list[JobHealth]:
    """Every job in the job store (and every job with history): next run and last outcome."""
    from datetime import UTC

    next_runs = {
        job_id: (datetime.fromtimestamp(ts, UTC) if ts is not None else None)
        for job_id, ts in session.execute(
            select(scheduler_jobs.c.id, scheduler_jobs.c.next_run_time)
        )
    }
    last_ids = select(func.max(JobRun.id)).group_by(JobRun.job_id)
    last = {r.job_id: r for r in session.scalars(select(JobRun).where(JobRun.id.in_(last_ids)))}
    return [
        JobHealth(
            job_id=job_id,
            next_run_at=next_runs.get(job_id),
            last_status=last[job_id].status if job_id in last else None,
            last_started_at=last[job_id].started_at if job_id in last else None,
            last_summary=last[job_id].summary if job_id in last else None,
            last_runner=last[job_id].runner if job_id in last else None,
        )
        for job_id in sorted(set(next_runs) | set(last))
    ]


def job_runs(session: Session, job_id: str | None = None, *, limit: int = 20) -> list[JobRun]:
    query = select(JobRun)
    if job_id:
        query = query.where(JobRun.job_id == job_id)
    return list(session.scalars(query.order_by(JobRun.id.desc()).limit(limit)))


class SchedulerLeader(SQLModel, table=True):
    """The scheduler leader's heartbeat: one row, refreshed every few seconds while a
    process leads. Readiness checks read it (is anyone running the jobs?)."""

    __tablename__ = "scheduler_leader"

    id: int = Field(default=1, primary_key=True)
    runner: str = Field(max_length=200)
    leading_since: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime)


def beat_as_leader(session: Session, runner: str, leading_since: datetime) -> None:
    """Record that `runner` leads now (only the lock holder calls this: no race)."""
    now = utcnow()
    updated = session.execute(
        update(SchedulerLeader)
        .where(SchedulerLeader.id == 1)
        .values(runner=runner, leading_since=leading_since, seen_at=now)
    ).rowcount
    if not updated:
        session.add(SchedulerLeader(id=1, runner=runner, leading_since=leading_since, seen_at=now))
        session.flush()


def current_leader(session: Session) -> SchedulerLeader | None:
    """The last heartbeat, whoever wrote it (compare `seen_at` with the clock)."""
    return session.get(SchedulerLeader, 1)
