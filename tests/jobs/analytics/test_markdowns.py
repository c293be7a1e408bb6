"""Markdown suggestions (`jobs.analytics.markdowns`) against answers worked out by hand.

Most tests build the frames by hand (the function is pure over them): one variant per
style-colour unless said, in warehouse 1, as of AS_OF with the default 8-week window,
so a style-colour that sold 8 units sells 1 a week and its cover is its units on hand.
The last tests load the first receipt through `AnalyticsData` on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import insert

from jobs.analytics import markdowns as md
from jobs.analytics.frames import (
    BALANCE_SCHEMA,
    BRAND_SCHEMA,
    RECEIPT_SCHEMA,
    SALES_SCHEMA,
    VARIANT_SCHEMA,
    WAREHOUSE_SCHEMA,
    AnalyticsData,
    Frames,
    label_frames,
)
from jobs.analytics.metrics import Filters
from models.db import transaction
from models.errors import InvalidQuantity, PermissionDenied
from models.stock import LedgerEntry, StockBalance, receive
from tests.factories import make_world

AS_OF = date(2026, 6, 30)
BRANDS = {1: "NRD", 2: "OTH"}


def at(days_before: int) -> datetime:
    day = AS_OF - timedelta(days=days_before)
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@dataclass
class Style:
    """A style-colour: its units on hand, units sold `sold_days_ago` (default: 1 day),
    and the days since each variant's receipt (None: never received)."""

    style: str
    on_hand: int
    sold: int = 0
    received: tuple[int | None, ...] = (200,)
    colour: str = "Black"
    brand_id: int = 1
    category: str = "Tops"
    sold_days_ago: int = 1
    reserved: int = 0
    #: The warehouse of each variant's receipt (default: warehouse 1).
    receipt_warehouses: tuple[int, ...] = field(default_factory=tuple)


def frames_of(*styles: Style) -> Frames:
    variants, stock, sales, receipts = [], [], [], []
    products: dict[str, int] = {}
    for spec in styles:
        product_id = products.setdefault(spec.style, len(products) + 1)
        for n, received in enumerate(spec.received):
            variant_id = len(variants) + 1
            variants.append((variant_id, product_id, spec.brand_id,
                             f"{spec.style}-{spec.colour}-{n}", spec.colour, str(n), "alpha",
                             n, spec.style, f"{spec.style} name", spec.category))
            on_hand = spec.on_hand if n == 0 else 0
            stock.append((variant_id, 1, on_hand, spec.reserved if n == 0 else 0, 0,
                          spec.brand_id, product_id))
            if n == 0 and spec.sold:
                sales.append((len(sales) + 1, variant_id, 1, spec.sold,
                              at(spec.sold_days_ago), spec.brand_id, product_id))
            if received is not None:
                warehouse = spec.receipt_warehouses[n] if spec.receipt_warehouses else 1
                receipts.append((variant_id, warehouse, at(received), at(received)))
    key_schema = {"brand_id": pl.Int32, "product_id": pl.Int32}
    variant_frame = pl.DataFrame(variants, schema=VARIANT_SCHEMA, orient="row")
    brand_frame = pl.DataFrame([(i, code, code.title()) for i, code in BRANDS.items()],
                               schema=BRAND_SCHEMA, orient="row")
    balance_schema = {k: v for k, v in BALANCE_SCHEMA.items() if k != "updated_at"}
    return Frames(
        sales=pl.DataFrame(sales, schema={**SALES_SCHEMA, **key_schema}, orient="row"),
        stock=pl.DataFrame(stock, schema={**balance_schema, **key_schema}, orient="row"),
        receipts=pl.DataFrame(receipts, schema=RECEIPT_SCHEMA, orient="row"),
        variants=variant_frame,
        brands=brand_frame,
        warehouses=pl.DataFrame([(1, "WH1", "One"), (2, "WH2", "Two")],
                                schema=WAREHOUSE_SCHEMA, orient="row"),
        refreshed_at=at(0),
        **label_frames(variant_frame, brand_frame),
    )


def suggest(*styles: Style, scope: int | None = None, **filters) -> pl.DataFrame:
    return md.markdown_suggestions(frames_of(*styles), Filters(end=AS_OF, **filters),
                                   brand_scope=scope)


def one(style: Style) -> dict:
    table = suggest(style)
    assert table.height == 1
    return table.row(0, named=True)


# --- the rule table, at each boundary ----------------------------------------------------


@pytest.mark.parametrize(
    ("age", "cover", "tier"),
    [
        (120, 26, 50), (119, 26, 30), (120, 25, 30),
        (90, 16, 30), (89, 16, 20), (90, 15, 20),
        (60, 10, 20), (59, 10, 0), (60, 9, 0),
        (400, 9, 0), (30, 500, 0),
    ],
)
def test_each_tier_starts_at_its_age_and_cover(age: int, cover: int, tier: int) -> None:
    row = one(Style("TEE", on_hand=cover, sold=8, received=(age,)))
    assert (row["age_days"], row["weeks_of_cover"], row["tier"]) == (age, cover, tier)
    rule = next((r for r in md.RULES if r.tier == tier), None)
    assert row["reason"] == (rule.reason if rule else md.NO_RULE)


