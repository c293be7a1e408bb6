"""The stock grid's bulk edit on both databases: one batch, one reason; cells still at
the value the person saw are saved (ledger row + event each), the rest come back as
conflicts; bad input refuses the whole batch."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select

from models import stock
from models.db import read_session, transaction
from models.errors import InvalidQuantity, PermissionDenied
from models.events import Event
from models.reservations import reserve
from models.stock import BulkCell, CountTarget, bulk_set_counts, set_count, set_counts
from tests.factories import make_world
from tests.models.test_concurrency_pg import THREADS, race

Ledger = stock.LedgerEntry


@pytest.fixture
def world(engine: Engine):
    """NRD's tee with 5 S, 8 M and 2 L on hand at WH1."""
    world = make_world(engine)
    wh1, sizes = world.warehouses["WH1"], world.variants
    start = [CountTarget(sizes[s], wh1, 0, qty) for s, qty in (("S", 5), ("M", 8), ("L", 2))]
    with transaction(engine) as session:
        set_counts(session, start, reason="receipt", actor="t")
    return world


def on_hand(engine: Engine, variant_id: int, warehouse_id: int) -> int:
    with read_session(engine) as session:
        return stock.get_balance(session, variant_id, warehouse_id).on_hand


def bulk_rows(engine: Engine) -> list[stock.LedgerEntry]:
    with read_session(engine) as session:
        return list(
            session.scalars(select(Ledger).where(Ledger.reason == "count").order_by(Ledger.id))
        )


def test_a_bulk_edit_saves_every_cell_with_one_reason_ledger_row_and_event(engine, world):
    s, m, wh1, wh2 = (
        world.variants["S"],
        world.variants["M"],
        world.warehouses["WH1"],
        world.warehouses["WH2"],
    )
    with transaction(engine) as session:
        before = len(list(session.scalars(select(Event.id))))
        result = bulk_set_counts(
            session,
            [BulkCell(s, wh1, 5, 7), BulkCell(m, wh1, 8, 0), BulkCell(s, wh2, 0, 4)],
            reason="count",
            actor="ana@example.com",
            note="  shelf   recount ",
        )
    assert result.conflicts == []
    assert sorted((c.variant_id, c.warehouse_id, c.on_hand) for c in result.saved) == sorted(
        [(s, wh1, 7), (m, wh1, 0), (s, wh2, 4)]
    )
    assert (on_hand(engine, s, wh1), on_hand(engine, m, wh1), on_hand(engine, s, wh2)) == (7, 0, 4)
    rows = bulk_rows(engine)
    assert sorted(r.on_hand_delta for r in rows) == [-8, 2, 4]
    assert {(r.actor, r.note, r.reference) for r in rows} == {
        ("ana@example.com", "shelf recount", "stock grid bulk edit")
    }
    with read_session(engine) as session:
        stock_events = list(session.scalars(select(Event).where(Event.type == "stock.changed")))
        assert len(list(session.scalars(select(Event.id)))) - before == 3
        assert stock.reconcile(session) == []
    assert len(stock_events) >= 3


def test_a_cell_changed_meanwhile_is_a_conflict_and_the_rest_are_saved(engine, world):
    s, m, wh1 = world.variants["S"], world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:  # someone else counts M while the grid is open
        set_count(session, m, wh1, 6, actor="other", expected_on_hand=8)
    with transaction(engine) as session:
        result = bulk_set_counts(
            session, [BulkCell(s, wh1, 5, 9), BulkCell(m, wh1, 8, 3)], reason="found", actor="t"
        )
    assert [(c.variant_id, c.on_hand) for c in result.saved] == [(s, 9)]
    [conflict] = result.conflicts
    assert (conflict.variant_id, conflict.expected, conflict.on_hand, conflict.current) == (
        m,
        8,
        3,
        6,
    )
    assert conflict.why == "changed"
    assert (on_hand(engine, s, wh1), on_hand(engine, m, wh1)) == (9, 6)
    with read_session(engine) as session:
        found = list(session.scalars(select(Ledger).where(Ledger.reason == "found")))
    assert [(r.variant_id, r.on_hand_delta) for r in found] == [(s, 4)]


def test_a_count_below_what_is_reserved_is_a_conflict_not_a_write(engine, world):
    s, m, wh1 = world.variants["S"], world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        reserve(session, m, 4, channel="web", order_ref="o-1", actor="t", warehouse_id=wh1)
    with transaction(engine) as session:
        result = bulk_set_counts(
            session, [BulkCell(m, wh1, 8, 3), BulkCell(s, wh1, 5, 5)], reason="count", actor="t"
        )
    assert result.saved == []
    [conflict] = result.conflicts
    assert (conflict.current, conflict.reserved, conflict.why) == (8, 4, "reserved")
    assert on_hand(engine, m, wh1) == 8
    assert bulk_rows(engine) == []


