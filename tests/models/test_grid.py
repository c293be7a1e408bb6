"""The stock grid's query layer (models.grid) on SQLite and PostgreSQL, with hand-made stock.

The catalogue (two brands, 15 variants, three active warehouses and an inactive one):

    NRD TEE1 "Organic Tee"   Black XS S M L XL   (S out with 2 reserved: a broken run)
    NRD TEE1 "Organic Tee"   White S M L         (4 each: healthy)
    NRD KNT1 "=HYPERLINK…"   "+cmd" M            (formula-looking text for the CSV)
    IND DNM1 "Selvedge 100%_Jean"  Rinse W28..W36 (W30 out: a broken run)
    IND ACC1 "Tote '; DROP TABLE variant; --"  One Size, never stocked (no balance rows)
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy import text as sql

from models import grid
from models.catalog import Product, SkuAlias, Variant, Warehouse, create_brand, create_warehouse
from models.csv_safety import safe_cell
from models.db import read_session, transaction
from models.errors import InvalidQuantity
from models.grid import (
    MAX_PAGE_SIZE,
    SIZE_SYSTEM_ORDER,
    SORT_COLUMNS,
    GridFilter,
    GridOptions,
    Quantities,
    balance_grid,
    core_sizes,
    grid_csv,
    grid_options,
    is_broken_size_run,
    size_run_grid,
)
from models.sizes import normalise_size, size_rank
from models.stock import LedgerReason, change_balance, receive
from tests.factories import make_world

ACTIVE = ("WH1", "WH2", "ST1")
#: (sku, warehouse) → (on hand, reserved, incoming)
STOCK = {
    ("NRD-TEE1-BLK-XS", "WH1"): (5, 0, 0),
    ("NRD-TEE1-BLK-S", "WH1"): (2, 2, 0),
    ("NRD-TEE1-BLK-M", "WH1"): (2, 0, 0),
    ("NRD-TEE1-BLK-M", "OLD"): (50, 0, 0),
    ("NRD-TEE1-BLK-L", "WH1"): (10, 0, 0),
    ("NRD-TEE1-BLK-L", "WH2"): (3, 0, 4),
    ("NRD-TEE1-BLK-XL", "ST1"): (1, 0, 0),
    ("NRD-TEE1-WHT-S", "WH1"): (4, 0, 0),
    ("NRD-TEE1-WHT-M", "WH1"): (4, 0, 0),
    ("NRD-TEE1-WHT-L", "WH1"): (4, 0, 0),
    ("NRD-KNT1-CMD-M", "WH2"): (7, 1, 0),
    ("IND-DNM1-RNS-W28", "WH1"): (1, 0, 0),
    ("IND-DNM1-RNS-W32", "WH2"): (9, 0, 0),
    ("IND-DNM1-RNS-W34", "WH1"): (3, 0, 0),
    ("IND-DNM1-RNS-W34", "ST1"): (3, 0, 0),
    ("IND-DNM1-RNS-W36", "ST1"): (2, 0, 0),
}
HYPERLINK = '=HYPERLINK("http://evil.example","click")'
INJECTION = "'; DROP TABLE variant; --"


@dataclass
class Catalogue:
    brands: dict[str, int]
    warehouses: dict[str, int]
    variants: dict[str, int]
    #: sku → (brand code, product name, colour, size rank, size, product id, size system)
    facts: dict[str, tuple[str, str, str, int, str, int, str]]

    def quantities(self, sku: str, warehouses: tuple[str, ...] = ACTIVE) -> Quantities:
        held = [STOCK.get((sku, code), (0, 0, 0)) for code in warehouses]
        return Quantities(*(sum(column) for column in zip(*held, strict=True)))


def _add_style(session, brand_id, brand, style, name, category, colour, colour_code, sizes):
    product = session.scalar(
        select(Product).where(Product.brand_id == brand_id, Product.style_code == style)
    )
    if product is None:
        product = Product(brand_id=brand_id, style_code=style, name=name, category=category)
        session.add(product)
        session.flush()
    ids = {}
    for label in sizes:
        system, size = normalise_size(label)
        code = "OS" if system.value == "one_size" else size.replace(" ", "")
        variant = Variant(
            product_id=product.id,
            brand_id=brand_id,
            sku=f"{brand}-{style}-{colour_code}-{code}",
            colour=colour,
            size=size,
            size_system=system.value,
            size_rank=size_rank(system, size),
        )
        session.add(variant)
        session.flush()
        ids[variant.sku] = variant.id
    return ids


@pytest.fixture
def cat(engine: Engine) -> Catalogue:
    world = make_world(engine, sizes=("XS", "S", "M", "L", "XL"))
    variants = {f"NRD-TEE1-BLK-{size}": vid for size, vid in world.variants.items()}
    with transaction(engine) as session:
        nrd = world.brand_id
        ind = create_brand(session, "IND", "Indigo Mills").id
        old = create_warehouse(session, "OLD", "Old depot", priority=5)
        old.is_active = False
        warehouses = {**world.warehouses, "OLD": old.id}
        variants |= _add_style(
            session, nrd, "NRD", "TEE1", "", "tops", "White", "WHT", ("S", "M", "L")
        )
        variants |= _add_style(
            session, nrd, "NRD", "KNT1", HYPERLINK, "knitwear", "+cmd", "CMD", ("M",)
        )
        variants |= _add_style(
            session,
            ind,
            "IND",
            "DNM1",
            "Selvedge 100%_Jean",
            "denim",
            "Rinse",
            "RNS",
            ("W28", "W30", "W32", "W34", "W36"),
        )
        variants |= _add_style(
            session,
            ind,
            "IND",
            "ACC1",
            f"Tote {INJECTION}",
            "accessories",
            "Natural",
            "NAT",
            ("One Size",),
        )
        knit = session.get(Variant, variants["NRD-KNT1-CMD-M"])
        knit.barcode = "-2+3"
        session.get(Product, knit.product_id).style_code = "@x"
        session.get(Variant, variants["IND-DNM1-RNS-W32"]).barcode = "4006381333931"
        session.add_all(
            [
                SkuAlias(
                    variant_id=variants["NRD-TEE1-BLK-M"],
                    brand_id=nrd,
                    kind="legacy",
                    code="L-NRD-0042",
                ),
                SkuAlias(
                    variant_id=variants["IND-DNM1-RNS-W30"],
                    brand_id=ind,
                    kind="brand",
                    code="IM-9_9%",
                ),
            ]
        )
        session.flush()
        for (sku, code), (on_hand, reserved, incoming) in STOCK.items():
            variant, warehouse = variants[sku], warehouses[code]
            receive(session, variant, warehouse, on_hand, actor="test")
            if reserved:
                change_balance(
                    session,
                    variant,
                    warehouse,
                    reason=LedgerReason.RESERVE,
                    actor="test",
                    reserved=reserved,
                )
            if incoming:
                change_balance(
                    session,
                    variant,
                    warehouse,
                    reason=LedgerReason.TRANSFER_IN,
                    actor="test",
                    incoming=incoming,
                )
        facts = {
            sku: (brand, name, colour, rank, size, product, system)
            for sku, brand, name, colour, rank, size, product, system in session.execute(
                select(
                    Variant.sku,
                    Product.brand_id,
                    Product.name,
                    Variant.colour,
                    Variant.size_rank,
                    Variant.size,
                    Product.id,
                    Variant.size_system,
                ).join(Product, Product.id == Variant.product_id)
            )
        }
    codes = {nrd: "NRD", ind: "IND"}
    facts = {sku: (codes[f[0]], *f[1:]) for sku, f in facts.items()}
    return Catalogue({"NRD": nrd, "IND": ind}, warehouses, variants, facts)


@pytest.fixture(params=["per-variant", "one-aggregate"])
def summing(request, monkeypatch) -> str:
    """Stock sums both ways: per candidate variant (small sets) and in one aggregate (large)."""
    if request.param == "one-aggregate":
        monkeypatch.setattr(grid, "PER_VARIANT_SHARE", -1.0)
    return request.param


def page(engine: Engine, **kwargs):
    with read_session(engine) as session:
        return balance_grid(session, GridFilter(**kwargs))


def skus(result) -> list[str]:
    return [row.sku for row in result.rows]


def runs(engine: Engine, warehouse_id: int | None = None, **kwargs):
    with read_session(engine) as session:
        return size_run_grid(session, GridFilter(**kwargs), warehouse_id)


# --- the balances view ---------------------------------------------------------------------


def test_default_page_lists_every_variant_with_active_warehouses_and_totals(engine, cat):
    result = page(engine, page_size=100)
    assert result.total_rows == 15 and result.last_page == 1
    assert skus(result) == sorted(cat.variants)
    assert [w.code for w in result.warehouses] == list(ACTIVE)  # priority order, OLD inactive
    rows = {row.sku: row for row in result.rows}
    black_l = rows["NRD-TEE1-BLK-L"]
    assert black_l.stock == (Quantities(10, 0, 0), Quantities(3, 0, 4), Quantities(0, 0, 0))
    assert (black_l.total.on_hand, black_l.total.available, black_l.total.incoming) == (13, 13, 4)
    assert (black_l.brand_code, black_l.product_name, black_l.style_code) == (
        "NRD",
        "Organic Tee",
        "TEE1",
    )
    assert (black_l.category, black_l.colour, black_l.size, black_l.size_system) == (
        "tops",
        "Black",
        "L",
        "alpha",
    )
    black_s = rows["NRD-TEE1-BLK-S"].total
    assert (black_s.on_hand, black_s.reserved, black_s.available) == (2, 2, 0)
    assert rows["NRD-TEE1-BLK-M"].total.on_hand == 2  # the inactive OLD's 50 left out
    assert rows["IND-ACC1-NAT-OS"].stock == (Quantities(),) * 3  # no balance rows at all
    assert rows["IND-DNM1-RNS-W32"].barcode == "4006381333931"


@pytest.mark.parametrize("sort", SORT_COLUMNS)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_sort_column_both_ways_with_sku_as_tie_break(engine, cat, summing, sort, direction):
    """Sizes sort in size order (system, then rank), and a product's variants by colour
    and size order whichever way the products go; SKU breaks what ties remain."""

    def key(sku: str):
        brand, name, colour, rank, size, _product, system = cat.facts[sku]
        if sort in ("on_hand", "reserved", "available", "incoming"):
            return (getattr(cat.quantities(sku), sort),)
        return {
            "sku": (sku,),
            "product": (name,),
            "colour": (colour,),
            "size": (SIZE_SYSTEM_ORDER[system], rank, size),
            "brand": (brand,),
        }[sort]

    def within(sku: str):
        _brand, _name, colour, rank, size, product, system = cat.facts[sku]
        if sort == "product":
            return (product, colour, SIZE_SYSTEM_ORDER[system], rank, size)
        return ()

    expected = sorted(sorted(cat.variants), key=within)
    expected = sorted(expected, key=key, reverse=direction == "desc")
    assert skus(page(engine, sort=sort, direction=direction, page_size=100)) == expected
    # Every page, forwards near the start and backwards near the end, adds up to the same.
    pages = [
        page(engine, sort=sort, direction=direction, page_size=4, page=n) for n in (1, 2, 3, 4)
    ]
    assert [sku for p in pages for sku in skus(p)] == expected
    assert {p.total_rows for p in pages} == {15} and pages[0].last_page == 4


def test_sizes_sort_in_size_order_never_as_text(engine, cat, summing):
    """By size: each size system in its order (alpha, waist, shoes, one size), each size
    by its rank in the system; by product: a style's sizes as a buyer reads them."""
    with transaction(engine) as session:
        shoe = cat.brands["IND"]
        _add_style(session, shoe, "IND", "SHO1", "Court Shoe", "shoes", "Tan", "TAN",
                   ("UK 6", "UK 10", "EU 38", "EU 41"))
    by_size = skus(page(engine, sort="size", page_size=100))
    sizes = [cat_size(engine, sku) for sku in by_size]
    assert sizes == [
        "XS", "S", "S", "M", "M", "M", "L", "L", "XL",
        "W28", "W30", "W32", "W34", "W36",
        "EU 38", "EU 41", "UK 6", "UK 10",
        "One Size",
    ]  # as text: EU 38, EU 41, L, L, M, M, M, One Size, S, S, UK 10, UK 6, W28 …
    descending = skus(page(engine, sort="size", direction="desc", page_size=100))
    assert [cat_size(engine, sku) for sku in descending] == sizes[::-1]
    tees = skus(page(engine, sort="product", search="TEE1", page_size=100))
    assert tees == [
        "NRD-TEE1-BLK-XS", "NRD-TEE1-BLK-S", "NRD-TEE1-BLK-M", "NRD-TEE1-BLK-L",
        "NRD-TEE1-BLK-XL", "NRD-TEE1-WHT-S", "NRD-TEE1-WHT-M", "NRD-TEE1-WHT-L",
    ]  # by SKU text: L, M, S, XL, XS
    shoes = skus(page(engine, sort="product", search="SHO1", direction="desc"))
    assert shoes == ["IND-SHO1-TAN-EU38", "IND-SHO1-TAN-EU41", "IND-SHO1-TAN-UK6",
                     "IND-SHO1-TAN-UK10"]


