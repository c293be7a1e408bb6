"""The outbox: every change writes its event in the same transaction, and only then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.events.alerts import check_from_events
from jobs.events.relay import Relay
from models.alerts import Alert, AlertStatus, RuleLevel, set_rule
from models.base import utcnow
from models.db import read_session, transaction
from models.errors import InsufficientStock
from models.events import Event, purge_events
from models.reservations import commit, expire_due, release, reserve
from models.stock import LedgerEntry, adjust, receive, set_count
from models.users import create_user
from tests.factories import make_world


def events(engine, event_type: str | None = None) -> list[Event]:
    with read_session(engine) as session:
        query = select(Event).order_by(Event.id)
        if event_type:
            query = query.where(Event.type == event_type)
        return list(session.scalars(query))


def test_each_balance_change_writes_its_stock_event_with_the_balance_after(engine):
    world = make_world(engine)
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        receive(session, m, wh, 10, actor="t", reference="po:1")
        adjust(session, m, wh, -3, reason="damaged", actor="t")
        set_count(session, m, wh, 5, actor="t", expected_on_hand=7)
    written = events(engine)
    with read_session(engine) as session:
        ledger = list(session.scalars(select(LedgerEntry.id).order_by(LedgerEntry.id)))
    assert [e.type for e in written] == ["stock.changed"] * 3
    assert [e.data["ledger_id"] for e in written] == ledger
    first, _second, third = (e.data for e in written)
    assert first == {
        **first,
        "sku": "NRD-TEE1-BLK-M",
        "brand": "NRD",
        "warehouse": "WH1",
        "on_hand": 10,
        "reserved": 0,
        "available": 10,
        "incoming": 0,
        "on_hand_delta": 10,
        "reason": "receipt",
        "reference": "po:1",
    }
    assert (third["on_hand"], third["on_hand_delta"], third["reason"]) == (5, -2, "count")
    assert all(e.order_key == f"v:{m}" and e.brand_id == world.brand_id for e in written)


def test_a_rolled_back_or_refused_change_emits_nothing(engine):
    world = make_world(engine)
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with pytest.raises(RuntimeError), transaction(engine) as session:
        receive(session, m, wh, 10, actor="t")
        raise RuntimeError("the caller changed its mind")
    with pytest.raises(InsufficientStock), transaction(engine) as session:
        adjust(session, m, wh, -1, reason="lost", actor="t")
    assert events(engine) == []
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_reservation_moves_write_their_events_beside_the_stock_event(engine):
    world = make_world(engine)
    m, wh = world.variants["M"], world.warehouses["WH1"]
    now = utcnow()
    with transaction(engine) as session:
        receive(session, m, wh, 10, actor="t")
        one = reserve(session, m, 2, channel="web", order_ref="A", actor="t").reservation
        two = reserve(session, m, 1, channel="web", order_ref="B", actor="t").reservation
        three = reserve(
            session, m, 1, channel="web", order_ref="C", actor="t", ttl=timedelta(seconds=1)
        ).reservation
        # A retry of A reserves nothing and emits nothing.
        reserve(session, m, 2, channel="web", order_ref="A", actor="t")
    with transaction(engine) as session:
        commit(session, one.id, actor="t")
        release(session, two.id, actor="t")
        expire_due(session, now=now + timedelta(seconds=5))
    kinds = [
        (e.type, e.data.get("reservation_id")) for e in events(engine) if e.type != "stock.changed"
    ]
    assert kinds == [
        ("reservation.created", one.id),
        ("reservation.created", two.id),
        ("reservation.created", three.id),
        ("reservation.committed", one.id),
        ("reservation.released", two.id),
        ("reservation.expired", three.id),
    ]
    created = events(engine, "reservation.created")[0].data
    assert (created["sku"], created["warehouse"], created["qty"], created["order_ref"]) == (
        "NRD-TEE1-BLK-M",
        "WH1",
        2,
        "A",
    )
    assert len(events(engine, "stock.changed")) == 7  # receipt, 3 holds, sale, release, expiry


def test_alerts_are_raised_and_resolved_from_stock_events_without_a_scan(engine):
    world = make_world(engine)
    m, wh = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        admin = create_user(session, "boss@example.com", "long-password-1", "admin")
        set_rule(
            session,
            level=RuleLevel.BRAND,
            subject_id=world.brand_id,
            warehouse_id=None,
            threshold=3,
            actor_id=admin.id,
        )
        receive(session, m, wh, 10, actor="t")
    relay = Relay(engine)

    def settle() -> None:
        for _ in range(5):
            relay.run_once()
            check_from_events(engine)

    settle()
    with transaction(engine) as session:
        adjust(session, m, wh, -8, reason="damaged", actor="t")
    settle()
    with read_session(engine) as session:
        alert = session.scalar(select(Alert).where(Alert.variant_id == m))
    assert alert is not None and alert.kind == "low_stock" and alert.status == "open"
    # (the size run S-M-L broke with the first receipt: only M is in stock)
    raised = {e.data["alert_id"]: e.data for e in events(engine, "alert.raised")}
    assert raised[alert.id]["kind"] == "low_stock"
    assert raised[alert.id]["sku"] == "NRD-TEE1-BLK-M"
    assert raised[alert.id]["available"] == 2
    with transaction(engine) as session:
        receive(session, m, wh, 5, actor="t")
    settle()
    with read_session(engine) as session:
        assert session.get(Alert, alert.id).status == AlertStatus.RESOLVED
    assert alert.id in [e.data["alert_id"] for e in events(engine, "alert.resolved")]


def test_events_past_retention_are_purged_once_every_reader_has_passed_them(engine):
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 1, actor="t")
    later = utcnow() + timedelta(days=31)
    with transaction(engine) as session:
        assert purge_events(session, older_than=later) == 0  # no reader has read it
    relay = Relay(engine)
    relay.run_once()
    check_from_events(engine)
    with transaction(engine) as session:
        assert purge_events(session, older_than=utcnow() - timedelta(days=30)) == 0
        assert purge_events(session, older_than=later) == 1
    assert events(engine) == []


def test_the_inbox_groups_by_style_and_warehouse_and_works_in_bulk(engine):
    from models.alerts import (
        AlertsRefused,
        acknowledge_many,
        alert_groups,
        group_alert_ids,
        snooze_many,
    )

    world = make_world(engine, sizes=("S", "M", "L"))
    with transaction(engine) as session:
        admin = create_user(session, "boss@example.com", "long-password-1", "admin")
        set_rule(
            session,
            level=RuleLevel.BRAND,
            subject_id=world.brand_id,
            warehouse_id=None,
            threshold=2,
            actor_id=admin.id,
        )
        for size in ("S", "M"):
            for place in ("WH1", "WH2"):
                receive(session, world.variants[size], world.warehouses[place], 1, actor="t")
    relay = Relay(engine)
    for _ in range(5):
        relay.run_once()
        check_from_events(engine)
    with read_session(engine) as session:
        by_both = alert_groups(session, group_by="style_warehouse")
        by_place = alert_groups(session, group_by="warehouse")
        by_style = alert_groups(session, group_by="style")
    # Per warehouse: S and M low (1 ≤ 2), L out (no stock: no balance row, so no alert),
    # and the run S-M-L broken (L, a core size, is out while S and M are in).
    assert [(g.warehouse_code, g.total) for g in by_both.rows] == [("WH1", 3), ("WH2", 3)]
    assert by_both.rows[0].style_code == "TEE1" and by_both.rows[0].brand_code == "NRD"
    assert by_both.rows[0].by_kind == {"low_stock": 2, "out_of_stock": 0, "broken_size_run": 1}
    assert [(g.warehouse_code, g.total, g.style_code) for g in by_place.rows] == [
        ("WH1", 3, None),
        ("WH2", 3, None),
    ]
    assert [(g.style_code, g.total, g.warehouse_code) for g in by_style.rows] == [("TEE1", 6, None)]
    with pytest.raises(AlertsRefused) as refused, transaction(engine) as session:
        wh1 = group_alert_ids(session, warehouse_id=world.warehouses["WH1"])
        acknowledge_many(session, [*wh1, 999_999], actor_id=admin.id)
    assert refused.value.refused == {999_999: "not found"}  # and nothing was acknowledged
    with transaction(engine) as session:
        assert acknowledge_many(session, wh1, actor_id=admin.id) == wh1
        wh2 = group_alert_ids(session, warehouse_id=world.warehouses["WH2"])
        until = utcnow() + timedelta(days=1)
        assert snooze_many(session, wh2, until=until, actor_id=admin.id) == wh2
    with read_session(engine) as session:
        assert alert_groups(session, group_by="warehouse").total == 0
        assert alert_groups(session, view="acknowledged", group_by="warehouse").rows[0].total == 3
    with pytest.raises(Exception, match="At most 500 alerts"), transaction(engine) as session:
        acknowledge_many(session, list(range(1, 1200)), actor_id=admin.id)
