"""/counts' handlers called directly as each role: a counter's state never holds an
expected number, and what a role may not do is refused with nothing changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, func, select

from dashboard.states.counts import CountsState
from models.cycle_counts import CountItem, CountLine, CountSheet, classify_abc
from models.db import read_session, set_default_engine, transaction
from models.users import User, start_login_session
from tests.dashboard.test_admin_states import call, page_state, rendered
from tests.models.test_cycle_counts import NOW
from tests.transfer_support import add_sales, make_staff, stocked_world


@dataclasses.dataclass
class Setup:
    engine: Engine
    tokens: dict[str, str]


@pytest.fixture
def setup(sqlite_engine: Engine) -> Iterator[Setup]:
    set_default_engine(sqlite_engine)
    world = stocked_world(sqlite_engine, units=20, warehouses=(("WH1", 1),))
    staff = make_staff(sqlite_engine, world.brand_id)
    wh = world.warehouses["WH1"]
    add_sales(sqlite_engine, world.variants["S"], wh, 8, NOW - timedelta(days=3))
    tokens = {}
    with transaction(sqlite_engine) as session:
        classify_abc(session, wh)
        for role in ("merch", "manager", "vendor"):
            tokens[role] = start_login_session(session, session.get(User, getattr(staff, role)))
    yield Setup(sqlite_engine, tokens)
    set_default_engine(None)


def _count(engine: Engine, table) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(table))


def test_a_counter_counts_blind_and_a_manager_sees_the_variance(setup: Setup):
    merch = page_state(CountsState, setup.tokens["merch"])
    call(merch, "load")
    assert merch.warehouse and merch.due and not merch.can_approve
    call(merch, "start_sheet")
    assert merch.sheet_id and len(merch.sheet_lines) == len(merch.due)
    shown = {"id", "sku", "label", "abc_class", "counted", "status", "error"}
    assert all(set(dataclasses.asdict(line)) == shown for line in merch.sheet_lines)
    lines = len(merch.sheet_lines)
    first = merch.sheet_lines[0]
    call(merch, "record", first.id, "-4")
    assert "counted must be" in merch.sheet_lines[0].error
    for line in merch.sheet_lines:
        call(merch, "record", line.id, "3")
    assert merch.counted_summary.startswith(f"{len(merch.sheet_lines)} of")
    call(merch, "submit_sheet")
    assert merch.sheet_id == 0 and merch.variances == []  # a counter reads no variances
    # Today's share is counted: the list is empty because the warehouse is done for the
    # day (the page says so and Start count is off), not because it was never classed.
    assert merch.due == [] and merch.classified
    # A counter may not open or decide a variance, whatever the client sends.
    refused = call(merch, "confirm_decision", 1, "approve")
    assert "approve count variances" in rendered(refused) and merch.dialog == ""

    boss = page_state(CountsState, setup.tokens["manager"])
    call(boss, "load")
    assert boss.can_approve and len(boss.variances) == lines
    target = boss.variances[0]
    assert (target.expected, target.counted, target.difference) == ("20", "3", "-17")
    call(boss, "confirm_decision", target.id, "reject")
    call(boss, "decide")
    assert len(boss.variances) == lines - 1


def test_a_warehouse_never_classed_says_start_count_will(setup: Setup):
    merch = page_state(CountsState, setup.tokens["merch"])
    call(merch, "load")
    assert merch.classified and merch.due
    with transaction(setup.engine) as session:
        session.execute(delete(CountItem))
    call(merch, "load")
    assert not merch.classified and merch.due == []
    call(merch, "start_sheet")  # classes the warehouse, then lists today's share
    assert merch.classified and merch.sheet_id and merch.sheet_lines


def test_a_vendor_is_refused_and_nothing_changes(setup: Setup):
    vendor = page_state(CountsState, setup.tokens["vendor"])
    for handler, args in (("load", ()), ("start_sheet", ()), ("submit_sheet", ())):
        call(vendor, handler, *args)
    vendor.warehouse, vendor.sheet_id = "1", 1
    refused = call(vendor, "start_sheet")
    assert "count stock on cycle count sheets" in rendered(refused)
    assert _count(setup.engine, CountSheet) == 0 and _count(setup.engine, CountLine) == 0


def test_the_plan_is_edited_by_a_manager_and_bad_numbers_are_named(setup: Setup):
    merch = page_state(CountsState, setup.tokens["merch"])
    call(merch, "load")
    assert not merch.can_plan
    assert "change the count plan" in rendered(call(merch, "open_plan", "A"))
    boss = page_state(CountsState, setup.tokens["manager"])
    call(boss, "load")
    call(boss, "open_plan", "A")
    assert (boss.dialog, boss.form_every, boss.form_tolerance) == ("plan", "30", "2")
    call(boss, "save_plan", {"every": "soon", "tolerance": "1"})
    assert "interval_days must be" in boss.form_error and boss.dialog == "plan"
    call(boss, "save_plan", {"every": "7", "tolerance": "1"})
    assert boss.dialog == "" and (boss.plan[0].every, boss.plan[0].tolerance) == ("7 days", "1")


def test_a_scanner_counts_the_line_its_code_names_and_says_so(setup: Setup):
    from models.catalog import Variant

    merch = page_state(CountsState, setup.tokens["merch"])
    call(merch, "load")
    call(merch, "start_sheet")
    first = merch.sheet_lines[0]
    with transaction(setup.engine) as session:
        variant = session.scalar(select(Variant).where(Variant.sku == first.sku))
        variant.barcode = "4000000000017"
    for code in ("4000000000017", first.sku, "4000000000017\n"):
        focus = call(merch, "scan", {"code": code})
    assert "ref_scan_code" in rendered(focus)  # the box gets the focus back
    assert merch.sheet_lines[0].counted == "3"
    assert (merch.scan_ok, merch.scan_hit) == (True, str(first.id))
    assert merch.scan_said == f"Counted {first.sku} ({first.label.split(' / ')[-1]}): 3 so far"
    assert "20" not in merch.scan_said  # blind: the expected number is never said
    call(merch, "scan", {"code": "NOPE-42"})
    assert not merch.scan_ok and merch.scan_said.startswith("Unknown code 'NOPE-42'")
    assert merch.sheet_lines[0].counted == "3"
    with read_session(setup.engine) as session:
        assert session.get(CountLine, first.id).counted == 3

    vendor = page_state(CountsState, setup.tokens["vendor"], sheet_id=merch.sheet_id)
    refused = call(vendor, "scan", {"code": "4000000000017"})
    assert "count stock on cycle count sheets" in rendered(refused)
    with read_session(setup.engine) as session:
        assert session.get(CountLine, first.id).counted == 3
    for line in merch.sheet_lines[1:]:
        call(merch, "record", line.id, "20")
    call(merch, "submit_sheet")
    assert merch.scan_said == "" and merch.sheet_id == 0
