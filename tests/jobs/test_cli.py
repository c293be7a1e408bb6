"""The `rackroom` admin CLI, run as a real process against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

RACKROOM = [sys.executable, "-m", "jobs.cli"]


@pytest.fixture
def database(sqlite_template, tmp_path) -> str:
    path = tmp_path / "cli.db"
    path.write_bytes(Path(sqlite_template).read_bytes())
    return f"sqlite:///{path}"


def rackroom(database: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"DATABASE_URL": database}
    return subprocess.run(
        [*RACKROOM, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_admin_commands_create_what_they_say_and_refuse_duplicates(database):
    assert rackroom(database, "brand", "create", "nrd", "--name", "Nordlys").stdout == (
        "created brand NRD (Nordlys)\n"
    )
    again = rackroom(database, "brand", "create", "NRD", "--name", "Other")
    assert again.returncode == 1
    assert "Brand 'NRD' already exists" in again.stderr

    created = rackroom(
        database,
        "warehouse",
        "create",
        "ams-1",
        "--name",
        "Amsterdam",
        "--kind",
        "store",
        "--priority",
        "5",
    )
    assert created.stdout == "created store AMS-1 (Amsterdam), priority 5\n"
    bad_kind = rackroom(database, "warehouse", "create", "x", "--name", "X", "--kind", "depot")
    assert bad_kind.returncode == 2 and "depot" in bad_kind.stderr

    vendor = rackroom(
        database,
        "user",
        "create",
        "v@nrd.test",
        "--role",
        "vendor",
        "--brand",
        "NRD",
        "--password",
        "long enough",
    )
    assert vendor.returncode == 0, vendor.stderr
    no_brand = rackroom(
        database, "user", "create", "w@nrd.test", "--role", "vendor", "--password", "long enough"
    )
    assert no_brand.returncode == 1 and "must belong to a brand" in no_brand.stderr


def test_user_create_prompts_for_the_password_when_not_given(database):
    result = rackroom(
        database,
        "user",
        "create",
        "m@x.test",
        "--role",
        "manager",
        stdin="a secret pass\na secret pass\n",
    )
    assert result.returncode == 0, result.stderr
    assert "created user m@x.test (manager)" in result.stdout


def test_reconcile_exits_non_zero_and_names_every_drift(database):
    from models.db import create_db_engine, transaction
    from models.stock import receive
    from tests.factories import make_world

    engine = create_db_engine(database)
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 4, actor="t")
    clean = rackroom(database, "reconcile")
    assert clean.returncode == 0 and clean.stdout.startswith("ok")
    with engine.begin() as conn:
        conn.execute(text("UPDATE stock_balance SET on_hand = 9"))
    engine.dispose()
    drift = rackroom(database, "reconcile")
    assert drift.returncode == 1
    where = f"variant {world.variants['M']} @ warehouse {world.warehouses['WH1']}"
    assert f"{where}: on_hand 9 but ledger says 4" in drift.stdout


def test_every_command_has_help(database):
    for command in (
        ["--help"],
        ["seed", "--help"],
        ["user", "create", "--help"],
        ["brand", "create", "--help"],
        ["warehouse", "create", "--help"],
        ["reconcile", "--help"],
    ):
        result = rackroom(database, *command)
        assert result.returncode == 0 and "Usage:" in result.stdout
