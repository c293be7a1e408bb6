"""The restore drill of docs/deploy.md: pg_dump, pg_restore into a new database, and
`rackroom reconcile` finds every balance equal to its ledger."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from models.db import create_db_engine, read_session, transaction
from models.reservations import reserve
from models.stock import LedgerEntry, StockBalance, receive
from tests.conftest import IN_CI, PostgresDatabases, migrate, require_postgres
from tests.factories import make_world

pytestmark = pytest.mark.postgres


def _tool(name: str) -> str:
    path = shutil.which(name) or f"/usr/lib/postgresql/15/bin/{name}"
    if not Path(path).exists():
        if IN_CI:
            pytest.fail(f"{name} is missing (Debian package postgresql-client)")
        pytest.skip(f"{name} is missing")
    return path


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as the libpq URL the command-line tools take."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _counts(url: str) -> tuple[int, int, int]:
    engine = create_db_engine(url, pool_size=1)
    try:
        with read_session(engine) as session:
            return (
                session.scalar(select(func.count()).select_from(LedgerEntry)),
                session.scalar(select(func.sum(StockBalance.on_hand))),
                session.scalar(select(func.sum(StockBalance.reserved))),
            )
    finally:
        engine.dispose()


def test_a_dump_restores_and_reconciles(tmp_path: Path) -> None:
    require_postgres()
    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    databases = PostgresDatabases()
    try:
        source = databases.create("rackroom_backup")
        migrate(source)
        engine = create_db_engine(source, pool_size=2)
        world = make_world(engine)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 12, actor="t")
            receive(session, world.variants["S"], world.warehouses["WH2"], 4, actor="t")
            reserve(session, world.variants["M"], 3, channel="web", order_ref="B-1", actor="t")
        engine.dispose()

        dump = tmp_path / "rackroom.dump"
        subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", f"--file={dump}", _libpq(source)],
            check=True,
            capture_output=True,
        )
        target = databases.create("rackroom_drill")
        subprocess.run(
            [pg_restore, "--no-owner", f"--dbname={_libpq(target)}", str(dump)],
            check=True,
            capture_output=True,
        )
        reconciled = subprocess.run(
            [str(Path(sys.executable).parent / "rackroom"), "reconcile"],
            env=os.environ | {"DATABASE_URL": target},
            capture_output=True,
            text=True,
            check=False,
        )
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
        assert _counts(target) == _counts(source) == (3, 16, 3)
    finally:
        databases.drop_all()
