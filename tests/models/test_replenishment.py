"""Reorder suggestions, the purchase list CSV and suggested transfers, against numbers
worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import insert

from models.alerts import scan_alerts, set_rule
from models.base import utcnow
from models.catalog import Product, Variant
from models.db import read_session, transaction
from models.errors import InvalidQuantity, NotFound
from models.replenishment import (
    purchase_list_csv,
    replenishment,
    suggested_order_qty,
    units_per_vote_of,
)
from models.reservations import reserve
from models.stock import LedgerReason, StockBalance, change_balance, receive, reconcile
from models.transfer_suggestions import create_suggested_transfers, suggest_transfers
from models.transfers import transfer_detail
from tests.factories import make_world
from tests.transfer_support import add_sales, make_staff

NOW = utcnow().replace(microsecond=0)


def _days_ago(n: float):
    return NOW - timedelta(days=n)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # 56 sold in 28 days = 2/day; 14 + 28 days → 84 wanted; 3 + 10 held → 71 (> MOQ 12)
        ({"sold": 56, "threshold": 5, "reorder_qty": 12, "available": 3, "incoming": 10}, 71),
        # nothing sells: order enough to clear the threshold (5), but at least the MOQ (24)
        ({"sold": 0, "threshold": 4, "reorder_qty": 24, "available": 0, "incoming": 0}, 24),
        # 3 in 28 days over 14 days → 1.5 → 2, but the threshold wants 11: 11 − 8 = 3
        (
            {"sold": 3, "threshold": 10, "available": 8, "lead": 7, "cover": 7, "reorder_qty": 0},
            3,
        ),
        # enough on hand and on the way: nothing to order
        ({"sold": 7, "threshold": 5, "reorder_qty": 6, "available": 2, "incoming": 20}, 0),
        # exact arithmetic: 1 per 3 days over 3 days is exactly 1 (floats would give 2)
        ({"sold": 1, "days": 3, "lead": 1, "cover": 2, "threshold": 0, "available": 0}, 1),
        # returns outnumber sales: velocity counts as zero
        ({"sold": -4, "threshold": 2, "reorder_qty": 0, "available": 1}, 2),
    ],
)
def test_suggested_order_quantity_matches_the_hand_calculation(facts, expected):
    assert (
        suggested_order_qty(
            sold=facts["sold"],
            days=facts.get("days", 28),
            lead_time_days=facts.get("lead", 14),
            target_cover_days=facts.get("cover", 28),
            threshold=facts["threshold"],
            reorder_qty=facts.get("reorder_qty", 0),
            available=facts["available"],
            incoming=facts.get("incoming", 0),
        )
        == expected
    )


@pytest.fixture
def setup(engine):
    world = make_world(engine)
    staff = make_staff(engine, world.brand_id)
    return engine, world, staff


def _rule(engine, staff, variant_id, warehouse_id, threshold, **kwargs):
    with transaction(engine) as session:
        set_rule(
            session,
            level="variant",
            subject_id=variant_id,
            warehouse_id=warehouse_id,
            threshold=threshold,
            actor_id=staff.merch,
            **kwargs,
        )


def test_replenishment_lines_and_purchase_list_from_recent_velocity(setup):
    engine, world, staff = setup
    s, m, l_ = (world.variants[x] for x in ("S", "M", "L"))
    wh1, wh2 = world.warehouses["WH1"], world.warehouses["WH2"]
    with transaction(engine) as session:
        # M @ WH1: 13 on hand, 10 reserved → 3 available; 10 incoming
        receive(session, m, wh1, 13, actor="t")
        reserve(session, m, 10, channel="web", order_ref="big", actor="t", warehouse_id=wh1)
        change_balance(session, m, wh1, reason=LedgerReason.TRANSFER_IN, actor="t", incoming=10)
        receive(session, s, wh1, 8, actor="t")  # S @ WH1: 8 available
        receive(session, m, wh2, 2, actor="t")  # M @ WH2: 2 available, 20 incoming
        change_balance(session, m, wh2, reason=LedgerReason.TRANSFER_IN, actor="t", incoming=20)
        session.execute(  # L @ WH1: a balance row with nothing in it
            insert(StockBalance.__table__).values(variant_id=l_, warehouse_id=wh1, updated_at=NOW)
        )
    # M @ WH1: 30 × 2 sold and 4 returned in the window → 56; older and other-place sales
    # do not count.
    for day in range(30):
        add_sales(engine, m, wh1, 2, _days_ago(0.5 + day * 0.9))
    add_sales(engine, m, wh1, -4, _days_ago(3))
    add_sales(engine, m, wh1, 5, _days_ago(40), lines=2)
    add_sales(engine, m, wh2, 1, _days_ago(10), lines=7)  # M @ WH2: 7 in the window
    add_sales(engine, s, wh1, 1, _days_ago(2), lines=3)  # S @ WH1: 3
    _rule(engine, staff, m, wh1, 5, reorder_qty=12)
    _rule(engine, staff, l_, None, 4, reorder_qty=24)
    _rule(engine, staff, s, wh1, 10, lead_time_days=7, target_cover_days=7)
    _rule(engine, staff, m, wh2, 5, reorder_qty=6)
    with transaction(engine) as session:
        scan_alerts(session, now=NOW)
        lines = replenishment(session, now=NOW)
    got = {(x.size, x.warehouse_code): x for x in lines}
    assert set(got) == {("S", "WH1"), ("M", "WH1"), ("L", "WH1"), ("M", "WH2")}
    m1 = got["M", "WH1"]
    assert (m1.kind, m1.available, m1.incoming, m1.sold, m1.suggested_qty) == (
        "low_stock",
        3,
        10,
        56,
        71,
    )
    assert m1.weekly_velocity == 14.0 and m1.weeks_of_cover == pytest.approx(13 / 14)
    assert (got["L", "WH1"].kind, got["L", "WH1"].suggested_qty) == ("out_of_stock", 24)
    assert got["L", "WH1"].weeks_of_cover is None
    assert (got["S", "WH1"].sold, got["S", "WH1"].suggested_qty) == (3, 3)
    assert (got["M", "WH2"].sold, got["M", "WH2"].suggested_qty) == (7, 0)
    # ordered brand → style → colour → size (S, M, L) → warehouse
    assert [(x.size, x.warehouse_code) for x in lines] == [
        ("S", "WH1"),
        ("M", "WH1"),
        ("M", "WH2"),
        ("L", "WH1"),
    ]
    with read_session(engine) as session:
        to_order = replenishment(session, only_to_order=True, warehouse_id=wh1, now=NOW)
        assert [(x.size, x.suggested_qty) for x in to_order] == [("S", 3), ("M", 71), ("L", 24)]
        assert replenishment(session, brand_id=world.brand_id + 1, now=NOW) == []
        text = purchase_list_csv(session, world.brand_id, now=NOW)
        with pytest.raises(NotFound):
            purchase_list_csv(session, 424242)
        with pytest.raises(InvalidQuantity):
            replenishment(session, days=0)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["sku"], r["deliver_to"], r["order_qty"]) for r in rows] == [
        ("NRD-TEE1-BLK-S", "WH1", "3"),
        ("NRD-TEE1-BLK-M", "WH1", "71"),
        ("NRD-TEE1-BLK-L", "WH1", "24"),
    ]
    assert rows[1]["weekly_velocity"] == "14.00" and rows[1]["sold_in_window"] == "56"


def test_the_purchase_list_is_safe_to_open_in_a_spreadsheet(setup):
    engine, world, staff = setup
    m, wh1 = world.variants["M"], world.warehouses["WH1"]
    with transaction(engine) as session:
        product = session.get(Product, session.get(Variant, m).product_id)
        product.name = '=HYPERLINK("http://evil.example","click")'
        product.style_code = "+TEE1"
        receive(session, m, wh1, 1, actor="t")
    _rule(engine, staff, m, wh1, 5)
    with transaction(engine) as session:
        scan_alerts(session)
        text = purchase_list_csv(session, world.brand_id)
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["product"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["style"] == "'+TEE1"
    assert row["order_qty"] == "5"


# --- suggested transfers -------------------------------------------------------------------


def test_suggested_transfers_move_slow_stock_to_where_it_sells(setup):
    engine, world, staff = setup
    s, m, l_ = (world.variants[x] for x in ("S", "M", "L"))
    wh1, wh2, st1 = (world.warehouses[c] for c in ("WH1", "WH2", "ST1"))
    with transaction(engine) as session:
        receive(session, m, wh1, 40, actor="t")  # sells 1 a week: 40 weeks of cover
        receive(session, m, wh2, 10, actor="t")  # sells nothing
        receive(session, m, st1, 1, actor="t")  # sells 7 a week: 1/7 of a week
        receive(session, s, wh1, 6, actor="t")  # S sells everywhere it is: no donor
        receive(session, s, st1, 6, actor="t")
        receive(session, l_, wh1, 5, actor="t")  # L sits, but nobody wants it
    add_sales(engine, m, wh1, 1, _days_ago(5), lines=4)
    add_sales(engine, m, st1, 1, _days_ago(6), lines=28)
    add_sales(engine, s, wh1, 1, _days_ago(1), lines=8)
    add_sales(engine, s, st1, 1, _days_ago(1), lines=8)
    with read_session(engine) as session:
        moves = suggest_transfers(session, brand_id=world.brand_id, now=NOW)
        same = suggest_transfers(session, product_id=_product(session, m), now=NOW)
    assert moves == same
    # ST1 wants ceil(4 weeks × 7) − 1 = 27: WH2's idle 10 first, then 17 from WH1
    assert [(x.size, x.from_code, x.to_code, x.qty) for x in moves] == [
        ("M", "WH2", "ST1", 10),
        ("M", "WH1", "ST1", 17),
    ]
    first, second = moves
    assert (first.from_velocity, first.to_velocity) == (0.0, 7.0)
    assert first.from_cover_before is None and first.from_cover_after is None
    assert first.to_cover_before == pytest.approx(1 / 7)
    assert first.to_cover_after == pytest.approx(11 / 7)
    assert (second.from_available, second.to_position) == (40, 11)
    assert (second.from_cover_before, second.from_cover_after) == (40.0, 23.0)
    assert second.to_cover_before == pytest.approx(11 / 7)
    assert second.to_cover_after == pytest.approx(4.0)

    with transaction(engine) as session:
        drafts = create_suggested_transfers(session, moves, actor_id=staff.merch)
        assert [(d.source_warehouse_id, d.dest_warehouse_id, d.status) for d in drafts] == [
            (wh1, st1, "draft"),
            (wh2, st1, "draft"),
        ]
        lines = [
            [(x.variant_id, x.qty) for x in transfer_detail(session, d.id).lines] for d in drafts
        ]
        assert lines == [[(m, 17)], [(m, 10)]]
    with read_session(engine) as session:
        assert reconcile(session) == []
        with pytest.raises(InvalidQuantity):
            suggest_transfers(session)
        with pytest.raises(InvalidQuantity):
            suggest_transfers(session, brand_id=world.brand_id, product_id=1)
    with pytest.raises(InvalidQuantity), transaction(engine) as session:
        create_suggested_transfers(session, [], actor_id=staff.merch)


def test_stock_already_on_its_way_counts_at_the_destination(setup):
    engine, world, _staff = setup
    m = world.variants["M"]
    wh1, st1 = world.warehouses["WH1"], world.warehouses["ST1"]
    with transaction(engine) as session:
        receive(session, m, wh1, 40, actor="t")
        receive(session, m, st1, 1, actor="t")
        change_balance(session, m, st1, reason=LedgerReason.TRANSFER_IN, actor="t", incoming=20)
    add_sales(engine, m, st1, 1, _days_ago(6), lines=28)
    with read_session(engine) as session:
        [move] = suggest_transfers(session, brand_id=world.brand_id, now=NOW)
    assert (move.qty, move.to_position) == (7, 21)  # 28 wanted − (1 + 20)
    assert move.to_cover_after == pytest.approx(4.0)


def _product(session, variant_id: int) -> int:
    return session.get(Variant, variant_id).product_id


# --- poll demand ---------------------------------------------------------------------------


def test_poll_votes_show_on_each_line_and_lift_the_order_only_when_asked(engine):
    from tests.models.test_polls import NOW as POLL_NOW
    from tests.models.test_polls import Demand, _votes

    demand = Demand(engine)  # M @ WH1: 14 on hand, 2 reserved; 14 sold three days before
    _votes(demand)  # 3 votes for size M, 1 for the tee (every size): M has 4, S and L 1
    staff = make_staff(engine, demand.nrd.brand_id)
    m, wh1 = demand.nrd.variants["M"], demand.nrd.warehouses["WH1"]
    _rule(engine, staff, m, wh1, 20, lead_time_days=14, target_cover_days=28)
    with transaction(engine) as session:
        scan_alerts(session, now=POLL_NOW)
        shown = replenishment(session, now=POLL_NOW)
        lifted = replenishment(session, now=POLL_NOW, units_per_vote=units_per_vote_of("2.5"))
        csv_text = purchase_list_csv(session, demand.nrd.brand_id, now=POLL_NOW)
    # 14 sold in 28 days over 42 days → 21 wanted; 12 available → 9. Votes alone order nothing.
    line = next(x for x in shown if x.variant_id == m)
    assert (line.demand_votes, line.suggested_qty) == (4, 9)
    # 4 votes × 2.5 units → 10 more wanted: 31 − 12 = 19.
    assert next(x for x in lifted if x.variant_id == m).suggested_qty == 19
    assert next(csv.DictReader(io.StringIO(csv_text)))["demand_votes"] == "4"


@pytest.mark.parametrize("given", ["-1", "11", "abc", "nan", "inf", "1e400", True])
def test_units_per_vote_refuses_what_is_not_a_sensible_number(given):
    with pytest.raises(InvalidQuantity) as refused:
        units_per_vote_of(given)
    assert refused.value.details["field"] == "units_per_vote"


def test_units_per_vote_reads_decimals_exactly():
    assert units_per_vote_of("0.1") * 30 == 3
    assert units_per_vote_of("") == 0 and units_per_vote_of(None) == 0
