"""Alerts from events: the variants of new `stock.changed` events get their low-stock,
out-of-stock and size-run alerts re-checked within a relay tick of the change, whatever
made it (grid, API, import, sync, transfer). The periodic scan stays as a safety net.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select

from jobs.events import cursors
from models.alerts import check_alerts_for
from models.db import read_session, transaction
from models.events import Event, EventType

log = logging.getLogger("rackroom.alerts")
BATCH = 5000
_event = Event.__table__


def check_from_events(engine: Engine) -> int:
    """Re-check alerts for the variants of stock events up to the relay's horizon;
    returns how many events were read. On a lock conflict nothing moves (next tick)."""
    with read_session(engine) as session:
        horizon = cursors.horizon(session)
        known = cursors.position(session, cursors.ALERTS)
    if known is None:  # first run: from the start of what is kept (the check is idempotent)
        with transaction(engine) as session:
            cursors.ensure(session, cursors.ALERTS)
        known = 0
    if known >= horizon:
        return 0
    with transaction(engine) as session:
        start = cursors.lock(session, cursors.ALERTS)
        if start is None:
            return 0
        rows = session.execute(
            select(_event.c.id, _event.c.order_key)
            .where(
                _event.c.id > start,
                _event.c.id <= horizon,
                _event.c.type == EventType.STOCK_CHANGED.value,
            )
            .order_by(_event.c.id)
            .limit(BATCH)
        ).all()
        end = rows[-1].id if len(rows) == BATCH else horizon
        variants = {int(key[2:]) for _id, key in rows if key and key.startswith("v:")}
        if variants:
            changes = check_alerts_for(session, variants)
            if changes.skipped:
                return 0
            if changes.raised or changes.resolved:
                log.info(
                    "alerts from %d stock event(s): %d raised, %d resolved",
                    len(rows),
                    changes.raised,
                    changes.resolved,
                )
        cursors.move(session, cursors.ALERTS, end)
    return len(rows)
