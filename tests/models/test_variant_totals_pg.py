"""Per-variant totals under concurrency on PostgreSQL: no oversell, no deadlock with the
totals row, and totals equal to the sum of the balances after a flood of writers."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import text

from jobs.imports import ImportOptions, apply_import
from models.db import read_session, set_default_engine, transaction
from models.errors import Conflict, InsufficientStock, StaleCount
from models.reservations import commit, release, reserve
from models.stock import (
    CountTarget,
    LedgerReason,
    adjust,
    change_balance,
    get_balance,
    receive,
    set_counts,
)
from models.transfers import (
    approve_transfer,
    create_transfer,
    receive_transfer,
    ship_transfer,
    submit_transfer,
)
from tests.import_support import INVENTORY_HEADERS, csv_bytes, inventory_row
from tests.models.test_concurrency_pg import THREADS, race
from tests.models.test_variant_totals import assert_totals_exact, held
from tests.transfer_support import make_staff, stocked_world

pytestmark = pytest.mark.postgres


def test_two_warehouses_of_one_variant_reserve_exactly_what_is_there(pg_engine):
    world = stocked_world(pg_engine, units=0, warehouses=(("WH1", 1), ("WH2", 2)))
    m = world.variants["M"]
    with transaction(pg_engine) as session:
        receive(session, m, world.warehouses["WH1"], 23, actor="setup")
        receive(session, m, world.warehouses["WH2"], 17, actor="setup")

    def attempt(i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                reserve(session, m, 1, channel="web", order_ref=f"o{i}", actor="load")
            return "reserved"
        except InsufficientStock:
            return "refused"

    outcomes = Counter(race(THREADS, 200, attempt))

    assert outcomes == {"reserved": 40, "refused": 160}
    assert assert_totals_exact(pg_engine)[m] == (40, 40, 0, 0)


def _waiting_on_a_lock(engine, pid: int) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar()
        )


def test_a_transfer_changing_two_balances_of_a_variant_does_not_deadlock_a_reservation(
    pg_engine,
):
    """The shape of `ship_transfer`: one statement at the source, then one at the
    destination, in one transaction. Meanwhile a reservation takes the destination's
    balance. Were the totals row taken at the first statement and held to commit, the
    reservation would wait for it while holding the balance the transfer needs next:
    a deadlock, one of them refused."""
    world = stocked_world(pg_engine, units=10, warehouses=(("WH1", 1), ("ST1", 2)))
    m, wh1, st1 = world.variants["M"], world.warehouses["WH1"], world.warehouses["ST1"]
    outcome: dict[str, object] = {}
    pid: dict[str, int] = {}
    started = threading.Event()

    def reservation() -> None:
        try:
            with transaction(pg_engine) as session:
                pid["b"] = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
                started.set()
                reserve(session, m, 2, channel="web", order_ref="B", actor="shop", warehouse_id=st1)
            outcome["b"] = "reserved"
        except Exception as error:  # the test reports whatever went wrong
            outcome["b"] = error
        finally:
            started.set()

    with transaction(pg_engine) as session:
        change_balance(session, m, wh1, reason=LedgerReason.TRANSFER_OUT, actor="t", on_hand=-3)
        other = threading.Thread(target=reservation)
        other.start()
        started.wait()
        # Until the reservation is either done or blocked on a lock (never a fixed sleep).
        while other.is_alive() and not _waiting_on_a_lock(pg_engine, pid.get("b", 0)):
            time.sleep(0.01)
        change_balance(session, m, st1, reason=LedgerReason.TRANSFER_IN, actor="t", incoming=3)
    other.join()

    assert outcome["b"] == "reserved"
    assert assert_totals_exact(pg_engine)[m] == (17, 2, 3, 15)


def test_a_flood_of_reservations_transfers_counts_and_imports_keeps_totals_exact(pg_engine):
    world = stocked_world(pg_engine, units=40, sizes=("XS", "S", "M", "L", "XL"))
    staff = make_staff(pg_engine, world.brand_id)
    sizes = sorted(world.variants.values())
    skus = {v: f"NRD-TEE1-BLK-{size}" for size, v in world.variants.items()}
    codes = list(world.warehouses)
    set_default_engine(pg_engine)

    def reservations(i: int) -> None:
        # Half the clients walk the variants upwards, half downwards.
        order = sizes if i % 2 else sizes[::-1]
        for n, variant in enumerate(order):
            with transaction(pg_engine) as session:
                held_ = reserve(
                    session, variant, 1 + n % 2, channel="web", order_ref=f"r{i}-{n}", actor="w"
                )
            with transaction(pg_engine) as session:
                if n % 2:
                    commit(session, held_.reservation.id, actor="w")
                else:
                    release(session, held_.reservation.id, actor="w")

    def transfer(i: int) -> None:
        source, dest = (codes[i % 3], codes[(i + 1) % 3])
        lines = [(v, 1 + n) for n, v in enumerate(sizes[i % 2 :: 2])]
        with transaction(pg_engine) as session:
            transfer_id = create_transfer(
                session,
                source_warehouse_id=world.warehouses[source],
                dest_warehouse_id=world.warehouses[dest],
                lines=lines,
                actor_id=staff.merch,
            ).id
        for step, actor in (
            (submit_transfer, staff.merch),
            (approve_transfer, staff.manager),
            (ship_transfer, staff.merch2),
            (receive_transfer, staff.merch2),
        ):
            with transaction(pg_engine) as session:
                step(session, transfer_id, actor_id=actor)

    def counts(i: int) -> None:
        warehouse = world.warehouses[codes[i % 3]]
        with transaction(pg_engine) as session:
            targets = []
            for variant in sizes[::-1] if i % 2 else sizes:
                current = get_balance(session, variant, warehouse)
                targets.append(
                    CountTarget(variant, warehouse, current.on_hand, current.on_hand + 1)
                )
            set_counts(session, targets, reason=LedgerReason.FOUND, actor="counter")
        with transaction(pg_engine) as session:
            adjust(session, sizes[i % len(sizes)], warehouse, 2, reason="found", actor="c")

    def import_feed(i: int) -> None:
        rows = [
            inventory_row("tee1", [], skus[v], codes[(i + n) % 3], 30 + i % 5)
            for n, v in enumerate(sizes)
        ]
        result = apply_import(
            csv_bytes(INVENTORY_HEADERS, rows),
            ImportOptions(
                brand_code="NRD", warehouse_code=None, file_name=f"f{i}.csv", actor="vendor",
                accept_warnings=True,
            ),
        )
        if result.status != "applied":
            raise Conflict(result.message or "import refused")

    work = [reservations, transfer, counts, import_feed]

    def attempt(i: int) -> str:
        try:
            work[i % len(work)](i)
            return work[i % len(work)].__name__
        except (InsufficientStock, StaleCount, Conflict):
            return "refused"

    try:
        outcomes = Counter(race(8, 64, attempt))
    finally:
        set_default_engine(None)

    assert sum(n for name, n in outcomes.items() if name != "refused") >= 32, outcomes
    assert {"reservations", "transfer", "counts", "import_feed"} <= set(outcomes), outcomes
    assert_totals_exact(pg_engine)
    with read_session(pg_engine) as session:
        leftovers = session.connection().exec_driver_sql("SELECT count(*) FROM variant_stock_delta")
        assert leftovers.scalar() == 0
    assert held(pg_engine)