def test_the_figures_of_one_style_colour() -> None:
    row = one(Style("TEE", on_hand=30, sold=8, received=(125,), reserved=4))
    assert row["on_hand"] == 30 and row["available"] == 26 and row["units_sold"] == 8
    assert row["weekly_sales"] == pytest.approx(1.0)
    assert row["weeks_of_cover"] == pytest.approx(30.0)
    assert row["sell_through"] == pytest.approx(8 / 38)
    assert row["first_receipt_at"] == at(125) and row["age_days"] == 125
    assert row["tier"] == 50 and row["reason"] == "120+ days old, 26+ weeks of cover"
    # A 50 % markdown sells 4× as many (elasticity −2): 32 of the 38 units offered.
    assert row["projected_sell_through"] == pytest.approx(32 / 38)
    assert (row["brand"], row["style_code"], row["product"], row["colour"],
            row["category"]) == ("NRD", "TEE", "TEE name", "Black", "Tops")


def test_the_projection_lifts_by_the_tier_and_caps_at_everything() -> None:
    lifts = {0: 1.0, 20: 1.5625, 30: 1 / 0.49, 50: 4.0}
    assert pytest.approx(lifts) == md.LIFT
    tier0 = one(Style("TEE", on_hand=8, sold=8, received=(10,)))
    assert tier0["tier"] == 0 and tier0["projected_sell_through"] == tier0["sell_through"]
    capped = one(Style("TEE", on_hand=10, sold=2, received=(61,)))  # 40 weeks' cover
    assert capped["tier"] == 20
    assert capped["projected_sell_through"] == pytest.approx(2 * 1.5625 / 12)
    # Over a year's window the same cover is a higher sell-through: 4× of it is past all.
    table = md.markdown_suggestions(
        frames_of(Style("TEE", on_hand=26, sold=52, received=(200,))), Filters(end=AS_OF),
        brand_scope=None, weeks=52,
    )
    assert table.select("weeks_of_cover", "tier").rows() == [(pytest.approx(26.0), 50)]
    assert table["sell_through"][0] == pytest.approx(52 / 78)
    assert table["projected_sell_through"][0] == 1.0


def test_no_sales_is_endless_cover_and_projects_nothing() -> None:
    for age, tier in ((60, 20), (90, 30), (120, 50), (59, 0)):
        row = one(Style("TEE", on_hand=1, received=(age,)))
        assert row["weeks_of_cover"] is None and row["units_sold"] == 0, age
        assert row["tier"] == tier and row["sell_through"] == 0.0, age
        assert row["projected_sell_through"] == 0.0, age
    # Sales before the window, and returns outweighing sales, leave it without sales.
    old = one(Style("TEE", on_hand=5, sold=3, sold_days_ago=57, received=(200,)))
    assert old["units_sold"] == 0 and old["weeks_of_cover"] is None and old["tier"] == 50
    returned = one(Style("TEE", on_hand=5, sold=-2, received=(200,)))
    assert returned["units_sold"] == -2 and returned["weeks_of_cover"] is None
    assert returned["sell_through"] == 0.0 and returned["tier"] == 50
    # 8 weeks: a sale 55 days ago counts.
    assert one(Style("TEE", on_hand=5, sold=3, sold_days_ago=55, received=(200,)))[
        "units_sold"] == 3


def test_without_a_receipt_there_is_no_age_and_no_markdown() -> None:
    row = one(Style("TEE", on_hand=100, received=(None,)))
    assert row["age_days"] is None and row["first_receipt_at"] is None
    assert row["tier"] == 0 and row["reason"] == md.NO_RECEIPT
    # A receipt after the end day does not count either.
    table = md.markdown_suggestions(frames_of(Style("TEE", on_hand=3, received=(5,))),
                                    Filters(end=AS_OF - timedelta(days=10)), brand_scope=None)
    assert table["age_days"].to_list() == [None]


def test_age_is_from_the_first_receipt_of_any_variant_in_any_warehouse() -> None:
    row = one(Style("TEE", on_hand=40, sold=8, received=(30, 130, None),
                    receipt_warehouses=(1, 2, 1)))
    assert row["age_days"] == 130 and row["tier"] == 50
    # Another colour of the same style is its own row, with its own age.
    table = suggest(Style("TEE", on_hand=40, sold=8, received=(130,)),
                    Style("TEE", on_hand=40, sold=8, received=(30,), colour="Ecru"))
    assert table.select("colour", "age_days", "tier").rows() == [
        ("Black", 130, 50), ("Ecru", 30, 0)]