def cat_size(engine: Engine, sku: str) -> str:
    with read_session(engine) as session:
        return session.scalar(select(Variant.size).where(Variant.sku == sku))


def test_paging_totals_and_a_huge_page(engine, cat):
    last = page(engine, page_size=4, page=4)
    assert (len(last.rows), last.total_rows, last.last_page) == (3, 15, 4)
    for huge in (5, 10**9, 10**30):
        beyond = page(engine, page_size=4, page=huge)
        assert (beyond.rows, beyond.total_rows, beyond.last_page, beyond.page) == ((), 15, 4, huge)
    # Searches and stock states count with the page itself; past the end they count apart.
    for kwargs, total in (({"search": "organic"}, 8), ({"stock_state": "low"}, 4)):
        beyond = page(engine, page_size=4, page=10**9, **kwargs)
        assert (beyond.rows, beyond.total_rows, beyond.last_page) == ((), total, -(-total // 4))
        assert len(page(engine, page_size=4, page=2, **kwargs).rows) == total - 4
    for kwargs, total in (({"search": "tee1"}, 2), ({"stock_state": "out"}, 3), ({}, 5)):
        beyond = runs(engine, page_size=2, page=10**9, **kwargs)
        assert (beyond.rows, beyond.total_rows) == ((), total)
    assert page(engine, page_size=0).page_size == 1
    assert page(engine, page_size=10**6).page_size == MAX_PAGE_SIZE
    empty = page(engine, brand_ids=(999,))
    assert (empty.rows, empty.total_rows, empty.last_page) == ((), 0, 1)


def test_filters_by_brand_category_colour_size_and_warehouse(engine, cat):
    ind = cat.brands["IND"]
    assert skus(page(engine, brand_ids=(ind,))) == sorted(s for s in cat.variants if "IND" in s)
    assert page(engine, brand_ids=(ind, cat.brands["NRD"])).total_rows == 15
    assert skus(page(engine, category="denim")) == [
        f"IND-DNM1-RNS-W{w}" for w in (28, 30, 32, 34, 36)
    ]
    assert skus(page(engine, colour="White")) == [f"NRD-TEE1-WHT-{s}" for s in "LMS"]
    assert skus(page(engine, size="M")) == ["NRD-KNT1-CMD-M", "NRD-TEE1-BLK-M", "NRD-TEE1-WHT-M"]
    assert page(engine, category="tops", colour="White", size="M").total_rows == 1

    wh2 = page(engine, warehouse_ids=(cat.warehouses["WH2"],), sort="incoming", direction="desc")
    assert [w.code for w in wh2.warehouses] == ["WH2"]
    assert wh2.total_rows == 15  # every variant, its WH2 column
    first = wh2.rows[0]
    assert (first.sku, first.total) == ("NRD-TEE1-BLK-L", Quantities(3, 0, 4))
    several = page(engine, warehouse_ids=(cat.warehouses["ST1"], cat.warehouses["WH1"]))
    assert [w.code for w in several.warehouses] == ["WH1", "ST1"]
    old = page(engine, warehouse_ids=(cat.warehouses["OLD"],), sort="on_hand", direction="desc")
    assert (old.rows[0].sku, old.rows[0].total.on_hand) == ("NRD-TEE1-BLK-M", 50)


def test_low_and_out_of_stock_count_across_the_selected_warehouses(engine, cat, summing):
    assert skus(page(engine, stock_state="low")) == [
        "IND-DNM1-RNS-W28",
        "IND-DNM1-RNS-W36",
        "NRD-TEE1-BLK-M",
        "NRD-TEE1-BLK-XL",
    ]
    # BLK-S has 2 on hand but both reserved; ACC1 has no balance rows at all.
    assert skus(page(engine, stock_state="out")) == [
        "IND-ACC1-NAT-OS",
        "IND-DNM1-RNS-W30",
        "NRD-TEE1-BLK-S",
    ]
    wh2 = (cat.warehouses["WH2"],)
    assert skus(page(engine, stock_state="low", warehouse_ids=wh2)) == ["NRD-TEE1-BLK-L"]
    assert page(engine, stock_state="out", warehouse_ids=wh2).total_rows == 12
    assert skus(
        page(engine, stock_state="low", low_threshold=5, brand_ids=(cat.brands["NRD"],))
    ) == [
        "NRD-TEE1-BLK-M",
        "NRD-TEE1-BLK-XL",
        "NRD-TEE1-BLK-XS",
        "NRD-TEE1-WHT-L",
        "NRD-TEE1-WHT-M",
        "NRD-TEE1-WHT-S",
    ]
    low_by_available = page(engine, stock_state="low", sort="available", direction="desc")
    assert [row.total.available for row in low_by_available.rows] == [2, 2, 1, 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tee1-blk", [f"NRD-TEE1-BLK-{s}" for s in ("L", "M", "S", "XL", "XS")]),
        (
            "  ORGANIC  ",
            [
                f"NRD-TEE1-{c}-{s}"
                for c, ss in (("BLK", ("L", "M", "S", "XL", "XS")), ("WHT", ("L", "M", "S")))
                for s in ss
            ],
        ),
        ("dnm1", [f"IND-DNM1-RNS-W{w}" for w in (28, 30, 32, 34, 36)]),  # style code
        ("l-nrd-0042", ["NRD-TEE1-BLK-M"]),  # legacy alias
        ("im-9_9", ["IND-DNM1-RNS-W30"]),  # brand alias
        ("4006381333931", ["IND-DNM1-RNS-W32"]),  # barcode
        ("0063813", ["IND-DNM1-RNS-W32"]),
        ("@x", ["NRD-KNT1-CMD-M"]),
        # LIKE metacharacters are literal: only text that really holds them matches.
        ("%", [f"IND-DNM1-RNS-W{w}" for w in (28, 30, 32, 34, 36)]),
        ("_", [f"IND-DNM1-RNS-W{w}" for w in (28, 30, 32, 34, 36)]),
        ("9_9%", ["IND-DNM1-RNS-W30"]),
        ("0%_j", [f"IND-DNM1-RNS-W{w}" for w in (28, 30, 32, 34, 36)]),
        ("e%j", []),
        ("\\", []),
        ("\\%", []),
        # SQL and regex metacharacters are just text.
        (INJECTION, ["IND-ACC1-NAT-OS"]),
        ("' OR '1'='1", []),
        ('"; --', []),
        ("HYPERLINK(", ["NRD-KNT1-CMD-M"]),
        (".*", []),
        ("^NRD", []),
        ("[A-Z]+", []),
        ("(?i)tee", []),
        (
            "tee1\x00",
            [
                f"NRD-TEE1-{c}-{s}"
                for c, ss in (("BLK", ("L", "M", "S", "XL", "XS")), ("WHT", ("L", "M", "S")))
                for s in ss
            ],
        ),
    ],
)
def test_text_search_is_a_literal_case_insensitive_substring(engine, cat, text, expected):
    result = page(engine, search=text, page_size=100)
    assert skus(result) == expected
    assert result.total_rows == len(expected)
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Variant)) == 15


