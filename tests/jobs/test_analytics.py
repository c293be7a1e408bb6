"""Analytics metrics against answers worked out by hand, on SQLite and PostgreSQL.

The shop (`shop` fixture), as of AS_OF (day 0), brand NRD, style TEE1 (tops), Black:

    sales   M@WH1: +2 day 0, -1 day -1, +3 day -5, +4 day -20, +10 day -60, +100 day -200,
                   +5 day -364 (last year)
            S@WH2: +7 day -10          L: never sold       OTH M@WH1: +50 day -3
    stock   M@WH1 10 (2 reserved), M@WH2 4, S@WH1 6, L@WH1 20, OTH M@WH1 5
    ledger  M@WH1 receipt day -10, M@WH2 receipt day -100, S@WH1 transfer in day -400,
            L@WH1 a count only (no receipt), OTH M@WH1 receipt day -1
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import insert

from jobs.analytics import charts
from jobs.analytics import metrics as m
from jobs.analytics.export import csv_bytes, to_csv
from jobs.analytics.frames import AnalyticsData, _IdTail
from models.db import transaction
from models.errors import InvalidQuantity, PermissionDenied
from models.reservations import SaleLine
from models.snapshots import StockSnapshot, take_stock_snapshot
from models.stock import LedgerEntry, StockBalance, receive
from tests.factories import make_world

AS_OF = date(2026, 6, 30)


def at(days_before: int, hour: int = 12) -> datetime:
    day = AS_OF - timedelta(days=days_before)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class Shop:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.nrd = make_world(engine)
        self.oth = make_world(engine, brand="OTH", warehouses=())
        wh = self.nrd.warehouses
        v, o = self.nrd.variants, self.oth.variants
        self.wh1, self.wh2 = wh["WH1"], wh["WH2"]
        sales = [
            (v["M"], wh["WH1"], 2, 0), (v["M"], wh["WH1"], -1, 1), (v["M"], wh["WH1"], 3, 5),
            (v["M"], wh["WH1"], 4, 20), (v["M"], wh["WH1"], 10, 60),
            (v["M"], wh["WH1"], 100, 200), (v["M"], wh["WH1"], 5, 364),
            (v["S"], wh["WH2"], 7, 10), (o["M"], wh["WH1"], 50, 3),
        ]
        balances = [
            (v["M"], wh["WH1"], 10, 2), (v["M"], wh["WH2"], 4, 0), (v["S"], wh["WH1"], 6, 0),
            (v["L"], wh["WH1"], 20, 0), (o["M"], wh["WH1"], 5, 0),
        ]
        ledger = [
            (v["M"], wh["WH1"], "receipt", 10), (v["M"], wh["WH2"], "receipt", 100),
            (v["S"], wh["WH1"], "transfer_in", 400), (v["L"], wh["WH1"], "count", 5),
            (o["M"], wh["WH1"], "receipt", 1),
        ]
        with transaction(engine) as session:
            session.execute(insert(SaleLine.__table__), [
                {"variant_id": var, "warehouse_id": w, "qty": q, "channel": "web",
                 "order_ref": f"o{i}", "sold_at": at(d), "unit_price_cents": 2500}
                for i, (var, w, q, d) in enumerate(sales)
            ])
            session.execute(insert(StockBalance.__table__), [
                {"variant_id": var, "warehouse_id": w, "on_hand": oh, "reserved": r,
                 "incoming": 0, "updated_at": at(0)}
                for var, w, oh, r in balances
            ])
            session.execute(insert(LedgerEntry.__table__), [
                {"variant_id": var, "warehouse_id": w, "on_hand_delta": 1, "reserved_delta": 0,
                 "incoming_delta": 0, "reason": reason, "actor": "test", "created_at": at(d)}
                for var, w, reason, d in ledger
            ])
        self.data = AnalyticsData(engine, max_staleness=0)

    @property
    def frames(self):
        return self.data.frames()


@pytest.fixture
def shop(engine) -> Shop:
    return Shop(engine)


def rows(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(r) for r in frame.select(columns).iter_rows()]


def approx_rows(frame, *columns):
    return [tuple(pytest.approx(x) if isinstance(x, float) else x for x in r)
            for r in rows(frame, *columns)]


def f(**kw) -> m.Filters:
    return m.Filters(end=AS_OF, **kw)


# --- velocity ----------------------------------------------------------------------------


def test_velocity_per_variant_over_7_28_90_days(shop):
    table = m.sales_velocity(shop.frames, f(brand_id=shop.nrd.brand_id), brand_scope=None)
    assert rows(table, "sku", "units_7d", "units_28d", "units_90d") == [
        ("NRD-TEE1-BLK-M", 4, 8, 18),
        ("NRD-TEE1-BLK-S", 0, 7, 7),
    ]
    assert table["per_day_7d"][0] == pytest.approx(4 / 7)
    assert table["per_day_90d"][1] == pytest.approx(7 / 90)


def test_velocity_per_brand_product_warehouse(shop):
    fr = shop.frames
    brands = m.sales_velocity(fr, f(), brand_scope=None, level="brand")
    assert rows(brands, "brand", "units_7d", "units_28d", "units_90d") == [
        ("OTH", 50, 50, 50), ("NRD", 4, 15, 25),
    ]
    products = m.sales_velocity(fr, f(), brand_scope=shop.nrd.brand_id, level="product")
    assert rows(products, "brand", "style_code", "category", "units_90d") == [
        ("NRD", "TEE1", "tops", 25)
    ]
    warehouses = m.sales_velocity(fr, f(brand_id=shop.nrd.brand_id), brand_scope=None,
                                  level="warehouse")
    assert rows(warehouses, "warehouse", "units_7d", "units_28d", "units_90d") == [
        ("WH1", 4, 8, 18), ("WH2", 0, 7, 7),
    ]
    by_category = m.sales_velocity(fr, f(category="TOPS"), brand_scope=None, level="category")
    assert rows(by_category, "category", "units_28d") == [("tops", 65)]
    only_wh2 = m.sales_velocity(fr, f(warehouse_id=shop.wh2), brand_scope=None, level="brand")
    assert rows(only_wh2, "brand", "units_28d") == [("NRD", 7)]


def test_trend_with_moving_average_and_last_year(shop):
    trend = m.sales_trend(
        shop.frames, m.Filters(start=AS_OF - timedelta(days=6), end=AS_OF,
                               brand_id=shop.nrd.brand_id),
        brand_scope=None, moving_average_days=3,
    )
    assert trend["day"].to_list() == [AS_OF - timedelta(days=d) for d in range(6, -1, -1)]
    assert trend["units"].to_list() == [0, 3, 0, 0, 0, -1, 2]
    assert trend["moving_average"].to_list() == pytest.approx([0, 1, 1, 1, 0, -1 / 3, 1 / 3])
    # Last year before NRD's first sale (day -364) is unknown, not 0 (issue 12).
    assert trend["last_year_units"].to_list() == [None] * 6 + [5]
    assert trend["last_year_moving_average"].to_list() == [None] * 6 + [5]
    later = m.sales_trend(
        shop.frames, m.Filters(start=AS_OF, end=AS_OF + timedelta(days=2),
                               brand_id=shop.nrd.brand_id),
        brand_scope=None, moving_average_days=3,
    )
    assert later["last_year_units"].to_list() == [5, 0, 0]
    # Its moving average starts with the data: 5, (5 + 0) / 2, (5 + 0 + 0) / 3.
    assert later["last_year_moving_average"].to_list() == pytest.approx([5, 2.5, 5 / 3])


def test_movers_top_and_bottom_with_the_period_before(shop):
    result = m.movers(
        shop.frames,
        m.Filters(start=AS_OF - timedelta(days=44), end=AS_OF, brand_id=shop.nrd.brand_id),
        brand_scope=None, level="variant",
    )
    # This period (45 days): M 8, S 7, L 0; the 45 days before: M 10 (day -60).
    assert rows(result.top, "sku", "units", "previous_units", "change", "available") == [
        ("NRD-TEE1-BLK-M", 8, 10, -2, 12), ("NRD-TEE1-BLK-S", 7, 0, 7, 6),
    ]
    assert rows(result.bottom, "sku", "units", "available") == [
        ("NRD-TEE1-BLK-L", 0, 20), ("NRD-TEE1-BLK-S", 7, 6), ("NRD-TEE1-BLK-M", 8, 12),
    ]


# --- stock against sales -----------------------------------------------------------------


def test_weeks_of_cover(shop):
    cover = m.weeks_of_cover(shop.frames, f(brand_id=shop.nrd.brand_id), brand_scope=None)
    # M: available 8+4 = 12, 8 sold in 28 days = 2/week → 6 weeks; S: 6 ÷ 1.75; L: no sales.
    assert approx_rows(cover, "sku", "available", "units_sold", "weekly_velocity",
                       "weeks_of_cover") == [
        ("NRD-TEE1-BLK-S", 6, 7, 1.75, 6 / 1.75),
        ("NRD-TEE1-BLK-M", 12, 8, 2.0, 6.0),
        ("NRD-TEE1-BLK-L", 20, 0, 0.0, None),
    ]
    at_wh1 = m.weeks_of_cover(shop.frames, f(brand_id=shop.nrd.brand_id,
                                             warehouse_id=shop.wh1), brand_scope=None)
    assert approx_rows(at_wh1, "sku", "available", "weeks_of_cover") == [
        ("NRD-TEE1-BLK-M", 8, 4.0), ("NRD-TEE1-BLK-L", 20, None), ("NRD-TEE1-BLK-S", 6, None),
    ]
    per_brand = m.weeks_of_cover(shop.frames, f(), brand_scope=None, level="brand",
                                 velocity_days=7)
    # NRD: 38 available, 4 sold in 7 days; OTH: 5 available, 50 sold.
    assert approx_rows(per_brand, "brand", "available", "weeks_of_cover") == [
        ("OTH", 5, 0.1), ("NRD", 38, 9.5),
    ]


def test_sell_through_over_the_period(shop):
    nrd = f(brand_id=shop.nrd.brand_id)
    per_style = m.sell_through(shop.frames, nrd, brand_scope=None)
    assert approx_rows(per_style, "style_code", "units_sold", "on_hand", "sell_through") == [
        ("TEE1", 15, 40, 15 / 55)
    ]
    per_variant = m.sell_through(shop.frames, nrd, brand_scope=None, level="variant")
    assert approx_rows(per_variant, "sku", "units_sold", "on_hand", "sell_through") == [
        ("NRD-TEE1-BLK-S", 7, 6, 7 / 13),
        ("NRD-TEE1-BLK-M", 8, 14, 8 / 22),
        ("NRD-TEE1-BLK-L", 0, 20, 0.0),
    ]


def test_slow_movers(shop):
    nrd = f(brand_id=shop.nrd.brand_id)
    month = m.slow_movers(shop.frames, nrd, brand_scope=None, days=30)
    assert rows(month, "sku", "on_hand", "units_sold", "last_sold_at",
                "days_since_last_sale") == [("NRD-TEE1-BLK-L", 20, 0, None, None)]
    week = m.slow_movers(shop.frames, nrd, brand_scope=None, days=7)
    assert rows(week, "sku", "on_hand", "available", "units_sold", "days_since_last_sale") == [
        ("NRD-TEE1-BLK-L", 20, 20, 0, None), ("NRD-TEE1-BLK-S", 6, 6, 0, 10),
    ]
    assert week["last_sold_at"][1] == at(10)
    lenient = m.slow_movers(shop.frames, nrd, brand_scope=None, days=7, max_units=4)
    assert set(lenient["sku"]) == {"NRD-TEE1-BLK-L", "NRD-TEE1-BLK-S", "NRD-TEE1-BLK-M"}


def test_ageing_by_days_since_last_receipt(shop):
    nrd = f(brand_id=shop.nrd.brand_id)
    detail = m.stock_ageing(shop.frames, nrd, brand_scope=None)
    assert rows(detail, "sku", "warehouse", "on_hand", "age_days", "age_bucket") == [
        ("NRD-TEE1-BLK-L", "WH1", 20, None, m.NO_RECEIPT),
        ("NRD-TEE1-BLK-S", "WH1", 6, 400, "over 365 days"),
        ("NRD-TEE1-BLK-M", "WH2", 4, 100, "91-180 days"),
        ("NRD-TEE1-BLK-M", "WH1", 10, 10, "0-30 days"),
    ]
    summary = m.ageing_summary(shop.frames, nrd, brand_scope=None)
    assert rows(summary, "age_bucket", "on_hand", "balances") == [
        ("0-30 days", 10, 1), ("31-90 days", 0, 0), ("91-180 days", 4, 1),
        ("181-365 days", 0, 0), ("over 365 days", 6, 1), (m.NO_RECEIPT, 20, 1),
    ]


def test_size_curve_shares_of_sales_and_stock(shop):
    curve = m.size_curve(shop.frames, f(brand_id=shop.nrd.brand_id), brand_scope=None)
    assert approx_rows(curve, "size", "units_sold", "on_hand", "sales_share", "stock_share",
                       "gap") == [
        ("S", 7, 6, 7 / 15, 6 / 40, 6 / 40 - 7 / 15),
        ("M", 8, 14, 8 / 15, 14 / 40, 14 / 40 - 8 / 15),
        ("L", 0, 20, 0.0, 0.5, 0.5),
    ]
    style = m.size_curve(shop.frames, f(product_id=shop.frames.variants.filter(
        pl.col("sku") == "OTH-TEE1-BLK-M")["product_id"][0]), brand_scope=None)
    assert approx_rows(style, "size", "units_sold", "on_hand", "sales_share") == [
        ("M", 50, 5, 1.0)
    ]


def test_stock_history_from_snapshots(shop):
    with transaction(shop.engine) as session:
        assert take_stock_snapshot(session, day=AS_OF) == 3  # NRD×WH1, NRD×WH2, OTH×WH1
        take_stock_snapshot(session, day=AS_OF)  # taking a day again replaces it
        session.execute(insert(StockSnapshot.__table__), [
            {"day": AS_OF - timedelta(days=1), "brand_id": shop.nrd.brand_id,
             "warehouse_id": shop.wh1, "category": "tops", "on_hand": 30, "reserved": 0,
             "incoming": 5, "lines_in_stock": 2, "taken_at": at(1)},
        ])
    with transaction(shop.engine) as session:
        total = m.stock_history(session, f(), brand_scope=None)
        by_brand = m.stock_history(session, f(), brand_scope=None, by="brand")
        vendor = m.stock_history(session, f(warehouse_id=shop.wh1), brand_scope=shop.nrd.brand_id,
                                 by="warehouse")
        other_category = m.stock_history(session, f(category="shoes"), brand_scope=None)
    assert rows(total, "day", "series", "on_hand", "available", "incoming") == [
        (AS_OF - timedelta(days=1), "All stock", 30, 30, 5),
        (AS_OF, "All stock", 45, 43, 0),
    ]
    assert rows(by_brand, "series", "day", "on_hand") == [
        ("NRD", AS_OF - timedelta(days=1), 30), ("NRD", AS_OF, 40), ("OTH", AS_OF, 5),
    ]
    assert rows(vendor, "series", "on_hand") == [("WH1", 30), ("WH1", 36)]
    assert other_category.is_empty()
    assert charts.is_empty(charts.stock_history_chart(other_category))
    assert not charts.is_empty(charts.stock_history_chart(by_brand))


# --- access and bad input ----------------------------------------------------------------


def test_a_vendor_sees_only_their_brand_and_cannot_pick_another(shop):
    nrd, oth = shop.nrd.brand_id, shop.oth.brand_id
    fr = shop.frames
    own = m.sales_velocity(fr, f(), brand_scope=nrd, level="brand")
    assert rows(own, "brand") == [("NRD",)]
    assert m.sales_velocity(fr, f(brand_id=nrd), brand_scope=nrd, level="brand").height == 1
    calls = [
        lambda: m.sales_velocity(fr, f(brand_id=oth), brand_scope=nrd),
        lambda: m.sales_trend(fr, f(brand_id=oth), brand_scope=nrd),
        lambda: m.movers(fr, f(brand_id=oth), brand_scope=nrd),
        lambda: m.weeks_of_cover(fr, f(brand_id=oth), brand_scope=nrd),
        lambda: m.sell_through(fr, f(brand_id=oth), brand_scope=nrd),
        lambda: m.slow_movers(fr, f(brand_id=oth), brand_scope=nrd),
        lambda: m.stock_ageing(fr, f(brand_id=oth), brand_scope=nrd),
        lambda: m.size_curve(fr, f(brand_id=oth), brand_scope=nrd),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    # Another brand's style or warehouse-wide figures still only show the vendor's rows.
    other_style = fr.variants.filter(pl.col("brand_id") == oth)["product_id"][0]
    assert m.sales_velocity(fr, f(product_id=other_style), brand_scope=nrd).is_empty()
    assert set(m.weeks_of_cover(fr, f(warehouse_id=shop.wh1), brand_scope=nrd)["brand"]) == {
        "NRD"
    }


def test_a_period_with_no_sales_gives_empty_tables_and_figures_that_say_so(shop):
    quiet = m.Filters(start=date(2020, 1, 1), end=date(2020, 1, 31))
    fr = shop.frames
    trend = m.sales_trend(fr, quiet, brand_scope=None)
    assert trend.height == 31 and trend["units"].sum() == 0
    velocity = m.sales_velocity(fr, quiet, brand_scope=None)
    assert velocity.is_empty()
    figures = [
        charts.trend_chart(trend),
        charts.velocity_chart(velocity),
        charts.movers_chart(m.movers(fr, quiet, brand_scope=None)),
        charts.sell_through_chart(m.sell_through(fr, quiet, brand_scope=None)),
        charts.cover_chart(m.weeks_of_cover(fr, quiet, brand_scope=None)),
    ]
    for figure in figures:
        assert charts.is_empty(figure), figure.layout.title.text
        assert figure.layout.annotations[0].text == charts.NO_SALES
        assert figure.layout.title.text
    curve = charts.size_curve_chart(m.size_curve(fr, quiet, brand_scope=None))
    assert "no sales in this period" in curve.layout.title.text
    busy = charts.trend_chart(m.sales_trend(fr, f(), brand_scope=None))
    assert not charts.is_empty(busy)
    assert busy.layout.xaxis.title.text == "Day (UTC)" and busy.layout.yaxis.title.text


def test_bad_filters_are_refused(shop):
    with pytest.raises(InvalidQuantity):
        m.sales_velocity(shop.frames, m.Filters(start=AS_OF, end=AS_OF - timedelta(days=1)),
                         brand_scope=None)
    with pytest.raises(InvalidQuantity):
        m.sales_velocity(shop.frames, f(), brand_scope=None, level="planet")  # type: ignore[arg-type]


def test_every_chart_has_a_title_and_axis_titles(shop):
    fr, nrd = shop.frames, f(brand_id=shop.nrd.brand_id)
    figures = [
        charts.velocity_chart(m.sales_velocity(fr, nrd, brand_scope=None)),
        charts.trend_chart(m.sales_trend(fr, nrd, brand_scope=None)),
        charts.movers_chart(m.movers(fr, nrd, brand_scope=None)),
        charts.cover_chart(m.weeks_of_cover(fr, nrd, brand_scope=None)),
        charts.sell_through_chart(m.sell_through(fr, nrd, brand_scope=None)),
        charts.ageing_chart(m.ageing_summary(fr, nrd, brand_scope=None)),
        charts.size_curve_chart(m.size_curve(fr, nrd, brand_scope=None)),
    ]
    for figure in figures:
        assert not charts.is_empty(figure)
        assert figure.layout.title.text
        assert figure.layout.xaxis.title.text or figure.layout.yaxis.title.text


# --- what the charts show (issue 12's analytics fixes) ----------------------------------


def bars(figure) -> list:
    return [trace for trace in figure.data if trace.type == "bar"]


def test_charts_name_products_not_codes_and_label_every_bar(shop):
    fr, nrd = shop.frames, f(brand_id=shop.nrd.brand_id)
    velocity = charts.velocity_chart(m.sales_velocity(fr, nrd, brand_scope=None))
    (bar,) = bars(velocity)
    assert list(bar.y) == ["Organic Tee · Black · M", "Organic Tee · Black · S"]
    assert list(bar.text) == ["0.29", "0.25"]  # 8 and 7 units in 28 days
    assert velocity.layout.yaxis.tickmode == "linear" and velocity.layout.yaxis.dtick == 1
    # Two brands' "Organic Tee": told apart by brand and style, not merged into one bar.
    top = charts.movers_chart(m.movers(fr, f(), brand_scope=None))
    assert list(bars(top)[0].y) == ["Organic Tee (OTH TEE1)", "Organic Tee (NRD TEE1)"]
    figures = [
        velocity,
        top,
        charts.bottom_movers_chart(m.movers(fr, nrd, brand_scope=None)),
        charts.cover_chart(m.weeks_of_cover(fr, nrd, brand_scope=None)),
        charts.sell_through_chart(m.sell_through(fr, nrd, brand_scope=None)),
        charts.slow_movers_chart(m.slow_movers(fr, nrd, brand_scope=None)),
        charts.ageing_chart(m.ageing_summary(fr, nrd, brand_scope=None)),
        charts.size_curve_chart(m.size_curve(fr, nrd, brand_scope=None)),
    ]
    for figure in figures:
        for trace in bars(figure):
            values = trace.x if trace.orientation == "h" else trace.y
            assert len(trace.text) == len(values) and all(trace.text), figure.layout.title.text
            assert trace.textposition == "outside" and trace.cliponaxis is False
    assert "TEE1" not in str([bars(fig)[0].y or bars(fig)[0].x for fig in figures[2:6]])


def test_no_last_year_line_without_last_year_data(shop):
    fr = shop.frames
    # OTH only sold 3 days ago: its last year has no data at all, so no line.
    oth = charts.trend_chart(m.sales_trend(fr, f(brand_id=shop.oth.brand_id),
                                           brand_scope=None))
    assert [trace.name for trace in oth.data] == ["Units sold", "Moving average"]
    nrd = charts.trend_chart(m.sales_trend(fr, f(brand_id=shop.nrd.brand_id),
                                           brand_scope=None))
    last_year = nrd.data[-1]
    assert last_year.name == "Last year (moving average)"
    assert last_year.y[0] is None and last_year.y[-1] == 5  # unknown before day -364
    assert last_year.connectgaps is False


def test_the_size_curve_has_a_panel_per_size_system(engine):
    world = make_world(engine, sizes=("S", "M", "30", "32"))
    with transaction(engine) as session:
        session.execute(insert(StockBalance.__table__), [
            {"variant_id": variant, "warehouse_id": world.warehouses["WH1"], "on_hand": 5,
             "reserved": 0, "incoming": 0, "updated_at": at(0)}
            for variant in world.variants.values()
        ])
    curve = m.size_curve(AnalyticsData(engine, max_staleness=0).frames(), f(),
                         brand_scope=None)
    figure = charts.size_curve_chart(curve)
    assert figure.layout.xaxis.title.text == "Letter sizes"
    assert figure.layout.xaxis2.title.text == "Waist sizes"
    by_axis = {(trace.xaxis, trace.name): list(trace.x) for trace in figure.data}
    assert by_axis[("x", "Share of stock")] == ["S", "M"]
    assert by_axis[("x2", "Share of stock")] == ["W30", "W32"]
    assert [t.text for t in figure.data if t.name == "Share of stock"] == [
        ("50%", "50%"), ("50%", "50%")
    ]
    assert figure.layout.xaxis.domain[1] < figure.layout.xaxis2.domain[0]


def test_stock_history_says_when_there_are_no_snapshots_yet(shop):
    with transaction(shop.engine) as session:
        assert m.first_snapshot_day(session, f(), brand_scope=None) is None
        history = m.stock_history(session, f(), brand_scope=None)
    none_yet = charts.stock_history_chart(history, first_day=None)
    assert none_yet.layout.meta["message"] == charts.NO_SNAPSHOTS_YET
    assert "nightly snapshot" in none_yet.layout.meta["hint"]
    with transaction(shop.engine) as session:
        take_stock_snapshot(session, day=AS_OF)
    early = m.Filters(start=date(2026, 1, 1), end=date(2026, 1, 31))
    with transaction(shop.engine) as session:
        assert m.first_snapshot_day(session, early, brand_scope=None) == AS_OF
        assert m.first_snapshot_day(session, early, brand_scope=shop.oth.brand_id) == AS_OF
    before = charts.stock_history_chart(pl.DataFrame(), first_day=AS_OF)
    assert before.layout.meta["message"] == charts.NO_SNAPSHOTS
    assert "starts on 30 Jun 2026" in before.layout.meta["hint"]


def test_csv_export_is_safe_in_a_spreadsheet():
    frame = pl.DataFrame({
        "product": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@cmd", "\tTab", "Plain"],
        "units": [1, -2, 3, 4, 5, 6],
        "share": [0.5, None, 1 / 3, 0.0, 1.0, 0.25],
    })
    text = to_csv(frame)
    lines = text.splitlines()
    assert lines[0] == "product,units,share"
    assert lines[1] == "\"'=HYPERLINK(\"\"http://x\"\")\",1,0.5"
    assert lines[2] == "'+1,-2,"
    assert lines[3].startswith("'-2,3,0.3333")
    assert lines[4].startswith("'@cmd") and lines[5].startswith("'\tTab")
    assert lines[6] == "Plain,6,0.25"
    assert csv_bytes(frame).startswith("\ufeff".encode())


# --- the in-memory frames ----------------------------------------------------------------


def test_frames_refresh_incrementally(shop):
    data = shop.data
    before = data.frames()
    assert before.sales.height == 9
    v, wh1 = shop.nrd.variants, shop.wh1
    with transaction(shop.engine) as session:
        session.add(SaleLine(variant_id=v["L"], warehouse_id=wh1, qty=3, channel="web",
                             order_ref="new", sold_at=at(0)))
        receive(session, v["L"], wh1, 5, actor="test")
    after = data.frames()
    assert after.sales.height == 10 and before.sales.height == 9  # snapshots are immutable
    stock = after.stock.filter(pl.col("variant_id") == v["L"], pl.col("warehouse_id") == wh1)
    assert stock["on_hand"].to_list() == [25]
    assert after.stock.height == before.stock.height
    receipts = after.receipts.filter(pl.col("variant_id") == v["L"])
    assert receipts.height == 1
    velocity = m.sales_velocity(after, f(brand_id=shop.nrd.brand_id), brand_scope=None)
    assert rows(velocity.filter(pl.col("size") == "L"), "units_7d") == [(3,)]


def test_id_gaps_are_asked_for_again():
    tail = _IdTail()
    tail.advance(pl.Series([1, 2, 4, 5]), now=0.0)
    assert tail.mark == 5 and set(tail.gaps) == {3}
    tail.advance(pl.Series([3, 6], dtype=pl.Int64), now=1.0)
    assert tail.mark == 6 and tail.gaps == {}
    tail.advance(pl.Series([9]), now=2.0)
    assert set(tail.gaps) == {7, 8}
    tail.advance(pl.Series([], dtype=pl.Int64), now=10_000.0)
    assert tail.gaps == {}  # given up after GAP_TTL


def test_a_late_commit_with_a_lower_id_is_not_lost(shop):
    data = shop.data
    data.frames()
    v, wh1 = shop.nrd.variants, shop.wh1
    with transaction(shop.engine) as session:
        top = max(data.frames().sales["id"])
        session.execute(insert(SaleLine.__table__), [
            {"id": top + 2, "variant_id": v["L"], "warehouse_id": wh1, "qty": 1,
             "channel": "web", "order_ref": "late-b", "sold_at": at(0)},
        ])
    assert top + 2 in data.frames().sales["id"].to_list()
    with transaction(shop.engine) as session:  # the "earlier" transaction commits last
        session.execute(insert(SaleLine.__table__), [
            {"id": top + 1, "variant_id": v["L"], "warehouse_id": wh1, "qty": 1,
             "channel": "web", "order_ref": "late-a", "sold_at": at(0)},
        ])
    assert top + 1 in data.frames().sales["id"].to_list()


def test_frames_are_safe_to_read_while_refreshing(shop):
    data = shop.data
    data.frames()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(15):
                fr = data.frames()
                m.sales_velocity(fr, f(), brand_scope=None, level="brand")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(10):
        with transaction(shop.engine) as session:
            session.add(SaleLine(variant_id=shop.nrd.variants["S"], warehouse_id=shop.wh1,
                                 qty=1, channel="web", order_ref=f"t{i}", sold_at=at(0)))
    for thread in threads:
        thread.join()
    assert not errors
    assert data.refresh().sales.height == 19


@pytest.mark.postgres
def test_the_postgresql_bulk_loaders_agree(pg_engine):
    shop = Shop(pg_engine)
    loaded = {}
    for loader in ("adbc", "copy", "cursor"):
        fr = AnalyticsData(shop.engine, loader=loader).frames()
        loaded[loader] = fr
    for name in ("sales", "stock", "receipts", "variants"):
        frames = [getattr(loaded[k], name) for k in loaded]
        key = frames[0].columns[:2]
        first = frames[0].sort(key)
        for other in frames[1:]:
            assert other.sort(key).equals(first), name


@pytest.mark.postgres
def test_an_adbc_failure_falls_back_to_copy(pg_engine, monkeypatch):
    shop = Shop(pg_engine)
    data = AnalyticsData(pg_engine, loader="adbc")

    def broken(*_args, **_kwargs):
        raise RuntimeError("driver missing")

    monkeypatch.setattr(data, "_read_adbc", broken)
    assert data.frames().sales.height == 9 and data.loader == "copy"
    assert shop.frames.sales.height == 9


def test_one_shared_instance_per_engine(engine):
    from jobs.analytics.frames import shared_analytics

    first = shared_analytics(engine)
    assert shared_analytics(engine) is first


def test_the_bulk_loaders_need_postgresql(sqlite_engine):
    for loader in ("adbc", "copy"):
        with pytest.raises(ValueError):
            AnalyticsData(sqlite_engine, loader=loader)
