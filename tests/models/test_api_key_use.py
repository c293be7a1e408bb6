"""An API key's last use: stamped at most once a minute, and never by waiting.

Every request of a busy key sees the same stale stamp when the minute turns; if each of
them waited on the key's row lock for the first to commit, a key's requests would queue
behind one another once a minute (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from models.api_keys import LAST_USED_RESOLUTION, create_api_key, note_use
from models.base import utcnow
from models.db import read_session, transaction
from models.users import ApiKey


def _key(engine) -> int:
    with transaction(engine) as session:
        create_api_key(session, "shop", ["stock:read"])
    with read_session(engine) as session:
        return session.scalars(select(ApiKey.id)).one()


def _stamp(engine, key_id: int):
    with read_session(engine) as session:
        return session.get(ApiKey, key_id).last_used_at


def test_a_key_is_stamped_when_its_last_use_is_older_than_the_resolution(engine):
    key_id = _key(engine)
    first = utcnow()
    with transaction(engine) as session:
        note_use(session, key_id, None, first)
    assert _stamp(engine, key_id) == first
    soon = first + LAST_USED_RESOLUTION / 2
    with transaction(engine) as session:
        note_use(session, key_id, first, soon)
    assert _stamp(engine, key_id) == first  # within the resolution: no write
    later = first + LAST_USED_RESOLUTION + timedelta(seconds=1)
    with transaction(engine) as session:
        note_use(session, key_id, first, later)
    assert _stamp(engine, key_id) == later


def test_a_caller_with_a_stale_view_does_not_move_a_fresh_stamp_back(engine):
    key_id = _key(engine)
    now = utcnow()
    with transaction(engine) as session:
        note_use(session, key_id, None, now)
    # A request that read the key before that stamp, and whose clock reads a little earlier.
    with transaction(engine) as session:
        note_use(session, key_id, None, now - timedelta(seconds=1))
    assert _stamp(engine, key_id) == now


@pytest.mark.postgres
def test_stamping_a_key_another_request_is_stamping_does_not_wait(pg_engine):
    key_id = _key(pg_engine)
    now = utcnow()
    with transaction(pg_engine) as holder:
        note_use(holder, key_id, None, now)  # holds the key's row until it commits
        with transaction(pg_engine) as other:
            # Waiting for the holder would deadlock this test; fail fast instead.
            other.execute(text("SET LOCAL lock_timeout = '5s'"))
            note_use(other, key_id, None, now + timedelta(milliseconds=1))
    assert _stamp(pg_engine, key_id) == now
