"""A brand's settings after creation: its name and its size system hint.

Created and listed in `models.admin` with the other admin records; here, what changes
later (`rackroom brand update`, the Edit dialog of /admin/brands).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session

from models.admin import BRAND_FIELDS, _code_and_name
from models.audit import SYSTEM, fields_of, record_update
from models.catalog import Brand
from models.errors import NotFound
from models.sizes import parse_size_hint


def update_brand(
    session: Session, brand_id: int, changes: Mapping[str, str | None], *, actor: str = SYSTEM
) -> Brand:
    """Apply a form's `changes` to a brand: "name" renames it, "size_hint" sets its size
    system hint ("auto" clears it); a key that is missing or None keeps that field. The
    code stays. A new hint changes how later imports read bare sizes; variants already
    stored keep theirs."""
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise NotFound(f"There is no brand {brand_id}.", brand_id=brand_id)
    before = fields_of(brand, *BRAND_FIELDS)
    name, size_hint = changes.get("name"), changes.get("size_hint")
    if name is not None:
        _code_and_name(brand.code, name, "brand")
        brand.name = name.strip()
    if size_hint is not None:
        hint = parse_size_hint(size_hint)
        brand.size_system_hint = hint.value if hint else None
    session.add(brand)
    session.flush()
    record_update(session, actor, brand, before, BRAND_FIELDS)
    return brand
