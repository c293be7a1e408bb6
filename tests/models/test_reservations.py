"""Reservations on both databases: idempotent holds that commit, release or expire exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from models.base import utcnow
from models.db import read_session, transaction
from models.errors import Conflict, InsufficientStock, InvalidQuantity, InvalidTransition, NotFound
from models.reservations import (
    Reservation,
    SaleLine,
    commit,
    expire_due,
    record_return,
    release,
    reserve,
)
from models.stock import get_balance, receive, reconcile
from tests.factories import make_world


@pytest.fixture
def world(engine: Engine):
    world = make_world(engine)
    with transaction(engine) as session:
        m = world.variants["M"]
        receive(session, m, world.warehouses["WH1"], 2, actor="setup")
        receive(session, m, world.warehouses["WH2"], 5, actor="setup")
        receive(session, m, world.warehouses["ST1"], 9, actor="setup")
    return world


def balance(engine, world, warehouse="WH1", size="M"):
    with read_session(engine) as session:
        return get_balance(session, world.variants[size], world.warehouses[warehouse])


def test_allocation_takes_the_first_priority_warehouse_that_can_cover_the_order(engine, world):
    with transaction(engine) as session:
        first = reserve(session, world.variants["M"], 2, channel="web", order_ref="A", actor="shop")
        second = reserve(
            session, world.variants["M"], 3, channel="web", order_ref="B", actor="shop"
        )
        third = reserve(session, world.variants["M"], 3, channel="web", order_ref="C", actor="shop")
    assert first.reservation.warehouse_id == world.warehouses["WH1"]  # priority 10, exactly 2
    assert second.reservation.warehouse_id == world.warehouses["WH2"]  # WH1 is now empty
    assert third.reservation.warehouse_id == world.warehouses["ST1"]  # WH2 has 2 left
    assert balance(engine, world, "WH2").reserved == 3


def test_allocation_breaks_priority_ties_by_most_available(engine):
    world = make_world(engine, warehouses=(("A", 5), ("B", 5)))
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["A"], 2, actor="s")
        receive(session, world.variants["M"], world.warehouses["B"], 6, actor="s")
        result = reserve(session, world.variants["M"], 1, channel="web", order_ref="x", actor="s")
    assert result.reservation.warehouse_id == world.warehouses["B"]


def test_same_order_again_returns_the_same_reservation_and_reserves_nothing_more(engine, world):
    with transaction(engine) as session:
        first = reserve(session, world.variants["M"], 2, channel="web", order_ref="A", actor="s")
    with transaction(engine) as session:
        again = reserve(session, world.variants["M"], 2, channel="web", order_ref="A", actor="s")
    assert (first.created, again.created) == (True, False)
    assert again.reservation.id == first.reservation.id
    assert balance(engine, world).reserved == 2


def test_a_retry_with_a_different_quantity_is_a_conflict(engine, world):
    with transaction(engine) as session:
        reserve(session, world.variants["M"], 2, channel="web", order_ref="A", actor="s")
    with pytest.raises(Conflict, match="already holds reservation"), transaction(engine) as s:
        reserve(s, world.variants["M"], 3, channel="web", order_ref="A", actor="s")


def test_insufficient_stock_says_what_is_available_and_holds_nothing(engine, world):
    with pytest.raises(InsufficientStock) as refused, transaction(engine) as session:
        reserve(
            session,
            world.variants["M"],
            3,
            channel="web",
            order_ref="A",
            actor="s",
            warehouse_id=world.warehouses["WH1"],
        )
    assert refused.value.details == {"available": 2, "requested": 3}
    only_nine = pytest.raises(InsufficientStock, match="Only 9 available in any single warehouse")
    with only_nine, transaction(engine) as session:
        reserve(session, world.variants["M"], 10, channel="web", order_ref="B", actor="s")
    with read_session(engine) as session:
        assert session.scalars(select(Reservation)).all() == []
    assert balance(engine, world).reserved == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"qty": 0}, InvalidQuantity),
        ({"qty": -2}, InvalidQuantity),
        ({"order_ref": "  "}, InvalidQuantity),
        ({"channel": ""}, InvalidQuantity),
        ({"ttl": timedelta(days=30)}, InvalidQuantity),
        ({"warehouse_id": 987654}, NotFound),
        ({"variant_id": 987654}, NotFound),
    ],
)
def test_bad_reservation_requests_are_refused(engine, world, kwargs, error):
    args = {
        "variant_id": world.variants["M"],
        "qty": 1,
        "channel": "web",
        "order_ref": "A",
        "actor": "s",
    } | kwargs
    variant_id = args.pop("variant_id")
    qty = args.pop("qty")
    with pytest.raises(error), transaction(engine) as session:
        reserve(session, variant_id, qty, **args)


def test_commit_records_the_sale_and_takes_units_off_hand(engine, world):
    with transaction(engine) as session:
        held = reserve(session, world.variants["M"], 2, channel="web", order_ref="A", actor="s")
        commit(session, held.reservation.id, actor="shop")
    after = balance(engine, world)
    assert (after.on_hand, after.reserved) == (0, 0)
    with read_session(engine) as session:
        [sale] = session.scalars(select(SaleLine)).all()
        assert (sale.qty, sale.unit_price_cents, sale.order_ref) == (2, 2500, "A")
        assert session.get(Reservation, held.reservation.id).status == "committed"
        assert reconcile(session) == []


def test_a_second_commit_or_a_release_after_commit_is_refused(engine, world):
    with transaction(engine) as session:
        held = reserve(session, world.variants["M"], 1, channel="web", order_ref="A", actor="s")
        commit(session, held.reservation.id, actor="s")
    with pytest.raises(InvalidTransition, match="already committed"), transaction(engine) as s:
        commit(s, held.reservation.id, actor="s")
    with pytest.raises(InvalidTransition, match="already committed"), transaction(engine) as s:
        release(s, held.reservation.id, actor="s")
    assert balance(engine, world).on_hand == 1


def test_release_gives_units_back(engine, world):
    with transaction(engine) as session:
        held = reserve(session, world.variants["M"], 2, channel="web", order_ref="A", actor="s")
        release(session, held.reservation.id, actor="s")
    assert (balance(engine, world).on_hand, balance(engine, world).reserved) == (2, 0)


def test_unknown_reservation_is_not_found(engine, world):
    with pytest.raises(NotFound, match="No reservation with id 4242"), transaction(engine) as s:
        commit(s, 4242, actor="s")


def test_expiry_releases_due_reservations_and_refuses_late_commits(engine, world):
    start = utcnow()
    with transaction(engine) as session:
        due = reserve(
            session,
            world.variants["M"],
            2,
            channel="web",
            order_ref="A",
            actor="s",
            ttl=timedelta(minutes=5),
            now=start,
        )
        fresh = reserve(
            session,
            world.variants["M"],
            1,
            channel="web",
            order_ref="B",
            actor="s",
            ttl=timedelta(minutes=30),
            now=start,
        )
    later = start + timedelta(minutes=10)
    with pytest.raises(InvalidTransition, match="expired at"), transaction(engine) as session:
        commit(session, due.reservation.id, actor="s", now=later)
    with transaction(engine) as session:
        assert expire_due(session, now=later) == 1
        assert expire_due(session, now=later) == 0
    with read_session(engine) as session:
        assert session.get(Reservation, due.reservation.id).status == "expired"
        assert session.get(Reservation, fresh.reservation.id).status == "active"
        assert reconcile(session) == []
    with pytest.raises(InvalidTransition, match="already expired"), transaction(engine) as session:
        release(session, due.reservation.id, actor="s", now=later)
    assert balance(engine, world, "WH1").reserved == 0


def test_returns_need_a_sale_to_return_and_cannot_exceed_it(engine, world):
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        held = reserve(session, m, 2, channel="web", order_ref="A", actor="s", warehouse_id=wh)
        commit(session, held.reservation.id, actor="s")
    with pytest.raises(NotFound, match="has no sale"), transaction(engine) as session:
        record_return(session, m, wh, 1, order_ref="NOPE", actor="s")
    with transaction(engine) as session:
        record_return(session, m, wh, 1, order_ref="A", actor="s")
    too_many = pytest.raises(InvalidQuantity, match=r"1 unit\(s\) of this SKU left")
    with too_many, transaction(engine) as session:
        record_return(session, m, wh, 2, order_ref="A", actor="s")
    assert balance(engine, world).on_hand == 1
    with read_session(engine) as session:
        assert sorted(s.qty for s in session.scalars(select(SaleLine))) == [-1, 2]
        assert reconcile(session) == []
