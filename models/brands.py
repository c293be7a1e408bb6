"""A brand's settings after creation: its name and its size system hint.

Created and listed in `models.admin` with the other admin records; here, what changes
later (`rackroom brand update`, the Edit dialog of /admin/brands).
"""

from __future__ import annotations

from sqlmodel import Session

from models.admin import BRAND_FIELDS, _code_and_name
from models.audit import SYSTEM, diff, fields_of, record
from models.catalog import Brand
from models.errors import NotFound
from models.sizes import parse_size_hint


def update_brand(
    session: Session,
    brand_id: int,
    *,
    name: str | None = None,
    size_hint: str | None = None,
    actor: str = SYSTEM,
) -> Brand:
    """Rename a brand or change its size system hint (None keeps a field; "auto" clears
    the hint). The code stays. A new hint changes how later imports read bare sizes;
    variants already stored keep theirs."""
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise NotFound(f"There is no brand {brand_id}.", brand_id=brand_id)
    before = fields_of(brand, *BRAND_FIELDS)
    if name is not None:
        _code_and_name(brand.code, name, "brand")
        brand.name = name.strip()
    if size_hint is not None:
        hint = parse_size_hint(size_hint)
        brand.size_system_hint = hint.value if hint else None
    session.add(brand)
    session.flush()
    if changes := diff(before, fields_of(brand, *BRAND_FIELDS)):
        record(
            session,
            actor,
            "brand.updated",
            target_type="brand",
            target_id=brand.id,
            label=brand.code,
            changes=changes,
        )
    return brand