@dataclass
class Loose:
    """A cell as a careless caller might build it (any types)."""

    variant_id: object
    warehouse_id: object
    expected: object
    on_hand: object


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (Loose("S", "WH1", 5, -1), "on_hand must be 0 or more, got -1"),
        (Loose("S", "WH1", 5, 2.5), "on_hand must be a whole number, got 2.5"),
        (Loose("S", "WH1", 5, "7"), "on_hand must be a whole number, got '7'"),
        (Loose(999_999, "WH1", 0, 3), "no variant with id 999999"),
        (Loose("S", 999_999, 0, 3), "no warehouse with id 999999"),
        (Loose("S", "WH1", 5, 6), "the same cell is in the batch twice"),
    ],
)
def test_bad_input_refuses_the_whole_batch_naming_the_cell(engine, world, bad, words):
    ids = {**world.variants, **world.warehouses}
    cell = Loose(
        *(
            ids.get(v, v) if isinstance(v, str) and v in ids else v
            for v in (bad.variant_id, bad.warehouse_id, bad.expected, bad.on_hand)
        )
    )
    good = BulkCell(world.variants["S"], world.warehouses["WH1"], 5, 9)
    with pytest.raises(InvalidQuantity) as raised, transaction(engine) as session:
        bulk_set_counts(session, [good, cell], reason="count", actor="t")  # type: ignore[list-item]
    assert "Nothing was saved" in raised.value.message
    assert "cell 2" in raised.value.message and words in raised.value.message
    assert on_hand(engine, world.variants["S"], world.warehouses["WH1"]) == 5
    assert bulk_rows(engine) == []


def test_an_unknown_reason_or_an_empty_batch_is_refused(engine, world):
    cell = BulkCell(world.variants["S"], world.warehouses["WH1"], 5, 9)
    with pytest.raises(InvalidQuantity, match="Reason 'sale'"), transaction(engine) as session:
        bulk_set_counts(session, [cell], reason="sale", actor="t")
    with pytest.raises(InvalidQuantity, match="no changed cells"), transaction(engine) as session:
        bulk_set_counts(session, [], reason="count", actor="t")
    assert on_hand(engine, world.variants["S"], world.warehouses["WH1"]) == 5


def test_a_vendor_may_not_bulk_edit_another_brands_variant(engine, world):
    theirs = make_world(engine, brand="OTH", warehouses=()).variants["M"]
    wh1, mine = world.warehouses["WH1"], world.variants["S"]
    cells = [BulkCell(mine, wh1, 5, 6), BulkCell(theirs, wh1, 0, 3)]
    with (
        pytest.raises(PermissionDenied, match="OTH-TEE1-BLK-M is another brand's variant"),
        transaction(engine) as session,
    ):
        bulk_set_counts(session, cells, reason="count", actor="v", brand_scope=world.brand_id)
    assert (on_hand(engine, mine, wh1), on_hand(engine, theirs, wh1)) == (5, 0)
    with transaction(engine) as session:  # within the brand, the same vendor may
        result = bulk_set_counts(
            session, cells[:1], reason="count", actor="v", brand_scope=world.brand_id
        )
    assert len(result.saved) == 1 and on_hand(engine, mine, wh1) == 6


@pytest.mark.postgres
def test_racing_bulk_edits_save_each_cell_once_and_the_rest_conflict(pg_engine):
    """16 editors save the same two cells at once (one a balance not yet made): each
    cell is saved by exactly one of them; every other editor gets it as a conflict."""
    world = make_world(pg_engine)
    s, m = world.variants["S"], world.variants["M"]
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    with transaction(pg_engine) as session:
        set_counts(session, [CountTarget(s, wh1, 0, 5)], reason="receipt", actor="t")

    def attempt(i: int) -> tuple[int, int]:
        with transaction(pg_engine) as session:
            result = bulk_set_counts(
                session,
                [BulkCell(s, wh1, 5, 100 + i), BulkCell(m, wh2, 0, 200 + i)],
                reason="count",
                actor=f"editor-{i}",
            )
        return len(result.saved), len(result.conflicts)

    outcomes = race(THREADS, THREADS, attempt)

    assert sum(saved for saved, _ in outcomes) == 2
    assert sum(conflicts for _, conflicts in outcomes) == 2 * THREADS - 2
    with read_session(pg_engine) as session:
        assert 100 <= stock.get_balance(session, s, wh1).on_hand < 100 + THREADS
        assert 200 <= stock.get_balance(session, m, wh2).on_hand < 200 + THREADS
        assert stock.reconcile(session) == []
        rows = session.scalars(select(Ledger).where(Ledger.reason == "count")).all()
    assert len(rows) == 2
