"""A real HTTP server on 127.0.0.1 serving the API, and helpers to talk to it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import Engine
from starlette.types import ASGIApp

from dashboard.api import create_api
from dashboard.observability import observe_http
from jobs.scheduler import build_scheduler
from models.api_keys import create_api_key
from models.db import PROJECT_ROOT, transaction

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_api(
    *, with_scheduler: bool = False, expiry_seconds: float = 0.5, app: ASGIApp | None = None
) -> Iterator[str]:
    """Run the API (or `app`) under uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            observe_http(app or create_api()),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            limit_concurrency=None,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    scheduler = build_scheduler(expiry_seconds=expiry_seconds) if with_scheduler else None
    if scheduler:
        scheduler.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if scheduler:
            scheduler.shutdown(wait=True)
        server.should_exit = True
        thread.join(timeout=10)


#: For tests and benchmarks that load the API on purpose: a limit they never reach.
UNLIMITED = {"rate": "10000/s", "burst": 100_000}

#: What the gateway writes around a request at times of its own choosing (the key's
#: use stamp, a new lease on its rate-limit bucket once the last one is a second old)
#: and the transaction brackets: not the route's work.
_GATEWAY_WORDS = ("api_key", "api_rate_bucket", "BEGIN", "COMMIT", "ROLLBACK")


def is_gateway_bookkeeping(statement: str) -> bool:
    """Whether `statement` is the gateway's bookkeeping rather than the route's own
    reads, for tests that count a route's statements."""
    return any(word in statement for word in _GATEWAY_WORDS)


@contextmanager
def serve_granian(
    database_url: str, *, workers: int = 1, redis_url: str | None = None, log: Path | None = None
) -> Iterator[str]:
    """The API as production serves it: Granian with `workers` processes (each its own
    rate-limit client, sharing Redis when `redis_url` is given), on 127.0.0.1; yields its
    base URL and stops the whole process group afterwards. With `log`, Granian's access
    log goes there, each line starting with the serving worker's pid=N."""
    port = free_port()
    logging_args: list[str] = []
    if log:
        config = log.with_suffix(".logging.json")
        config.write_text(json.dumps({"formatters": {
            "generic": {"()": "logging.Formatter", "fmt": "[%(levelname)s] %(message)s"},
            "access": {"()": "logging.Formatter", "fmt": "pid=%(process)d %(message)s"},
        }}))
        logging_args = ["--access-log", "--log-config", str(config)]
    # The suite's own settings are passed on (the secret key that encrypts poll and
    # connector secrets, the cheap password hashing); any other RACKROOM_ setting is not.
    kept = ("RACKROOM_SECRET_KEY", "RACKROOM_PASSWORD_HASHING")
    env = {
        k: v
        for k, v in os.environ.items()
        if (k in kept or not k.startswith("RACKROOM_")) and k not in ("DATABASE_URL", "REDIS_URL")
    } | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or "",
        "RACKROOM_SCHEDULER": "off",
        "PYTHONUNBUFFERED": "1",  # the access log is read while the server runs
    }
    output = log.open("w") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [
            str(VENV_BIN / "granian"),
            "--interface", "asgi", "--factory", "--workers", str(workers),
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            *logging_args, "dashboard.api:create_api",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"granian exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("granian did not answer in 90 s")
            time.sleep(0.2)
        if log and workers > 1:
            # One worker answering is not all of them: a test that spreads its calls over
            # the workers waits until each has served a request (a fresh connection each
            # time, so any idle worker may take it) — the others may still be importing.
            while len(serving_pids(log)) < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only workers {serving_pids(log)} answered in 90 s")
                with suppress(httpx.HTTPError):
                    httpx.get(f"{url}/api/v1/health", timeout=2)
                time.sleep(0.05)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if log:
            output.close()


def serving_pids(log: Path, path: str = "") -> set[str]:
    """The `pid=N` of every Granian worker whose access-log lines mention `path`."""
    return {
        line.split()[0]
        for line in log.read_text().splitlines()
        if line.startswith("pid=") and path in line
    }


def make_key(
    engine: Engine,
    name: str,
    *scopes: str,
    brand: str | None = None,
    rate: str | None = None,
    burst: int | None = None,
) -> str:
    with transaction(engine) as session:
        return create_api_key(
            session, name, list(scopes), brand_code=brand, rate=rate, burst=burst
        )[1]


def client(base_url: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base_url + "/api/v1", headers=headers, timeout=30)