def test_a_vendor_filter_never_shows_another_brand(engine, cat, summing):
    nrd, ind = cat.brands["NRD"], cat.brands["IND"]
    # IND's alias, barcode and product name are not found from NRD's scope.
    for text in ("IM-9", "4006381333931", "Selvedge", "%", INJECTION):
        result = page(engine, brand_ids=(nrd,), search=text)
        assert (result.rows, result.total_rows) == ((), 0), text
    scoped = page(engine, brand_ids=(ind,), page_size=100)
    assert {row.brand_code for row in scoped.rows} == {"IND"} and scoped.total_rows == 6
    assert skus(page(engine, brand_ids=(ind,), stock_state="out")) == [
        "IND-ACC1-NAT-OS",
        "IND-DNM1-RNS-W30",
    ]
    assert page(engine, brand_ids=(ind,), stock_state="low").total_rows == 2
    by_stock = page(engine, brand_ids=(ind,), sort="available", direction="desc")
    assert by_stock.rows[0].sku == "IND-DNM1-RNS-W32"
    size_runs = runs(engine, brand_ids=(ind,))
    assert [row.brand_code for row in size_runs.rows] == ["IND", "IND"]
    assert size_runs.total_rows == 2
    assert runs(engine, brand_ids=(nrd,), search="IM-9").total_rows == 0
    with read_session(engine) as session:
        text = grid_csv(session, GridFilter(brand_ids=(ind,)))
    assert "NRD" not in text and "Organic" not in text and "HYPERLINK" not in text
    assert len(list(csv.reader(io.StringIO(text)))) == 1 + 6


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sort": "price"}, "sort"),
        ({"sort": "id; DROP TABLE variant"}, "sort"),
        ({"direction": "sideways"}, "direction"),
        ({"stock_state": "maybe"}, "stock_state"),
        ({"page": 0}, "page"),
        ({"page": -3}, "page"),
        ({"page": "2"}, "page"),
        ({"page": True}, "page"),
        ({"page": 1.5}, "page"),
        ({"page_size": "50"}, "page_size"),
        ({"brand_ids": "1"}, "brand_ids"),
        ({"brand_ids": (0,)}, "brand_ids"),
        ({"brand_ids": (2**31,)}, "brand_ids"),
        ({"low_threshold": 10**12}, "low_threshold"),
        ({"warehouse_ids": ("WH1",)}, "warehouse_ids"),
        ({"search": "x" * 101}, "search"),
        ({"search": 42}, "search"),
        ({"colour": ["Black"]}, "colour"),
        ({"low_threshold": 0}, "low_threshold"),
    ],
)
def test_bad_filter_values_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(InvalidQuantity) as raised:
        GridFilter(**kwargs)
    assert raised.value.details["field"] == field
    assert field in str(raised.value)


