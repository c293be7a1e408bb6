"""The importer against real databases (SQLite and PostgreSQL): formats, checks, dry run, apply."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine, func, select

from jobs.imports import (
    ImportOptions,
    MappingSpec,
    apply_import,
    dry_run,
    errors_csv,
    import_errors,
    list_imports,
    save_mapping,
)
from models.catalog import Product, SkuAlias, Variant
from models.db import read_session, set_default_engine, transaction
from models.imports import ImportRun
from models.reservations import reserve
from models.stock import LedgerEntry, StockBalance, get_balance, receive, reconcile
from tests.import_support import (
    INVENTORY_HEADERS,
    PRODUCT_HEADERS,
    SAMPLE,
    csv_bytes,
    inventory_row,
    product_row,
    setup_brand,
    snapshot,
)


@pytest.fixture
def ids(engine: Engine):
    """The brand and warehouses; the importer's default engine is the test's."""
    set_default_engine(engine)
    yield setup_brand(engine)
    set_default_engine(None)


def options(**kw) -> ImportOptions:
    base = {
        "brand_code": "NRD",
        "warehouse_code": "WH1",
        "file_name": "feed.csv",
        "actor": "vendor@nrd",
        # Most files here create variants without a colour: their warnings are tested
        # on their own (test_import_warnings.py).
        "accept_warnings": True,
    }
    return ImportOptions(**(base | kw))


def variants(engine: Engine) -> dict[str, tuple[str, str, str]]:
    """sku → (style, colour, size) of every variant."""
    with read_session(engine) as session:
        rows = session.execute(
            select(Variant.sku, Product.style_code, Variant.colour, Variant.size).join(
                Product, Product.id == Variant.product_id
            )
        )
        return {sku: (style, colour, size) for sku, style, colour, size in rows}


def on_hand(engine: Engine) -> dict[tuple[str, int], int]:
    with read_session(engine) as session:
        rows = session.execute(
            select(Variant.sku, StockBalance.warehouse_id, StockBalance.on_hand).join(
                Variant, Variant.id == StockBalance.variant_id
            )
        )
        return {(sku, wh): qty for sku, wh, qty in rows}


def ledger(engine: Engine) -> list[LedgerEntry]:
    with read_session(engine) as session:
        return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))


def without_history(tables: dict[str, list]) -> dict[str, list]:
    return {name: rows for name, rows in tables.items() if name != "import_run"}


def assert_reconciled(engine: Engine) -> None:
    with read_session(engine) as session:
        assert reconcile(session) == []


# --- the real sample --------------------------------------------------------------------


def test_the_real_shopify_sample_dry_run_then_apply_then_reapply(engine, ids):
    data = SAMPLE.read_bytes()
    before = snapshot(engine)
    planned = dry_run(data, options(file_name="apparel.csv"))
    assert planned.status == "dry_run" and planned.ok and planned.errors == []
    c = planned.counts
    assert (c.rows, c.new_products, c.new_variants, c.changed_balances, c.unchanged) == (
        22,
        20,
        22,
        22,
        0,
    )
    assert snapshot(engine) == before  # a dry run writes nothing, not even history

    first = planned.sample[1]
    assert (first.row, first.sku, first.size, first.warehouse) == (
        3,
        "NRD-CLASSIC-VARSITY-TOP-S",
        "S",
        "WH1",
    )
    assert (first.old_on_hand, first.new_on_hand, first.delta) == (0, 1, 1)

    applied = apply_import(data, options(file_name="apparel.csv"))
    assert applied.status == "applied", applied.message
    assert applied.counts.new_variants == 22 and applied.import_id is not None
    catalogue = variants(engine)
    assert catalogue["NRD-CLASSIC-VARSITY-TOP-M"] == ("classic-varsity-top", "", "M")
    assert catalogue["NRD-OCEAN-BLUE-SHIRT-OS"] == ("ocean-blue-shirt", "", "One Size")
    assert len(catalogue) == 22
    with read_session(engine) as session:
        names = set(session.scalars(select(Product.name)))
        vendor = session.scalar(
            select(Product.attributes).where(Product.style_code == "zipped-jacket")
        )
    assert "Classic Varsity Top" in names and vendor["vendor"] == "partners-demo"
    rows = ledger(engine)
    assert len(rows) == 22
    assert {(r.reason, r.reference, r.actor, r.on_hand_delta) for r in rows} == {
        ("import", f"import:{applied.import_id}", "vendor@nrd", 1)
    }
    assert_reconciled(engine)

    after_first = snapshot(engine)
    again = apply_import(data, options(file_name="apparel-again.csv"))
    assert again.status == "already_applied" and again.ok
    assert again.already_applied_as == applied.import_id
    assert f"already applied as import {applied.import_id}" in again.summary()
    assert snapshot(engine) == after_first
    rerun = dry_run(data, options())
    assert rerun.already_applied_as == applied.import_id
    assert rerun.counts.new_variants == 0 and rerun.counts.unchanged == 22


def test_generated_skus_are_stable_when_the_same_products_come_again(engine, ids):
    rows = [
        product_row("tee", "Tee", [("Size", "Small"), ("Color", "navy")], qty=3),
        product_row("tee", "", [("", "Medium"), ("", "navy")], qty=4),
    ]
    assert apply_import(csv_bytes(PRODUCT_HEADERS, rows), options()).status == "applied"
    skus = set(variants(engine))
    assert skus == {"NRD-TEE-NAVY-S", "NRD-TEE-NAVY-M"}
    # A new export of the same products: other counts, labels spelled differently.
    rows = [
        product_row("tee", "Tee", [("Colour", "NAVY "), ("Size", "S")], qty=5),
        product_row("tee", "", [("", "Navy"), ("", "med")], qty=4),
        product_row("tee", "", [("", "Navy"), ("", "L")], qty=1),
    ]
    result = apply_import(csv_bytes(PRODUCT_HEADERS, rows), options())
    assert result.status == "applied"
    c = result.counts
    assert (c.new_products, c.new_variants, c.changed_balances, c.unchanged) == (0, 1, 2, 1)
    assert set(variants(engine)) == {"NRD-TEE-NAVY-S", "NRD-TEE-NAVY-M", "NRD-TEE-NAVY-L"}
    assert on_hand(engine) == {
        ("NRD-TEE-NAVY-S", ids["WH1"]): 5,
        ("NRD-TEE-NAVY-M", ids["WH1"]): 4,
        ("NRD-TEE-NAVY-L", ids["WH1"]): 1,
    }
    assert [r.on_hand_delta for r in ledger(engine)] == [3, 4, 2, 1]
    assert_reconciled(engine)


def test_brand_skus_become_aliases_and_find_their_variants_next_time(engine, ids):
    rows = [
        product_row("jean", "Jean", [("Size", "32/34"), ("Colour", "indigo")], sku="IM-1", qty=2),
        product_row("jean", "", [("", "W30 L32"), ("", "INDIGO")], sku="IM-2", qty=1),
    ]
    result = apply_import(csv_bytes(PRODUCT_HEADERS, rows), options())
    assert result.counts.new_aliases == 2
    with read_session(engine) as session:
        aliases = {
            code: (kind, sku)
            for code, kind, sku in session.execute(
                select(SkuAlias.code, SkuAlias.kind, Variant.sku).join(
                    Variant, Variant.id == SkuAlias.variant_id
                )
            )
        }
    assert aliases == {
        "IM-1": ("shopify", "NRD-JEAN-INDIGO-W32L34"),
        "IM-2": ("shopify", "NRD-JEAN-INDIGO-W30L32"),
    }
    # The inventory export names them by SKU only; locations by code or by name.
    inventory = csv_bytes(
        INVENTORY_HEADERS,
        [
            inventory_row("jean", [], "IM-1", "Main warehouse", 7),
            inventory_row("jean", [], "IM-2", "st1", 4),
            inventory_row("jean", [], "IM-2", "WH1", "not stocked"),
        ],
    )
    result = apply_import(inventory, options(warehouse_code=None))
    assert result.status == "applied", result.message
    assert result.format == "shopify-inventory"
    assert (result.counts.changed_balances, result.counts.no_quantity) == (2, 1)
    assert on_hand(engine) == {
        ("NRD-JEAN-INDIGO-W32L34", ids["WH1"]): 7,
        ("NRD-JEAN-INDIGO-W30L32", ids["WH1"]): 1,
        ("NRD-JEAN-INDIGO-W30L32", ids["ST1"]): 4,
    }
    assert_reconciled(engine)


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("utf-8", ",", True), ("cp1252", ";", False), ("utf-8", "\t", False)],
)
def test_encodings_and_delimiters_end_in_the_same_catalogue(engine, ids, encoding, delimiter, bom):
    rows = [
        product_row("tee", 'Tee, "organic"\nline two', [("Colour", "café"), ("Size", "M")], qty=2),
        product_row("tee", "", [("", "Café"), ("", "Large")], qty=3),
    ]
    data = csv_bytes(PRODUCT_HEADERS, rows, delimiter=delimiter, encoding=encoding)
    data = (b"\xef\xbb\xbf" if bom else b"") + data
    result = apply_import(data, options())
    assert result.status == "applied", result.message
    assert set(variants(engine)) == {"NRD-TEE-CAFE-M", "NRD-TEE-CAFE-L"}
    assert variants(engine)["NRD-TEE-CAFE-M"] == ("tee", "Café", "M")
    with read_session(engine) as session:
        assert session.scalar(select(Product.name)) == 'Tee, "organic"\nline two'


def test_formula_cells_are_stored_as_plain_text_and_exported_inert(engine, ids):
    formula = '=HYPERLINK("http://evil.example/x","Click")'
    rows = [
        product_row("tee", formula, [("Size", "M")], qty=1),
        product_row("tee", "", [("", "L")], qty="=1+1"),
    ]
    result = apply_import(csv_bytes(PRODUCT_HEADERS, rows), options(skip_invalid=True))
    assert result.status == "applied"
    with read_session(engine) as session:
        assert session.scalar(select(Product.name)) == formula
    [error] = result.errors
    assert (error.row, error.column, error.value) == (3, "Variant Inventory Qty", "=1+1")
    exported = list(csv.reader(io.StringIO(errors_csv(result.errors))))
    assert exported[1] == ["3", "Variant Inventory Qty", "'=1+1", "quantity is not a number"]


# --- every validation error ---------------------------------------------------------------


def test_every_validation_error_names_row_column_value_and_reason(engine, ids):
    with transaction(engine) as session:  # another brand owns OTH-TEE-BLK-M
        from models.catalog import create_brand

        other = create_brand(session, "OTH", "Other")
        product = Product(brand_id=other.id, style_code="TEE", name="Tee")
        session.add(product)
        session.flush()
        session.add(
            Variant(
                product_id=product.id,
                brand_id=other.id,
                sku="OTH-TEE-BLK-M",
                colour="Black",
                size="M",
            )
        )
    rows = [
        inventory_row("tee", [("Size", "M"), ("Color", "Black")], "A1", "WH1", 5),  # 2: fine
        inventory_row("tee", [("Size", "L"), ("Color", "Black")], "A2", "Atlantis", 1),  # 3
        inventory_row("tee", [("Size", ""), ("Color", "Black")], "A3", "WH1", 1),  # 4
        inventory_row("tee", [("Size", "XL"), ("Color", "")], "A4", "WH1", 1),  # 5
        inventory_row("tee", [("Size", "S"), ("Color", "Black")], "A5", "WH1", -2),  # 6
        inventory_row("tee", [("Size", "XS"), ("Color", "Black")], "A6", "WH1", "2.5"),  # 7
        inventory_row("tee", [("Size", "XXL"), ("Color", "Black")], "A7", "WH1", 3),  # 8
        inventory_row("tee", [("Size", "XXL"), ("Color", "Black")], "A7", "WH1", 4),  # 9
        inventory_row("", [], "OTH-TEE-BLK-M", "WH1", 4),  # 10
        inventory_row("", [], "NOPE-1", "WH1", 4),  # 11
        inventory_row("tee", [("Size", "M"), ("Color", "Black")], "A1", "ST1", 2),  # 12: fine
    ]
    data = csv_bytes(INVENTORY_HEADERS, rows)
    before = snapshot(engine)
    result = dry_run(data, options(warehouse_code=None))
    found = {(e.row, e.column, e.value, e.reason) for e in result.errors}
    assert found == {
        (3, "Location", "Atlantis", "unknown location: no warehouse has this code or name"),
        (4, "Option1 Value", "", "size is missing, but this product has variants by size"),
        (5, "Option2 Value", "", "colour is missing, but this product has variants by colour"),
        (6, "On hand", "-2", "quantity cannot be negative"),
        (7, "On hand", "2.5", "quantity must be a whole number"),
        (8, "On hand", "3", "row 9 sets the same variant at WH1 to 4"),
        (9, "On hand", "4", "row 8 sets the same variant at WH1 to 3"),
        (10, "SKU", "OTH-TEE-BLK-M", "SKU belongs to another brand (OTH)"),
        (
            11,
            "SKU",
            "NOPE-1",
            "unknown SKU: not in this brand's catalogue, and the row has no handle to create "
            "it under",
        ),
    }
    assert result.counts.invalid_rows == 9 and not result.ok
    assert result.counts.changed_balances == 2  # what skip-invalid would apply
    assert snapshot(engine) == before

    refused = apply_import(data, options(warehouse_code=None))
    assert refused.status == "refused" and "Nothing was applied: 9 error(s)" in refused.message
    assert snapshot(engine, skip=["import_run"]) == without_history(before)
    with read_session(engine) as session:
        [run] = list_imports(session)
        assert (run.status, run.error_count, run.actor) == ("refused", 9, "vendor@nrd")
        assert len(import_errors(session, run.id)) == 9

    skipped = apply_import(data, options(warehouse_code=None, skip_invalid=True))
    assert skipped.status == "applied" and skipped.counts.changed_balances == 2
    assert on_hand(engine) == {
        ("NRD-TEE-BLACK-M", ids["WH1"]): 5,
        ("NRD-TEE-BLACK-M", ids["ST1"]): 2,
    }
    assert set(variants(engine)) == {"NRD-TEE-BLACK-M", "OTH-TEE-BLK-M"}
    assert_reconciled(engine)


def test_a_row_with_more_cells_than_the_header_is_an_error_naming_it(engine, ids):
    """An unquoted comma inside a value shifts every later cell: the row is refused, not cut
    back to the header's width. Empty trailing cells (a spreadsheet's habit) are fine."""
    rows = [
        inventory_row("tee", [("Size", "M"), ("Color", "Black")], "A1", "WH1", 5),  # 2
        [*inventory_row("tee", [("Size", "L"), ("Color", "Black")], "A2", "WH1", 7), "oops"],
        [*inventory_row("tee", [("Size", "S"), ("Color", "Black")], "A3", "WH1", 1), "", ""],
    ]
    data = csv_bytes(INVENTORY_HEADERS, rows)
    result = dry_run(data, options(warehouse_code=None))
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (3, "(past the last column)", "oops")
    ]
    assert "more cells than the header" in result.errors[0].reason
    assert result.counts.invalid_rows == 1 and not result.ok

    skipped = apply_import(data, options(warehouse_code=None, skip_invalid=True))
    assert skipped.status == "applied" and skipped.counts.changed_balances == 2
    wh1 = ids["WH1"]
    assert set(on_hand(engine)) == {("NRD-TEE-BLACK-M", wh1), ("NRD-TEE-BLACK-S", wh1)}


def test_conflicting_duplicate_skus_and_identities_are_errors(engine, ids):
    rows = [
        product_row("tee", "Tee", [("Size", "M")], sku="X1", qty=1),  # 2
        product_row("tee", "", [("", "L")], sku="X1", qty=1),  # 3: X1 again, another size
        product_row("cap", "Cap", [("Size", "One Size"), ("Material", "Wool")], sku="C1", qty=1),
        product_row("cap", "", [("", "One Size"), ("", "Cotton")], sku="C2", qty=1),  # 5
        product_row("bag", "Bag", [("Title", "Default Title")], sku="B1", qty=2),  # 6
        product_row("bag", "Bag", [("Title", "Default Title")], sku="B1", qty=2),  # 7: same: ok
    ]
    result = dry_run(csv_bytes(PRODUCT_HEADERS, rows), options())
    assert [(e.row, e.value) for e in result.errors] == [(2, "X1"), (3, "X1"), (4, "C1"), (5, "C2")]
    assert "row 3" in result.errors[0].reason and "another product" in result.errors[0].reason
    assert "same product, colour and size" in result.errors[2].reason
    assert result.counts.changed_balances == 1 and result.counts.new_variants == 1


def test_a_count_below_what_is_reserved_is_refused_naming_the_row(engine, ids):
    rows = [product_row("tee", "Tee", [("Size", "M")], qty=10)]
    assert apply_import(csv_bytes(PRODUCT_HEADERS, rows), options()).status == "applied"
    with transaction(engine) as session:
        variant_id = session.scalar(select(Variant.id))
        reserve(
            session,
            variant_id,
            6,
            channel="web",
            order_ref="o-1",
            actor="shop",
            warehouse_id=ids["WH1"],
        )
    rows = [product_row("tee", "Tee", [("Size", "M")], qty=4)]
    before = snapshot(engine)
    result = apply_import(csv_bytes(PRODUCT_HEADERS, rows), options())
    assert result.status == "refused"
    [error] = result.errors
    assert (error.row, error.column, error.value) == (2, "Variant Inventory Qty", "4")
    assert error.reason == "would set on hand at WH1 to 4, below the 6 units reserved for orders"
    assert snapshot(engine, skip=["import_run"]) == without_history(before)
    with read_session(engine) as session:
        balance = get_balance(session, variant_id, ids["WH1"])
    assert (balance.on_hand, balance.reserved) == (10, 6)


def test_a_reservation_made_between_dry_run_and_apply_is_respected(engine, ids):
    rows = [product_row("tee", "Tee", [("Size", "M")], qty=10)]
    apply_import(csv_bytes(PRODUCT_HEADERS, rows), options())
    data = csv_bytes(PRODUCT_HEADERS, [product_row("tee", "Tee", [("Size", "M")], qty=3)])
    assert dry_run(data, options()).ok
    with transaction(engine) as session:
        variant_id = session.scalar(select(Variant.id))
        reserve(
            session,
            variant_id,
            5,
            channel="web",
            order_ref="o-2",
            actor="shop",
            warehouse_id=ids["WH1"],
        )
    result = apply_import(data, options())
    assert result.status == "refused" and "below the 5 units reserved" in result.errors[0].reason
    with read_session(engine) as session:
        assert get_balance(session, variant_id, ids["WH1"]).on_hand == 10
    assert_reconciled(engine)


def test_existing_stock_moves_by_the_difference_only(engine, ids):
    rows = [product_row("tee", "Tee", [("Size", "M")], qty=10)]
    apply_import(csv_bytes(PRODUCT_HEADERS, rows), options())
    with transaction(engine) as session:
        variant_id = session.scalar(select(Variant.id))
        receive(session, variant_id, ids["WH1"], 5, actor="dock")  # 15 now
    rows = [product_row("tee", "Tee", [("Size", "M")], qty=12)]
    result = apply_import(csv_bytes(PRODUCT_HEADERS, rows), options())
    [diff] = result.sample
    assert (diff.old_on_hand, diff.new_on_hand, diff.delta) == (15, 12, -3)
    assert [r.on_hand_delta for r in ledger(engine)] == [10, 5, -3]
    assert_reconciled(engine)


# --- mapped files ------------------------------------------------------------------------


def test_a_mapped_csv_with_size_colour_and_location_labels(engine, ids):
    spec = MappingSpec(
        columns={
            "handle": "Modell",
            "title": "Bezeichnung",
            "sku": "Artikelnummer",
            "colour": "Farbe",
            "size": "Größe",
            "location": "Lager",
            "quantity": "Bestand",
            "price": "Preis",
        },
        sizes={"Mittel": "M", "Groß": "L"},
        colours={"schwarz": "Black"},
        locations={"Lager Nord": "WH1", "Laden": "ST1"},
        defaults={"location": "WH1"},
    )
    with transaction(engine) as session:
        save_mapping(session, ids["brand"], "Warenwirtschaft", spec)
    headers = [
        "Artikelnummer",
        "Modell",
        "Bezeichnung",
        "Farbe",
        "Größe",
        "Lager",
        "Bestand",
        "Preis",
    ]
    rows = [
        ["9001", "HOODIE", "Kapuzenpullover", "schwarz", "Mittel", "Lager Nord", "4", "59,90"],
        ["9002", "HOODIE", "", "SCHWARZ", "Groß", "Laden", "2", "59,90"],
        ["9003", "HOODIE", "", "Schwarz", "XL", "", "1", "59,90"],
        ["9004", "HOODIE", "", "schwarz", "", "Laden", "1", "59,90"],
    ]
    data = csv_bytes(headers, rows, delimiter=";", encoding="cp1252")
    result = apply_import(
        data, options(mapping_name="Warenwirtschaft", skip_invalid=True, warehouse_code=None)
    )
    assert result.status == "applied", result.message
    assert result.format == "mapped"
    [error] = result.errors
    assert (error.row, error.column) == (5, "Größe") and "size is missing" in error.reason
    assert on_hand(engine) == {
        ("NRD-HOODIE-BLACK-M", ids["WH1"]): 4,
        ("NRD-HOODIE-BLACK-L", ids["ST1"]): 2,
        ("NRD-HOODIE-BLACK-XL", ids["WH1"]): 1,
    }
    with read_session(engine) as session:
        kinds = set(session.execute(select(SkuAlias.kind, func.count()).group_by(SkuAlias.kind)))
        price = session.scalar(
            select(Variant.price_cents).where(Variant.sku == "NRD-HOODIE-BLACK-M")
        )
    assert kinds == {("brand", 3)} and price == 5990


def test_a_mapping_that_does_not_fit_the_file_is_refused(engine, ids):
    with transaction(engine) as session:
        save_mapping(session, ids["brand"], "m", MappingSpec(columns={"sku": "Article"}))
    result = dry_run(csv_bytes(["SKU", "Qty"], [["1", "2"]]), options(mapping_name="m"))
    assert result.status == "refused" and "'Article'" in result.message


def test_an_unknown_layout_is_refused_with_a_suggested_mapping(engine, ids):
    result = dry_run(csv_bytes(["Article No", "Colour", "Qty"], [["1", "Red", "2"]]), options())
    assert result.status == "refused"
    assert "not a Shopify" in result.message and "sku ← 'Article No'" in result.message


def test_a_product_export_needs_a_warehouse_for_its_quantities(engine, ids):
    result = dry_run(SAMPLE.read_bytes(), options(warehouse_code=None))
    assert result.status == "refused" and "choose the warehouse" in result.message


def test_progress_is_reported_through_every_phase(engine, ids):
    seen: list[tuple[str, float]] = []
    apply_import(SAMPLE.read_bytes(), options(), progress=lambda p, f: seen.append((p, f)))
    phases = [p for p, _f in seen]
    assert phases[0] == "reading" and phases[-1] == "done"
    assert {"planning", "writing"} <= set(phases)
    with read_session(engine) as session:
        [run] = session.scalars(select(ImportRun)).all()
    assert run.status == "applied" and run.finished_at is not None


def size_runs(engine: Engine) -> list[tuple[str, str, int]]:
    """(size, size system, rank) of every variant, in size order."""
    with read_session(engine) as session:
        rows = session.execute(
            select(Variant.size, Variant.size_system, Variant.size_rank).order_by(
                Variant.size_system, Variant.size_rank
            )
        )
        return [tuple(r) for r in rows]


def test_a_shoe_brands_bare_numbers_import_as_eu_sizes_in_size_order(engine, ids):
    from models.brands import update_brand

    with transaction(engine) as session:
        update_brand(session, ids["brand"], {"size_hint": "eu_shoe"})
    sizes = ["42", "40", "41/42", "40.5", "M"]
    rows = [
        product_row("runner", "Runner", [("Size", s)], sku=f"R{i}", qty=1)
        for i, s in enumerate(sizes)
    ]
    planned = dry_run(csv_bytes(PRODUCT_HEADERS, rows), options())
    assert planned.ok and planned.counts.new_variants == 5
    assert apply_import(csv_bytes(PRODUCT_HEADERS, rows), options()).status == "applied"
    assert size_runs(engine) == [
        ("M", "alpha", 30),
        ("EU 40", "eu_shoe", 4000),
        ("EU 40.5", "eu_shoe", 4050),
        ("EU 41/42", "eu_shoe", 4150),
        ("EU 42", "eu_shoe", 4200),
    ]


def test_a_cp1252_file_read_as_chosen_utf8_is_refused_and_writes_nothing(engine, ids):
    rows = [product_row("tee", "Tee", [("Colour", "Crème"), ("Size", "S/M")], sku="T1", qty=2)]
    data = csv_bytes(PRODUCT_HEADERS, rows, encoding="cp1252")
    before = snapshot(engine, skip=("import_run",))
    refused = apply_import(data, options(encoding="utf-8"))
    assert refused.status == "refused" and "cannot be read as utf-8" in refused.message
    assert "byte E8 at offset 190 (line 2)" in refused.message  # cp1252 "è"
    assert snapshot(engine, skip=("import_run",)) == before
    applied = apply_import(data, options(encoding="cp1252"))
    assert applied.status == "applied" and applied.encoding == "cp1252"
    assert list(variants(engine).values()) == [("tee", "Crème", "S/M")]
    assert size_runs(engine) == [("S/M", "alpha", 25)]
