"""Positions of the outbox's readers (`event_cursor`), read and moved in the reader's
transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.base import utcnow
from models.events import EventCursor

RELAY = "relay"
AMQP = "amqp"
ALERTS = "alerts"

_cursor = EventCursor.__table__


def ensure(session: Session, name: str, start: int = 0) -> None:
    """Create the cursor at `start` unless it exists."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(_cursor)
        .values(name=name, position=start, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )


def lock(session: Session, name: str) -> int | None:
    """The cursor's position, locked for this transaction; None when another process holds
    it (PostgreSQL: SKIP LOCKED) or it does not exist."""
    return session.scalar(
        select(_cursor.c.position).where(_cursor.c.name == name).with_for_update(skip_locked=True)
    )


def position(session: Session, name: str) -> int | None:
    return session.scalar(select(_cursor.c.position).where(_cursor.c.name == name))


def move(session: Session, name: str, to: int) -> None:
    session.execute(
        update(_cursor).where(_cursor.c.name == name).values(position=to, updated_at=utcnow())
    )


def horizon(session: Session) -> int:
    """The relay's position: every event up to it is final and in order."""
    return int(position(session, RELAY) or 0)


__all__ = ["ALERTS", "AMQP", "RELAY", "ensure", "horizon", "lock", "move", "position"]
