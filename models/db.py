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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Kept in its own folder: the dev server's hot reload watches the project's top-level
#: entries, and SQLite's -wal/-shm files change on every read (rxconfig excludes var/).
DATA_DIR = PROJECT_ROOT / "var"
DEFAULT_SQLITE_PATH = DATA_DIR / "rackroom.db"

#: Execution option that lets a SQLite connection begin a plain (deferred) read
#: transaction instead of taking the write lock up front.
READ_ONLY = "rackroom_read_only"


def database_url() -> str:
    """The configured database URL, normalised to the drivers Rackroom ships with."""
    url = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(url: str | None = None, *, pool_size: int = 20) -> Engine:
    """Create an engine with Rackroom's connection settings for either database."""
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
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