def test_unknown_warehouses_are_refused(engine, cat):
    with pytest.raises(InvalidQuantity) as raised:
        page(engine, warehouse_ids=(cat.warehouses["WH1"], 9999))
    assert raised.value.details["field"] == "warehouse_ids" and "9999" in str(raised.value)
    with pytest.raises(InvalidQuantity) as raised:
        runs(engine, cat.warehouses["WH2"], warehouse_ids=(cat.warehouses["WH1"],))
    assert raised.value.details["field"] == "warehouse_id"


def test_filters_normalise_and_round_trip_through_url_parameters():
    f = GridFilter(brand_ids=[3, 1, 3], search=" a\tb\x00 ", sort=" Available ", direction="DESC")
    assert (f.brand_ids, f.search, f.sort, f.direction) == ((1, 3), "a b", "available", "desc")
    params = f.to_params()
    assert params == {"brand": "1,3", "q": "a b", "sort": "available", "dir": "desc"}
    assert GridFilter.from_params(params) == f
    assert GridFilter.from_params({}) == GridFilter()
    huge = GridFilter.from_params({"page": "99999999999999999999", "per_page": "20"})
    assert (huge.page, huge.page_size) == (99999999999999999999, 20)
    vendor = GridFilter.from_params({"brand": "1,2"}, brand_ids=(2,))
    assert vendor.brand_ids == (2,)
    for bad, field in (
        ({"brand": "1,x"}, "brand_ids"),
        ({"page": "two"}, "page"),
        ({"warehouse": "1;2"}, "warehouse_ids"),
        ({"sort": "nope"}, "sort"),
    ):
        with pytest.raises(InvalidQuantity) as raised:
            GridFilter.from_params(bad)
        assert raised.value.details["field"] == field


