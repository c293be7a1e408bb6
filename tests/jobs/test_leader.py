"""The scheduler's leader lock and heartbeat: one leader, seen by readiness, quick to notice
a vanished peer."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from jobs.leader import PostgresLeaderLock
from jobs.scheduler import SchedulerService
from models.base import utcnow
from models.db import read_session
from models.scheduling import current_leader


@pytest.mark.postgres
def test_the_lock_connection_keeps_tcp_alive_at_both_ends(pg_engine):
    lock = PostgresLeaderLock(pg_engine)
    other = PostgresLeaderLock(pg_engine)
    try:
        assert lock.acquire() and not other.acquire()
        connection = lock.connection
        server_side = {
            name: connection.execute(text(f"SHOW {name}")).scalar()
            for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")
        }
        assert server_side == {
            "tcp_keepalives_idle": "5",
            "tcp_keepalives_interval": "2",
            "tcp_keepalives_count": "3",
        }
        client_side = connection.connection.dbapi_connection.info.get_parameters()
        assert client_side["keepalives"] == "1" and client_side["keepalives_idle"] == "5"
        lock.release()
        assert other.acquire()  # released at once, not when the connection times out
    finally:
        lock.release()
        other.release()


def test_the_leader_writes_a_heartbeat_readiness_can_read(engine):
    service = SchedulerService(engine, poll_seconds=0.1, watch_seconds=0.1)
    service.start()
    try:
        assert service.became_leader.wait(30)
        deadline = time.monotonic() + 10
        seen = None
        while time.monotonic() < deadline:
            with read_session(engine) as session:
                seen = current_leader(session)
            if seen is not None:
                break
            time.sleep(0.1)
        assert seen is not None and seen.runner.endswith(f":{os.getpid()}")
        assert (utcnow() - seen.seen_at).total_seconds() < 5
        first = seen.seen_at
        time.sleep(0.5)
        with read_session(engine) as session:
            assert current_leader(session).seen_at > first  # it keeps beating
    finally:
        service.stop()
