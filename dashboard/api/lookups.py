"""Resolve the SKUs and warehouse codes that requests name, honouring brand-bound keys."""

from __future__ import annotations

from sqlmodel import Session

from dashboard.api.security import check_brand
from models.api_keys import KeyHolder
from models.catalog import Variant, Warehouse, variant_by_sku, warehouse_by_code
from models.errors import NotFound


def variant_for(session: Session, holder: KeyHolder, sku: str) -> Variant:
    """The variant a key may touch: its own brand's aliases first, then a 403 for others."""
    if holder.brand_id is not None:
        try:
            return variant_by_sku(session, sku, brand_id=holder.brand_id)
        except NotFound:
            pass
    variant = variant_by_sku(session, sku)
    check_brand(holder, variant)
    return variant


def warehouse_for(session: Session, code: str) -> Warehouse:
    warehouse = warehouse_by_code(session, code.strip().upper())
    if not warehouse.is_active:
        raise NotFound(f"Warehouse {code!r} is not active.", warehouse=code)
    return warehouse