# --- the size-run view ---------------------------------------------------------------------

SIZES = ("XS", "S", "M", "L", "XL", "W28", "W30", "W32", "W34", "W36", "One Size")


def test_size_run_pivots_style_colours_into_size_columns(engine, cat, summing):
    result = runs(engine)
    assert result.total_rows == 5 and result.sizes == SIZES
    rows = {(row.style_code, row.colour): row for row in result.rows}
    assert [(row.style_code, row.colour) for row in result.rows] == [
        ("ACC1", "Natural"),
        ("DNM1", "Rinse"),
        ("@x", "+cmd"),
        ("TEE1", "Black"),
        ("TEE1", "White"),
    ]  # by each style-colour's first SKU
    black = rows["TEE1", "Black"]
    assert black.cells == (5, 0, 2, 13, 1) + (None,) * 6
    assert (black.total_available, black.broken, black.brand_code) == (21, True, "NRD")
    assert rows["TEE1", "White"].cells == (None, 4, 4, 4) + (None,) * 7
    assert not rows["TEE1", "White"].broken
    denim = rows["DNM1", "Rinse"]
    assert denim.cells == (None,) * 5 + (1, 0, 9, 6, 2, None)
    assert denim.broken  # W30 is core and out while W32 and W34 remain
    assert rows["ACC1", "Natural"].cells[-1] == 0 and not rows["ACC1", "Natural"].broken
    assert not rows["@x", "+cmd"].broken


