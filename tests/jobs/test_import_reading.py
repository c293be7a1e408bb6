"""Reading vendor files as they come: encodings, delimiters, quirks and bad input (no database)."""

from __future__ import annotations

import csv
import io

import pytest

from jobs.imports import ImportLimits, ImportRefused, errors_csv, suggest_mapping
from jobs.imports.formats import Format, build_feed, detect_format
from jobs.imports.normalise import (
    canonical_sku,
    normalise_colour,
    normalise_size_label,
    parse_quantity,
)
from jobs.imports.reading import ROW, load_file, read_table
from jobs.imports.results import RowError
from models.csv_safety import safe_cell
from tests.import_support import PRODUCT_HEADERS, SAMPLE, csv_bytes, product_row


def cells(data: bytes) -> list[list[str]]:
    table = read_table(data)
    names = [f"c{i}" for i in range(len(table.headers))]
    return [list(r) for r in table.frame.select(names).rows()]


def test_the_real_sample_reads_with_crlf_and_no_final_newline():
    data = SAMPLE.read_bytes()
    assert data.count(b"\r\n") >= 22 and not data.endswith(b"\n")
    table = read_table(data)
    assert table.encoding == "utf-8" and table.delimiter == ","
    assert table.headers[:2] == ["Handle", "Title"]
    assert table.frame.height == 22
    assert table.frame[ROW].to_list() == list(range(2, 24))
    last = table.frame.row(21, named=True)
    assert last["c0"] == "led-high-tops" and not last[f"c{len(table.headers) - 1}"].endswith("\r")


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("utf-16", b"")],
)
def test_encodings_are_detected_and_cafe_survives(encoding, prefix):
    data = prefix + csv_bytes(
        ["Handle", "Colour"], [["tee", "Café"], ["tee", "Crème brûlée"]], encoding=encoding
    )
    table = read_table(data)
    assert table.headers == ["Handle", "Colour"]  # no BOM glued to the first header
    assert cells(data) == [["tee", "Café"], ["tee", "Crème brûlée"]]
    expected = {"utf-8": "utf-8-sig" if prefix else "utf-8", "cp1252": "cp1252", "utf-16": "utf-16"}
    assert table.encoding == expected[encoding]


def test_latin1_bytes_that_cp1252_leaves_undefined_still_read():
    data = "Handle,Colour\r\ntee,Caf\xe9\r\n".encode("latin-1") + b"x,\x81\r\n"
    assert cells(data)[0] == ["tee", "Café"]


CAFE_CP1252 = "Handle,Colour\r\ntee,Black\r\ntee,Café\r\n".encode("cp1252")


def test_a_chosen_encoding_that_cannot_read_the_file_names_the_byte_and_line():
    """Excel's cp1252 "é" is byte E9; read as the UTF-8 the person chose it is refused,
    naming the encoding, the byte, its offset and line, never guessed into mojibake."""
    with pytest.raises(ImportRefused) as refused:
        read_table(CAFE_CP1252, encoding="utf-8")
    message = refused.value.message
    assert "cannot be read as utf-8" in message
    assert "byte E9 at offset 33 (line 3)" in message
    assert refused.value.details == {"encoding": "utf-8", "offset": 33, "line": 3}


@pytest.mark.parametrize("chosen", ["cp1252", "auto", "latin-1"])
def test_the_chosen_encoding_reads_what_it_can(chosen):
    table = read_table(CAFE_CP1252, encoding=chosen)
    assert table.frame["c1"].to_list() == ["Black", "Café"]
    assert table.encoding == ("cp1252" if chosen == "auto" else chosen)


def test_a_chosen_encoding_is_used_even_where_detection_would_guess_otherwise():
    """UTF-8 bytes of "é" (C3 A9) read as latin-1 when chosen: the choice wins."""
    data = "Handle,Colour\ntee,Café\n".encode()
    assert read_table(data, encoding="latin-1").frame["c1"].to_list() == ["CafÃ©"]
    assert read_table(data, encoding="utf-8").frame["c1"].to_list() == ["Café"]


