"""An import may not take a code that already names another brand's variant (the alias
hijack), barcodes are unique per brand, and the database itself refuses duplicates."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from jobs.imports import ImportOptions, apply_import, dry_run
from models.catalog import Product, SkuAlias, Variant, create_brand
from models.db import set_default_engine, transaction
from tests.import_support import PRODUCT_HEADERS, csv_bytes, product_row, setup_brand, snapshot


@pytest.fixture
def brands(engine: Engine):
    """NRD (importing) and SOL, whose variant has alias SHOP-1 and barcode 400111."""
    set_default_engine(engine)
    setup_brand(engine)
    with transaction(engine) as session:
        other = create_brand(session, "SOL", "Solstice")
        product = Product(brand_id=other.id, style_code="TOP", name="Top")
        session.add(product)
        session.flush()
        variant = Variant(product_id=product.id, brand_id=other.id, sku="SOL-TOP-BLK-M",
                          colour="Black", size="M", barcode="400111")
        session.add(variant)
        session.flush()
        session.add(SkuAlias(variant_id=variant.id, brand_id=other.id, kind="shopify",
                             code="SHOP-1"))
    yield other.id
    set_default_engine(None)


def options(**kw) -> ImportOptions:
    base = {"brand_code": "NRD", "warehouse_code": "WH1", "file_name": "f.csv",
            "actor": "val@nrd.test", "reveal_owner": False, "accept_warnings": True}
    return ImportOptions(**(base | kw))


def _row(handle: str, size: str, sku: str, barcode: str = "") -> list[object]:
    return product_row(handle, "Tee", [("Size", size), ("Color", "Black")], sku=sku, qty=1,
                       barcode=barcode)


def test_a_vendor_import_cannot_take_another_brands_alias_or_barcode(engine, brands):
    data = csv_bytes(PRODUCT_HEADERS, [
        _row("tee", "M", "SHOP-1"),  # row 2: SOL's alias
        _row("tee", "L", "400111"),  # row 3: SOL's barcode as our SKU
        _row("tee", "S", "NRD-OWN-1", barcode="400111"),  # row 4: SOL's barcode
        _row("tee", "XL", "NRD-OWN-2", barcode="SOL-TOP-BLK-M"),  # row 5: SOL's SKU
        _row("tee", "XS", "NRD-OWN-3"),  # row 6: fine
    ])
    before = snapshot(engine, skip=["import_run"])  # the refused run is recorded
    result = dry_run(data, options())
    found = {(e.row, e.column, e.value, e.reason) for e in result.errors}
    assert found == {
        (2, "Variant SKU", "SHOP-1", "SKU belongs to another brand"),
        (3, "Variant SKU", "400111", "SKU belongs to another brand"),
        (4, "Variant Barcode", "400111", "barcode belongs to another brand"),
        (5, "Variant Barcode", "SOL-TOP-BLK-M", "barcode belongs to another brand"),
    }
    # Nothing is applied while errors remain; the other brand's alias still resolves once.
    refused = apply_import(data, options())
    assert refused.errors and snapshot(engine, skip=["import_run"]) == before
    with transaction(engine) as session:
        owners = session.scalars(select(SkuAlias.brand_id).where(SkuAlias.code == "SHOP-1"))
        assert list(owners) == [brands]


def test_staff_see_which_brand_owns_the_code(engine, brands):
    result = dry_run(csv_bytes(PRODUCT_HEADERS, [_row("tee", "M", "SHOP-1")]),
                     options(reveal_owner=True))
    assert [e.reason for e in result.errors] == ["SKU belongs to another brand (SOL)"]


def test_barcodes_are_unique_within_the_brand_and_the_file(engine, brands):
    first = apply_import(csv_bytes(PRODUCT_HEADERS, [_row("tee", "M", "A-1", "500")]),
                         options(skip_invalid=True))
    assert not first.errors
    result = dry_run(csv_bytes(PRODUCT_HEADERS, [
        _row("tee", "L", "A-2", "500"),  # row 2: our own barcode on another variant
        _row("tee", "S", "A-3", "600"),  # row 3
        _row("tee", "XL", "A-4", "600"),  # row 4: same barcode as row 3
    ]), options())
    found = {(e.row, e.value, e.reason) for e in result.errors}
    assert found == {
        (2, "500", "barcode already names another variant of this brand"),
        (4, "600", "the same barcode is in row 3 for another variant"),
    }


def test_the_database_refuses_a_duplicate_alias_or_barcode(engine, brands):
    with transaction(engine) as session:
        nrd = setup_id = session.scalar(select(Variant.id).where(Variant.sku == "SOL-TOP-BLK-M"))
        assert setup_id
    with pytest.raises(IntegrityError), transaction(engine) as session:
        brand = create_brand(session, "THR", "Third")
        session.add(SkuAlias(variant_id=nrd, brand_id=brand.id, kind="shopify", code="SHOP-1"))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        product = session.scalar(select(Product).where(Product.style_code == "TOP"))
        session.add(Variant(product_id=product.id, brand_id=brands, sku="SOL-TOP-BLK-L",
                            colour="Black", size="L", barcode="400111"))