def test_size_run_for_one_warehouse_and_whole_runs_under_variant_filters(engine, cat, summing):
    wh2 = runs(engine, cat.warehouses["WH2"], brand_ids=(cat.brands["NRD"],))
    assert [w.code for w in wh2.warehouses] == ["WH2"]
    rows = {(row.style_code, row.colour): row for row in wh2.rows}
    assert rows["TEE1", "Black"].cells == (0, 0, 0, 3, 0)
    assert rows["TEE1", "Black"].broken
    assert not rows["TEE1", "White"].broken  # nothing left at all is out, not broken
    # Size, search and stock state choose style-colours; each still shows its whole run.
    by_size = runs(engine, size="M")
    assert [(r.style_code, r.colour) for r in by_size.rows] == [
        ("@x", "+cmd"),
        ("TEE1", "Black"),
        ("TEE1", "White"),
    ]
    assert by_size.rows[1].cells[:5] == (5, 0, 2, 13, 1)
    out = runs(engine, stock_state="out")
    assert [(r.style_code, r.colour) for r in out.rows] == [
        ("ACC1", "Natural"),
        ("DNM1", "Rinse"),
        ("TEE1", "Black"),
    ]
    found = runs(engine, search="l-nrd-0042")
    assert [(r.style_code, r.colour) for r in found.rows] == [("TEE1", "Black")]
    assert found.sizes == ("XS", "S", "M", "L", "XL")


