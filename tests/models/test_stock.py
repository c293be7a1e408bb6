"""Stock operations on both databases: each change is one guarded update plus its ledger row."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from models.db import read_session, transaction
from models.errors import InsufficientStock, InvalidQuantity, NotFound, StaleCount
from models.stock import LedgerEntry, adjust, get_balance, receive, reconcile, set_count
from tests.factories import make_world


@pytest.fixture
def world(engine: Engine):
    return make_world(engine)


def ledger_rows(engine: Engine, variant_id: int) -> list[LedgerEntry]:
    with read_session(engine) as session:
        return list(
            session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.variant_id == variant_id)
                .order_by(LedgerEntry.id)
            )
        )


def test_receive_creates_the_balance_and_one_ledger_row(engine, world):
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        balance = receive(
            session, m, wh, 12, actor="alice", reference="PO-1", note="first delivery"
        )
    assert (balance.on_hand, balance.reserved, balance.available) == (12, 0, 12)
    [row] = ledger_rows(engine, m)
    assert (row.on_hand_delta, row.reason, row.reference, row.actor) == (
        12,
        "receipt",
        "PO-1",
        "alice",
    )
    assert row.created_at.tzinfo is not None


def test_adjust_down_is_refused_below_available_and_changes_nothing(engine, world):
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 3, actor="a")
    with pytest.raises(InsufficientStock, match="Only 3 available"), transaction(engine) as session:
        adjust(session, m, wh, -4, reason="damaged", actor="a")
    with transaction(engine) as session:
        assert adjust(session, m, wh, -3, reason="damaged", actor="a").on_hand == 0
        assert get_balance(session, m, wh).on_hand == 0
    assert [r.on_hand_delta for r in ledger_rows(engine, m)] == [3, -3]


@pytest.mark.parametrize("qty", [0, -1, 1.5, "3", True, None])
def test_receive_refuses_quantities_that_are_not_positive_whole_numbers(engine, world, qty):
    with pytest.raises(InvalidQuantity), transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], qty, actor="a")
    assert ledger_rows(engine, world.variants["M"]) == []


def test_unknown_variant_or_warehouse_is_not_found(engine, world):
    with pytest.raises(NotFound, match="variant"), transaction(engine) as session:
        receive(session, 999_999, world.warehouses["WH1"], 1, actor="a")
    with pytest.raises(NotFound, match="warehouse"), transaction(engine) as session:
        receive(session, world.variants["M"], 999_999, 1, actor="a")


def test_adjust_refuses_reasons_outside_the_list(engine, world):
    with (
        pytest.raises(InvalidQuantity, match="Reason 'stolen-by-aliens'"),
        transaction(engine) as s,
    ):
        adjust(
            s, world.variants["M"], world.warehouses["WH1"], 1, reason="stolen-by-aliens", actor="a"
        )


def test_set_count_is_compare_and_swap(engine, world):
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 12, actor="a")
    with transaction(engine) as session:
        assert set_count(session, m, wh, 10, expected_on_hand=12, actor="bob").on_hand == 10
    with (
        pytest.raises(StaleCount, match="it is 10 now, not 12") as refused,
        transaction(engine) as s,
    ):
        set_count(s, m, wh, 9, expected_on_hand=12, actor="carol")
    assert refused.value.details["on_hand"] == 10
    with transaction(engine) as session:
        assert get_balance(session, m, wh).on_hand == 10
    rows = ledger_rows(engine, m)
    assert [(r.on_hand_delta, r.reason, r.actor) for r in rows] == [
        (12, "receipt", "a"),
        (-2, "count", "bob"),
    ]


def test_set_count_without_expected_value_records_the_difference(engine, world):
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 5, actor="a")
        set_count(session, m, wh, 8, actor="a", reason="found")
        set_count(session, m, wh, 8, actor="a")  # no change, no ledger row
    assert [r.on_hand_delta for r in ledger_rows(engine, m)] == [5, 3]


def test_set_count_cannot_go_below_reserved_or_negative(engine, world):
    from models.reservations import reserve

    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 5, actor="a")
        reserve(session, m, 4, channel="web", order_ref="o-1", actor="a", warehouse_id=wh)
    with pytest.raises(InsufficientStock, match="4 units are reserved"), transaction(engine) as s:
        set_count(s, m, wh, 3, actor="a")
    with (
        pytest.raises(InvalidQuantity, match="on_hand must be 0 or more"),
        transaction(engine) as s,
    ):
        set_count(s, m, wh, -1, actor="a")


def test_database_checks_refuse_inconsistent_balances_even_from_raw_sql(engine, world):
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 2, actor="a")
    for statement in (
        "UPDATE stock_balance SET on_hand = -1",
        "UPDATE stock_balance SET reserved = 3",
        "UPDATE stock_balance SET reserved = -1",
        "UPDATE stock_balance SET incoming = -5",
    ):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(statement))


def test_ledger_is_append_only(engine, world):
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 2, actor="a")
    for statement in ("UPDATE stock_ledger SET on_hand_delta = 5", "DELETE FROM stock_ledger"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert len(ledger_rows(engine, m)) == 1


def test_reconcile_lists_every_balance_that_differs_from_its_ledger(engine, world):
    m, s_, wh = world.variants["M"], world.variants["S"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 5, actor="a")
        receive(session, s_, wh, 5, actor="a")
        assert reconcile(session) == []
    with engine.begin() as conn:  # simulate a write that bypassed the domain
        conn.execute(text("UPDATE stock_balance SET on_hand = 7 WHERE variant_id = :v"), {"v": m})
    with read_session(engine) as session:
        [drift] = reconcile(session)
    assert (drift.variant_id, drift.balance, drift.ledger) == (m, (7, 0, 0), (5, 0, 0))
    assert drift.describe().endswith("on_hand 7 but ledger says 5")
