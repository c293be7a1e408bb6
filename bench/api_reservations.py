"""Reservations per second through HTTP vs a trivial JSON endpoint on the same server.

Starts the API under uvicorn (one worker, its own process) on 127.0.0.1 against
DATABASE_URL, then drives it from 16 client threads with httpx: first GET
/api/v1/health (no database, the server's ceiling), then POST /api/v1/reservations.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/api_reservations.py [--scale small]
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
from _common import bench_engine, best_of, emit, parse_args, run_clients
from reservations import build

from models.api_keys import create_api_key
from models.db import transaction

CLIENTS = 16
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: How long the API may take to answer its first health check. Importing the app took
#: 37-69 s on a 2-core machine under a load of 8-13 without cached bytecode
#: (PYTHONDONTWRITEBYTECODE), and over 120 s at a load of 26: BENCH_API_START_TIMEOUT.
START_TIMEOUT_S = float(os.environ.get("BENCH_API_START_TIMEOUT", "300"))


@contextlib.contextmanager
def api_server(port: int) -> Iterator[subprocess.Popen]:
    """The API, started and answering /health, stopped afterwards. Exits with the
    server's output if it dies or does not answer within START_TIMEOUT_S."""
    with tempfile.TemporaryFile() as log:
        server = _start(port, log)
        try:
            yield server
        finally:
            server.terminate()
            server.wait(10)


def _start(port: int, log: IO[bytes]) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "dashboard.api.app:create_api",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    began = time.monotonic()
    while time.monotonic() - began < START_TIMEOUT_S:
        if server.poll() is not None:
            sys.exit(f"the API server exited with {server.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                print(f"API server ready in {time.monotonic() - began:.0f} s", file=sys.stderr)
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    server.kill()
    server.wait()
    sys.exit(f"the API server did not answer within {START_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-4000:].decode(errors="replace")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    seconds = 3.0 if args.scale == "small" else 8.0
    runs = 1 if args.scale == "small" else 3
    engine = bench_engine(pool_size=4)
    variant_ids, _warehouse = build(engine, 1_000 if args.scale == "small" else 20_000)
    skus = [f"BENCH-{i:06d}" for i in range(len(variant_ids))]
    with transaction(engine) as session:
        # A limit the benchmark never reaches: it measures the API (limiter included).
        _key, secret = create_api_key(
            session, "bench", ["reservations:write", "stock:read"], rate="10000/s", burst=100_000
        )
    engine.dispose()

    port = free_port()
    local = threading.local()
    rng = random.Random(1)
    picks = [rng.choice(skus) for _ in range(1 << 16)]
    run = [0]

    def http() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}/api/v1",
                headers={"Authorization": f"Bearer {secret}"},
                timeout=30,
            )
        return local.client

    failures = []

    def trivial(_client: int, _i: int) -> None:
        if http().get("/health").status_code != 200:
            failures.append("health")

    def reserve(client: int, i: int) -> None:
        response = http().post(
            "/reservations",
            json={
                "sku": picks[(client * 7919 + i) & 0xFFFF],
                "qty": 1,
                "channel": "bench",
                "order_ref": f"r{run[0]}-{client}-{i}",
            },
        )
        if response.status_code != 201:
            failures.append(response.status_code)

    def measure_reserve() -> float:
        run[0] += 1
        return run_clients(CLIENTS, seconds, reserve)

    with api_server(port):
        # Warm up both paths (lazy imports, mapper setup, the pool's connections and
        # their prepared statements) so the first seconds do not count against either.
        run_clients(CLIENTS, seconds / 2, trivial)
        measure_reserve()
        failures.clear()
        trivial_rate = best_of(runs, lambda: run_clients(CLIENTS, seconds, trivial))
        reserve_rate = best_of(runs, measure_reserve)
    ratio = reserve_rate / trivial_rate
    print(f"{CLIENTS} clients over HTTP, one uvicorn worker ({engine.dialect.name})")
    print(f"  trivial JSON endpoint   {trivial_rate:>10,.0f} req/s")
    print(f"  POST /reservations      {reserve_rate:>10,.0f} req/s")
    print(f"  ratio                   {ratio:>10.2f}   (failures: {len(failures)})")
    emit(
        {
            "bench": "api_reservations",
            "scale": args.scale,
            "database": engine.dialect.name,
            "clients": CLIENTS,
            "reservations_per_s": round(reserve_rate),
            "trivial_per_s": round(trivial_rate),
            "ratio": round(ratio, 3),
            "failures": len(failures),
        }
    )


if __name__ == "__main__":
    main()