def test_only_style_colours_with_stock_on_hand_are_listed() -> None:
    table = suggest(Style("GONE", on_hand=0, sold=8), Style("KEPT", on_hand=1, sold=8))
    assert table["style_code"].to_list() == ["KEPT"]


def test_sorted_by_tier_then_cover_no_sales_first() -> None:
    table = suggest(
        Style("A", on_hand=12, sold=8, received=(70,)),    # 20 %, 12 weeks
        Style("B", on_hand=30, sold=8, received=(130,)),   # 50 %, 30 weeks
        Style("C", on_hand=11, sold=8, received=(70,)),    # 20 %, 11 weeks
        Style("D", on_hand=3, received=(70,)),             # 20 %, no sales
        Style("E", on_hand=5, sold=8, received=(10,)),     # 0 %
        Style("F", on_hand=20, sold=8, received=(95,)),    # 30 %, 20 weeks
    )
    assert table["style_code"].to_list() == ["B", "F", "D", "A", "C", "E"]


# --- filters and scope -------------------------------------------------------------------


def shop() -> tuple[Style, ...]:
    return (
        Style("TEE", on_hand=10, category="Tops"),
        Style("JEAN", on_hand=10, category="Denim"),
        Style("KNIT", on_hand=10, brand_id=2, category="Tops"),
    )


def test_brand_and_category_filters() -> None:
    assert set(suggest(*shop())["style_code"]) == {"TEE", "JEAN", "KNIT"}
    assert set(suggest(*shop(), brand_id=1)["style_code"]) == {"TEE", "JEAN"}
    assert set(suggest(*shop(), category="tops ")["style_code"]) == {"TEE", "KNIT"}
    assert suggest(*shop(), brand_id=2, category="Tops")["style_code"].to_list() == ["KNIT"]
    assert suggest(*shop(), brand_id=2, category="Denim").is_empty()


def test_a_vendor_sees_only_their_brand() -> None:
    assert set(suggest(*shop(), scope=2)["brand"]) == {"OTH"}
    assert suggest(*shop(), scope=2, brand_id=2)["style_code"].to_list() == ["KNIT"]
    with pytest.raises(PermissionDenied):
        suggest(*shop(), scope=2, brand_id=1)


def test_the_window_is_checked() -> None:
    for weeks in (0, 53):
        with pytest.raises(InvalidQuantity) as refused:
            md.markdown_suggestions(frames_of(*shop()), Filters(end=AS_OF), brand_scope=None,
                                    weeks=weeks)
        assert refused.value.details["field"] == "weeks" and str(weeks) in refused.value.message


def test_the_export_frame_reads_as_a_person_would() -> None:
    table = md.export_frame(suggest(Style("TEE", on_hand=30, sold=8, received=(125,)),
                                    Style("OLD", on_hand=3, received=(None,))))
    assert table.columns[:4] == ["brand", "style_code", "product", "colour"]
    assert table.select("style_code", "weeks_of_cover", "markdown", "age_days").rows() == [
        ("TEE", "30.0", "50 %", 125), ("OLD", md.NO_SALES, "0 %", None)]


# --- the first receipt, loaded and refreshed from the database ------------------------------


def test_the_first_receipt_is_loaded_and_kept_through_refreshes(engine) -> None:
    world = make_world(engine)
    v, wh1, wh2 = world.variants, world.warehouses["WH1"], world.warehouses["WH2"]
    with transaction(engine) as session:
        session.execute(insert(StockBalance.__table__), [
            {"variant_id": v["M"], "warehouse_id": wh1, "on_hand": 30, "reserved": 0,
             "incoming": 0, "updated_at": at(0)},
        ])
        session.execute(insert(LedgerEntry.__table__), [
            {"variant_id": var, "warehouse_id": w, "on_hand_delta": 1, "reserved_delta": 0,
             "incoming_delta": 0, "reason": reason, "actor": "test", "created_at": at(d)}
            for var, w, reason, d in ((v["M"], wh1, "receipt", 40), (v["S"], wh2, "transfer_in",
                                      150), (v["L"], wh1, "count", 400))
        ])
    data = AnalyticsData(engine, max_staleness=0)
    table = md.markdown_suggestions(data.frames(), Filters(end=AS_OF), brand_scope=None)
    assert table.select("style_code", "on_hand", "age_days", "tier").rows() == [
        ("TEE1", 30, 150, 50)]
    with transaction(engine) as session:
        receive(session, v["S"], wh2, 2, actor="test")  # today: a newer receipt
    frames = data.frames()
    s = frames.receipts.filter(pl.col("variant_id") == v["S"])
    assert s["first_receipt_at"].to_list() == [at(150)]
    assert s["last_receipt_at"][0] > at(1)
    table = md.markdown_suggestions(frames, Filters(end=AS_OF), brand_scope=None)
    assert table.select("on_hand", "age_days").rows() == [(32, 150)]
