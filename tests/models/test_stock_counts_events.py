"""set_counts writes one `stock.changed` per ledger row, with the balance after it, on both
databases (on PostgreSQL in the same statement as the balances and the ledger rows)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.db import read_session, transaction
from models.errors import StaleCount
from models.events import Event
from models.reservations import reserve
from models.stock import CountTarget, LedgerEntry, receive, reconcile, set_counts
from tests.factories import make_world


def _stock_events(engine) -> list[Event]:
    with read_session(engine) as session:
        query = select(Event).where(Event.type == "stock.changed").order_by(Event.id)
        return list(session.scalars(query))


def test_a_bulk_count_writes_each_balance_its_event_with_the_balance_after(engine):
    world = make_world(engine)
    s, m = world.variants["S"], world.variants["M"]
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    with transaction(engine) as session:
        receive(session, m, wh1, 10, actor="t", reference="po:1")
        reserve(session, m, 3, channel="web", order_ref="o1", actor="t", warehouse_id=wh1)
    before = {e.id for e in _stock_events(engine)}
    with transaction(engine) as session:
        written = set_counts(
            session,
            [
                CountTarget(m, wh1, 10, 7, "feed: 7"),  # an existing balance, 3 reserved
                CountTarget(s, wh2, 0, 4, "feed: 4"),  # a balance that does not exist yet
            ],
            reason="sync",
            actor="sync:NRD",
            reference="sync-run:1",
        )
    assert written == 2
    new = [e for e in _stock_events(engine) if e.id not in before]
    with read_session(engine) as session:
        ledger = list(
            session.scalars(
                select(LedgerEntry.id)
                .where(LedgerEntry.reference == "sync-run:1")
                .order_by(LedgerEntry.id)
            )
        )
        assert reconcile(session) == []
    assert sorted(e.data["ledger_id"] for e in new) == ledger
    by_sku = {e.data["sku"]: e for e in new}
    moved = by_sku["NRD-TEE1-BLK-M"].data
    assert moved == {
        **moved,
        "warehouse": "WH1",
        "on_hand": 7,
        "reserved": 3,
        "available": 4,
        "incoming": 0,
        "on_hand_delta": -3,
        "reason": "sync",
        "reference": "sync-run:1",
    }
    created = by_sku["NRD-TEE1-BLK-S"]
    shown = (created.data["warehouse"], created.data["on_hand"], created.data["on_hand_delta"])
    assert shown == ("WH2", 4, 4)
    assert created.order_key == f"v:{s}" and created.brand_id == world.brand_id


def test_a_refused_bulk_count_writes_no_balance_ledger_row_or_event(engine):
    world = make_world(engine)
    m, wh1 = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh1, 10, actor="t", reference="po:1")
    before = len(_stock_events(engine))
    with pytest.raises(StaleCount), transaction(engine) as session:
        set_counts(
            session,
            [CountTarget(m, wh1, 9, 5), CountTarget(world.variants["S"], wh1, 0, 2)],
            reason="sync",
            actor="sync:NRD",
        )
    assert len(_stock_events(engine)) == before
    with read_session(engine) as session:
        assert session.scalar(select(LedgerEntry.id).where(LedgerEntry.reason == "sync")) is None
