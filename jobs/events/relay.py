"""The relay: reads the outbox in id order, fans events out to webhook deliveries and
tells open screens what changed. Its position is the horizon the other readers follow.

**Order without gaps.** Ids are taken when a row is written but become visible when its
transaction commits, so the relay can see event 12 while event 11 is still being
written. It therefore stops at a gap and passes it only once the gap is final: every
transaction that could still fill it has ended. On PostgreSQL: when a gap is first seen
the relay notes the snapshot's `xmax` (read after the events, so it is above the
transaction id of whoever took the missing id — events are written after their change,
so that transaction had its id already); once the oldest running transaction (`xmin`)
is past it, the missing id is either visible or rolled back for good. SQLite has one
writer at a time, so ids become visible in order and there are no gaps to wait for.

Several processes may run the relay: one at a time holds its cursor row (`SKIP
LOCKED`), the others find it taken and do nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session

from jobs import metrics
from jobs.events import cursors
from models.base import utcnow
from models.db import read_session, transaction
from models.events import LIVE_CHANNEL, Event, live_topics, matches
from models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("rackroom.events")
BATCH = 1000

_event = Event.__table__
_endpoint = WebhookEndpoint.__table__
_delivery = WebhookDelivery.__table__


@dataclass(frozen=True, slots=True)
class RelayedEvent:
    id: int
    type: str
    brand_id: int | None
    order_key: str | None
    data: dict[str, Any]


class Relay:
    """One relay per process; `run_once` does one batch (call it often)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        #: gap start → the snapshot's xmax when it was first seen (PostgreSQL).
        self._gaps: dict[int, int] = {}
        self._ready = False

    def run_once(self, *, now: datetime | None = None) -> int:
        """Relay the next batch of final events; returns how many."""
        if not self._ready:
            with transaction(self.engine) as session:
                cursors.ensure(session, cursors.RELAY)
            self._ready = True
        with read_session(self.engine) as session:
            at = cursors.position(session, cursors.RELAY) or 0
            if session.scalar(select(_event.c.id).where(_event.c.id > at).limit(1)) is None:
                return 0  # nothing new: no write transaction (SQLite's lock stays free)
        with transaction(self.engine) as session:
            start = cursors.lock(session, cursors.RELAY)
            if start is None:
                return 0  # another process is relaying
            xmin = self._snapshot(session, "xmin")
            rows = session.execute(
                select(
                    _event.c.id, _event.c.type, _event.c.brand_id, _event.c.order_key, _event.c.data
                )
                .where(_event.c.id > start)
                .order_by(_event.c.id)
                .limit(BATCH)
            ).all()
            xmax = self._snapshot(session, "xmax")
            ready, end = self._final_prefix(start, rows, xmin, xmax)
            if end == start:
                return 0
            events = [RelayedEvent(*row) for row in ready]
            fan_out(session, events, now=now or utcnow())
            self._notify(session, events)
            cursors.move(session, cursors.RELAY, end)
        for event in events:
            metrics.OUTBOX_RELAYED.labels(type=event.type).inc()
        return len(events)

    def _snapshot(self, session: Session, edge: str) -> int | None:
        if not self.postgres:
            return None
        return int(session.scalar(text(f"SELECT pg_snapshot_{edge}(pg_current_snapshot())")))

    def _final_prefix(
        self, start: int, rows: Sequence[Any], xmin: int | None, xmax: int | None
    ) -> tuple[list[Any], int]:
        """The rows before the first gap that is not yet final, and the new position."""
        if not self.postgres:
            return list(rows), (rows[-1].id if rows else start)
        ready: list[Any] = []
        expected = start + 1
        for row in rows:
            if row.id != expected:
                seen = self._gaps.get(expected)
                if seen is None:
                    self._gaps[expected] = xmax
                    break
                if xmin < seen:
                    break
                del self._gaps[expected]  # rolled back (or never an event): pass it
            ready.append(row)
            expected = row.id + 1
        if len(self._gaps) > 1000:
            self._gaps = {k: v for k, v in self._gaps.items() if k >= expected}
        return ready, expected - 1

    def _notify(self, session: Session, events: list[RelayedEvent]) -> None:
        if not self.postgres:
            return
        for topic in live_topics((e.type, e.order_key, e.data) for e in events):
            session.execute(
                text("SELECT pg_notify(:channel, :topic)"),
                {"channel": LIVE_CHANNEL, "topic": topic},
            )


def fan_out(session: Session, events: Sequence[RelayedEvent], *, now: datetime) -> int:
    """A pending delivery of each event to each enabled endpoint that wants it (its types,
    and its brand when it has one). Disabled endpoints get nothing queued."""
    endpoints = session.execute(
        select(_endpoint.c.id, _endpoint.c.event_types, _endpoint.c.brand_id).where(
            _endpoint.c.enabled.is_(True)
        )
    ).all()
    if not endpoints or not events:
        return 0
    rows = [
        {
            "endpoint_id": endpoint_id,
            "event_id": event.id,
            "event_type": event.type,
            "order_key": event.order_key,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        for endpoint_id, patterns, brand_id in endpoints
        if (brand_id is None or brand_id == event.brand_id) and matches(patterns, event.type)
    ]
    for start in range(0, len(rows), 2000):
        session.execute(insert(_delivery), rows[start : start + 2000])
    return len(rows)
