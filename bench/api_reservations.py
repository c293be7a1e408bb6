"""Reservations per second through HTTP vs a trivial JSON endpoint on the same server.

Starts the API under uvicorn (one worker, its own process) on 127.0.0.1 against
DATABASE_URL, then drives it from 16 client threads with httpx: first GET
/api/v1/health (no database, the server's ceiling), then POST /api/v1/reservations.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/api_reservations.py [--scale small]
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

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


def start_server(port: int) -> subprocess.Popen:
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
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    sys.exit("the API server did not start")


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
    server = start_server(port)
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

    try:
        trivial_rate = best_of(runs, lambda: run_clients(CLIENTS, seconds, trivial))
        reserve_rate = best_of(runs, measure_reserve)
    finally:
        server.terminate()
        server.wait(10)
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
