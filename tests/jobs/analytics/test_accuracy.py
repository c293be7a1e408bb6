"""Count accuracy per warehouse and week: the pure shaping on hand-made lines, and the
read of hand-made sheets on both databases (submitted only, the filters, a vendor's
brand scope, lines held for a manager)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine

from jobs.analytics.accuracy import (
    ACCURACY_COLUMNS,
    LINE_SCHEMA,
    count_accuracy,
    count_lines,
    first_count_day,
)
from jobs.analytics.charts import NO_COUNTS, NO_COUNTS_YET, count_accuracy_chart, is_empty
from jobs.analytics.metrics import Filters
from models.catalog import Product, Variant
from models.cycle_counts import CountLine, CountSheet, VarianceDecision
from models.db import read_session, transaction
from models.errors import PermissionDenied
from tests.factories import make_world
from tests.transfer_support import make_staff

MON, WED, SUN = date(2026, 11, 23), date(2026, 11, 25), date(2026, 11, 29)
NEXT_MON = date(2026, 11, 30)
PERIOD = Filters(start=date(2026, 11, 1), end=date(2026, 12, 6))


def lines(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=LINE_SCHEMA, orient="row")


def test_accuracy_is_the_share_of_exact_lines_per_warehouse_and_week():
    table = count_accuracy(lines(
        (MON, "WH1", "North", 5, 5, False),
        (WED, "WH1", "North", 4, 3, False),  # off by one, within tolerance
        (SUN, "WH1", "North", 0, 0, False),
        (SUN, "WH1", "North", 9, 2, True),  # held for a manager
        (NEXT_MON, "WH1", "North", 7, 7, False),
        (WED, "WH2", "South", 3, 4, False),
    ))
    assert table.columns == ACCURACY_COLUMNS
    assert table.rows() == [
        (MON, "WH1", "North", 4, 2, 3, 0.5, 0.75),  # Monday to Sunday is one week
        (NEXT_MON, "WH1", "North", 1, 1, 1, 1.0, 1.0),
        (MON, "WH2", "South", 1, 0, 1, 0.0, 1.0),
    ]


def test_no_lines_give_an_empty_table_with_every_column():
    table = count_accuracy(lines())
    assert table.is_empty() and table.columns == ACCURACY_COLUMNS


def test_the_chart_draws_a_line_per_warehouse_in_percent():
    fig = count_accuracy_chart(count_accuracy(lines(
        (MON, "WH1", "North", 5, 5, False),
        (WED, "WH1", "North", 4, 3, False),
        (NEXT_MON, "WH1", "North", 2, 2, False),
        (WED, "WH2", "South", 3, 4, False),
    )))
    assert [t.name for t in fig.data] == ["North", "South"]
    assert list(fig.data[0].y) == [50.0, 100.0]
    assert list(fig.data[1].y) == [0.0]
    assert fig.layout.yaxis.ticksuffix == "%"


def test_an_empty_chart_says_whether_anything_was_ever_counted():
    never = count_accuracy_chart(count_accuracy(lines()))
    assert is_empty(never) and never.layout.meta["message"] == NO_COUNTS_YET
    assert "/counts" in NO_COUNTS_YET
    before = count_accuracy_chart(count_accuracy(lines()), first_day=MON)
    assert before.layout.meta["message"] == NO_COUNTS
    assert "23 Nov 2026" in before.layout.meta["hint"]


@pytest.fixture
def sheets(engine: Engine):
    """Two brands; hand-made sheets at WH1 and WH2 (one still open); a vendor of the
    second brand."""
    nrd = make_world(engine)
    sol = make_world(engine, warehouses=(), brand="SOL")
    staff = make_staff(engine, sol.brand_id)
    wh1, wh2 = nrd.warehouses["WH1"], nrd.warehouses["WH2"]
    n, s = nrd.variants, sol.variants

    def sheet(session, warehouse: int, day: date, counts: list[tuple], *, submitted=True):
        row = CountSheet(warehouse_id=warehouse, count_date=day, created_by_id=staff.merch,
                         status="submitted" if submitted else "open")
        session.add(row)
        session.flush()
        for position, (variant, expected, counted, status) in enumerate(counts):
            line = CountLine(sheet_id=row.id, variant_id=variant, position=position,
                             abc_class="A", expected=expected, counted=counted, status=status)
            session.add(line)
            session.flush()
            if status in ("rejected", "applied") and abs(expected - counted) > 2:
                session.add(VarianceDecision(line_id=line.id, approved=status == "applied",
                                             outcome=status, decided_by_id=staff.manager))

    with transaction(engine) as session:
        session.get(Product, session.get(Variant, s["S"]).product_id).category = "knitwear"
        sheet(session, wh1, MON, [
            (n["S"], 5, 5, "applied"),
            (n["M"], 5, 4, "applied"),
            (s["S"], 8, 8, "applied"),
            (s["M"], 8, 1, "pending"),
        ])
        sheet(session, wh1, NEXT_MON, [(n["S"], 5, 5, "conflict"), (s["L"], 3, 10, "applied")])
        sheet(session, wh2, WED, [(n["L"], 2, 9, "rejected"), (s["S"], 1, 1, "applied")])
        sheet(session, wh2, SUN, [(n["S"], 6, 6, "open")], submitted=False)
        sheet(session, wh1, date(2026, 10, 5), [(n["S"], 1, 1, "applied")])  # before
    return nrd, sol, staff


def test_submitted_sheets_per_warehouse_and_week(engine: Engine, sheets):
    with read_session(engine) as session:
        table = count_accuracy(count_lines(session, PERIOD, brand_scope=None))
    assert [r[:2] + r[3:] for r in table.rows()] == [
        (MON, "WH1", 4, 2, 3, 0.5, 0.75),  # one off by one, one held
        (NEXT_MON, "WH1", 2, 1, 1, 0.5, 0.5),  # the approved +7 was above tolerance
        (MON, "WH2", 2, 1, 1, 0.5, 0.5),  # the open sheet on Sunday is not counted
    ]


def test_filters_narrow_the_lines_and_a_vendor_sees_only_their_brand(engine: Engine, sheets):
    nrd, sol, _staff = sheets
    with read_session(engine) as session:
        ours = count_accuracy(count_lines(session, PERIOD, brand_scope=sol.brand_id))
        assert [(r[0], r[1], r[3], r[4]) for r in ours.rows()] == [
            (MON, "WH1", 2, 1),
            (NEXT_MON, "WH1", 1, 0),
            (MON, "WH2", 1, 1),
        ]
        with pytest.raises(PermissionDenied):
            count_lines(session, Filters(brand_id=nrd.brand_id, start=PERIOD.start,
                                         end=PERIOD.end), brand_scope=sol.brand_id)
        north = Filters(brand_id=nrd.brand_id, warehouse_id=nrd.warehouses["WH2"],
                        start=PERIOD.start, end=PERIOD.end)
        only = count_lines(session, north, brand_scope=None)
        assert only.select("warehouse", "expected", "counted").rows() == [("WH2", 2, 9)]
        assert count_lines(session, Filters(category="TOPS", start=MON, end=MON),
                           brand_scope=None).height == 2  # Northwind's tees that Monday
        assert count_lines(session, Filters(start=date(2026, 12, 1), end=date(2026, 12, 6)),
                           brand_scope=None).is_empty()
        assert first_count_day(session, Filters(), brand_scope=None) == date(2026, 10, 5)
        assert first_count_day(session, Filters(), brand_scope=sol.brand_id) == MON
