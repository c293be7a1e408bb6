"""Helpers for the importer tests: write CSV files with every quirk, snapshot a database."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from models.catalog import create_brand, create_warehouse
from models.db import read_session, transaction

#: The real Shopify export from shared/samples, kept byte for byte in tests/fixtures so the
#: suite does not depend on where shared/ sits (.gitattributes keeps its CRLF line ends).
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "shopify-apparel-products.csv"

PRODUCT_HEADERS = (
    "Handle",
    "Title",
    "Vendor",
    "Type",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Barcode",
)
INVENTORY_HEADERS = (
    "Handle",
    "Title",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "SKU",
    "HS Code",
    "COO",
    "Location",
    "Incoming",
    "Unavailable",
    "Committed",
    "Available",
    "On hand",
)


def sample_with(handle: str, *, tags: str | None = None, qty: int | None = None) -> bytes:
    """The Shopify sample with one product's Tags cell and/or its variants' quantity
    replaced (and so another file)."""
    text = SAMPLE.read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    tags_at, qty_at = rows[0].index("Tags"), rows[0].index("Variant Inventory Qty")
    for row in rows[1:]:
        if row and row[0] == handle:
            if tags is not None and row[tags_at]:
                row[tags_at] = tags
            if qty is not None and row[qty_at]:
                row[qty_at] = str(qty)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def csv_bytes(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\r\n",
    final_newline: bool = True,
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    text = buffer.getvalue()
    if not final_newline:
        text = text.removesuffix(newline)
    return text.encode(encoding)


def product_row(
    handle: str,
    title: str = "",
    options: Sequence[tuple[str, str]] = (),
    sku: str = "",
    qty: object = "",
    price: str = "",
    vendor: str = "",
    barcode: str = "",
) -> list[object]:
    """One Shopify product-export row; `options` are (name, value) pairs in file order."""
    pairs = list(options) + [("", "")] * (3 - len(options))
    flat = [v for pair in pairs for v in pair]
    return [handle, title, vendor, "", *flat, sku, qty, price, barcode]


def inventory_row(
    handle: str,
    options: Sequence[tuple[str, str]],
    sku: str,
    location: str,
    on_hand: object,
    title: str = "",
) -> list[object]:
    pairs = list(options) + [("", "")] * (3 - len(options))
    flat = [v for pair in pairs for v in pair]
    return [handle, title, *flat, sku, "", "", location, 0, 0, 0, on_hand, on_hand]


def setup_brand(
    engine: Engine,
    code: str = "NRD",
    warehouses: Sequence[tuple[str, str]] = (("WH1", "Main warehouse"), ("ST1", "Shop Berlin")),
) -> dict[str, int]:
    """A brand and warehouses; returns {"brand": id, <warehouse code>: id, …}."""
    with transaction(engine) as session:
        ids = {"brand": create_brand(session, code, code.title()).id}
        for wh_code, name in warehouses:
            ids[wh_code] = create_warehouse(session, wh_code, name).id
    return ids


def snapshot(engine: Engine, *, skip: Sequence[str] = ()) -> dict[str, list[tuple]]:
    """Every row of every table (sorted), to prove that something wrote nothing."""
    out: dict[str, list[tuple]] = {}
    with read_session(engine) as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = session.execute(select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out