def test_size_run_pages_and_sorts_by_style_colour(engine, cat, summing):
    by_stock = runs(engine, sort="available", direction="desc")
    assert [(r.style_code, r.colour, r.total_available) for r in by_stock.rows] == [
        ("TEE1", "Black", 21),
        ("DNM1", "Rinse", 18),
        ("TEE1", "White", 12),
        ("@x", "+cmd", 6),
        ("ACC1", "Natural", 0),
    ]
    order = [(r.style_code, r.colour) for r in runs(engine).rows]
    for sort in ("sku", "available", "product", "brand", "colour"):
        for direction in ("asc", "desc"):
            full = [
                (r.product_id, r.colour) for r in runs(engine, sort=sort, direction=direction).rows
            ]
            paged = [
                (r.product_id, r.colour)
                for n in (1, 2, 3)
                for r in runs(engine, sort=sort, direction=direction, page_size=2, page=n).rows
            ]
            assert paged == full and len(full) == 5
    second = runs(engine, page_size=2, page=2)
    assert [(r.style_code, r.colour) for r in second.rows] == order[2:4]
    assert (second.last_page, second.sizes) == (3, ("XS", "S", "M", "L", "XL"))
    beyond = runs(engine, page_size=2, page=10**12)
    assert (beyond.rows, beyond.sizes, beyond.total_rows, beyond.last_page) == ((), (), 5, 3)


# --- broken size runs (pure) ----------------------------------------------------------------


def run(system: str, **available: int) -> list[tuple[str, str, int, int]]:
    cells = []
    for label, units in available.items():
        label = label.replace("_", " ")
        parsed_system, size = normalise_size(label)
        cells.append((size, system, size_rank(parsed_system, size), units))
    return cells


@pytest.mark.parametrize(
    ("cells", "broken"),
    [
        (run("alpha", S=3, M=2, L=1), False),
        (run("alpha", XS=0, S=3, M=2, L=1, XL=0), False),  # only the edges are out
        (run("alpha", XS=4, S=3, M=0, L=1, XL=2), True),
        (run("alpha", XS=0, S=0, M=0, L=0), False),  # nothing left: out, not broken
        (run("alpha", S=0, M=5, L=5), True),
        (run("alpha", XS=5, XL=0, XXL=5), True),  # no S/M/L: the middle counts
        (run("waist", W28=0, W30=4, W32=4, W34=4, W36=4, W38=4), False),
        (run("waist", W28=4, W30=4, W32=0, W34=4, W36=4, W38=4), True),
        (
            run(
                "eu_shoe",
                **{
                    "EU_38": 0,
                    "EU_39": 1,
                    "EU_40": 2,
                    "EU_41": 2,
                    "EU_42": 2,
                    "EU_43": 2,
                    "EU_44": 2,
                    "EU_45": 1,
                    "EU_46": 0,
                },
            ),
            False,
        ),
        (
            run(
                "eu_shoe",
                **{
                    "EU_38": 1,
                    "EU_39": 1,
                    "EU_40": 2,
                    "EU_41": 2,
                    "EU_42": 0,
                    "EU_43": 2,
                    "EU_44": 2,
                    "EU_45": 1,
                    "EU_46": 1,
                },
            ),
            True,
        ),
        (run("uk_shoe", UK_7=5, UK_8=0, UK_9=5, UK_10=5), True),
        (run("uk_shoe", UK_7=5, UK_8=5, UK_9=5, UK_10=0), False),
        (run("waist", W30=0, W32=5), False),  # too short a run to have a core
        ([("One Size", "one_size", 0, 0)], False),
        ([("One Size", "one_size", 0, 7)], False),
        ([], False),
    ],
)
def test_is_broken_size_run(cells, broken):
    assert is_broken_size_run(cells) is broken


