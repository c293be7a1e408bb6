"""Cycle counts under concurrency on PostgreSQL: one submit per sheet, one decision per
variance, and a count racing sales never overwrites them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models.cycle_counts import (
    approve,
    blind_sheet,
    classify_abc,
    pending_variances,
    record_count,
    reject,
    start_sheet,
    submit_sheet,
)
from models.db import read_session, transaction
from models.errors import InsufficientStock, InvalidTransition
from models.reservations import commit, reserve
from models.stock import LedgerEntry, get_balance, reconcile
from tests.models.test_concurrency_pg import THREADS, race
from tests.models.test_cycle_counts import NOW, TODAY
from tests.transfer_support import add_sales, make_staff, stocked_world

pytestmark = pytest.mark.postgres


def _counted_sheet(engine, world, wh, counted: int):
    """A sheet of the three sizes (S class A, M class B, L class C), all counted."""
    staff = make_staff(engine, world.brand_id)
    add_sales(engine, world.variants["S"], wh, 8, NOW - timedelta(days=3))
    add_sales(engine, world.variants["M"], wh, 2, NOW - timedelta(days=3))
    with transaction(engine) as session:
        classify_abc(session, wh, now=NOW)
        sheet = start_sheet(session, wh, actor_id=staff.merch, today=TODAY)
        for line in blind_sheet(session, sheet.id, actor_id=staff.merch).lines:
            record_count(session, line.id, counted, actor_id=staff.merch)
        return sheet.id, staff


def _cycle_rows(engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).where(LedgerEntry.reason == "cycle_count"))


def test_sixteen_submits_of_one_sheet_apply_it_once(pg_engine):
    world = stocked_world(pg_engine, units=20, warehouses=(("WH1", 1),))
    wh = world.warehouses["WH1"]
    sheet_id, staff = _counted_sheet(pg_engine, world, wh, 19)

    def attempt(_i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                submit_sheet(session, sheet_id, actor_id=staff.merch)
            return "submitted"
        except InvalidTransition:
            return "refused"

    outcomes = Counter(race(THREADS, THREADS, attempt))
    assert outcomes == {"submitted": 1, "refused": THREADS - 1}
    assert _cycle_rows(pg_engine) == 3
    with read_session(pg_engine) as session:
        assert {get_balance(session, v, wh).on_hand for v in world.variants.values()} == {19}
        assert reconcile(session) == []


def test_a_count_racing_sales_never_overwrites_them(pg_engine):
    world = stocked_world(pg_engine, units=20, warehouses=(("WH1", 1),))
    wh, s = world.warehouses["WH1"], world.variants["S"]
    sheet_id, staff = _counted_sheet(pg_engine, world, wh, 19)

    def attempt(i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                if i == 3:
                    result = submit_sheet(session, sheet_id, actor_id=staff.merch)
                    return "conflict" if result.conflicts else "applied"
                held = reserve(session, s, 1, channel="web", order_ref=f"o-{i}", actor="t")
                commit(session, held.reservation.id, actor="t")
            return "sold"
        except InsufficientStock:
            return "refused"

    outcomes = Counter(race(THREADS, THREADS, attempt))
    sold = outcomes["sold"]
    assert sold == THREADS - 1
    with read_session(pg_engine) as session:
        on_hand = get_balance(session, s, wh).on_hand
        assert reconcile(session) == []
    # Applied before every sale: 19 then the sales; else refused: the sales stand on 20.
    assert on_hand == (19 if outcomes["applied"] else 20) - sold


def test_sixteen_managers_deciding_one_variance_decide_it_once(pg_engine):
    world = stocked_world(pg_engine, units=20, warehouses=(("WH1", 1),))
    wh = world.warehouses["WH1"]
    sheet_id, staff = _counted_sheet(pg_engine, world, wh, 5)
    with transaction(pg_engine) as session:
        submit_sheet(session, sheet_id, actor_id=staff.merch)
        line_id = pending_variances(session, actor_id=staff.manager)[0].line_id

    def attempt(i: int) -> str:
        decide = approve if i % 2 else reject
        try:
            with transaction(pg_engine) as session:
                return decide(session, line_id, actor_id=staff.manager)
        except InvalidTransition:
            return "refused"

    outcomes = Counter(race(THREADS, THREADS, attempt))
    assert outcomes["refused"] == THREADS - 1
    assert _cycle_rows(pg_engine) == (1 if outcomes["applied"] else 0)
