"""A scanned code → the line it names on a document, on both databases: by barcode,
alias or SKU; unknown codes, codes not on the document, another brand's codes, a
barcode two brands share; and a count sheet's line going up by one per scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from models.catalog import Product, SkuAlias, Variant, create_brand
from models.cycle_counts import CountLine, record_count, scan_count, start_sheet, submit_sheet
from models.db import read_session, transaction
from models.errors import Conflict, InvalidTransition, NotFound, PermissionDenied
from models.scanning import match_scan
from tests.transfer_support import Staff, add_sales, make_staff, stocked_world

TODAY = date(2026, 12, 6)


@dataclass
class Catalogue:
    brand: int
    other_brand: int
    #: Size → variant id of the brand's tee (barcodes 4000000000S/M/L).
    tees: dict[str, int]
    #: The other brand's variant: its own SKU, and the same barcode as the brand's S tee.
    other: int
    warehouse: int
    staff: Staff


@pytest.fixture
def catalogue(engine: Engine) -> Catalogue:
    return _catalogue(engine)


def _catalogue(engine: Engine) -> Catalogue:
    world = stocked_world(engine, units=5)
    staff = make_staff(engine, world.brand_id)
    sold_at = datetime.now(UTC) - timedelta(days=3)  # one size per class: all three due
    add_sales(engine, world.variants["S"], world.warehouses["WH1"], 8, sold_at)
    add_sales(engine, world.variants["M"], world.warehouses["WH1"], 2, sold_at)
    with transaction(engine) as session:
        for size, variant_id in world.variants.items():
            session.get(Variant, variant_id).barcode = f"4000000000{size}"
        aliases = (
            (world.variants["M"], "shopify", "SHOP-TEE-M"),
            (world.variants["L"], "barcode", "0012345678905"),
        )
        for variant_id, kind, code in aliases:
            session.add(
                SkuAlias(variant_id=variant_id, brand_id=world.brand_id, kind=kind, code=code)
            )
        other = create_brand(session, "OTH", "Other")
        knit = Product(brand_id=other.id, style_code="KNIT", name="Knit")
        session.add(knit)
        session.flush()
        # The first shares the brand's S barcode: barcodes are unique per brand only.
        knits = (
            ("OTH-KNIT-ONE", "One Size", "4000000000S"),
            ("OTH-KNIT-TWO", "XL", "7000000000001"),
        )
        variants = [
            Variant(
                product_id=knit.id,
                brand_id=other.id,
                sku=sku,
                colour="Grey",
                size=size,
                barcode=code,
            )
            for sku, size, code in knits
        ]
        session.add_all(variants)
        session.flush()
        variant = variants[0]
        other_id, other_brand = variant.id, other.id
    return Catalogue(
        world.brand_id, other_brand, world.variants, other_id, world.warehouses["WH1"], staff
    )


def _match(engine: Engine, code: object, ids, **kwargs):
    with read_session(engine) as session:
        return match_scan(session, code, ids, **kwargs)


def test_a_code_names_its_line_by_barcode_alias_or_sku(engine: Engine, catalogue: Catalogue):
    tees = catalogue.tees
    lines = list(tees.values())
    by_barcode = _match(engine, "4000000000M", lines)
    assert (by_barcode.variant_id, by_barcode.via) == (tees["M"], "barcode")
    assert by_barcode.label == "NRD-TEE1-BLK-M (M)"
    by_alias = _match(engine, "SHOP-TEE-M", lines)
    assert (by_alias.variant_id, by_alias.via) == (tees["M"], "alias")
    barcode_alias = _match(engine, "0012345678905", lines)
    assert (barcode_alias.variant_id, barcode_alias.via) == (tees["L"], "alias")
    by_sku = _match(engine, "  NRD-TEE1-BLK-S\n", lines)  # a scanner's whitespace is dropped
    assert (by_sku.variant_id, by_sku.via, by_sku.sku) == (tees["S"], "sku", "NRD-TEE1-BLK-S")


def test_an_unknown_code_is_named_and_refused(engine: Engine, catalogue: Catalogue):
    lines = list(catalogue.tees.values())
    for code in ("999", "nrd-tee1-blk-s", "SHOP-TEE", "4" * 65):
        with pytest.raises(NotFound) as raised:
            _match(engine, code, lines)
        assert raised.value.details["field"] == "code"
        assert "Unknown code" in raised.value.message
    with pytest.raises(NotFound, match="Unknown code '999'"):
        _match(engine, "999", lines)
    for empty in ("", "   ", None, 42):
        with pytest.raises(NotFound, match="Scan or type"):
            _match(engine, empty, lines)


def test_a_code_of_a_variant_not_on_the_document_says_what_it_is(
    engine: Engine, catalogue: Catalogue
):
    only_small = [catalogue.tees["S"]]
    with pytest.raises(NotFound) as raised:
        _match(engine, "SHOP-TEE-M", only_small, where="count sheet #7")
    assert raised.value.message == "'SHOP-TEE-M' is NRD-TEE1-BLK-M, which is not on count sheet #7."
    with pytest.raises(NotFound, match="'7000000000001' is OTH-KNIT-TWO, which is not on"):
        _match(engine, "7000000000001", only_small)


def test_another_brands_code_is_refused_within_a_brand_scope(engine: Engine, catalogue: Catalogue):
    lines = [*catalogue.tees.values(), catalogue.other]
    # Unscoped, the other brand's SKU names its line...
    assert _match(engine, "OTH-KNIT-ONE", lines).variant_id == catalogue.other
    # ...scoped to the brand, it is unknown: the scope learns nothing of other brands.
    for code in ("OTH-KNIT-ONE", "7000000000001"):
        with pytest.raises(NotFound, match="Unknown code"):
            _match(engine, code, lines, brand_id=catalogue.brand)
    # The shared barcode is the brand's own S tee within its scope.
    assert (
        _match(engine, "4000000000S", lines, brand_id=catalogue.brand).variant_id
        == (catalogue.tees["S"])
    )
    with pytest.raises(NotFound, match="Unknown code 'SHOP-TEE-M'"):
        _match(engine, "SHOP-TEE-M", lines, brand_id=catalogue.other_brand)


def test_a_barcode_two_brands_share_resolves_by_the_documents_lines(
    engine: Engine, catalogue: Catalogue
):
    assert _match(engine, "4000000000S", [catalogue.other]).variant_id == catalogue.other
    assert _match(engine, "4000000000S", [catalogue.tees["S"]]).variant_id == catalogue.tees["S"]
    with pytest.raises(Conflict, match=r"names 2 lines here .*scan or type the SKU"):
        _match(engine, "4000000000S", [catalogue.tees["S"], catalogue.other])
    # A canonical SKU is stronger than a barcode: no ambiguity.
    both = [catalogue.tees["S"], catalogue.other]
    assert _match(engine, "OTH-KNIT-ONE", both).variant_id == catalogue.other


def _counted(engine: Engine, sheet_id: int) -> dict[int, int | None]:
    with read_session(engine) as session:
        rows = session.execute(
            select(CountLine.variant_id, CountLine.counted).where(CountLine.sheet_id == sheet_id)
        )
        return dict(rows.all())


def test_scanning_counts_a_sheets_line_up_by_one(engine: Engine, catalogue: Catalogue):
    staff, tees = catalogue.staff, catalogue.tees
    with transaction(engine) as session:
        sheet_id = start_sheet(session, catalogue.warehouse, actor_id=staff.merch, today=TODAY).id
    assert set(_counted(engine, sheet_id)) == set(tees.values())
    for code in ("4000000000M", "SHOP-TEE-M", "NRD-TEE1-BLK-M", "0012345678905"):
        with transaction(engine) as session:
            scanned = scan_count(session, sheet_id, code, actor_id=staff.merch)
    assert (scanned.match.variant_id, scanned.counted) == (tees["L"], 1)
    assert _counted(engine, sheet_id) == {tees["S"]: None, tees["M"]: 3, tees["L"]: 1}

    # Unknown, not on the sheet, another brand's: nothing changes.
    for code, error in (
        ("999", "Unknown code '999'"),
        ("OTH-KNIT-ONE", f"which is not on count sheet #{sheet_id}"),
    ):
        with pytest.raises(NotFound, match=error), transaction(engine) as session:
            scan_count(session, sheet_id, code, actor_id=staff.merch)
    with pytest.raises(NotFound, match="Unknown code"), transaction(engine) as session:
        scan_count(
            session, sheet_id, "OTH-KNIT-ONE", actor_id=staff.merch, brand_id=catalogue.brand
        )
    with pytest.raises(PermissionDenied), transaction(engine) as session:
        scan_count(session, sheet_id, "4000000000S", actor_id=staff.vendor)
    with pytest.raises(NotFound, match="No count sheet"), transaction(engine) as session:
        scan_count(session, sheet_id + 99, "4000000000S", actor_id=staff.merch)
    assert _counted(engine, sheet_id) == {tees["S"]: None, tees["M"]: 3, tees["L"]: 1}

    with transaction(engine) as session:
        scan_count(session, sheet_id, "4000000000S", actor_id=staff.merch)
        for _ in range(4):  # the other lines reach what is there (5 each)
            scan_count(session, sheet_id, "4000000000S", actor_id=staff.merch)
        for _ in range(2):
            scan_count(session, sheet_id, "4000000000M", actor_id=staff.merch)
        for _ in range(4):
            scan_count(session, sheet_id, "0012345678905", actor_id=staff.merch)
    with transaction(engine) as session:
        result = submit_sheet(session, sheet_id, actor_id=staff.merch)
    assert (result.applied, result.pending, result.conflicts) == (3, 0, [])
    with pytest.raises(InvalidTransition), transaction(engine) as session:
        scan_count(session, sheet_id, "4000000000S", actor_id=staff.merch)
    assert _counted(engine, sheet_id) == dict.fromkeys(tees.values(), 5)


@pytest.mark.postgres
def test_sixteen_scanners_on_one_sheet_lose_no_unit(pg_engine: Engine):
    from collections import Counter

    from tests.models.test_concurrency_pg import THREADS, race

    catalogue = _catalogue(pg_engine)
    merch, scans = catalogue.staff.merch, THREADS * 5
    with transaction(pg_engine) as session:
        sheet_id = start_sheet(session, catalogue.warehouse, actor_id=merch, today=TODAY).id

    def attempt(i: int) -> str:
        code = ("4000000000M", "SHOP-TEE-M", "NRD-TEE1-BLK-M")[i % 3]
        with transaction(pg_engine) as session:
            scan_count(session, sheet_id, code, actor_id=merch)
        return "counted"

    assert Counter(race(THREADS, scans, attempt)) == {"counted": scans}
    assert _counted(pg_engine, sheet_id)[catalogue.tees["M"]] == scans

    # Scans racing the submit: each lands before it (and is in what was submitted) or is
    # refused after it; none is lost or written to a submitted sheet.
    with transaction(pg_engine) as session:
        for line_id in session.scalars(
            select(CountLine.id).where(CountLine.sheet_id == sheet_id, CountLine.counted.is_(None))
        ):
            record_count(session, line_id, 5, actor_id=merch)

    def scan_or_submit(i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                if i == THREADS // 2:
                    submit_sheet(session, sheet_id, actor_id=merch)
                    return "submitted"
                scan_count(session, sheet_id, "4000000000M", actor_id=merch)
                return "counted"
        except InvalidTransition:
            return "refused"

    outcomes = Counter(race(THREADS, THREADS, scan_or_submit))
    assert outcomes["submitted"] == 1 and outcomes["counted"] + outcomes["refused"] == THREADS - 1
    assert _counted(pg_engine, sheet_id)[catalogue.tees["M"]] == scans + outcomes["counted"]
