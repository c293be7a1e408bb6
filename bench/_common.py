"""Shared plumbing for benchmarks: the database from DATABASE_URL, timing, the JSON line."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert
from sqlmodel import Session

from models.catalog import Variant
from models.db import create_db_engine, database_url
from models.secrets import KEY_FILE, new_key


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", choices=["small", "large"], default="large")
    return parser.parse_args()


def bench_engine(pool_size: int = 24) -> Engine:
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a migrated, empty database (see README: Benchmarks).")
    ensure_secret_key()
    return create_db_engine(database_url(), pool_size=pool_size)


def ensure_secret_key() -> None:
    """Set RACKROOM_SECRET_KEY for the servers a benchmark starts: production requires
    the variable and will not read the local key file. The checkout's local key when it
    has one, else one for this run (the data is thrown away with its database)."""
    if not os.environ.get("RACKROOM_SECRET_KEY"):
        local = KEY_FILE.read_text().strip() if KEY_FILE.exists() else ""
        os.environ["RACKROOM_SECRET_KEY"] = local or new_key()


def insert_variants(
    session: Session,
    brand_id: int,
    skus: Sequence[str],
    product_of: Callable[[int], int],
    created_at: datetime,
) -> None:
    """A plain variant (size M, a colour of its own) for each of `skus`, the n-th in
    product `product_of(n)`, inserted in batches without the ORM."""
    rows = [
        {
            "product_id": product_of(n),
            "brand_id": brand_id,
            "sku": sku,
            "colour": f"c{n}",
            "size": "M",
            "size_system": "alpha",
            "size_rank": 30,
            "price_cents": 1000,
            "created_at": created_at,
        }
        for n, sku in enumerate(skus)
    ]
    for start in range(0, len(rows), 5_000):
        session.execute(insert(Variant.__table__), rows[start : start + 5_000])


def run_clients(clients: int, seconds: float, work: Callable[[int, int], None]) -> float:
    """Call work(client, i) from `clients` threads for `seconds`; returns calls per second."""
    start = threading.Barrier(clients + 1)
    stop = threading.Event()
    counts = [0] * clients

    def client(n: int) -> None:
        start.wait()
        i = 0
        while not stop.is_set():
            work(n, i)
            i += 1
        counts[n] = i

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def best_of(runs: int, measure: Callable[[], float]) -> float:
    """The median of `runs` measurements: the machine is noisy."""
    return statistics.median(measure() for _ in range(runs))


def emit(result: dict) -> None:
    print(json.dumps(result), flush=True)
