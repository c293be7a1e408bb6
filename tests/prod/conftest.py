"""The production server, started by `make prod`'s own start code, for the tests here.

One server per session: a fresh PostgreSQL database seeded with the browser tests'
data, the local Redis (a database index of its own, flushed before and after), two
web workers, `python -m jobs` beside them, the metrics token set, every line the
server prints kept in `test-artifacts/prod-server.log`. The first run builds the
production frontend (a minute or two); later runs reuse the build.

Run these on their own (`pytest tests/prod`): pytest-playwright and pytest-asyncio do
not mix, and the production build shares `.web/` with the dev server of `tests/e2e`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import IN_CI, PostgresDatabases, migrate, require_postgres
from tests.e2e.seed import Seeded, seed_database

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VENV_BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
#: A cold start builds the frontend (npm install on a fresh clone): minutes, not hours.
STARTUP_TIMEOUT_S = float(os.environ.get("RACKROOM_PROD_STARTUP_TIMEOUT", "1200"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require(reason: str | None) -> None:
    """Skip on a laptop without the service; fail under CI=true."""
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true requires it: {reason}")
    pytest.skip(reason)


def redis_problem(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return None
    except redis.RedisError as error:
        return f"Redis unreachable at {url}: {error}"


@dataclass
class ProdServer:
    url: str
    port: int
    process: subprocess.Popen
    log: Path
    database_url: str
    metrics_token: str
    seeded: Seeded
    #: Every secret the tests used (passwords, keys, tokens): no log line may hold one.
    secrets_used: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def children(self, pid: int) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]

    def web_workers(self) -> list[int]:
        """The Granian worker processes (children of the web child of the launcher)."""
        workers: list[int] = []
        for child in self.children(self.process.pid):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"dashboard.serve web" in cmdline:
                workers += self.children(child)
        return workers


def _wait_ready(server: ProdServer) -> None:
    started = time.monotonic()
    while True:
        if server.process.poll() is not None:
            tail = "\n".join(server.lines()[-20:])
            pytest.fail(f"make prod's server exited with {server.process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/api/v1/ready", timeout=5).status_code == 200:
                return
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            pytest.fail(f"the production server was not ready in {STARTUP_TIMEOUT_S:.0f} s")
        time.sleep(1)


@pytest.fixture(scope="session")
def prod() -> Iterator[ProdServer]:
    require_postgres()
    require(redis_problem(REDIS_URL))
    redis.Redis.from_url(REDIS_URL).flushdb()
    databases = PostgresDatabases()
    database_url = databases.create("rackroom_prod")
    migrate(database_url)
    seeded = seed_database(database_url)
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    token = secrets.token_urlsafe(24)
    log_path = ARTIFACTS / "prod-server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RACKROOM_")} | {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "PORT": str(port),
        "RACKROOM_HOST": "127.0.0.1",
        "RACKROOM_WEB_WORKERS": "2",
        "RACKROOM_METRICS_TOKEN": token,
        "RACKROOM_SECRET_KEY": os.environ["RACKROOM_SECRET_KEY"],  # tests/conftest.py's
        "RACKROOM_TRUSTED_PROXIES": "127.0.0.1",
        "RACKROOM_LOG_FORMAT": "json",
        "RACKROOM_LOG_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": str(ARTIFACTS / "prod-metrics"),
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "dashboard.serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = ProdServer(
        url=f"http://127.0.0.1:{port}",
        port=port,
        process=process,
        log=log_path,
        database_url=database_url,
        metrics_token=token,
        seeded=seeded,
        secrets_used={token, seeded.merchandiser.password, seeded.admin.password},
    )
    try:
        _wait_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                # The launcher's children get SIGTERM when it dies (PR_SET_PDEATHSIG).
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        redis.Redis.from_url(REDIS_URL).flushdb()
        databases.drop_all()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """The system Chromium, one per session. Not pytest-playwright's `browser` and `page`:
    tests using those are parametrised by browser name, and pytest reorders parametrised
    tests across modules, where these rely on their order (the last stops the server)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def tab(chromium: Browser, prod: ProdServer) -> Iterator[Page]:
    """A page in a fresh browser context on the production server."""
    context = chromium.new_context(base_url=prod.url, viewport={"width": 1440, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session", autouse=True)
def _patient_expect() -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