def test_utf16_and_bom_choices():
    data = "Handle\tColour\ntee\tCafé\n".encode("utf-16")
    table = read_table(data, encoding="utf-16")
    assert table.headers == ["Handle", "Colour"] and table.frame["c1"].to_list() == ["Café"]
    with pytest.raises(ImportRefused, match="is it UTF-16"):
        read_table(data, encoding="utf-8")
    bom = "Handle,Colour\ntee,Café\n".encode("utf-8-sig")
    assert read_table(bom, encoding="utf-8-sig").headers == ["Handle", "Colour"]
    assert read_table(bom, encoding="utf-8").headers == ["Handle", "Colour"]


def test_an_odd_utf16_file_and_an_unknown_encoding_are_refused():
    broken = "Handle\tColour\ntee\tCafé\n".encode("utf-16") + b"\x00"
    with pytest.raises(ImportRefused, match=r"as utf-16: byte 00 at offset 48 \(line 3\)"):
        read_table(broken, encoding="utf-16")
    with pytest.raises(ImportRefused, match="Unknown encoding 'ebcdic'; choose one of auto"):
        read_table(CAFE_CP1252, encoding="ebcdic")


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_delimiters_are_detected(delimiter, name):
    rows = [["tee-1", "Tee; the best, really", "3"], ["tee-2", "Other", "4"]]
    data = csv_bytes(["Handle", "Title", "Qty"], rows, delimiter=delimiter)
    table = read_table(data)
    assert table.delimiter == delimiter and table.delimiter_name == name
    assert cells(data) == rows


def test_quoted_newlines_keep_spreadsheet_row_numbers_and_blank_lines_count():
    data = b'Handle,Title,Qty\n"a","line one\nline two",1\n\nb,"x ""quoted"", y",2\r\n"c",plain,3'
    table = read_table(data)
    assert table.frame[ROW].to_list() == [2, 4, 5]  # row 3 was blank; the quoted \n is one row
    assert cells(data)[0][1] == "line one\nline two"
    assert cells(data)[1][1] == 'x "quoted", y'


