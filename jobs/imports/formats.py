"""File layouts → one feed: the same columns whatever the vendor sent.

A feed is a polars frame of strings with one row per variant-row of the file:

    __row, handle, title, category, vendor, tags, fabric, care, season, colour, size,
    sku, barcode, price, location, quantity, colour_col, size_col, colour_expected,
    size_expected

`colour_col`/`size_col` name the column each value came from (a Shopify product may
keep its size in Option1 and another in Option2), for error messages; `*_expected`
says whether the product has variants by size/colour, so a blank one is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from jobs.imports.mappings import MappingSpec
from jobs.imports.reading import EXTRA, ROW, RawTable
from jobs.imports.results import ImportRefused


class Format(StrEnum):
    SHOPIFY_PRODUCTS = "shopify-products"
    SHOPIFY_INVENTORY = "shopify-inventory"
    MAPPED = "mapped"


SIZE_OPTION_NAMES = frozenset(
    {"size", "sizes", "taille", "größe", "groesse", "grösse", "maat", "talla", "taglia",
     "storlek", "størrelse", "koko", "shoe size", "waist", "waist size"}
)
COLOUR_OPTION_NAMES = frozenset(
    {"color", "colour", "colors", "colours", "farbe", "couleur", "kleur", "colore", "färg",
     "farve", "väri", "color name", "colour name"}
)
#: Shopify inventory quantity columns, most wanted first. "On hand" is the physical count
#: we keep; "Available" (on hand less committed/unavailable) only when nothing else is there.
INVENTORY_QUANTITY_COLUMNS = ("on hand (new)", "on hand", "on hand (current)", "available")

FEED_COLUMNS = (
    "handle", "title", "category", "vendor", "tags", "fabric", "care", "season", "colour",
    "size", "sku", "barcode", "price", "location", "quantity", "colour_col", "size_col",
)


@dataclass(slots=True)
class Feed:
    """A file in our terms. `columns` maps a fixed field to the header it came from."""

    format: Format
    frame: pl.DataFrame
    columns: dict[str, str] = field(default_factory=dict)
    mapping: MappingSpec | None = None
    #: False when the file has no quantity column at all (a catalogue-only import).
    has_quantity: bool = True
    #: The product attributes the file carries (jobs/imports/attributes.py); others are
    #: left as they are.
    attribute_fields: tuple[str, ...] = ()


class _Headers:
    """Case- and space-insensitive header lookup."""

    def __init__(self, raw: RawTable) -> None:
        self.raw = raw
        self.index = {}
        for i, header in enumerate(raw.headers):
            self.index.setdefault(" ".join(header.lower().split()), i)

    def find(self, *names: str) -> tuple[str, str] | None:
        """(frame column, header as written) of the first header present among `names`."""
        for name in names:
            i = self.index.get(name)
            if i is not None:
                return f"c{i}", self.raw.headers[i]
        return None

    def expr(self, *names: str) -> pl.Expr:
        found = self.find(*names)
        return pl.col(found[0]) if found else pl.lit("")


def detect_format(headers: list[str]) -> Format | None:
    """Shopify's layouts are recognised by their headers; anything else needs a mapping."""
    names = {" ".join(h.lower().split()) for h in headers}
    if "handle" in names or "variant sku" in names or "sku" in names:
        if "location" in names and names & set(INVENTORY_QUANTITY_COLUMNS):
            return Format.SHOPIFY_INVENTORY
        if names & {"variant sku", "option1 value", "variant inventory qty"} and "handle" in names:
            return Format.SHOPIFY_PRODUCTS
    return None


def build_feed(raw: RawTable, fmt: Format, mapping: MappingSpec | None = None) -> Feed:
    if fmt is Format.SHOPIFY_PRODUCTS:
        return _shopify_products(raw)
    if fmt is Format.SHOPIFY_INVENTORY:
        return _shopify_inventory(raw)
    if mapping is None:
        raise ImportRefused("A mapped import needs a saved column mapping: choose one.")
    return _mapped(raw, mapping)


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr == "").then(None).otherwise(expr)


