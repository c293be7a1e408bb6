"""Alert rules and the inbox on SQLite and PostgreSQL: inheritance, dedupe, auto-resolve,
acknowledge, snooze, broken size runs on hand-made runs, and alerts raised by transfers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from models.alerts import (
    Alert,
    AlertRule,
    acknowledge_alert,
    alert_counts,
    check_alerts_for,
    delete_rule,
    effective_rule,
    list_alerts,
    list_rules,
    open_alert_count,
    reopen_alert,
    scan_alerts,
    set_rule,
    snooze_alert,
)
from models.base import utcnow
from models.db import read_session, transaction
from models.errors import InvalidQuantity, InvalidTransition, NotFound, PermissionDenied
from models.grid import is_broken_size_run
from models.reservations import reserve
from models.stock import StockBalance, receive
from models.transfers import (
    ReceiptLine,
    approve_transfer,
    create_transfer,
    receive_transfer,
    ship_transfer,
    submit_transfer,
)
from tests.factories import make_world
from tests.transfer_support import add_style, make_staff

ALPHA = ("XS", "S", "M", "L", "XL")


@pytest.fixture
def setup(engine):
    world = make_world(engine, sizes=ALPHA)
    staff = make_staff(engine, world.brand_id)
    return engine, world, staff


def _stock(engine, variant_id: int, warehouse_id: int, units: int) -> None:
    """Receive `units` (a fresh balance then holds exactly that many); 0 makes an empty row."""
    with transaction(engine) as session:
        if units:
            receive(session, variant_id, warehouse_id, units, actor="setup")
        else:
            session.execute(
                insert(StockBalance.__table__).values(
                    variant_id=variant_id, warehouse_id=warehouse_id, updated_at=utcnow()
                )
            )


def _rule(engine, staff, level, subject_id, warehouse_id, threshold, **kwargs) -> int:
    with transaction(engine) as session:
        return set_rule(
            session,
            level=level,
            subject_id=subject_id,
            warehouse_id=warehouse_id,
            threshold=threshold,
            actor_id=staff.merch,
            **kwargs,
        ).id


def _scan(engine, **kwargs):
    with transaction(engine) as session:
        return scan_alerts(session, **kwargs)


def _alerts(engine, **where) -> list[Alert]:
    with read_session(engine) as session:
        query = select(Alert).order_by(Alert.id)
        for name, value in where.items():
            query = query.where(getattr(Alert, name) == value)
        return list(session.scalars(query))


def _open(engine) -> set[tuple[str, int | None, int]]:
    return {
        (a.kind, a.variant_id, a.warehouse_id)
        for a in _alerts(engine)
        if a.status != "resolved" and a.kind != "broken_size_run"
    }


def _product_id(engine, variant_id: int) -> int:
    with read_session(engine) as session:
        from models.catalog import Variant

        return session.get(Variant, variant_id).product_id


# --- rules --------------------------------------------------------------------------------


def test_the_most_specific_rule_wins_and_variants_inherit(setup):
    engine, world, staff = setup
    wh1, wh2, st1 = (world.warehouses[c] for c in ("WH1", "WH2", "ST1"))
    tee1 = _product_id(engine, world.variants["M"])
    tee2 = add_style(engine, world.brand_id, "TEE2", "Navy", ("S", "M"))
    brand_all = _rule(engine, staff, "brand", world.brand_id, None, 5, lead_time_days=21)
    brand_wh2 = _rule(engine, staff, "brand", world.brand_id, wh2, 2)
    product_all = _rule(engine, staff, "product", tee1, None, 8)
    variant_st1 = _rule(engine, staff, "variant", world.variants["M"], st1, 1)
    variant_all = _rule(engine, staff, "variant", world.variants["L"], None, 0)

    def governing(variant_id, warehouse_id):
        with read_session(engine) as session:
            rule = effective_rule(session, variant_id, warehouse_id)
            return rule and rule.rule_id

    assert governing(tee2["S"], wh1) == brand_all  # inherits the brand default
    assert governing(tee2["S"], wh2) == brand_wh2  # the brand's rule for that warehouse
    assert governing(world.variants["S"], wh1) == product_all  # product beats brand
    assert governing(world.variants["S"], wh2) == product_all  # level before warehouse
    assert governing(world.variants["M"], st1) == variant_st1
    assert governing(world.variants["M"], wh1) == product_all
    assert governing(world.variants["L"], wh2) == variant_all
    product_wh1 = _rule(engine, staff, "product", tee1, wh1, 6)
    assert governing(world.variants["S"], wh1) == product_wh1
    with read_session(engine) as session:
        rule = effective_rule(session, tee2["M"], st1)
        assert (rule.threshold, rule.lead_time_days, rule.source) == (
            5,
            21,
            "brand rule, all warehouses",
        )

    # The scan applies exactly these thresholds: 3 units everywhere.
    everything = [*world.variants.values(), *tee2.values()]
    for variant_id in everything:
        for warehouse_id in (wh1, wh2, st1):
            _stock(engine, variant_id, warehouse_id, 3)
    _scan(engine)
    with read_session(engine) as session:
        expected = set()
        for variant_id in everything:
            for warehouse_id in (wh1, wh2, st1):
                rule = effective_rule(session, variant_id, warehouse_id)
                if rule is not None and rule.threshold >= 3:
                    expected.add(("low_stock", variant_id, warehouse_id))
    assert _open(engine) == expected
    assert ("low_stock", tee2["S"], wh1) in expected  # 3 ≤ 5
    assert ("low_stock", tee2["S"], wh2) not in expected  # 3 > 2
    assert ("low_stock", world.variants["M"], st1) not in expected  # 3 > 1
    assert ("low_stock", world.variants["S"], wh2) in expected  # 3 ≤ 8

    # Deleting the variant rule makes L fall back to its product's rule (8): now low.
    with transaction(engine) as session:
        delete_rule(session, variant_all, actor_id=staff.merch)
    _scan(engine)
    assert ("low_stock", world.variants["L"], wh2) in _open(engine)


def test_rules_are_validated_and_replaced_not_duplicated(setup):
    engine, world, staff = setup
    first = _rule(engine, staff, "brand", world.brand_id, None, 5)
    again = _rule(engine, staff, "brand", world.brand_id, None, 7, reorder_qty=12)
    assert first == again
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AlertRule)) == 1
        page = list_rules(session)
        assert page.total == 1
        row = page.rows[0]
        assert (row.level, row.brand_code, row.warehouse_code, row.threshold) == (
            "brand",
            "NRD",
            "",
            7,
        )
        assert row.reorder_qty == 12 and row.updated_by == "merch@rackroom.test"
    with pytest.raises(InvalidQuantity, match="threshold"):
        _rule(engine, staff, "brand", world.brand_id, None, -1)
    with pytest.raises(InvalidQuantity, match="level"):
        _rule(engine, staff, "style", world.brand_id, None, 1)
    with pytest.raises(NotFound, match="No product"):
        _rule(engine, staff, "product", 424242, None, 1)
    with pytest.raises(NotFound, match="No warehouse"):
        _rule(engine, staff, "brand", world.brand_id, 424242, 1)
    with pytest.raises(PermissionDenied), transaction(engine) as session:
        set_rule(
            session,
            level="brand",
            subject_id=world.brand_id,
            warehouse_id=None,
            threshold=1,
            actor_id=staff.vendor,
        )
    with pytest.raises(NotFound), transaction(engine) as session:
        delete_rule(session, 424242, actor_id=staff.merch)


# --- raising, dedupe, resolving -----------------------------------------------------------


def test_one_unresolved_alert_per_kind_and_subject(setup):
    engine, world, staff = setup
    m, wh1 = world.variants["M"], world.warehouses["WH1"]
    _rule(engine, staff, "variant", m, None, 5)
    _stock(engine, m, wh1, 2)
    assert _scan(engine).raised == 1
    assert _scan(engine).raised == 0
    with transaction(engine) as session:
        assert check_alerts_for(session, [m], [wh1]).raised == 0
    with transaction(engine) as session:
        assert check_alerts_for(session, [m]).raised == 0
    [alert] = _alerts(engine)
    assert (alert.kind, alert.status, alert.available, alert.threshold) == (
        "low_stock",
        "open",
        2,
        5,
    )
    assert alert.subject_key == f"w{wh1}:v{m}"

    row = {
        "kind": "low_stock",
        "subject_key": alert.subject_key,
        "brand_id": alert.brand_id,
        "product_id": alert.product_id,
        "variant_id": m,
        "colour": "Black",
        "warehouse_id": wh1,
        "raised_at": utcnow(),
    }
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(insert(Alert.__table__).values(status="open", **row))
    # resolved history does not count against the constraint
    with transaction(engine) as session:
        session.execute(insert(Alert.__table__).values(status="resolved", **row))


def test_alerts_resolve_themselves_when_the_condition_clears(setup):
    engine, world, staff = setup
    m, wh1 = world.variants["M"], world.warehouses["WH1"]
    _rule(engine, staff, "variant", m, None, 5)  # variant rules: no size-run alerts here
    _stock(engine, m, wh1, 4)
    with transaction(engine) as session:
        assert check_alerts_for(session, [m], [wh1]).raised == 1
    with transaction(engine) as session:
        receive(session, m, wh1, 10, actor="t")
        assert check_alerts_for(session, [m], [wh1]).resolved == 1
    [low] = _alerts(engine)
    assert low.status == "resolved" and low.resolved_at is not None

    # all 14 reserved: out of stock (a new alert; the resolved one stays as history)
    with transaction(engine) as session:
        reserve(session, m, 14, channel="web", order_ref="o1", actor="web", warehouse_id=wh1)
        changes = check_alerts_for(session, [m], [wh1])
        assert (changes.raised, changes.resolved) == (1, 0)
    assert [(a.kind, a.status) for a in _alerts(engine)] == [
        ("low_stock", "resolved"),
        ("out_of_stock", "open"),
    ]
    # back to 2 available: low again, out resolved — by the scan this time
    with transaction(engine) as session:
        receive(session, m, wh1, 2, actor="t")
    changes = _scan(engine)
    assert (changes.raised, changes.resolved) == (1, 1)
    assert [(a.kind, a.status) for a in _alerts(engine)] == [
        ("low_stock", "resolved"),
        ("out_of_stock", "resolved"),
        ("low_stock", "open"),
    ]
    # no rule, nothing watched: the scan resolves what is left
    with transaction(engine) as session:
        for rule_id in session.scalars(select(AlertRule.id)):
            delete_rule(session, rule_id, actor_id=staff.manager)
    assert _scan(engine).resolved == 1
    assert open_alert_count_of(engine) == 0


def open_alert_count_of(engine, **kwargs) -> int:
    with read_session(engine) as session:
        return open_alert_count(session, **kwargs)


def test_acknowledge_and_reopen(setup):
    engine, world, staff = setup
    m, wh1 = world.variants["M"], world.warehouses["WH1"]
    _rule(engine, staff, "variant", m, None, 5)
    _stock(engine, m, wh1, 1)
    _scan(engine)
    [alert] = _alerts(engine)
    assert open_alert_count_of(engine) == 1
    with transaction(engine) as session:
        acked = acknowledge_alert(session, alert.id, actor_id=staff.merch)
        assert (acked.status, acked.acknowledged_by) == ("acknowledged", "merch@rackroom.test")
    assert open_alert_count_of(engine) == 0
    with read_session(engine) as session:
        counts = alert_counts(session)
        assert (counts.open, counts.acknowledged, counts.snoozed) == (0, 1, 0)
    with (
        pytest.raises(InvalidTransition, match="is acknowledged"),
        transaction(engine) as session,
    ):
        acknowledge_alert(session, alert.id, actor_id=staff.merch)
    with pytest.raises(PermissionDenied), transaction(engine) as session:
        reopen_alert(session, alert.id, actor_id=staff.vendor)
    with transaction(engine) as session:
        assert reopen_alert(session, alert.id, actor_id=staff.manager).status == "open"
    assert _scan(engine).raised == 0  # still the same alert
    assert open_alert_count_of(engine) == 1
    with pytest.raises(NotFound), transaction(engine) as session:
        acknowledge_alert(session, 424242, actor_id=staff.merch)


def test_snooze_hides_an_alert_until_its_time(setup):
    engine, world, staff = setup
    m, l_, wh1 = world.variants["M"], world.variants["L"], world.warehouses["WH1"]
    _rule(engine, staff, "variant", m, None, 5)
    _rule(engine, staff, "variant", l_, None, 5)
    _stock(engine, m, wh1, 1)
    _stock(engine, l_, wh1, 2)
    _scan(engine)
    m_alert, l_alert = _alerts(engine)
    now = utcnow()
    with transaction(engine) as session:
        snoozed = snooze_alert(
            session, m_alert.id, now + timedelta(days=2), actor_id=staff.merch, now=now
        )
        assert snoozed.status == "snoozed" and snoozed.snoozed_by == "merch@rackroom.test"
        day = (now + timedelta(days=30)).date()
        by_date = snooze_alert(session, l_alert.id, day, actor_id=staff.merch, now=now)
        assert by_date.snoozed_until.isoformat() == f"{day.isoformat()}T00:00:00+00:00"
    with read_session(engine) as session:
        assert open_alert_count(session, now=now) == 0
        assert list_alerts(session, view="snoozed", now=now).total == 2
        assert list_alerts(session, view="open", now=now).total == 0
        later = now + timedelta(days=3)
        # once the snooze has run out it counts as open, before any job runs
        assert open_alert_count(session, now=later) == 1
        assert [r.id for r in list_alerts(session, view="open", now=later).rows] == [m_alert.id]
        assert alert_counts(session, now=later).snoozed == 1
    assert _scan(engine, now=now + timedelta(days=3)).reopened == 1
    assert {a.id: a.status for a in _alerts(engine)} == {m_alert.id: "open", l_alert.id: "snoozed"}

    with pytest.raises(InvalidQuantity, match="future"), transaction(engine) as session:
        snooze_alert(session, m_alert.id, now - timedelta(hours=1), actor_id=staff.merch)
    with pytest.raises(InvalidQuantity, match="at most a year"), transaction(engine) as session:
        snooze_alert(session, m_alert.id, now + timedelta(days=400), actor_id=staff.merch)

    # the condition clears while snoozed: resolved, and a resolved alert cannot be snoozed
    with transaction(engine) as session:
        receive(session, l_, wh1, 20, actor="t")
    assert _scan(engine).resolved == 1
    with pytest.raises(InvalidTransition, match="is resolved"), transaction(engine) as session:
        snooze_alert(session, l_alert.id, now + timedelta(days=1), actor_id=staff.merch)


def test_inbox_pages_filters_and_counts(setup):
    engine, world, staff = setup
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    _rule(engine, staff, "brand", world.brand_id, None, 5)
    for size, units in zip(ALPHA, (0, 1, 2, 3, 0), strict=True):
        _stock(engine, world.variants[size], wh1, units)
    _stock(engine, world.variants["M"], wh2, 4)
    _scan(engine)
    with read_session(engine) as session:
        page = list_alerts(session, limit=2)
        # 6 variant alerts, and WH2's run: it holds only M, so S and L are out there
        assert page.total == 7
        assert len(page.rows) == 2
        rest = list_alerts(session, offset=2, limit=10)
        assert len(rest.rows) == 5
        assert list_alerts(session, kind="out_of_stock").total == 2
        assert list_alerts(session, warehouse_id=wh2).total == 2
        assert list_alerts(session, brand_id=world.brand_id).total == 7
        assert list_alerts(session, brand_id=world.brand_id + 1).total == 0
        counts = alert_counts(session)
        assert counts.by_kind == {"low_stock": 4, "out_of_stock": 2, "broken_size_run": 1}
        assert open_alert_count(session, brand_id=world.brand_id) == 7
        row = next(r for r in list_alerts(session, warehouse_id=wh2).rows if r.variant_id)
        assert (row.sku, row.size, row.warehouse_code, row.available) == (
            "NRD-TEE1-BLK-M",
            "M",
            "WH2",
            4,
        )
        with pytest.raises(InvalidQuantity):
            list_alerts(session, view="everything")


# --- broken size runs ------------------------------------------------------------------------

RUNS = [
    # (style, colour, sizes, units per size (None: no balance row), broken?)
    ("RUN1", "Red", ALPHA, (5, 5, 0, 5, 5), True),  # M out
    ("RUN1", "Blue", ALPHA, (0, 5, 5, 5, 5), False),  # XS is not core
    ("RUN1", "Green", ALPHA, (0, 0, 0, 0, 0), False),  # nothing remains
    ("RUN1", "Sand", ALPHA, (2, 0, 0, 0, 3), True),  # only the edges remain
    ("RUN1", "Rust", ALPHA, (4, 4, None, 4, 4), True),  # M never stocked here
    ("RUN2", "Black", ("XS", "XL", "XXL"), (3, 0, 3), True),  # no S/M/L: middle one
    ("RUN3", "Indigo", ("W28", "W30", "W32", "W34", "W36", "W38"), (2, 2, 0, 2, 2, 2), True),
    ("RUN3", "Black", ("W28", "W30", "W32", "W34", "W36", "W38"), (0, 2, 2, 2, 2, 0), False),
    ("RUN4", "Tan", tuple(f"EU {n}" for n in range(38, 47)), (1, 1, 0, 1, 1, 1, 1, 1, 1), True),
    ("RUN4", "Brown", tuple(f"EU {n}" for n in range(38, 47)), (0, 0, 1, 1, 1, 1, 1, 0, 0), False),
    ("RUN5", "Grey", ("One Size",), (0,), False),
    ("RUN6", "White", ("S", "M"), (4, 0), False),  # two sizes have no core
]


def test_broken_size_runs_on_hand_made_runs_match_the_grid_rule(engine):
    world = make_world(engine, sizes=("M",))
    staff = make_staff(engine, world.brand_id)
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    runs = {}
    for style, colour, sizes, units, _broken in RUNS:
        ids = add_style(engine, world.brand_id, style, colour, sizes)
        runs[style, colour] = (ids, units)
        for size, n in zip(ids, units, strict=True):
            if n is not None:
                _stock(engine, ids[size], wh1, n)
                _stock(engine, ids[size], wh2, n)  # same runs at WH2, which nothing watches
    _rule(engine, staff, "brand", world.brand_id, wh1, 0)
    _scan(engine)

    with read_session(engine) as session:
        from models.catalog import Variant

        alerts = _alerts(engine, kind="broken_size_run")
        assert all(a.status == "open" and a.variant_id is None for a in alerts)
        flagged = {(a.warehouse_id, a.product_id, a.colour) for a in alerts}
        expected = set()
        for (style, colour), (ids, units) in runs.items():
            variants = [session.get(Variant, ids[size]) for size in ids]
            cells = [
                (v.size, v.size_system, v.size_rank, n or 0)
                for v, n in zip(variants, units, strict=True)
            ]
            rule_says = is_broken_size_run(cells)
            table_says = next(r[4] for r in RUNS if r[0] == style and r[1] == colour)
            assert rule_says == table_says, (style, colour)
            if rule_says:
                expected.add((wh1, variants[0].product_id, colour))
    assert flagged == expected
    assert all(w == wh1 for w, _, _ in flagged)  # WH2 is not watched

    # Stocking the missing M of the Red run mends it; check_alerts_for notices.
    red = runs["RUN1", "Red"][0]
    with transaction(engine) as session:
        receive(session, red["M"], wh1, 3, actor="t")
        changes = check_alerts_for(session, [red["M"]], [wh1])
    assert changes.resolved >= 1
    open_runs = {
        (a.product_id, a.colour)
        for a in _alerts(engine, kind="broken_size_run")
        if a.status == "open"
    }
    assert (_product_id(engine, red["M"]), "Red") not in open_runs
    assert len(open_runs) == len(expected) - 1


def test_a_variant_rule_alone_does_not_watch_a_size_run(setup):
    engine, world, staff = setup
    wh1 = world.warehouses["WH1"]
    for size, units in zip(ALPHA, (5, 5, 0, 5, 5), strict=True):
        _stock(engine, world.variants[size], wh1, units)
    _rule(engine, staff, "variant", world.variants["M"], wh1, 0)
    _scan(engine)
    assert [a.kind for a in _alerts(engine)] == ["out_of_stock"]
    _rule(engine, staff, "product", _product_id(engine, world.variants["M"]), None, 0)
    _scan(engine)
    assert sorted(a.kind for a in _alerts(engine)) == ["broken_size_run", "out_of_stock"]


# --- raised as stock changes --------------------------------------------------------------------


def test_transfers_raise_and_resolve_alerts_as_they_move_stock(setup):
    engine, world, staff = setup
    m = world.variants["M"]
    wh1, st1 = world.warehouses["WH1"], world.warehouses["ST1"]
    _rule(engine, staff, "brand", world.brand_id, None, 3)
    _stock(engine, m, wh1, 8)
    _stock(engine, m, st1, 0)
    with transaction(engine) as session:
        transfer = create_transfer(
            session,
            source_warehouse_id=wh1,
            dest_warehouse_id=st1,
            lines=[(m, 6)],
            actor_id=staff.merch,
        )
        submit_transfer(session, transfer.id, actor_id=staff.merch)
        approve_transfer(session, transfer.id, actor_id=staff.manager)
    assert _open(engine) == set()  # no scan has run, nothing raised yet
    with transaction(engine) as session:
        ship_transfer(session, transfer.id, actor_id=staff.merch)
    assert _open(engine) == {("low_stock", m, wh1), ("out_of_stock", m, st1)}
    with transaction(engine) as session:
        receive_transfer(
            session, transfer.id, [ReceiptLine(m, received=2, damaged=1)], actor_id=staff.merch
        )
    # ST1 has 2 good units now (1 damaged, 3 short): low rather than out
    assert _open(engine) == {("low_stock", m, wh1), ("low_stock", m, st1)}


def test_the_scan_job_is_registered_and_runs(engine, setup):
    from jobs.alert_scan import run_alert_scan
    from jobs.scheduler import build_scheduler

    engine, world, staff = setup
    _rule(engine, staff, "variant", world.variants["M"], None, 5)
    _stock(engine, world.variants["M"], world.warehouses["WH1"], 1)
    assert run_alert_scan(engine).raised == 1
    assert run_alert_scan(engine).raised == 0
    scheduler = build_scheduler(engine)
    job = scheduler.get_job("scan_alerts")
    assert job is not None and job.func is run_alert_scan
    # It runs as the scheduler starts, not an interval later: a new install's first
    # minutes show its alerts.
    assert job.next_run_time <= datetime.now(UTC)


def test_check_alerts_for_in_chunks_agrees_with_the_full_scan(setup, monkeypatch):
    import models.alerts

    engine, world, staff = setup
    monkeypatch.setattr(models.alerts, "CHECK_CHUNK", 2)
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    _rule(engine, staff, "brand", world.brand_id, None, 3)
    for size, units in zip(ALPHA, (0, 2, 0, 5, 1), strict=True):
        _stock(engine, world.variants[size], wh1, units)
        _stock(engine, world.variants[size], wh2, units + 4)
    with transaction(engine) as session:
        changes = check_alerts_for(session, world.variants.values())
    # WH1: XS and M out, S and XL low, and M breaks the run; WH2: XS (4) and XL (5)
    # are above 3, S (6), M (4), L (9) too: nothing there.
    assert (changes.raised, changes.resolved) == (5, 0)
    assert _scan(engine) == type(changes)()  # the scan finds nothing to change
    assert {a.kind for a in _alerts(engine)} == {"out_of_stock", "low_stock", "broken_size_run"}
