"""Real databases for the domain suite: a fresh SQLite file and a PostgreSQL database.

The `engine` fixture runs each test on both. PostgreSQL is the local server
(TEST_POSTGRES_URL, default postgres@127.0.0.1); when it is unreachable the
PostgreSQL half is skipped on a laptop but FAILS under CI=true, so CI can never
pass by silently testing less.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

# Tests run their receivers and brand APIs on 127.0.0.1, which the outbound guard refuses
# unless allowed (jobs/outbound.py); set before anything reads the settings.
os.environ.setdefault("RACKROOM_OUTBOUND_ALLOW", "127.0.0.1")
# argon2 at its cheapest: hashing passwords in fixtures took a third of the suite's time.
# The tests about the cost itself ask for `standard_password_hashing`.
os.environ.setdefault("RACKROOM_PASSWORD_HASHING", "cheap")
# Connector tokens and signing secrets are encrypted with this (models/secrets.py); a
# fixed test-only key, inherited by the servers and CLIs the tests start.
os.environ.setdefault("RACKROOM_SECRET_KEY", "bQIhKdwcuX5x7a18dGF-byZgvC3_JMAjusXAoqgfIqc=")

import models  # noqa: F401
from alembic import command
from models.db import PROJECT_ROOT, create_db_engine

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def migrate(url: str) -> None:
    """`alembic upgrade head` on `url`, exactly as `make setup` does."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        probe = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
        return None
    except Exception as error:  # any failure to connect means "not available"
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error}"


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true requires PostgreSQL. {reason}")
    pytest.skip(reason)


class PostgresDatabases:
    """Creates throwaway databases on the local server and drops them at the end."""

    def __init__(self) -> None:
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, prefix: str = "rackroom_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


_POSTGRES_FIXTURES = {"pg_engine", "pg_url", "pg_databases"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs on PostgreSQL `postgres`, so `-m "not postgres"` skips
    exactly those (the `engine` fixture's PostgreSQL half included)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = bool(_POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ()))) or (
            callspec is not None and callspec.params.get("engine") == "postgres"
        )
        if on_postgres:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def standard_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2 at the production cost, for tests about how slow a sign-in is."""
    from models.settings import reload_settings
    from models.users import dummy_hash, password_hasher

    def use(profile: str) -> None:
        monkeypatch.setenv("RACKROOM_PASSWORD_HASHING", profile)
        reload_settings()
        password_hasher.cache_clear()
        dummy_hash.cache_clear()

    previous = os.environ["RACKROOM_PASSWORD_HASHING"]
    use("standard")
    yield
    use(previous)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PostgresDatabases]:
    require_postgres()
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def pg_url(pg_databases: PostgresDatabases) -> str:
    """One migrated PostgreSQL database for the session; tests truncate it between them."""
    url = pg_databases.create()
    migrate(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "rackroom.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = create_db_engine(pg_url, pool_size=24)
    _truncate_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The test runs once on SQLite and once on PostgreSQL."""
    fixture = {"sqlite": "sqlite_engine", "postgres": "pg_engine"}[request.param]
    return request.getfixturevalue(fixture)
