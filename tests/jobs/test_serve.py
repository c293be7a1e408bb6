"""`make prod`'s start code refuses bad configuration with one line naming it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from models.db import PROJECT_ROOT, create_db_engine, transaction
from models.syncs.connectors import set_connector
from tests.conftest import migrate
from tests.factories import make_world


def serve(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m dashboard.serve --check` (preflight and migrate only), or with other
    arguments (`all`: the port check first, as when about to serve)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RACKROOM_", "REDIS_URL"))}
    key = {"RACKROOM_SECRET_KEY": os.environ["RACKROOM_SECRET_KEY"]}  # the tests' key
    return subprocess.run(
        [sys.executable, "-m", "dashboard.serve", *(args or ("--check",))],
        cwd=PROJECT_ROOT,
        env=clean | {"RACKROOM_LOG_FORMAT": "json"} | key | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_refusal(done: subprocess.CompletedProcess, names: str) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert lines[0].startswith(f"rackroom: {names}"), lines[0]
    return lines[0]


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_port_in_use_is_named(tmp_path, free_port):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port))
        taken.listen()
        done = serve(
            "all",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
            PORT=str(free_port),
            RACKROOM_HOST="127.0.0.1",
        )
    assert "in use" in one_line_refusal(done, f"PORT={free_port}")


def test_an_unreachable_database_is_named_without_its_password(free_port):
    done = serve(
        DATABASE_URL="postgresql://rackroom:s3cret-pw@127.0.0.1:1/stock", PORT=str(free_port)
    )
    line = one_line_refusal(done, "DATABASE_URL=postgresql+psycopg://rackroom:***@127.0.0.1:1")
    assert "cannot connect" in line and "s3cret-pw" not in done.stderr + done.stdout


def test_an_unreachable_redis_is_named(tmp_path, free_port):
    done = serve(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
        REDIS_URL="redis://127.0.0.1:1/0",
        PORT=str(free_port),
    )
    assert "cannot connect" in one_line_refusal(done, "REDIS_URL=redis://127.0.0.1:1/0")


def test_a_bad_setting_is_named(free_port):
    done = serve(PORT="eighty")
    assert "valid integer" in one_line_refusal(done, "PORT='eighty'")


def test_good_settings_pass_and_migrate(tmp_path, free_port):
    done = serve(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}", PORT=str(free_port))
    assert done.returncode == 0, done.stderr
    assert '"checks passed: database at head, redis not configured"' in done.stdout


def test_production_requires_its_own_secret_key(tmp_path, free_port):
    done = serve(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
        PORT=str(free_port),
        RACKROOM_SECRET_KEY="",
    )
    assert "rackroom secrets new-key" in one_line_refusal(done, "RACKROOM_SECRET_KEY is not set")
    assert not (tmp_path / "db.sqlite").exists()  # refused before touching anything


def test_a_key_that_cannot_read_the_stored_secrets_is_named(tmp_path, free_port):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    engine = create_db_engine(url)
    make_world(engine)
    with transaction(engine) as session:
        set_connector(session, "NRD", style="json", url="http://127.0.0.1:9/f", token="t0k")
    engine.dispose()
    other_key = "x3Qh1kJ0o5oH0t1s7n4i2GQm0rKX1mZ0b2v6q0hJc1E="
    done = serve(DATABASE_URL=url, PORT=str(free_port), RACKROOM_SECRET_KEY=other_key)
    line = one_line_refusal(done, "sync_connector.token_enc of row 1 cannot be decrypted")
    assert "RACKROOM_SECRET_KEY does not hold the key" in line and other_key not in line
