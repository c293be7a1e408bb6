"""Cycle counts on both databases: ABC classes, the plan's due list, blind sheets,
tolerance, compare-and-swap conflicts, approvals, permissions and bad input."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from models.catalog import Variant
from models.cycle_counts import (
    CountItem,
    CountLine,
    approve,
    blind_sheet,
    classify_abc,
    due_today,
    pending_variances,
    plan,
    record_count,
    reject,
    set_plan,
    split_abc,
    start_sheet,
    submit_sheet,
)
from models.db import read_session, transaction
from models.errors import Conflict, InvalidQuantity, InvalidTransition, NotFound, PermissionDenied
from models.events import Event
from models.reservations import commit, reserve
from models.stock import LedgerEntry, get_balance, receive
from tests.transfer_support import add_sales, add_style, make_staff, stocked_world

TODAY = date(2026, 12, 6)
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_split_abc_takes_the_fastest_80_then_15_percent():
    classes = split_abc({1: 50, 2: 30, 3: 10, 4: 5, 5: 3, 6: 2, 7: 0})
    assert {v: c.value for v, c in classes.items()} == {
        1: "A",
        2: "A",
        3: "B",
        4: "B",
        5: "C",
        6: "C",
        7: "C",
    }
    assert {c.value for c in split_abc({1: 0, 2: 0}).values()} == {"C"}


@pytest.fixture
def counted(engine: Engine):
    """Three sizes stocked 20 at each warehouse, hand-made sales at WH1, staff."""
    world = stocked_world(engine, units=20)
    staff = make_staff(engine, world.brand_id)
    wh = world.warehouses["WH1"]
    sold_at = NOW - timedelta(days=3)
    add_sales(engine, world.variants["S"], wh, 8, sold_at)  # 80%: A
    add_sales(engine, world.variants["M"], wh, 2, sold_at)  # next: B
    add_sales(engine, world.variants["M"], world.warehouses["WH2"], 50, sold_at)  # elsewhere
    add_sales(engine, world.variants["L"], wh, 1, NOW - timedelta(days=400))  # too old: C
    return world, staff, wh


def test_classes_from_hand_made_sales_per_warehouse(engine: Engine, counted):
    world, _staff, wh = counted
    with transaction(engine) as session:
        assert classify_abc(session, wh, now=NOW) == {"A": 1, "B": 1, "C": 1}
        classify_abc(session, world.warehouses["WH2"], now=NOW)
    with read_session(engine) as session:
        items = {
            (i.warehouse_id, i.variant_id): (i.abc_class, i.units_sold)
            for i in session.scalars(select(CountItem))
        }
    v = world.variants
    assert items[wh, v["S"]] == ("A", 8)
    assert items[wh, v["M"]] == ("B", 2)
    assert items[wh, v["L"]] == ("C", 0)
    assert items[world.warehouses["WH2"], v["M"]] == ("A", 50)


def test_plan_defaults_edits_and_due_dates(engine: Engine, counted):
    _world, staff, wh = counted
    with transaction(engine) as session:
        classify_abc(session, wh, now=NOW)
        assert [(r.abc_class, r.interval_days) for r in plan(session, wh)] == [
            ("A", 30),
            ("B", 91),
            ("C", 365),
        ]
        # Never counted: everything is due (one per class: 1 item / interval, rounded up).
        assert len(due_today(session, wh, TODAY)) == 3
        for item in session.scalars(select(CountItem).where(CountItem.warehouse_id == wh)):
            item.last_counted_on = TODAY - timedelta(days=30)
        session.flush()
        assert [d.abc_class for d in due_today(session, wh, TODAY)] == ["A"]
        assert due_today(session, wh, TODAY - timedelta(days=1)) == []
        set_plan(session, wh, "b", interval_days=30, tolerance=5, actor_id=staff.manager)
        assert sorted(d.abc_class for d in due_today(session, wh, TODAY)) == ["A", "B"]
        assert [r.tolerance for r in plan(session, wh)] == [2, 5, 2]
        with pytest.raises(InvalidQuantity) as bad:
            set_plan(session, wh, "A", interval_days=0, actor_id=staff.manager)
        assert bad.value.details["field"] == "interval_days"
        with pytest.raises(InvalidQuantity) as bad:
            set_plan(session, wh, "D", actor_id=staff.manager)
        assert bad.value.details["field"] == "abc_class"
        with pytest.raises(PermissionDenied):
            set_plan(session, wh, "A", interval_days=7, actor_id=staff.merch)


def test_the_daily_list_spreads_a_class_over_its_interval(engine: Engine):
    world = stocked_world(engine, units=5)
    wh = world.warehouses["WH1"]
    extra = add_style(engine, world.brand_id, "JKT", "Navy", tuple(str(n) for n in range(30, 62)))
    with transaction(engine) as session:
        for variant_id in extra.values():
            receive(session, variant_id, wh, 1, actor="setup")
        assert classify_abc(session, wh, now=NOW)["C"] == 35
        due = due_today(session, wh, TODAY)
        assert len(due) == 1  # 35 C items over 365 days: one a day
        session.get(CountItem, (wh, due[0].variant_id)).last_counted_on = TODAY
        session.flush()
        assert due_today(session, wh, TODAY) == []  # today's share is done
        assert len(due_today(session, wh, TODAY + timedelta(days=1))) == 1


def _sheet_with_counts(engine, staff, wh, counts_by_sku):
    with transaction(engine) as session:
        classify_abc(session, wh, now=NOW)
        sheet = start_sheet(session, wh, actor_id=staff.merch, today=TODAY)
        view = blind_sheet(session, sheet.id, actor_id=staff.merch)
        for line in view.lines:
            record_count(session, line.id, counts_by_sku(line.sku), actor_id=staff.merch)
        return sheet.id, view


def test_blind_sheet_never_shows_expected(engine: Engine, counted):
    _world, staff, wh = counted
    sheet_id, view = _sheet_with_counts(engine, staff, wh, lambda sku: 20)
    assert len(view.lines) == 3
    for line in view.lines:
        fields = {f.name for f in dataclasses.fields(line)}
        assert fields == {"id", "sku", "label", "abc_class", "counted", "status"}
    with transaction(engine) as session:
        again = start_sheet(session, wh, actor_id=staff.merch, today=TODAY)
        assert again.id == sheet_id  # one open sheet per warehouse
        # A counter may not read the variances (they carry expected).
        with pytest.raises(PermissionDenied):
            pending_variances(session, actor_id=staff.merch)


def test_within_tolerance_applies_at_once_above_waits_for_a_manager(engine: Engine, counted):
    world, staff, wh = counted
    v = world.variants
    sku_of = {}
    with read_session(engine) as session:
        for size, variant_id in v.items():
            sku_of[session.get(Variant, variant_id).sku] = size
    counts = {"S": 19, "M": 20, "L": 12}  # -1 within tolerance, 0, -8 above
    sheet_id, _ = _sheet_with_counts(engine, staff, wh, lambda sku: counts[sku_of[sku]])
    with transaction(engine) as session:
        result = submit_sheet(session, sheet_id, actor_id=staff.merch)
    assert (result.applied, result.pending, result.conflicts) == (2, 1, [])
    with read_session(engine) as session:
        assert get_balance(session, v["S"], wh).on_hand == 19
        assert get_balance(session, v["L"], wh).on_hand == 20  # waits
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.reason == "cycle_count")).all()
        assert [(r.variant_id, r.on_hand_delta, r.actor) for r in rows] == [
            (v["S"], -1, "merch@rackroom.test")
        ]
        assert session.scalar(
            select(Event).where(Event.type == "stock.changed").order_by(Event.id.desc())
        )
        # Counted today: nothing more due today.
        assert due_today(session, wh, TODAY) == []
    with transaction(engine) as session:
        pending = pending_variances(session, actor_id=staff.manager)
        assert [(p.sku, p.expected, p.counted) for p in pending] == [(pending[0].sku, 20, 12)]
        with pytest.raises(PermissionDenied):
            approve(session, pending[0].line_id, actor_id=staff.merch)
        assert approve(session, pending[0].line_id, actor_id=staff.manager) == "applied"
        with pytest.raises(InvalidTransition):
            reject(session, pending[0].line_id, actor_id=staff.manager)
        with pytest.raises(InvalidTransition):
            submit_sheet(session, sheet_id, actor_id=staff.merch)
    with read_session(engine) as session:
        assert get_balance(session, v["L"], wh).on_hand == 12
        assert pending_variances(session, actor_id=staff.admin) == []


def test_a_rejected_variance_changes_nothing_and_is_due_again(engine: Engine, counted):
    world, staff, wh = counted
    sheet_id, _ = _sheet_with_counts(engine, staff, wh, lambda sku: 0)  # all far off
    with transaction(engine) as session:
        assert submit_sheet(session, sheet_id, actor_id=staff.merch).pending == 3
        line_id = pending_variances(session, actor_id=staff.manager, warehouse_id=wh)[0].line_id
        assert reject(session, line_id, actor_id=staff.admin, note="recount") == "rejected"
        assert len(due_today(session, wh, TODAY)) == 1
    with read_session(engine) as session:
        assert get_balance(session, world.variants["S"], wh).on_hand == 20


def test_a_count_racing_a_sale_is_refused_not_overwritten(engine: Engine, counted):
    world, staff, wh = counted
    v = world.variants
    sheet_id, _ = _sheet_with_counts(engine, staff, wh, lambda sku: 19)
    # After the sheet started, a reservation is taken and sold: on hand 20 -> 17.
    with transaction(engine) as session:
        held = reserve(
            session, v["S"], 3, channel="web", order_ref="R1", actor="t", warehouse_id=wh
        )
        commit(session, held.reservation.id, actor="t")
        # ...and all 20 of L are reserved: a count of 19 is below what orders hold.
        reserve(session, v["L"], 20, channel="web", order_ref="R2", actor="t", warehouse_id=wh)
    with transaction(engine) as session:
        result = submit_sheet(session, sheet_id, actor_id=staff.merch)
    assert result.applied == 1 and result.pending == 0 and len(result.conflicts) == 2
    with read_session(engine) as session:
        assert get_balance(session, v["S"], wh).on_hand == 17  # the sale stands
        assert get_balance(session, v["M"], wh).on_hand == 19
        assert get_balance(session, v["L"], wh).on_hand == 20
        statuses = sorted(session.scalars(select(CountLine.status)).all())
        assert statuses == ["applied", "conflict", "conflict"]
        assert len(due_today(session, wh, TODAY)) == 2  # conflicts are counted again


def test_an_approval_after_stock_moved_is_a_conflict(engine: Engine, counted):
    world, staff, wh = counted
    v = world.variants
    sheet_id, _ = _sheet_with_counts(engine, staff, wh, lambda sku: 5)
    with transaction(engine) as session:
        submit_sheet(session, sheet_id, actor_id=staff.merch)
        receive(session, v["S"], wh, 1, actor="t")
    with transaction(engine) as session:
        by_variant = {line.variant_id: line.id for line in session.scalars(select(CountLine)).all()}
        assert approve(session, by_variant[v["S"]], actor_id=staff.manager) == "conflict"
    with read_session(engine) as session:
        assert get_balance(session, v["S"], wh).on_hand == 21


def test_bad_input_and_refusals_name_the_field(engine: Engine, counted):
    _world, staff, wh = counted
    with transaction(engine) as session:
        with pytest.raises(PermissionDenied):
            start_sheet(session, wh, actor_id=staff.vendor, today=TODAY)
        classify_abc(session, wh, now=NOW)
        sheet = start_sheet(session, wh, actor_id=staff.manager, today=TODAY)
        line_id = blind_sheet(session, sheet.id, actor_id=staff.manager).lines[0].id
        for bad in (-1, "-1", "abc", "1.5", "", None, True):
            with pytest.raises(InvalidQuantity) as error:
                record_count(session, line_id, bad, actor_id=staff.manager)
            assert error.value.details["field"] == "counted"
        assert record_count(session, line_id, " 7 ", actor_id=staff.manager).counted == 7
        for unknown in (999_999, "1", None):
            with pytest.raises(NotFound) as error:
                record_count(session, unknown, 1, actor_id=staff.manager)
            assert error.value.details["field"] == "line_id"
        with pytest.raises(PermissionDenied):
            record_count(session, line_id, 1, actor_id=staff.vendor)
        with pytest.raises(InvalidQuantity) as error:  # two lines are not counted yet
            submit_sheet(session, sheet.id, actor_id=staff.manager)
        assert error.value.details["field"] == "counted"
        with pytest.raises(NotFound) as error:
            start_sheet(session, 424242, actor_id=staff.manager)
        assert error.value.details["field"] == "warehouse"
        with pytest.raises(NotFound):
            approve(session, 999_999, actor_id=staff.manager)


def test_nothing_due_is_said_plainly(engine: Engine, counted):
    _world, staff, wh = counted
    sheet_id, _ = _sheet_with_counts(engine, staff, wh, lambda sku: 20)
    with transaction(engine) as session:
        submit_sheet(session, sheet_id, actor_id=staff.merch)
        with pytest.raises(Conflict, match="Nothing is due"):
            start_sheet(session, wh, actor_id=staff.merch, today=TODAY)
