"""Bulk acknowledge and snooze on SQLite and PostgreSQL: all or nothing, the brand scope,
resolved and missing alerts refused by id, the batch limit, and the same columns the
single-alert paths write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models.alerts import (
    BATCH_MAX,
    Alert,
    AlertsRefused,
    acknowledge_alert,
    acknowledge_many,
    alert_marker,
    group_totals,
    list_alerts,
    scan_alerts,
    set_rule,
    snooze_alert,
    snooze_many,
)
from models.base import utcnow
from models.catalog import create_brand
from models.db import read_session, transaction
from models.errors import InvalidQuantity, PermissionDenied
from models.stock import receive
from tests.factories import make_world
from tests.transfer_support import add_style, make_staff


@pytest.fixture
def inbox(engine):
    """Four open low-stock alerts of brand NRD (M and L in WH1 and WH2), one of brand OTH."""
    world = make_world(engine, sizes=("M", "L"))
    staff = make_staff(engine, world.brand_id)
    with transaction(engine) as session:
        other = create_brand(session, "OTH", "Other").id
    other_variants = add_style(engine, other, "OTS1", "Red", ("M",))
    with transaction(engine) as session:
        for level, subject in (
            ("variant", v) for v in (*world.variants.values(), other_variants["M"])
        ):
            set_rule(
                session,
                level=level,
                subject_id=subject,
                warehouse_id=None,
                threshold=5,
                actor_id=staff.merch,
            )
        for place in ("WH1", "WH2"):
            for size in ("M", "L"):
                receive(session, world.variants[size], world.warehouses[place], 1, actor="t")
        receive(session, other_variants["M"], world.warehouses["WH1"], 1, actor="t")
        scan_alerts(session)
    with read_session(engine) as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.id)))
    ours = [a.id for a in alerts if a.brand_id == world.brand_id]
    theirs = [a.id for a in alerts if a.brand_id == other]
    assert len(ours) == 4 and len(theirs) == 1
    return engine, world, staff, ours, theirs[0]


def _statuses(engine) -> dict[int, str]:
    with read_session(engine) as session:
        return dict(session.execute(select(Alert.id, Alert.status)).all())


def test_acknowledge_many_writes_what_one_acknowledge_writes(inbox):
    engine, _world, staff, ours, _theirs = inbox
    now = utcnow()
    with transaction(engine) as session:
        assert acknowledge_many(session, ours[1:], actor_id=staff.merch, now=now) == ours[1:]
        single = acknowledge_alert(session, ours[0], actor_id=staff.merch, now=now)
        expected = (single.status, single.acknowledged_by, single.acknowledged_at)
    with read_session(engine) as session:
        for alert_id in ours:
            alert = session.get(Alert, alert_id)
            assert (alert.status, alert.acknowledged_by, alert.acknowledged_at) == expected
            assert alert.snoozed_until is None


def test_one_bad_id_refuses_the_whole_batch_and_says_which_and_why(inbox):
    engine, world, staff, ours, _theirs = inbox
    with transaction(engine) as session:  # M at WH1 recovers: its alert resolves
        receive(session, world.variants["M"], world.warehouses["WH1"], 50, actor="t")
        scan_alerts(session)
    resolved = next(i for i, s in _statuses(engine).items() if s == "resolved")
    before = _statuses(engine)
    with pytest.raises(AlertsRefused) as refused, transaction(engine) as session:
        acknowledge_many(session, [*ours, 987_654], actor_id=staff.merch)
    assert refused.value.refused == {resolved: "already resolved", 987_654: "not found"}
    assert f"#{resolved} already resolved" in refused.value.message
    assert "Nothing was acknowledged" in refused.value.message
    assert _statuses(engine) == before  # the three good ones were not changed either

    with pytest.raises(AlertsRefused) as refused, transaction(engine) as session:
        snooze_many(session, ours, until=utcnow() + timedelta(days=1), actor_id=staff.merch)
    assert refused.value.refused == {resolved: "already resolved"}
    assert _statuses(engine) == before


def test_an_acknowledged_alert_is_refused_a_second_acknowledge_but_may_be_snoozed(inbox):
    engine, _world, staff, ours, _theirs = inbox
    with transaction(engine) as session:
        acknowledge_many(session, ours[:2], actor_id=staff.merch)
    with pytest.raises(AlertsRefused) as refused, transaction(engine) as session:
        acknowledge_many(session, ours, actor_id=staff.merch)
    assert refused.value.refused == {
        ours[0]: "already acknowledged",
        ours[1]: "already acknowledged",
    }
    until = utcnow() + timedelta(days=7)
    with transaction(engine) as session:
        assert snooze_many(session, ours, until=until, actor_id=staff.manager) == ours
    with read_session(engine) as session:
        for alert_id in ours:
            alert = session.get(Alert, alert_id)
            assert (alert.status, alert.snoozed_by) == ("snoozed", "manager@rackroom.test")
            assert alert.snoozed_until == until
    with transaction(engine) as session:  # snoozed ones may be acknowledged (as one may)
        assert acknowledge_many(session, ours, actor_id=staff.merch) == ours


def test_the_brand_scope_refuses_another_brands_alerts(inbox):
    engine, world, staff, ours, theirs = inbox
    before = _statuses(engine)
    with pytest.raises(AlertsRefused) as refused, transaction(engine) as session:
        acknowledge_many(session, [*ours, theirs], actor_id=staff.merch, brand_scope=world.brand_id)
    assert refused.value.refused == {theirs: "outside your brand"}
    assert _statuses(engine) == before
    with transaction(engine) as session:
        assert (
            acknowledge_many(session, ours, actor_id=staff.merch, brand_scope=world.brand_id)
            == ours
        )
        assert acknowledge_many(session, [theirs], actor_id=staff.merch) == [theirs]


def test_batches_are_limited_and_not_empty(inbox):
    engine, _world, staff, _ours, _theirs = inbox
    too_many = list(range(1, BATCH_MAX + 2))
    limit = f"At most {BATCH_MAX} alerts"
    with pytest.raises(InvalidQuantity, match=limit), transaction(engine) as session:
        acknowledge_many(session, too_many, actor_id=staff.merch)
    with pytest.raises(InvalidQuantity, match=limit), transaction(engine) as session:
        snooze_many(session, too_many, until=utcnow() + timedelta(days=1), actor_id=staff.merch)
    with pytest.raises(InvalidQuantity, match="at least one"), transaction(engine) as session:
        acknowledge_many(session, [], actor_id=staff.merch)
    # BATCH_MAX itself is allowed: these are refused for not existing, not for their number.
    with pytest.raises(AlertsRefused), transaction(engine) as session:
        acknowledge_many(session, range(10_001, 10_001 + BATCH_MAX), actor_id=staff.merch)


def test_snooze_times_and_roles_are_checked_as_for_one_alert(inbox):
    engine, _world, staff, ours, _theirs = inbox
    now = utcnow()
    before = _statuses(engine)
    for until, message in (
        (now - timedelta(hours=1), "future"),
        (now + timedelta(days=400), "year"),
    ):
        with pytest.raises(InvalidQuantity, match=message), transaction(engine) as session:
            snooze_many(session, ours, until=until, actor_id=staff.merch, now=now)
        with pytest.raises(InvalidQuantity, match=message), transaction(engine) as session:
            snooze_alert(session, ours[0], until, actor_id=staff.merch, now=now)
    with pytest.raises(PermissionDenied), transaction(engine) as session:
        acknowledge_many(session, ours, actor_id=staff.vendor)
    with pytest.raises(PermissionDenied), transaction(engine) as session:
        snooze_many(session, ours, until=now + timedelta(days=1), actor_id=staff.vendor)
    assert _statuses(engine) == before
    day = (now + timedelta(days=3)).date()
    with transaction(engine) as session:
        assert snooze_many(session, ours, until=day, actor_id=staff.merch, now=now) == ours
    with read_session(engine) as session:
        alert = session.get(Alert, ours[0])
        assert alert.snoozed_until.isoformat() == f"{day.isoformat()}T00:00:00+00:00"


def test_grouped_pages_keep_a_group_together_and_count_it_in_the_whole_view(inbox):
    engine, world, _staff, _ours, theirs = inbox
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    with read_session(engine) as session:
        first = list_alerts(session, group_by="warehouse", limit=4)
        assert [r.warehouse_code for r in first.rows] == ["WH1", "WH1", "WH1", "WH2"]
        assert group_totals(session, "warehouse", [wh1, wh2]) == {wh1: 3, wh2: 2}
        rest = list_alerts(session, group_by="warehouse", offset=4, limit=4)
        assert [r.warehouse_code for r in rest.rows] == ["WH2"]
        by_style = list_alerts(session, group_by="style")
        assert [r.style_code for r in by_style.rows] == ["OTS1", "TEE1", "TEE1", "TEE1", "TEE1"]
        other = by_style.rows[0].product_id
        assert group_totals(session, "style", [other]) == {other: 1}
        assert group_totals(session, "style", [other], view="acknowledged") == {}
        assert theirs == by_style.rows[0].id
        with pytest.raises(InvalidQuantity):
            list_alerts(session, group_by="colour")
        with pytest.raises(InvalidQuantity):
            group_totals(session, "colour", [1])


def test_the_alert_marker_moves_with_every_change_an_inbox_shows(inbox):
    engine, world, staff, ours, _theirs = inbox
    with read_session(engine) as session:
        marks = [alert_marker(session), alert_marker(session)]
    assert marks[0] == marks[1]  # nothing changed: an open inbox reads nothing more
    steps = [
        lambda s: acknowledge_many(s, ours[:1], actor_id=staff.merch),
        lambda s: snooze_many(
            s, ours[1:2], until=utcnow() + timedelta(days=1), actor_id=staff.merch
        ),
        lambda s: receive(s, world.variants["M"], world.warehouses["ST1"], 1, actor="t"),
    ]
    for step in steps:
        with transaction(engine) as session:
            step(session)
            scan_alerts(session)  # the last step raises a new alert (M low in ST1)
        with read_session(engine) as session:
            marks.append(alert_marker(session))
    assert len(set(marks[1:])) == 4
