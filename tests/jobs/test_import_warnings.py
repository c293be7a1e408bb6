"""Dry-run warnings: a file for another brand, generated SKUs, no colour or size.

Warnings leave the plan valid, but an apply needs `accept_warnings=True`; without it
nothing at all is written (not even a history row).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from jobs.imports import ImportOptions, apply_import, dry_run
from models.db import set_default_engine
from tests.import_support import (
    PRODUCT_HEADERS,
    SAMPLE,
    csv_bytes,
    product_row,
    setup_brand,
    snapshot,
)


@pytest.fixture
def ids(engine: Engine):
    set_default_engine(engine)
    yield setup_brand(engine)  # brand NRD, name "Nrd"
    set_default_engine(None)


def options(**kw) -> ImportOptions:
    base = {"brand_code": "NRD", "warehouse_code": "WH1", "file_name": "apparel.csv"}
    return ImportOptions(**(base | kw))


def test_the_sample_imported_into_another_brand_warns_and_needs_a_confirmation(engine, ids):
    before = snapshot(engine)
    planned = dry_run(SAMPLE.read_bytes(), options())
    assert planned.status == "dry_run" and planned.ok and not planned.errors
    by_kind = {w.kind: w for w in planned.warnings}
    assert set(by_kind) == {"vendor", "generated_skus", "missing_colour", "missing_size"}

    vendor = by_kind["vendor"]
    assert vendor.count == 22 and vendor.examples == ["partners-demo"]
    assert vendor.rows[:3] == [2, 3, 4]
    assert "names another brand than NRD (Nrd): 'partners-demo' (22 rows)" in vendor.message

    skus = by_kind["generated_skus"]
    assert skus.count == 22 and skus.examples[:2] == ["Ocean Blue Shirt", "Classic Varsity Top"]
    assert "SKUs will be generated" in skus.message and "Variant SKU is blank" in skus.message
    assert by_kind["missing_colour"].count == 22
    sizes = by_kind["missing_size"]  # every product but the varsity top (S/M/L)
    assert sizes.count == 19 and "Classic Varsity Top" not in sizes.examples
    assert "applying needs an explicit confirmation" in planned.message

    # The diff names products by title, not by Shopify handle.
    first = planned.sample[0]
    assert (first.title, first.style, first.sku) == (
        "Ocean Blue Shirt",
        "ocean-blue-shirt",
        "NRD-OCEAN-BLUE-SHIRT-OS",
    )

    refused = apply_import(SAMPLE.read_bytes(), options())
    assert refused.status == "refused" and refused.import_id is None
    assert "4 warning(s) to check first" in refused.message
    assert "'partners-demo'" in refused.message and "SKUs will be generated" in refused.message
    assert snapshot(engine) == before  # nothing written, not even the history

    applied = apply_import(SAMPLE.read_bytes(), options(accept_warnings=True))
    assert applied.status == "applied" and applied.counts.new_products == 20
    assert {w.kind for w in applied.warnings} == {
        "vendor",
        "generated_skus",
        "missing_colour",
        "missing_size",
    }


def test_a_file_of_this_brand_with_skus_colours_and_sizes_has_no_warnings(engine, ids):
    rows = [
        product_row("tee", "Tee", [("Colour", "Navy"), ("Size", "M")], "T-NAVY-M", 3, vendor="nrd"),
        product_row("tee", "", [("Colour", "Navy"), ("Size", "L")], "T-NAVY-L", 2),
    ]
    data = csv_bytes(PRODUCT_HEADERS, rows)
    planned = dry_run(data, options())
    assert planned.warnings == [] and planned.message == ""
    assert [d.title for d in planned.sample] == ["Tee", "Tee"]
    assert apply_import(data, options()).status == "applied"


def test_missing_sizes_and_generated_skus_name_their_rows_and_products(engine, ids):
    rows = [
        product_row("scarf", "Wool Scarf", [("Colour", "Red")], "", 1, vendor="Nrd"),
        product_row("scarf", "", [("Colour", "Blue")], "SC-B", 1),
        product_row("cap", "Cap", [("Colour", "Red"), ("Size", "M")], "", 1, vendor="Nrd"),
    ]
    planned = dry_run(csv_bytes(PRODUCT_HEADERS, rows), options())
    by_kind = {w.kind: w for w in planned.warnings}
    assert set(by_kind) == {"generated_skus", "missing_size"}
    assert (by_kind["generated_skus"].count, by_kind["generated_skus"].rows) == (2, [2, 4])
    assert by_kind["generated_skus"].examples == ["Wool Scarf", "Cap"]
    assert (by_kind["missing_size"].count, by_kind["missing_size"].rows) == (2, [2, 3])
    assert by_kind["missing_size"].examples == ["Wool Scarf"]
