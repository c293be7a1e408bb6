"""Resolve the SKUs and warehouse codes that requests name, honouring brand-bound keys."""

from __future__ import annotations

from sqlmodel import Session

from models.api_keys import KeyHolder
from models.catalog import Variant, Warehouse, variant_by_sku, warehouse_by_code
from models.errors import NotFound
from models.reservations import Reservation


def variant_for(session: Session, holder: KeyHolder, sku: str) -> Variant:
    """The variant a key may touch. For a brand-bound key another brand's SKU is the
    same 404 as an unknown one: the key learns nothing about other brands."""
    if holder.brand_id is None:
        return variant_by_sku(session, sku)
    try:
        return variant_by_sku(session, sku, brand_id=holder.brand_id)
    except NotFound as unknown:
        not_found = unknown
    variant = variant_by_sku(session, sku)  # its own barcodes are found this way
    if variant.brand_id != holder.brand_id:
        raise not_found
    return variant


def warehouse_for(session: Session, code: str) -> Warehouse:
    warehouse = warehouse_by_code(session, code.strip().upper())
    if not warehouse.is_active:
        raise NotFound(f"Warehouse {code!r} is not active.", warehouse=code)
    return warehouse


def owned_reservation(session: Session, holder: KeyHolder, reservation_id: int) -> Reservation:
    """The reservation if it exists and its SKU is one the key may touch."""
    reservation = session.get(Reservation, reservation_id)
    if reservation is None:
        raise NotFound(f"No reservation with id {reservation_id}.", reservation_id=reservation_id)
    variant = session.get(Variant, reservation.variant_id)
    assert variant is not None
    if holder.brand_id is not None and variant.brand_id != holder.brand_id:
        raise NotFound(f"No reservation with id {reservation_id}.", reservation_id=reservation_id)
    return reservation
