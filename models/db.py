"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

`DATABASE_URL` picks the database; without it Rackroom uses `var/rackroom.db` in
the project folder. SQLite runs in WAL mode with foreign keys on, and every write
transaction starts with ``BEGIN IMMEDIATE`` so that two writers queue for the lock
instead of failing halfway with "database is locked" on lock upgrade.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from models.settings import DATA_DIR, PROJECT_ROOT, private_dir, settings

__all__ = ["DATA_DIR", "PROJECT_ROOT", "create_db_engine", "database_url", "get_engine"]

#: Execution option that lets a SQLite connection begin a plain (deferred) read
#: transaction instead of taking the write lock up front.
READ_ONLY = "rackroom_read_only"


def database_url() -> str:
    """The configured database URL, normalised to the drivers Rackroom ships with."""
    return settings().effective_database_url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(url: str | None = None, *, pool_size: int = 20) -> Engine:
    """Create an engine with Rackroom's connection settings for either database."""
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_file(Path(parsed.database))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it would cost a round trip per transaction on the hot path.
        # Recycling bounds how long a connection can go stale instead.
        pool_recycle=1800,
        connect_args={"application_name": "rackroom"},
    )


def _private_sqlite_file(path: Path) -> None:
    """The database file (and its -wal/-shm, which SQLite gives the same mode) readable by
    this user only: made 0600 before SQLite creates it, tightened if it is wider; its
    folder made 0700 when missing (and always for Rackroom's own var/)."""
    if path.parent.resolve() == DATA_DIR.resolve() or not path.parent.exists():
        private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is a valid db
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


_default_engine: Engine | None = None


def get_engine() -> Engine:
    """The process-wide engine for `DATABASE_URL` (created on first use)."""
    global _default_engine
    if _default_engine is None:
        _default_engine = create_db_engine()
    return _default_engine


def set_default_engine(engine: Engine | None) -> None:
    """Point the process at another database (tests, scripts); None resets to DATABASE_URL."""
    global _default_engine
    _default_engine = engine


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    with Session(engine or get_engine(), expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reads that does not take SQLite's write lock."""
    engine = engine or get_engine()
    with Session(engine.execution_options(**{READ_ONLY: True})) as session:
        yield session
