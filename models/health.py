"""What operations asks of the database: is it ready, and how much has happened.

`readiness_problems` answers /api/v1/ready; `OperationalCounts` feeds the Prometheus
collector (`jobs.metrics`). Every query here is cheap at production volume: counts
over indexed status columns, and the ledger read incrementally from a known id (the
ledger is append-only, so its count by reason is a true counter).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from models.alerts import Alert, AlertStatus
from models.catalog import Brand
from models.imports import ImportRun
from models.scheduling import current_leader
from models.settings import PROJECT_ROOT
from models.stock import LedgerEntry, StockBalance
from models.syncs import SUCCESSFUL, SyncRun

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


@functools.cache
def migration_head(alembic_ini: Path = ALEMBIC_INI) -> str:
    """The newest revision in alembic/versions (what `alembic upgrade head` reaches)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config(str(alembic_ini)))
    return script.get_current_head() or ""


def schema_revision(session: Session) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    try:
        return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic_version table: an empty, unmigrated database
        return None


def readiness_problems(engine: Engine, *, leader_timeout: timedelta, now: datetime) -> dict:
    """{check: problem} for the database's part of readiness; empty when all is well.

    Checks: the database answers, its schema is at the code's migration head, and a
    scheduler leader wrote its heartbeat within `leader_timeout`.
    """
    problems: dict[str, str] = {}
    try:
        with Session(engine) as session:
            session.execute(select(1))
            revision = schema_revision(session)
            head = migration_head()
            if revision != head:
                problems["migrations"] = (
                    f"the database is at {revision or 'no revision'}, the code needs {head}: "
                    "run `alembic upgrade head`"
                )
            elif (leader := current_leader(session)) is None:
                problems["scheduler"] = "no scheduler has ever led: start `python -m jobs`"
            elif now - leader.seen_at > leader_timeout:
                age = int((now - leader.seen_at).total_seconds())
                problems["scheduler"] = (
                    f"no scheduler leader seen for {age} s (last: {leader.runner})"
                )
    except Exception as error:  # unreachable, refused, wrong credentials, ...
        problems["database"] = f"unreachable: {type(error).__name__}: {_first_line(error)}"
    return problems


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


@dataclass(slots=True)
class OperationalCounts:
    """Totals and states read from the database for the metrics endpoint."""

    ledger_rows_by_reason: dict[str, int] = field(default_factory=dict)
    import_runs_by_status: dict[str, int] = field(default_factory=dict)
    import_rows_by_status: dict[str, int] = field(default_factory=dict)
    sync_runs: dict[tuple[str, str], int] = field(default_factory=dict)
    last_good_sync: dict[str, datetime] = field(default_factory=dict)
    open_alerts_by_kind: dict[str, int] = field(default_factory=dict)
    out_of_stock_variants: int = 0
    leader_seen_at: datetime | None = None


class LedgerTally:
    """Ledger rows by reason, kept by reading only the rows added since the last call."""

    def __init__(self) -> None:
        self.last_id = 0
        self.counts: dict[str, int] = {}

    def update(self, session: Session) -> dict[str, int]:
        rows = session.execute(
            select(LedgerEntry.reason, func.count(), func.max(LedgerEntry.id))
            .where(LedgerEntry.id > self.last_id)
            .group_by(LedgerEntry.reason)
        ).all()
        for reason, count, max_id in rows:
            self.counts[reason] = self.counts.get(reason, 0) + count
            self.last_id = max(self.last_id, max_id)
        return dict(self.counts)


def operational_counts(session: Session, ledger: LedgerTally) -> OperationalCounts:
    counts = OperationalCounts(ledger_rows_by_reason=ledger.update(session))
    for status, runs, rows in session.execute(
        select(ImportRun.status, func.count(), func.coalesce(func.sum(ImportRun.rows), 0))
        .group_by(ImportRun.status)
    ):
        counts.import_runs_by_status[status] = runs
        counts.import_rows_by_status[status] = int(rows)
    for code, status, runs in session.execute(
        select(Brand.code, SyncRun.status, func.count())
        .join(Brand, Brand.id == SyncRun.brand_id)
        .group_by(Brand.code, SyncRun.status)
    ):
        counts.sync_runs[(code, status)] = runs
    for code, finished in session.execute(
        select(Brand.code, func.max(SyncRun.finished_at))
        .join(Brand, Brand.id == SyncRun.brand_id)
        .where(SyncRun.status.in_(SUCCESSFUL))
        .group_by(Brand.code)
    ):
        if finished is not None:
            counts.last_good_sync[code] = finished
    for kind, open_count in session.execute(
        select(Alert.kind, func.count())
        .where(Alert.status != AlertStatus.RESOLVED.value)
        .group_by(Alert.kind)
    ):
        counts.open_alerts_by_kind[kind] = open_count
    stocked = (
        select(StockBalance.variant_id)
        .group_by(StockBalance.variant_id)
        .having(func.sum(StockBalance.on_hand - StockBalance.reserved) <= 0)
        .subquery()
    )
    counts.out_of_stock_variants = session.execute(
        select(func.count()).select_from(stocked)
    ).scalar_one()
    leader = current_leader(session)
    counts.leader_seen_at = leader.seen_at if leader else None
    return counts