def test_core_sizes_are_the_middle_half_outside_alpha():
    def labels(n):
        return [(f"EU {38 + i}", "eu_shoe", 3800 + 100 * i, 1) for i in range(n)]

    assert core_sizes(labels(4)) == {"EU 39", "EU 40"}
    assert core_sizes(labels(5)) == {"EU 39", "EU 40", "EU 41"}
    assert core_sizes(labels(6)) == {"EU 39", "EU 40", "EU 41", "EU 42"}
    assert core_sizes(labels(9)) == {f"EU {n}" for n in range(40, 45)}
    assert core_sizes(run("alpha", XS=1, S=1, M=1, L=1, XL=1, XXL=1)) == {"S", "M", "L"}
    # Cells arrive in any order; rank decides.
    assert core_sizes(list(reversed(labels(4)))) == {"EU 39", "EU 40"}


# --- CSV export -----------------------------------------------------------------------------


def test_csv_export_neutralises_formulas_and_keeps_numbers(engine, cat, summing):
    with transaction(engine) as session:
        create_warehouse(session, "-X9", "Formula-looking code", priority=99)
    with read_session(engine) as session:
        text = grid_csv(session, GridFilter(sort="available", direction="desc"))
    table = list(csv.reader(io.StringIO(text)))
    header, rows = table[0], table[1:]
    assert header[:8] == [
        "SKU",
        "Brand",
        "Product",
        "Style",
        "Category",
        "Colour",
        "Size",
        "Barcode",
    ]
    assert "'-X9 available" in header and "Total available" in header
    assert len(rows) == 15
    assert rows[0][0] == "NRD-TEE1-BLK-L"
    knit = next(row for row in rows if row[0] == "NRD-KNT1-CMD-M")
    assert knit[2] == "'" + HYPERLINK
    assert (knit[3], knit[5], knit[7]) == ("'@x", "'+cmd", "'-2+3")
    record = dict(zip(header, knit, strict=True))
    assert (record["WH2 on hand"], record["WH2 reserved"], record["WH2 available"]) == (
        "7",
        "1",
        "6",
    )
    assert record["Total available"] == "6"
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in table for cell in row
    )


def test_csv_export_refuses_more_rows_than_allowed(engine, cat, summing):
    with read_session(engine) as session, pytest.raises(InvalidQuantity) as raised:
        grid_csv(session, GridFilter(), max_rows=14)
    assert raised.value.details["field"] == "filter" and "15" in str(raised.value)
    with read_session(engine) as session:
        only_low = grid_csv(session, GridFilter(stock_state="low"), max_rows=4)
    assert len(only_low.strip().splitlines()) == 5


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd", "'+cmd"),
        ("@x", "'@x"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (-3, "-3"),
        (0, "0"),
        (None, ""),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_stock_pages_turn_jit_off_for_their_own_transaction_only(pg_engine):
    make_world(pg_engine)
    with read_session(pg_engine) as session:
        balance_grid(session, GridFilter(search="tee"))
        assert session.execute(sql("SHOW jit")).scalar_one() == "on"
        balance_grid(session, GridFilter(stock_state="low"))
        assert session.execute(sql("SHOW jit")).scalar_one() == "off"
    with read_session(pg_engine) as session:
        assert session.execute(sql("SHOW jit")).scalar_one() == "on"


def test_filter_choices_come_from_the_brands_in_scope(engine, cat):
    with read_session(engine) as session:
        everything = grid_options(session)
        vendor = grid_options(session, (cat.brands["IND"],))
    assert everything.categories == ("accessories", "denim", "knitwear", "tops")
    assert everything.colours == ("+cmd", "Black", "Natural", "Rinse", "White")
    assert everything.sizes == SIZES
    assert vendor == GridOptions(
        categories=("accessories", "denim"),
        colours=("Natural", "Rinse"),
        sizes=("W28", "W30", "W32", "W34", "W36", "One Size"),
    )


def test_inactive_warehouse_only_when_chosen(engine, cat):
    with read_session(engine) as session:
        assert session.get(Warehouse, cat.warehouses["OLD"]).is_active is False
    chosen = page(engine, warehouse_ids=(cat.warehouses["OLD"], cat.warehouses["WH1"]))
    assert [w.code for w in chosen.warehouses] == ["OLD", "WH1"]
