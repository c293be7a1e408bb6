"""What a scanned code names among the lines of one document (a count sheet, a receipt).

A scanner types a code and Enter. The code may be a variant's canonical SKU, one of its
aliases (brand, legacy, Shopify SKU or a barcode alias) or its barcode; barcodes are
unique only within a brand, so one code may name variants of several brands. The
document's own lines decide: the code resolves to the one line it names there. A code
that names nothing (or only another brand's variants, for a brand-bound user) is
unknown; one that names variants none of which is on the document is "not on" it,
naming what it is, so the counter knows the item belongs elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlmodel import Session

from models.catalog import SkuAlias, Variant
from models.errors import Conflict, NotFound

#: Longer than any SKU, alias or barcode column: such a code can name nothing.
MAX_CODE = 64
#: How a code matched, strongest first: a canonical SKU beats an alias beats a barcode.
_VIA = ("sku", "alias", "barcode")


@dataclass(frozen=True, slots=True)
class ScanMatch:
    """The one line a code named: its variant, and how the code matched it."""

    variant_id: int
    sku: str
    colour: str
    size: str
    via: str  # "sku" | "alias" | "barcode"

    @property
    def label(self) -> str:
        """The SKU with its size ("NORTH-NW-STRAIGHT-30 (30)"), as a confirmation says it."""
        return f"{self.sku} ({self.size})" if self.size else self.sku


def clean_code(code: object) -> str:
    """The code as scanned, without the whitespace a scanner or a person may add."""
    return code.strip() if isinstance(code, str) else ""


def shown(code: str) -> str:
    """A code as a message quotes it (a long paste is cut)."""
    return repr(code if len(code) <= 40 else code[:40] + "…")


def match_scan(
    session: Session,
    code: object,
    variant_ids: Collection[int],
    *,
    brand_id: int | None = None,
    where: str = "this sheet",
) -> ScanMatch:
    """The line among `variant_ids` that `code` names (by SKU, alias or barcode).

    `brand_id` is the caller's brand scope: another brand's codes are unknown to it.
    Raises NotFound (field `code`) for an unknown code or one whose variants are not
    among the lines (`where` names the document), Conflict when it names two lines.
    """
    text = clean_code(code)
    if not text:
        raise NotFound("Scan or type a barcode, alias or SKU first.", field="code", code="")
    unknown = NotFound(
        f"Unknown code {shown(text)}: no barcode, alias or SKU matches it.",
        field="code",
        code=text,
    )
    if len(text) > MAX_CODE:
        raise unknown
    aliased = select(SkuAlias.variant_id).where(SkuAlias.code == text)
    if brand_id is not None:
        aliased = aliased.where(SkuAlias.brand_id == brand_id)
    query = select(Variant).where(
        or_(Variant.sku == text, Variant.barcode == text, Variant.id.in_(aliased))
    )
    if brand_id is not None:
        query = query.where(Variant.brand_id == brand_id)
    named = list(session.scalars(query.order_by(Variant.id).limit(50)))
    if not named:
        raise unknown
    alias_ids = set(session.scalars(aliased)) if any(v.sku != text for v in named) else set()

    def via(variant: Variant) -> str:
        if variant.sku == text:
            return "sku"
        return "alias" if variant.id in alias_ids else "barcode"

    wanted = set(variant_ids)
    here = [v for v in named if v.id in wanted]
    if not here:
        elsewhere = ", ".join(sorted(v.sku for v in named)[:3])
        raise NotFound(
            f"{shown(text)} is {elsewhere}, which is not on {where}.",
            field="code",
            code=text,
            skus=sorted(v.sku for v in named),
        )
    best = min(_VIA.index(via(v)) for v in here)
    found = [v for v in here if _VIA.index(via(v)) == best]
    if len(found) > 1:
        skus = ", ".join(sorted(v.sku for v in found))
        raise Conflict(
            f"{shown(text)} names {len(found)} lines here ({skus}); scan or type the SKU instead.",
            field="code",
            code=text,
        )
    variant = found[0]
    assert variant.id is not None
    return ScanMatch(variant.id, variant.sku, variant.colour, variant.size, _VIA[best])
