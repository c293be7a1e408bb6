"""A dry run's warnings: what the valid rows do that a person should confirm before
applying (another brand's Vendor, SKUs we generate, new variants without a colour or a
size)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.imports.results import ImportWarning

if TYPE_CHECKING:
    from jobs.imports.plan import Target, VariantRef

#: Rows and examples a warning names (its count is exact).
WARNING_ROWS = 10


def dry_run_warnings(
    data: dict[str, list],
    rows: list[int],
    refs: list[VariantRef | None],
    valid: list[int],
    target: Target,
    titles: dict[str, str],
    cols: dict[str, str],
) -> list[ImportWarning]:
    """What the valid rows do that a person should confirm: another brand's Vendor,
    SKUs we generate, new variants without a colour or a size."""
    warnings: list[ImportWarning] = []
    ours = {_plain(target.brand_code), _plain(target.brand_name)} - {""}
    foreign: dict[str, list[int]] = {}
    for i in valid:
        vendor = data["vendor"][i].strip()
        if vendor and _plain(vendor) not in ours:
            foreign.setdefault(vendor, []).append(rows[i])
    if foreign:
        count = sum(len(r) for r in foreign.values())
        named = ", ".join(
            f"{vendor!r} ({len(r):,} row{'s' if len(r) != 1 else ''})"
            for vendor, r in foreign.items()
        )
        brand = target.brand_code + (f" ({target.brand_name})" if target.brand_name else "")
        warnings.append(ImportWarning(
            "vendor", count,
            f"The Vendor column names another brand than {brand}: {named}. Is this "
            "file for this brand?",
            sorted(r for rs in foreign.values() for r in rs)[:WARNING_ROWS],
            list(foreign)[:WARNING_ROWS],
        ))
    created: dict[tuple[str, str, str], int] = {}  # new variant → its first row
    for i in valid:
        ref = refs[i]
        if isinstance(ref, tuple):
            created.setdefault(ref, i)
    checks = (
        ("generated_skus", [k for k, i in created.items() if not data["sku"][i]],
         "new variant(s) have no SKU in the file ({column} is blank): SKUs will be "
         "generated for them, which the vendor's own system will not know"),
        ("missing_colour", [k for k, i in created.items() if not data["colour"][i]],
         "new variant(s) will be created without a colour"),
        ("missing_size", [k for k, i in created.items() if not data["size"][i]],
         "new variant(s) will be created without a size (as one size)"),
    )
    for kind, found, text in checks:
        if not found:
            continue
        products = list(dict.fromkeys(titles.get(style, style) for style, _c, _s in found))
        shown = ", ".join(products[:3])
        if len(products) > 3:
            shown += f" and {len(products) - 3:,} more"
        message = f"{len(found):,} " + text.format(column=cols.get("sku", "SKU"))
        warnings.append(ImportWarning(
            kind, len(found), f"{message}; products: {shown}.",
            sorted(rows[created[k]] for k in found)[:WARNING_ROWS], products[:WARNING_ROWS],
        ))
    return warnings


def _plain(name: str) -> str:
    """A brand or vendor name compared loosely: 'Nordlys A/S' ~ 'nordlys-a-s'."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())
