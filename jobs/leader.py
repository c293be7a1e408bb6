"""Exactly one active scheduler: a PostgreSQL advisory lock, or a file lock on SQLite.

The lock is held for as long as the process leads: on PostgreSQL by one dedicated
connection holding a session-level advisory lock (it goes when the connection or the
process goes, so a crashed leader never blocks a successor); on SQLite by `flock` on
a file beside the database (released by the kernel when the process dies). Other
processes poll `acquire()` and take over when it succeeds.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger("rackroom.jobs")

#: The advisory lock's key: a fixed 63-bit number derived from a name.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"rackroom.scheduler").digest()[:8], "big") >> 1


class LeaderLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if free (never waits); True when this process now holds it."""

    def held(self) -> bool:
        """Whether the lock is still ours (a PostgreSQL connection can be lost)."""

    def release(self) -> None: ...


#: TCP keepalives on the lock's connection, both ends: the server notices a leader whose
#: machine vanished (and frees the lock) in about 5 + 3 × 2 s, and the leader notices a
#: cut-off server as fast instead of after the kernel's two hours.
KEEPALIVE_ARGS = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 11000,
    "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
    "-c tcp_keepalives_count=3 -c tcp_user_timeout=11000",
}


class PostgresLeaderLock:
    """A session-level advisory lock on a dedicated connection (its own tiny engine, so
    pool recycling can never hand the lock's connection to someone else)."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self.engine = create_engine(
            engine.url,
            poolclass=NullPool,
            connect_args={"application_name": "rackroom-scheduler-lock", **KEEPALIVE_ARGS},
        )
        self.key = key
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        if self.connection is not None:
            return True
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(select(func.pg_try_advisory_lock(self.key))).scalar()
        except Exception:
            connection.close()
            raise
        if got:
            self.connection = connection
            return True
        connection.close()
        return False

    def held(self) -> bool:
        if self.connection is None:
            return False
        try:
            self.connection.execute(select(1))
            return True
        except Exception:  # the connection (and with it the lock) is gone
            log.exception("the leader lock's connection failed")
            self._drop()
            return False

    def release(self) -> None:
        if self.connection is None:
            return
        with contextlib.suppress(Exception):
            self.connection.execute(select(func.pg_advisory_unlock(self.key)))
        self._drop()

    def _drop(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.invalidate() if self.connection.invalidated is False else None
        with contextlib.suppress(Exception):
            self.connection.close()
        self.connection = None


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        if self.fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None


def leader_lock(engine: Engine) -> LeaderLock:
    """The right lock for the engine's database."""
    url = make_url(str(engine.url))
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(engine)
    database = url.database
    if not database or database == ":memory:":
        # One process owns an in-memory database; lock per process id to keep the shape.
        return FileLeaderLock(
            Path(tempfile.gettempdir()) / f"rackroom-scheduler-{os.getpid()}.lock"
        )
    return FileLeaderLock(Path(database).with_name(Path(database).name + ".scheduler.lock"))
