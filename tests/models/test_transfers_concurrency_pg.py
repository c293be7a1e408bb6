"""Transfers under concurrency on PostgreSQL: no double shipping, no oversell, no deadlock."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from models.db import read_session, transaction
from models.errors import InsufficientStock
from models.reservations import Reservation, reserve
from models.stock import LedgerEntry, StockBalance, get_balance, receive, reconcile
from models.transfers import (
    Transfer,
    approve_transfer,
    create_transfer,
    receive_transfer,
    ship_transfer,
    submit_transfer,
)
from tests.factories import make_world
from tests.models.test_concurrency_pg import THREADS, race
from tests.transfer_support import make_staff

pytestmark = pytest.mark.postgres


def _approved(engine, staff, source, dest, lines) -> int:
    with transaction(engine) as session:
        transfer_id = create_transfer(
            session,
            source_warehouse_id=source,
            dest_warehouse_id=dest,
            lines=lines,
            actor_id=staff.merch,
        ).id
        submit_transfer(session, transfer_id, actor_id=staff.merch)
        approve_transfer(session, transfer_id, actor_id=staff.manager)
    return transfer_id


def test_two_transfers_and_a_flood_of_reservations_never_oversell(pg_engine):
    units = 100
    world = make_world(pg_engine, warehouses=(("WH1", 1), ("WH2", 2), ("ST1", 3)))
    staff = make_staff(pg_engine, world.brand_id)
    m = world.variants["M"]
    wh1, wh2, st1 = (world.warehouses[c] for c in ("WH1", "WH2", "ST1"))
    with transaction(pg_engine) as session:
        receive(session, m, wh1, units, actor="setup")
    # Each transfer wants 60 of the 100: at most one of them can ever ship.
    first = _approved(pg_engine, staff, wh1, st1, [(m, 60)])
    second = _approved(pg_engine, staff, wh1, wh2, [(m, 60)])
    attempts = 2 * units + 2
    ships = {3: first, 4: second}  # early, so they race the reservations head-on

    def attempt(i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                if i in ships:
                    ship_transfer(session, ships[i], actor_id=staff.merch)
                    return "shipped"
                reserve(
                    session, m, 1, channel="web", order_ref=f"o-{i}", actor="web", warehouse_id=wh1
                )
                return "reserved"
        except InsufficientStock:
            return "ship refused" if i in ships else "reserve refused"

    outcomes = Counter(race(THREADS, attempts, attempt))

    shipped = outcomes["shipped"]
    assert shipped <= 1
    assert outcomes["shipped"] + outcomes["ship refused"] == 2
    with read_session(pg_engine) as session:
        source = get_balance(session, m, wh1)
        reservations = session.scalar(select(func.count()).select_from(Reservation))
        # every unit went somewhere exactly once: shipped, or held for an order
        assert 60 * shipped + reservations == units
        assert outcomes["reserved"] == reservations
        assert (source.on_hand, source.reserved, source.available) == (
            units - 60 * shipped,
            reservations,
            0,
        )
        incoming = {w: get_balance(session, m, w).incoming for w in (st1, wh2)}
        statuses = dict(session.execute(select(Transfer.id, Transfer.status)).all())
        assert sum(incoming.values()) == 60 * shipped
        for transfer_id, dest in ((first, st1), (second, wh2)):
            expected = "in_transit" if statuses[transfer_id] == "in_transit" else "approved"
            assert statuses[transfer_id] == expected
            assert incoming[dest] == (60 if expected == "in_transit" else 0)
        assert session.scalar(select(func.min(StockBalance.on_hand - StockBalance.reserved))) >= 0
        assert session.scalar(select(func.sum(LedgerEntry.reserved_delta))) == reservations
        assert reconcile(session) == []


def test_transfers_in_opposite_directions_over_the_same_sizes_do_not_deadlock(pg_engine):
    world = make_world(pg_engine, warehouses=(("WH1", 1), ("WH2", 2)))
    staff = make_staff(pg_engine, world.brand_id)
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    sizes = [world.variants[s] for s in ("S", "M", "L")]
    with transaction(pg_engine) as session:
        for variant in sizes:
            for warehouse in (wh1, wh2):
                receive(session, variant, warehouse, 1_000, actor="setup")
    pairs = 24
    there = [
        _approved(pg_engine, staff, wh1, wh2, [(v, 1 + k % 3) for v in sizes]) for k in range(pairs)
    ]
    back = [
        _approved(pg_engine, staff, wh2, wh1, [(v, 1 + k % 2) for v in reversed(sizes)])
        for k in range(pairs)
    ]
    interleaved = [t for pair in zip(there, back, strict=True) for t in pair]

    def step(action):
        def attempt(i: int) -> str:
            with transaction(pg_engine) as session:
                action(session, interleaved[i], actor_id=staff.merch)
            return "ok"

        return attempt

    # A deadlock would surface here as an OperationalError from one of the threads.
    assert Counter(race(THREADS, len(interleaved), step(ship_transfer))) == {"ok": 2 * pairs}
    assert Counter(race(THREADS, len(interleaved), step(receive_transfer))) == {"ok": 2 * pairs}
    with read_session(pg_engine) as session:
        assert reconcile(session) == []
        assert set(session.scalars(select(Transfer.status))) == {"received"}
        moved_there = sum(1 + k % 3 for k in range(pairs))
        moved_back = sum(1 + k % 2 for k in range(pairs))
        for variant in sizes:
            here, away = get_balance(session, variant, wh1), get_balance(session, variant, wh2)
            assert here.on_hand == 1_000 - moved_there + moved_back
            assert away.on_hand == 1_000 + moved_there - moved_back
            assert here.incoming == away.incoming == 0


def test_the_same_transfer_shipped_twice_at_once_ships_once(pg_engine):
    world = make_world(pg_engine, warehouses=(("WH1", 1), ("WH2", 2)))
    staff = make_staff(pg_engine, world.brand_id)
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    m = world.variants["M"]
    with transaction(pg_engine) as session:
        receive(session, m, wh1, 50, actor="setup")
    transfer_id = _approved(pg_engine, staff, wh1, wh2, [(m, 10)])

    def attempt(_i: int) -> str:
        from models.errors import InvalidTransition

        try:
            with transaction(pg_engine) as session:
                ship_transfer(session, transfer_id, actor_id=staff.merch)
            return "shipped"
        except InvalidTransition:
            return "refused"

    assert Counter(race(THREADS, THREADS, attempt)) == {"shipped": 1, "refused": THREADS - 1}
    with read_session(pg_engine) as session:
        assert get_balance(session, m, wh1).on_hand == 40
        assert get_balance(session, m, wh2).incoming == 10
        assert reconcile(session) == []