def _options(h: _Headers, fill_names_over: pl.Expr | None) -> list[pl.Expr]:
    """Size and colour from Shopify's Option1..3 Name/Value pairs, in whatever order."""
    size, size_col, colour, colour_col = pl.lit(""), pl.lit(""), pl.lit(""), pl.lit("")
    size_expected, colour_expected = pl.lit(False), pl.lit(False)
    for i in (3, 2, 1):  # Option1 checked last so it wins when both name the same thing
        name_found = h.find(f"option{i} name")
        value_found = h.find(f"option{i} value")
        if not name_found or not value_found:
            continue
        name = _blank_to_null(pl.col(name_found[0]))
        if fill_names_over is not None:
            name = name.forward_fill().over(fill_names_over)
        name = name.fill_null("").str.to_lowercase().str.strip_chars()
        value, header = pl.col(value_found[0]), value_found[1]
        is_size = name.is_in(list(SIZE_OPTION_NAMES))
        is_colour = name.is_in(list(COLOUR_OPTION_NAMES))
        size = pl.when(is_size).then(value).otherwise(size)
        size_col = pl.when(is_size).then(pl.lit(header)).otherwise(size_col)
        colour = pl.when(is_colour).then(value).otherwise(colour)
        colour_col = pl.when(is_colour).then(pl.lit(header)).otherwise(colour_col)
        size_expected = size_expected | is_size
        colour_expected = colour_expected | is_colour
    return [
        size.alias("size"),
        size_col.alias("size_col"),
        colour.alias("colour"),
        colour_col.alias("colour_col"),
        size_expected.alias("size_expected"),
        colour_expected.alias("colour_expected"),
    ]


def _shopify_products(raw: RawTable) -> Feed:
    h = _Headers(raw)
    handle = h.find("handle")
    if handle is None:
        raise ImportRefused("This is not a Shopify product export: it has no Handle column.")
    over = pl.col(handle[0])

    def filled(*names: str) -> pl.Expr:
        return _blank_to_null(h.expr(*names)).forward_fill().over(over).fill_null("")

    variant_fields = [
        h.expr(n) != "" for n in ("option1 value", "variant sku", "variant inventory qty")
    ]
    frame = raw.frame.filter(pl.any_horizontal(variant_fields)).select(
        pl.col(ROW),
        pl.col(EXTRA),
        pl.col(handle[0]).alias("handle"),
        filled("title").alias("title"),
        filled("type", "product category").alias("category"),
        filled("vendor").alias("vendor"),
        filled("tags").alias("tags"),
        *_no_attributes("fabric", "care", "season"),
        *_options(h, over),
        h.expr("variant sku").alias("sku"),
        h.expr("variant barcode").alias("barcode"),
        h.expr("variant price").alias("price"),
        pl.lit("").alias("location"),
        h.expr("variant inventory qty").alias("quantity"),
    )
    columns = _columns(h, sku="variant sku", barcode="variant barcode", price="variant price",
                       quantity="variant inventory qty", handle="handle", title="title")
    if found := h.find("tags"):
        columns["tags"] = found[1]
    fields = ("tags",) if "tags" in columns else ()
    return Feed(Format.SHOPIFY_PRODUCTS, frame, columns, None, "quantity" in columns, fields)


