"""Moving resolved alerts out of the hot table.

Every scan and every stock operation's `check_alerts_for` works on `alert`; resolved
alerts only grow it. Those resolved longer ago than RACKROOM_ALERT_ARCHIVE_AFTER (30
days) move to `alert_archive` with their ids, all in one transaction (PostgreSQL: one
statement, DELETE … RETURNING feeding the INSERT). The inbox's resolved view reads both
tables (`models.alerts.inbox`), so nothing a user could find before is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, literal, select
from sqlmodel import Session

from models.alerts.tables import AlertStatus, _alert, _archive
from models.base import UTCDateTime, utcnow
from models.settings import settings

#: The columns an alert keeps in the archive (all of them).
_KEPT = [c.name for c in _alert.c]


def archive_resolved(
    session: Session, *, now: datetime | None = None, older_than: timedelta | None = None
) -> int:
    """Move alerts resolved before `now - older_than` (default the setting) to the
    archive, in the caller's transaction; returns how many moved."""
    now = now or utcnow()
    cutoff = now - (older_than if older_than is not None else settings().alert_archive_after)
    due = (
        _alert.c.status == AlertStatus.RESOLVED.value,
        _alert.c.resolved_at < cutoff,
    )
    stamp = literal(now, UTCDateTime).label("archived_at")
    if session.get_bind().dialect.name == "postgresql":
        moved = delete(_alert).where(*due).returning(*(_alert.c[c] for c in _KEPT)).cte("moved")
        statement = (
            insert(_archive)
            .from_select([*_KEPT, "archived_at"], select(*(moved.c[c] for c in _KEPT), stamp))
            .returning(_archive.c.id)
        )
        return len(session.execute(statement).all())
    # SQLite: one writer at a time (the transaction holds the write lock from its start),
    # so the rows copied are the rows deleted.
    ids = list(session.scalars(select(_alert.c.id).where(*due).order_by(_alert.c.id)))
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        rows = select(*(_alert.c[c] for c in _KEPT), stamp).where(_alert.c.id.in_(chunk))
        session.execute(insert(_archive).from_select([*_KEPT, "archived_at"], rows))
        session.execute(delete(_alert).where(_alert.c.id.in_(chunk)))
    return len(ids)
