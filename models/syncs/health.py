"""Reading sync health: per brand (last success, staleness, next run), recent runs, one run,
and the per-item source states the conflict policies compare against."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Select,
    Table,
    func,
    select,
)
from sqlmodel import Session, SQLModel

from models.base import utcnow
from models.catalog import Brand
from models.errors import NotFound
from models.syncs.tables import SUCCESSFUL, Connector, SyncItemState, SyncRun
from models.syncs.views import BrandSyncHealth, SyncRunView, _connector_view, _run_view

# --- queries --------------------------------------------------------------------------


#: The APScheduler job id of a brand's sync.
def sync_job_id(brand_code: str) -> str:
    return f"sync:{brand_code}"


def _next_runs(session: Session, job_ids: list[str]) -> dict[str, datetime | None]:
    """Next run times straight from the scheduler's job store (any process may own it)."""
    jobs: Table | None = SQLModel.metadata.tables.get("apscheduler_jobs")
    if jobs is None or not job_ids:
        return {}
    rows = session.execute(
        select(jobs.c.id, jobs.c.next_run_time).where(jobs.c.id.in_(job_ids))
    ).all()
    return {
        job_id: datetime.fromtimestamp(ts, UTC) if ts is not None else None for job_id, ts in rows
    }


def sync_health(
    session: Session, *, now: datetime | None = None, recent: int = 10
) -> list[BrandSyncHealth]:
    """Every brand with a connector: last success, staleness, next run, recent errors."""
    now = now or utcnow()
    rows = session.execute(
        select(Connector, Brand).join(Brand, Brand.id == Connector.brand_id).order_by(Brand.code)
    ).all()
    if not rows:
        return []
    brand_ids = [b.id for _c, b in rows]
    last_ids = dict(
        session.execute(
            select(SyncRun.brand_id, func.max(SyncRun.id))
            .where(SyncRun.brand_id.in_(brand_ids))
            .group_by(SyncRun.brand_id)
        ).all()
    )
    last_success = dict(
        session.execute(
            select(SyncRun.brand_id, func.max(SyncRun.finished_at))
            .where(SyncRun.brand_id.in_(brand_ids), SyncRun.status.in_(SUCCESSFUL))
            .group_by(SyncRun.brand_id)
        ).all()
    )
    last_runs = {
        r.brand_id: r
        for r in session.scalars(select(SyncRun).where(SyncRun.id.in_(list(last_ids.values()))))
    }
    next_runs = _next_runs(session, [sync_job_id(b.code) for _c, b in rows])
    health = []
    for connector, brand in rows:
        recent_runs = session.execute(
            select(SyncRun.status, SyncRun.message)
            .where(SyncRun.brand_id == brand.id)
            .order_by(SyncRun.id.desc())
            .limit(recent)
        ).all()
        failures = [m for s, m in recent_runs if s in ("failed", "abandoned")]
        success_at = last_success.get(brand.id)
        staleness = (now - success_at).total_seconds() if success_at else None
        allowed = 2 * connector.every_seconds + 60
        last = last_runs.get(brand.id)
        health.append(
            BrandSyncHealth(
                connector=_connector_view(connector, brand),
                last_run=_run_view(last, brand.code, details=False) if last else None,
                last_success_at=success_at,
                staleness_seconds=staleness,
                stale=staleness is None or staleness > allowed,
                next_run_at=None if connector.paused else next_runs.get(sync_job_id(brand.code)),
                recent_failures=len(failures),
                last_error=failures[0] if failures else None,
            )
        )
    return health


def recent_runs(
    session: Session,
    brand_code: str | None = None,
    *,
    limit: int = 20,
    status: str | None = None,
    before_id: int | None = None,
) -> list[SyncRunView]:
    """Newest first; `before_id` pages further back. Error samples are left out (see get_run)."""
    query = select(SyncRun, Brand.code).join(Brand, Brand.id == SyncRun.brand_id)
    if brand_code:
        query = query.where(Brand.code == brand_code.strip().upper())
    if status:
        query = query.where(SyncRun.status == status)
    if before_id is not None:
        query = query.where(SyncRun.id < before_id)
    rows = session.execute(query.order_by(SyncRun.id.desc()).limit(limit)).all()
    return [_run_view(run, code, details=False) for run, code in rows]


def get_run(session: Session, run_id: int) -> SyncRunView:
    """One run with its error and conflict samples."""
    row = session.execute(
        select(SyncRun, Brand.code)
        .join(Brand, Brand.id == SyncRun.brand_id)
        .where(SyncRun.id == run_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"No sync run {run_id}.", run_id=run_id)
    return _run_view(row[0], row[1])


def fast_rows(session: Session, statement: Select) -> list[tuple]:
    """All rows of a Core SELECT as plain tuples, cheaply for tens of thousands of rows.

    On PostgreSQL straight through the psycopg cursor (it already returns aware
    datetimes for timestamptz); elsewhere through SQLAlchemy, whose type processing
    SQLite needs (UTCDateTime makes its naive values aware).
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return [tuple(row) for row in connection.execute(statement)]
    compiled = statement.compile(dialect=connection.dialect)
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), compiled.params)
        return cursor.fetchall()
    finally:
        cursor.close()


def brand_item_states(
    session: Session, brand_id: int
) -> dict[tuple[int, int], tuple[int, datetime, datetime]]:
    """(variant, warehouse) → (source quantity, source time, synced at) for one brand."""
    state = SyncItemState.__table__
    rows = fast_rows(
        session,
        select(
            state.c.variant_id,
            state.c.warehouse_id,
            state.c.source_quantity,
            state.c.source_updated_at,
            state.c.synced_at,
        ).where(state.c.brand_id == brand_id),
    )
    return {(v, w): (q, ts, at) for v, w, q, ts, at in rows}