def _shopify_inventory(raw: RawTable) -> Feed:
    h = _Headers(raw)
    handle, sku = h.find("handle"), h.find("sku", "variant sku")
    if handle is None and sku is None:
        raise ImportRefused("This is not a Shopify inventory export: no Handle or SKU column.")
    location = h.find("location")
    quantity = h.find(*INVENTORY_QUANTITY_COLUMNS)
    if location is None or quantity is None:
        raise ImportRefused(
            "A Shopify inventory export needs a Location column and an On hand or "
            "Available column."
        )
    over = pl.col(handle[0]) if handle else None
    title = h.expr("title")
    if over is not None:
        title = _blank_to_null(title).forward_fill().over(over).fill_null("")
    frame = raw.frame.select(
        pl.col(ROW),
        pl.col(EXTRA),
        (pl.col(handle[0]) if handle else pl.lit("")).alias("handle"),
        title.alias("title"),
        pl.lit("").alias("category"),
        pl.lit("").alias("vendor"),
        *_no_attributes("tags", "fabric", "care", "season"),
        *_options(h, over),
        h.expr("sku", "variant sku").alias("sku"),
        h.expr("barcode", "variant barcode").alias("barcode"),
        pl.lit("").alias("price"),
        pl.col(location[0]).alias("location"),
        pl.col(quantity[0]).alias("quantity"),
    )
    columns = {"location": location[1], "quantity": quantity[1]}
    columns |= _columns(h, handle="handle", title="title", sku="sku", barcode="barcode")
    if "sku" not in columns and (found := h.find("variant sku")):
        columns["sku"] = found[1]
    return Feed(Format.SHOPIFY_INVENTORY, frame, columns)


def _mapped(raw: RawTable, spec: MappingSpec) -> Feed:
    h = _Headers(raw)
    missing = [header for header in spec.columns.values() if h.find(_norm(header)) is None]
    if missing:
        raise ImportRefused(
            "This file does not have the column(s) the mapping expects: "
            + ", ".join(repr(m) for m in missing)
            + ". Is it the right mapping for this file?",
            missing=missing,
        )
    exprs: list[pl.Expr] = [pl.col(ROW), pl.col(EXTRA)]
    columns: dict[str, str] = {}
    for name in ("handle", "title", "category", "colour", "size", "sku", "barcode", "price",
                 "location", "quantity", *ATTRIBUTE_FIELDS):
        header = spec.columns.get(name)
        default = spec.defaults.get(name, "")
        if header:
            found = h.find(_norm(header))
            assert found is not None
            expr = pl.col(found[0])
            if default:
                expr = pl.when(expr == "").then(pl.lit(default)).otherwise(expr)
            columns[name] = found[1]
        else:
            expr = pl.lit(default)
        exprs.append(expr.alias(name))
    frame = raw.frame.select(exprs)
    fields = tuple(f for f in ATTRIBUTE_FIELDS if spec.columns.get(f) or spec.defaults.get(f))
    if spec.columns.get("handle"):
        # A product's title and attributes may be on its first row only.
        frame = frame.with_columns(
            pl.col(name).replace("", None).forward_fill().over("handle").fill_null("")
            for name in ("title", *fields)
        )
    # A product "has sizes" when any of its rows names one; a row of it without is an error.
    group = "handle" if spec.columns.get("handle") else None
    size_expected = (pl.col("size") != "").any().over(group) if group else pl.lit(False)
    colour_expected = (pl.col("colour") != "").any().over(group) if group else pl.lit(False)
    frame = frame.with_columns(
        pl.lit("").alias("vendor"),
        pl.lit(columns.get("colour", "")).alias("colour_col"),
        pl.lit(columns.get("size", "")).alias("size_col"),
        size_expected.alias("size_expected"),
        colour_expected.alias("colour_expected"),
    )
    has_quantity = "quantity" in columns or bool(spec.defaults.get("quantity"))
    return Feed(Format.MAPPED, frame, columns, spec, has_quantity, fields)


#: Product attributes a mapped column can carry (models/attributes.py).
ATTRIBUTE_FIELDS = ("fabric", "care", "season", "tags")


def _no_attributes(*names: str) -> list[pl.Expr]:
    return [pl.lit("").alias(name) for name in names]


def _norm(header: str) -> str:
    return " ".join(header.lower().split())


def _columns(h: _Headers, **fields: str) -> dict[str, str]:
    out = {}
    for name, header in fields.items():
        found = h.find(header)
        if found:
            out[name] = found[1]
    return out
