"""Concurrency on PostgreSQL: many clients racing for the same units never oversell."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from models.db import read_session, transaction
from models.errors import InsufficientStock, StaleCount
from models.reservations import Reservation, commit, release, reserve
from models.stock import LedgerEntry, StockBalance, get_balance, receive, reconcile, set_count
from tests.factories import make_world

pytestmark = pytest.mark.postgres
THREADS = 16


def race(workers: int, attempts: int, attempt):
    """Run `attempt(i)` for i in range(attempts) from `workers` threads released together."""
    start = threading.Barrier(workers)

    def run(worker: int) -> list[str]:
        start.wait()
        return [attempt(i) for i in range(worker, attempts, workers)]

    with ThreadPoolExecutor(workers) as pool:
        return [outcome for batch in pool.map(run, range(workers)) for outcome in batch]


def test_sixteen_threads_on_one_hot_sku_reserve_exactly_what_is_there(pg_engine):
    units, attempts = 37, 400
    world = make_world(pg_engine, warehouses=(("WH1", 1),))
    sku, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(pg_engine) as session:
        receive(session, sku, wh, units, actor="setup")

    def attempt(i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                reserve(session, sku, 1, channel="web", order_ref=f"order-{i}", actor="load")
            return "reserved"
        except InsufficientStock:
            return "refused"

    outcomes = Counter(race(THREADS, attempts, attempt))

    assert outcomes == {"reserved": units, "refused": attempts - units}
    with read_session(pg_engine) as session:
        balance = get_balance(session, sku, wh)
        assert (balance.on_hand, balance.reserved, balance.available) == (units, units, 0)
        assert session.scalar(select(func.count()).select_from(Reservation)) == units
        assert session.scalar(select(func.min(StockBalance.on_hand - StockBalance.reserved))) >= 0
        assert reconcile(session) == []


def test_concurrent_retries_of_one_order_reserve_once(pg_engine):
    world = make_world(pg_engine, warehouses=(("WH1", 1),))
    sku, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(pg_engine) as session:
        receive(session, sku, wh, 10, actor="setup")

    def attempt(_i: int) -> str:
        with transaction(pg_engine) as session:
            result = reserve(session, sku, 3, channel="web", order_ref="same-order", actor="load")
            return "created" if result.created else "replayed"

    outcomes = Counter(race(THREADS, 64, attempt))

    assert outcomes == {"created": 1, "replayed": 63}
    with read_session(pg_engine) as session:
        assert get_balance(session, sku, wh).reserved == 3
        assert reconcile(session) == []


def test_mixed_reserve_commit_release_and_counts_keep_the_ledger_exact(pg_engine):
    world = make_world(pg_engine)
    sizes = list(world.variants.values())
    warehouses = list(world.warehouses.values())
    with transaction(pg_engine) as session:
        for variant in sizes:
            for warehouse in warehouses:
                receive(session, variant, warehouse, 20, actor="setup")

    def attempt(i: int) -> str:
        variant = sizes[i % len(sizes)]
        try:
            with transaction(pg_engine) as session:
                held = reserve(
                    session, variant, 1 + i % 3, channel="web", order_ref=f"o{i}", actor="w"
                )
                if i % 3 == 0:
                    commit(session, held.reservation.id, actor="w")
                elif i % 3 == 1:
                    release(session, held.reservation.id, actor="w")
            if i % 7 == 0:
                with transaction(pg_engine) as session:
                    current = get_balance(session, variant, warehouses[0])
                    set_count(
                        session,
                        variant,
                        warehouses[0],
                        max(current.reserved, current.on_hand - 1),
                        expected_on_hand=current.on_hand,
                        actor="counter",
                    )
            return "ok"
        except (InsufficientStock, StaleCount):
            return "refused"

    outcomes = Counter(race(THREADS, 480, attempt))

    assert outcomes["ok"] > 0
    with read_session(pg_engine) as session:
        assert reconcile(session) == []
        assert session.scalar(select(func.min(StockBalance.on_hand - StockBalance.reserved))) >= 0
        ledger_reserved = session.scalar(select(func.sum(LedgerEntry.reserved_delta)))
        active = session.scalar(
            select(func.coalesce(func.sum(Reservation.qty), 0)).where(
                Reservation.status == "active"
            )
        )
        assert ledger_reserved == active


def test_concurrent_compare_and_swap_counts_let_exactly_one_writer_win(pg_engine):
    world = make_world(pg_engine, warehouses=(("WH1", 1),))
    sku, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(pg_engine) as session:
        receive(session, sku, wh, 12, actor="setup")

    def attempt(i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                set_count(session, sku, wh, 100 + i, expected_on_hand=12, actor=f"counter-{i}")
            return "won"
        except StaleCount:
            return "stale"

    outcomes = Counter(race(THREADS, THREADS, attempt))

    assert outcomes == {"won": 1, "stale": THREADS - 1}
    with read_session(pg_engine) as session:
        assert reconcile(session) == []
