"""The dry-run diff: what a feed would change in one brand's catalogue and stock.

Planning reads the brand's catalogue and balances in a few bulk queries, then walks
the feed once in Python with dictionaries (100k rows in well under a second). It never
writes. Each row is checked and resolved to a variant:

1. by the file's SKU — our canonical SKU or one of the brand's aliases;
2. else by (style = handle, colour, size) — so re-importing a file without SKUs finds
   the variants it created last time;
3. else it is a new variant (and maybe a new product), with a canonical SKU generated
   from brand, handle, colour and size.

The file's quantity is the new on-hand count for that warehouse. Counts and the sample
describe what an apply would do with the valid rows; `errors` lists every invalid one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from jobs.imports.attributes import (
    AttributeChange,
    attribute_changes,
    new_product_attributes,
    row_attributes,
    stored_attributes,
)
from jobs.imports.dry_run_warnings import dry_run_warnings
from jobs.imports.formats import Feed, Format
from jobs.imports.lookups import chunks, fetch_all, foreign_skus, taken_barcodes, touched_balances
from jobs.imports.normalise import (
    canonical_sku,
    normalise_colour,
    normalise_size_label,
    parse_price_cents,
    parse_quantity,
    style_code,
)
from jobs.imports.reading import EXTRA, ROW
from jobs.imports.results import (
    BalanceDiff,
    ImportCounts,
    ImportRefused,
    ImportWarning,
    Progress,
    RowError,
)
from models.catalog import AliasKind, Product, SkuAlias, Variant
from models.sizes import SizeSystem

#: An existing variant's id, or (style, colour, size) of one the import creates.
VariantRef = int | tuple[str, str, str]
SAMPLE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Target:
    """Where the quantities go: the brand, the warehouses, the default one."""

    brand_id: int
    brand_code: str
    warehouses: list[tuple[int, str, str]]  # (id, code, name)
    default_warehouse_id: int | None = None
    sample_size: int = SAMPLE_SIZE
    reveal_owner: bool = True
    brand_name: str = ""
    #: The brand's size system hint (how a bare number like "42" reads), or None.
    size_hint: SizeSystem | None = None


@dataclass(slots=True)
class NewProduct:
    style: str
    name: str
    category: str
    attributes: dict[str, Any]
    row: int


@dataclass(slots=True)
class NewVariant:
    style: str
    colour: str
    size: str
    size_system: str
    size_rank: int
    sku: str
    barcode: str | None
    price_cents: int
    row: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.style, self.colour, self.size)


@dataclass(slots=True)
class NewAlias:
    variant: VariantRef
    code: str
    kind: str
    row: int


@dataclass(slots=True)
class Change:
    """Set on hand of `variant` at `warehouse_id` from `old` to `new` (file row `row`)."""

    variant: VariantRef
    warehouse_id: int
    old: int
    new: int
    row: int


@dataclass(slots=True)
class Plan:
    counts: ImportCounts
    errors: list[RowError]
    products: list[NewProduct] = field(default_factory=list)
    variants: list[NewVariant] = field(default_factory=list)
    aliases: list[NewAlias] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    #: Rows stating 0 units where there is no balance yet: it is created at 0.
    zeros: list[Change] = field(default_factory=list)
    sample: list[BalanceDiff] = field(default_factory=list)
    #: Spreadsheet row numbers that have at least one error.
    invalid_rows: set[int] = field(default_factory=set)
    warnings: list[ImportWarning] = field(default_factory=list)
    #: Existing products whose attributes the file changes.
    attribute_changes: list[AttributeChange] = field(default_factory=list)


class _Errors:
    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.bad: set[int] = set()

    def add(self, i: int, row: int, column: str, value: str, reason: str) -> None:
        self.items.append(RowError(row, column, value, reason))
        self.bad.add(i)


def make_plan(
    session: Session,
    feed: Feed,
    target: Target,
    *,
    progress: Progress | None = None,
    lock: bool = False,
) -> Plan:
    """Check every row and work out every change, without writing anything.

    `lock` (apply, PostgreSQL) takes the touched balances FOR UPDATE in (variant,
    warehouse) order, so what the plan read is what the apply changes.
    """
    report = progress or (lambda _phase, _fraction: None)
    data = feed.frame.to_dict(as_series=False)
    n = len(data[ROW])
    rows: list[int] = data[ROW]
    cols = feed.columns
    kind = AliasKind.BRAND.value if feed.format is Format.MAPPED else AliasKind.SHOPIFY.value
    mapping = feed.mapping
    errors = _Errors()

    # --- labels: normalise each distinct spelling once -------------------------------
    size_map = {k.lower(): v for k, v in (mapping.sizes if mapping else {}).items()}
    colour_map = {k.lower(): v for k, v in (mapping.colours if mapping else {}).items()}
    sizes = {
        raw: normalise_size_label(size_map.get(raw.lower(), raw), target.size_hint)
        for raw in set(data["size"])
    }
    colours = {
        raw: normalise_colour(colour_map.get(raw.lower(), raw)) for raw in set(data["colour"])
    }
    styles = {raw: style_code(raw) for raw in set(data["handle"])}
    warehouse_of = _location_resolver(target, mapping.locations if mapping else {})
    codes = {wid: code for wid, code, _name in target.warehouses}

    # --- rows on their own ---------------------------------------------------------------
    sku_col = cols.get("sku", "SKU")
    qty_col = cols.get("quantity", "quantity")
    loc_col = cols.get("location", "location")
    quantity: list[int | None] = [None] * n
    warehouse: list[int | None] = [None] * n
    no_quantity = 0
    # Per distinct value, not per row: most files repeat a few labels and prices.
    long_colours = {raw for raw, colour in colours.items() if len(colour) > 60}
    long_sizes = {raw for raw, size in sizes.items() if len(size[1]) > 30}
    prices = {raw: parse_price_cents(raw) for raw in set(data["price"]) if raw}
    columns = zip(
        range(n), rows, data["sku"], data["handle"], data["size"], data["colour"],
        data["size_expected"], data["colour_expected"], data["barcode"], data["price"],
        data["quantity"], data["location"], strict=True,
    )
    default_wid = target.default_warehouse_id
    for i, extra in enumerate(data[EXTRA]):
        if extra:  # cut cells would shift every value after them: the row is not trusted
            errors.add(i, rows[i], "(past the last column)", extra,
                       "row has more cells than the header has columns: is a delimiter "
                       "inside a value that is not in quotes?")
    for i, row, sku, handle, size_raw, colour_raw, size_expected, colour_expected, barcode, \
            price, raw_qty, location in columns:
        if len(sku) > 64:
            errors.add(i, row, sku_col, sku, "SKU is longer than 64 characters")
        if not sku and not handle:
            errors.add(i, row, sku_col, "", "row has neither a SKU nor a product handle")
        if size_expected and not size_raw:
            errors.add(i, row, data["size_col"][i] or cols.get("size", "size"), "",
                       "size is missing, but this product has variants by size")
        if colour_expected and not colour_raw:
            errors.add(i, row, data["colour_col"][i] or cols.get("colour", "colour"), "",
                       "colour is missing, but this product has variants by colour")
        if colour_raw in long_colours:
            errors.add(i, row, data["colour_col"][i], colour_raw, "colour is over 60 characters")
        if size_raw in long_sizes:
            errors.add(i, row, data["size_col"][i], size_raw, "size is over 30 characters")
        if len(barcode) > 32:
            errors.add(i, row, cols.get("barcode", "barcode"), barcode,
                       "barcode is over 32 characters")
        if price and (reason := prices[price][1]):
            errors.add(i, row, cols.get("price", "price"), price, reason)
        if not raw_qty or raw_qty.lower() == "not stocked":
            no_quantity += 1
            continue
        if raw_qty.isascii() and raw_qty.isdigit() and len(raw_qty) < 10:  # the usual case
            qty, reason = int(raw_qty), None
        else:
            qty, reason = parse_quantity(raw_qty)
        if qty is None:
            errors.add(i, row, qty_col, raw_qty, reason or "quantity is not a number")
            continue
        wid = warehouse_of(location) if location else default_wid
        if wid is None:
            if location:
                errors.add(i, row, loc_col, location,
                           "unknown location: no warehouse has this code or name")
            else:
                errors.add(i, row, loc_col, "", "location is missing")
            continue
        quantity[i], warehouse[i] = qty, wid
    fields = feed.attribute_fields
    wanted = row_attributes(data, rows, fields, cols, errors.add)
    report("planning", 0.35)

    # --- the brand's catalogue, in bulk --------------------------------------------------
    brand_id = target.brand_id
    db = session.connection()  # Core reads: no ORM row processing for 100k rows
    product_t, variant_t, alias_t = Product.__table__, Variant.__table__, SkuAlias.__table__
    products: dict[str, int] = {}
    titles: dict[str, str] = {}  # style → product name
    for pid, style, name in fetch_all(
        db,
        select(product_t.c.id, product_t.c.style_code, product_t.c.name).where(
            product_t.c.brand_id == brand_id
        ),
    ):
        products[style] = pid
        titles[style] = name
    style_of = {pid: style for style, pid in products.items()}
    by_sku: dict[str, int] = {}
    by_key: dict[tuple[int, str, str], int] = {}
    described: dict[int, tuple[str, str, str, str]] = {}
    colours_seen: dict[str, str] = {}
    v = variant_t.c
    for vid, pid, sku, colour, size in fetch_all(
        db, select(v.id, v.product_id, v.sku, v.colour, v.size).where(v.brand_id == brand_id)
    ):
        by_sku[sku] = vid
        colour = colours_seen.get(colour) or colours_seen.setdefault(
            colour, normalise_colour(colour)
        )
        by_key[(pid, colour, size)] = vid
        described[vid] = (sku, style_of.get(pid, ""), colour, size)
    aliases: dict[str, int] = dict(
        fetch_all(
            db, select(alias_t.c.code, alias_t.c.variant_id).where(alias_t.c.brand_id == brand_id)
        )
    )
    file_skus = sorted({s for s in data["sku"] if s and s not in by_sku and s not in aliases})
    foreign = foreign_skus(session, brand_id, file_skus)
    report("planning", 0.5)

    # --- resolve each row to a variant ------------------------------------------------
    refs: list[VariantRef | None] = [None] * n
    for i in range(n):
        row, sku = rows[i], data["sku"][i]
        style = styles[data["handle"][i]]
        colour = colours[data["colour"][i]]
        size = sizes[data["size"][i]][1]
        by_code = (aliases.get(sku) or by_sku.get(sku)) if sku else None
        pid = products.get(style) if style else None
        by_identity = by_key.get((pid, colour, size)) if pid is not None else None
        if by_code is None and sku in foreign:
            owner = f" ({foreign[sku]})" if target.reveal_owner else ""
            errors.add(i, row, sku_col, sku, f"SKU belongs to another brand{owner}")
            continue
        if by_code is not None and by_identity is not None and by_code != by_identity:
            theirs = described[by_code]
            errors.add(
                i, row, sku_col, sku,
                f"SKU is our {theirs[0]} ({_label(theirs[2], theirs[3])}), but the row "
                f"describes {described[by_identity][0]} ({_label(colour, size)})",
            )
            continue
        ref: VariantRef | None = by_code if by_code is not None else by_identity
        if ref is None:
            if not style:
                errors.add(i, row, sku_col, sku,
                           "unknown SKU: not in this brand's catalogue, and the row has no "
                           "handle to create it under")
                continue
            ref = (style, colour, size)
        refs[i] = ref

    # --- barcodes of new variants: unique in the brand, naming nothing of another ------
    barcode_col = cols.get("barcode", "barcode")
    new_barcodes = sorted({
        data["barcode"][i] for i in range(n)
        if isinstance(refs[i], tuple) and data["barcode"][i]
    })
    taken = taken_barcodes(session, brand_id, new_barcodes) if new_barcodes else {}
    first_with_barcode: dict[str, int] = {}
    for i in range(n):
        barcode = data["barcode"][i]
        if not isinstance(refs[i], tuple) or not barcode:
            continue
        if barcode in taken:
            owner = taken[barcode]
            if owner == target.brand_code:
                reason = "barcode already names another variant of this brand"
            else:
                reason = "barcode belongs to another brand" + (
                    f" ({owner})" if target.reveal_owner else "")
            errors.add(i, rows[i], barcode_col, barcode, reason)
            refs[i] = None
            continue
        j = first_with_barcode.setdefault(barcode, i)
        if j != i and refs[j] != refs[i]:
            errors.add(i, rows[i], barcode_col, barcode,
                       f"the same barcode is in row {rows[j]} for another variant")
            refs[i] = None

    # --- the file against itself -------------------------------------------------------
    first_by_sku: dict[str, int] = {}
    first_sku_of_new: dict[tuple[str, str, str], int] = {}
    first_target: dict[tuple[VariantRef, int], int] = {}
    duplicate_rows: set[int] = set()
    for i in range(n):
        ref, sku, row = refs[i], data["sku"][i], rows[i]
        if ref is None:
            continue
        if sku:
            j = first_by_sku.setdefault(sku, i)
            if j != i and refs[j] != ref:
                for a, b in ((i, j), (j, i)):
                    errors.add(a, rows[a], sku_col, sku,
                               f"the same SKU is in row {rows[b]} for another product, "
                               "colour or size")
        if isinstance(ref, tuple) and sku:
            j = first_sku_of_new.setdefault(ref, i)
            if j != i and data["sku"][j] != sku:
                for a, b in ((i, j), (j, i)):
                    errors.add(a, rows[a], sku_col, data["sku"][a],
                               f"row {rows[b]} has the same product, colour and size with "
                               "another SKU (an option we do not keep, or a duplicate?)")
        if quantity[i] is not None and warehouse[i] is not None:
            key = (ref, warehouse[i])
            j = first_target.setdefault(key, i)
            if j != i:
                if quantity[j] != quantity[i]:
                    where = codes.get(warehouse[i], "")
                    for a, b in ((i, j), (j, i)):
                        errors.add(a, rows[a], qty_col, data["quantity"][a],
                                   f"row {rows[b]} sets the same variant at {where} to "
                                   f"{quantity[b]}")
                else:
                    duplicate_rows.add(i)
    report("planning", 0.6)

    # --- balances: old → new ---------------------------------------------------------------
    wanted_pairs = {
        (ref, warehouse[i])
        for i, ref in enumerate(refs)
        if isinstance(ref, int) and quantity[i] is not None and warehouse[i] is not None
    }
    balances = touched_balances(session, brand_id, wanted_pairs, lock=lock)
    report("planning", 0.75)
    changes: list[Change] = []
    zeros: list[Change] = []
    unchanged = 0
    for i in range(n):
        ref, qty, wid = refs[i], quantity[i], warehouse[i]
        if ref is None or qty is None or wid is None or i in errors.bad or i in duplicate_rows:
            continue
        old, reserved = balances.get((ref, wid), (0, 0)) if isinstance(ref, int) else (0, 0)
        if qty == old:
            unchanged += 1
            if qty == 0 and (ref, wid) not in balances:
                zeros.append(Change(ref, wid, 0, 0, rows[i]))
        elif qty < reserved:
            errors.add(i, rows[i], qty_col, data["quantity"][i],
                       f"would set on hand at {codes[wid]} to {qty}, below the {reserved} "
                       "units reserved for orders")
        else:
            changes.append(Change(ref, wid, old, qty, rows[i]))

    # --- what the valid rows create ----------------------------------------------------
    plan = Plan(ImportCounts(), [], changes=changes, zeros=zeros)
    new_products: dict[str, NewProduct] = {}
    new_variants: dict[tuple[str, str, str], NewVariant] = {}
    alias_codes: set[str] = set()
    firsts: dict[int, tuple[int, Any]] = {}  # existing product → its first row's attributes
    for i in range(n):
        ref = refs[i]
        if ref is None or i in errors.bad:
            continue
        pid = products.get(ref[0] if isinstance(ref, tuple) else described[ref][1])
        if pid is not None and wanted[i] is not None:
            firsts.setdefault(pid, (rows[i], wanted[i]))
        if isinstance(ref, tuple):
            style = ref[0]
            if style not in products and style not in new_products:
                new_products[style] = NewProduct(
                    style=style,
                    name=(data["title"][i] or style)[:300],
                    category=data["category"][i][:100],
                    attributes=new_product_attributes(data["vendor"][i], wanted[i], fields),
                    row=rows[i],
                )
            if ref not in new_variants:
                system, size, rank = sizes[data["size"][i]]
                cents = prices[data["price"][i]][0] if data["price"][i] else 0
                new_variants[ref] = NewVariant(
                    style=style, colour=ref[1], size=size, size_system=system.value,
                    size_rank=rank, sku="", barcode=data["barcode"][i] or None,
                    price_cents=cents or 0, row=rows[i],
                )
        sku = data["sku"][i]
        if sku and sku not in aliases and sku not in by_sku and sku not in alias_codes:
            alias_codes.add(sku)
            plan.aliases.append(NewAlias(ref, sku, kind, rows[i]))
    _assign_skus(session, target.brand_code, list(new_variants.values()), set(by_sku))
    plan.products = list(new_products.values())
    if firsts:
        stored = stored_attributes(session, list(firsts))
        plan.attribute_changes = attribute_changes(firsts, stored, fields)
    plan.variants = list(new_variants.values())
    titles.update((p.style, p.name) for p in plan.products)
    valid = [i for i in range(n) if refs[i] is not None and i not in errors.bad]
    plan.warnings = dry_run_warnings(data, rows, refs, valid, target, titles, cols)

    # --- the report --------------------------------------------------------------------
    errors.items.sort(key=lambda e: e.row)
    plan.errors = errors.items
    plan.invalid_rows = {rows[i] for i in errors.bad}
    plan.counts = ImportCounts(
        rows=n,
        new_products=len(plan.products),
        new_variants=len(plan.variants),
        new_aliases=len(plan.aliases),
        changed_balances=len(changes),
        unchanged=unchanged,
        no_quantity=no_quantity,
        errors=len(errors.items),
        invalid_rows=len(errors.bad),
        changed_products=len(plan.attribute_changes),
    )
    for change in changes[: target.sample_size]:
        if isinstance(change.variant, int):
            sku, style, colour, size = described[change.variant]
        else:
            variant = new_variants[change.variant]
            sku, style, colour, size = variant.sku, variant.style, variant.colour, variant.size
        plan.sample.append(
            BalanceDiff(change.row, sku, style, colour, size, codes[change.warehouse_id],
                        change.old, change.new, titles.get(style, style))
        )
    report("planning", 1.0)
    return plan


def _label(colour: str, size: str) -> str:
    return f"{colour} / {size}" if colour else size


def _location_resolver(target: Target, mapped: dict[str, str]) -> Callable[[str], int | None]:
    """A function from the file's location label to our warehouse id (or None)."""
    by_label: dict[str, int] = {}
    by_code = {code.lower(): wid for wid, code, _name in target.warehouses}
    for wid, code, name in target.warehouses:
        by_label.setdefault(name.strip().lower(), wid)
        by_label[code.lower()] = wid
    for label, code in mapped.items():
        wid = by_code.get(code.strip().lower())
        if wid is None:
            raise ImportRefused(
                f"The mapping sends location {label!r} to warehouse {code!r}, which does not "
                "exist. Fix the mapping.",
                location=label,
                warehouse=code,
            )
        by_label[label.strip().lower()] = wid
    cache: dict[str, int | None] = {}

    def resolve(label: str) -> int | None:
        if label not in cache:
            cache[label] = by_label.get(" ".join(label.split()).lower())
        return cache[label]

    return resolve


def _assign_skus(
    session: Session, brand_code: str, variants: list[NewVariant], ours: set[str]
) -> None:
    """Give each new variant its canonical SKU, stepping past any SKU already taken."""
    if not variants:
        return
    proposed = [canonical_sku(brand_code, v.style, v.colour, v.size) for v in variants]
    taken = set(ours)
    for chunk in chunks(sorted(set(proposed) - taken)):
        taken.update(session.scalars(select(Variant.sku).where(Variant.sku.in_(chunk))))
    for variant, sku in zip(variants, proposed, strict=True):
        salt = 0
        while sku in taken:
            salt += 1
            sku = canonical_sku(brand_code, variant.style, variant.colour, variant.size, salt)
        taken.add(sku)
        variant.sku = sku