def test_short_and_long_rows_are_padded_and_cut():
    data = b"a,b,c\n1,2\n3,4,5,6\n"
    assert cells(data) == [["1", "2", ""], ["3", "4", "5"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"  \r\n \n", "The file is empty"),
        (b"Handle,Title,Variant SKU\r\n", "header row but no data rows"),
        (b"Handle,Title\r\n,\r\n\r\n", "header row but no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "looks binary"),
        (bytes(range(256)) * 40, "looks binary"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(ImportRefused, match=message):
        read_table(data)


def test_ten_thousand_columns_are_refused_above_the_column_limit():
    headers = [f"col{i}" for i in range(10_000)]
    data = csv_bytes(headers, [[str(i) for i in range(10_000)]])
    with pytest.raises(ImportRefused, match="10,000 columns; at most 500"):
        read_table(data)
    assert len(read_table(data, ImportLimits(max_columns=10_000)).headers) == 10_000


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as f:  # sparse: 200 MB on paper, nothing on disk
        f.truncate(200 * 1024 * 1024)
    with pytest.raises(ImportRefused, match=r"200\.0 MB; the limit is 50 MB"):
        load_file(big)
    with pytest.raises(ImportRefused, match=r"the limit is 1 MB"):
        read_table(b"a\n" + b"x\n" * 600_000, ImportLimits(max_bytes=1024 * 1024))


def test_formats_are_recognised_from_headers():
    assert detect_format(list(PRODUCT_HEADERS)) is Format.SHOPIFY_PRODUCTS
    inventory = ["Handle", "Title", "SKU", "Location", "Available", "On hand"]
    assert detect_format(inventory) is Format.SHOPIFY_INVENTORY
    assert detect_format(["Article", "Farbe", "Größe", "Menge"]) is None


def test_shopify_options_in_any_order_and_continuation_rows():
    rows = [
        product_row("tee", "Tee", [("Color", "navy"), ("Size", "Medium")], qty=1),
        product_row("tee", "", [("", "navy"), ("", "Large")], qty=2),
        product_row("jean", "Jean", [("Size", "32/34"), ("Colour", "INDIGO")], qty=3),
        product_row("jean", "", [("", "W30 L32"), ("", "indigo")], qty=4),
        product_row("bag", "Bag", [("Title", "Default Title")], qty=5),
        ["tee", "", "", "", "", "", "", "", "", "", "", "", "", ""],  # an image-only row
    ]
    feed = build_feed(read_table(csv_bytes(PRODUCT_HEADERS, rows)), Format.SHOPIFY_PRODUCTS)
    got = feed.frame.select("handle", "title", "colour", "size", "size_col", "quantity").rows()
    assert got == [
        ("tee", "Tee", "navy", "Medium", "Option2 Value", "1"),
        ("tee", "Tee", "navy", "Large", "Option2 Value", "2"),
        ("jean", "Jean", "INDIGO", "32/34", "Option1 Value", "3"),
        ("jean", "Jean", "indigo", "W30 L32", "Option1 Value", "4"),
        ("bag", "Bag", "", "", "", "5"),
    ]
    assert feed.frame["size_expected"].to_list() == [True, True, True, True, False]


def test_sizes_and_colours_normalise_consistently():
    def label(raw: str) -> str:
        return normalise_size_label(raw)[1]

    assert {label(s) for s in ("Medium", "med", "M", " m ", "Size M")} == {"M"}
    assert {label(s) for s in ("EU 38", "eu38", "38 EU")} == {"EU 38"}
    assert {label(s) for s in ("W32 L34", "32/34", "w32/l34", "32x34")} == {"W32 L34"}
    assert {label(s) for s in ("One Size", "OS", "one size", "Default Title", "")} == {"One Size"}
    assert normalise_size_label("XL")[2] > normalise_size_label("L")[2]
    assert {normalise_colour(c) for c in (" navy  BLUE ", "Navy Blue", "navy blue")} == {
        "Navy Blue"
    }
    assert normalise_colour("café") == "Café"
    assert normalise_colour("men's black/WHITE") == "Men's Black/White"


def test_quantities():
    assert parse_quantity("12") == (12, None)
    assert parse_quantity("12.0") == (12, None)
    assert parse_quantity("-1") == (None, "quantity cannot be negative")
    assert parse_quantity("2.5") == (None, "quantity must be a whole number")
    assert parse_quantity("lots") == (None, "quantity is not a number")


def test_generated_skus_are_stable_readable_and_bounded():
    assert canonical_sku("NRD", "classic-varsity-top", "", "M") == "NRD-CLASSIC-VARSITY-TOP-M"
    assert canonical_sku("NRD", "tee", "Café", "One Size") == "NRD-TEE-CAFE-OS"
    assert canonical_sku("NRD", "jean", "Indigo", "W32 L34") == "NRD-JEAN-INDIGO-W32L34"
    long = canonical_sku("NRD", "x" * 200, "Navy", "M")
    assert len(long) == 64 and long == canonical_sku("NRD", "x" * 200, "Navy", "M")
    assert long != canonical_sku("NRD", "x" * 200, "Navy", "L")


def test_suggest_mapping_matches_headers_in_several_languages():
    headers = [
        "Artikelnummer",
        "Bezeichnung",
        "Farbe",
        "Größe",
        "EAN",
        "Lagerort",
        "Bestand",
        "Preis",
        "Modell",
    ]
    assert suggest_mapping(headers) == {
        "sku": "Artikelnummer",
        "handle": "Modell",
        "title": "Bezeichnung",
        "colour": "Farbe",
        "size": "Größe",
        "barcode": "EAN",
        "price": "Preis",
        "location": "Lagerort",
        "quantity": "Bestand",
    }
    english = suggest_mapping(["Style No", "Colour Name", "Size", "Qty on hand", "Warehouse"])
    assert english == {
        "handle": "Style No",
        "colour": "Colour Name",
        "size": "Size",
        "location": "Warehouse",
        "quantity": "Qty on hand",
    }


def test_errors_csv_never_returns_an_active_formula():
    formula = '=HYPERLINK("http://evil.example","click")'
    errors = [
        RowError(7, "Title", formula, "title is a formula"),
        RowError(9, "Variant Inventory Qty", "-3", "quantity cannot be negative"),
        RowError(10, "SKU", "@SUM(A1)", "x"),
        RowError(11, "SKU", "+1", "\tcmd"),
    ]
    text = errors_csv(errors)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["row", "column", "value", "reason"]
    assert parsed[1] == ["7", "Title", "'" + formula, "title is a formula"]
    assert parsed[2][2] == "'-3"
    assert parsed[3][2] == "'@SUM(A1)" and parsed[4][2:] == ["'+1", "'\tcmd"]
    for row in parsed[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_safe_cell():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("\rx") == "'\rx"
    assert safe_cell("Navy") == "Navy"
    assert safe_cell(-3) == "-3" and safe_cell(None) == ""
