"""`/reservations` and `/sales/returns`: checkout holds, their outcome, and returns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlmodel import Session

from dashboard.api.lookups import owned_reservation, variant_for, warehouse_for
from dashboard.api.schemas import (
    ErrorBody,
    ReservationOut,
    ReserveRequest,
    ReturnOut,
    ReturnRequest,
)
from dashboard.api.security import ApiSecret, authorize
from dashboard.api.stock import _balance
from jobs import metrics
from jobs.logs import bind
from models.api_keys import KEY_PREFIX, Scope, note_use
from models.catalog import Variant, Warehouse
from models.db import transaction
from models.errors import DomainError
from models.reservations import (
    Reservation,
    ReservationStatus,
    commit,
    record_return,
    release,
    reserve,
    reserve_by_key,
)
from models.stock import get_balance
from models.users import hash_secret

router = APIRouter(tags=["reservations"])
ReservationId = Annotated[int, Path(ge=1, le=2**62)]
CAN_RESERVE = Scope.RESERVATIONS_WRITE


def _out(session: Session, reservation: Reservation, sku: str | None = None) -> ReservationOut:
    if sku is None:
        variant = session.get(Variant, reservation.variant_id)
        sku = variant.sku if variant else "?"
    warehouse = session.get(Warehouse, reservation.warehouse_id)
    return ReservationOut(
        id=reservation.id,
        sku=sku,
        warehouse=warehouse.code if warehouse else "?",
        qty=reservation.qty,
        channel=reservation.channel,
        order_ref=reservation.order_ref,
        status=reservation.status,
        created_at=reservation.created_at,
        expires_at=reservation.expires_at,
        closed_at=reservation.closed_at,
    )


@router.post(
    "/reservations",
    response_model=ReservationOut,
    status_code=201,
    responses={
        200: {"description": "A retry: the reservation made earlier for this order"},
        409: {"model": ErrorBody, "description": "insufficient_stock, with what is available"},
    },
)
def create_reservation(
    body: ReserveRequest, response: Response, secret: ApiSecret
) -> ReservationOut:
    """Hold stock for an order. The same (channel, order_ref, sku) again returns the same hold."""
    with transaction() as session:
        held = _reserve_at_once(session, body, secret)
        if held is not None:
            metrics.count_reservation("created")
            return held
        holder = authorize(session, secret, CAN_RESERVE)
        variant = variant_for(session, holder, body.sku)
        warehouse_id = warehouse_for(session, body.warehouse).id if body.warehouse else None
        try:
            result = reserve(
                session,
                variant.id,
                body.qty,
                channel=body.channel,
                order_ref=body.order_ref,
                actor=holder.actor,
                warehouse_id=warehouse_id,
                ttl=timedelta(seconds=body.ttl_seconds),
            )
        except DomainError as refusal:
            metrics.count_reservation("refused", refusal.code)
            raise
        out = _out(session, result.reservation, variant.sku)
    metrics.count_reservation("created" if result.created else "replayed")
    if not result.created:
        response.status_code = 200
    return out


def _reserve_at_once(session: Session, body: ReserveRequest, secret: str) -> ReservationOut | None:
    """The common case in one statement on PostgreSQL (key check, SKU, hold: see
    `models.reservations.reserve_by_key`); None when the general path must answer."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 100:
        return None  # OAuth2 tokens and nonsense take the general path
    ttl = timedelta(seconds=body.ttl_seconds)
    warehouse = body.warehouse.strip().upper() if body.warehouse else None
    held = reserve_by_key(
        session,
        hash_secret(secret),
        CAN_RESERVE.value,
        body.sku,
        body.qty,
        channel=body.channel,
        order_ref=body.order_ref,
        warehouse_code=warehouse,
        ttl=ttl,
    )
    if held is None:
        return None
    bind(api_key_name=held.key_name)
    note_use(session, held.key_id, held.key_last_used_at)
    return ReservationOut(
        id=held.reservation_id,
        sku=held.sku,
        warehouse=held.warehouse_code,
        qty=body.qty,
        channel=held.channel,
        order_ref=held.order_ref,
        status=ReservationStatus.ACTIVE.value,
        created_at=held.created_at,
        expires_at=held.expires_at,
    )


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
def get_reservation(reservation_id: ReservationId, secret: ApiSecret) -> ReservationOut:
    with transaction() as session:
        holder = authorize(session, secret, CAN_RESERVE)
        return _out(session, owned_reservation(session, holder, reservation_id))


@router.post("/reservations/{reservation_id}/commit", response_model=ReservationOut)
def commit_reservation(reservation_id: ReservationId, secret: ApiSecret) -> ReservationOut:
    """The order was paid: the held units are sold (on hand and reserved both go down)."""
    return _settle(reservation_id, secret, commit, "committed")


@router.post("/reservations/{reservation_id}/release", response_model=ReservationOut)
def release_reservation(reservation_id: ReservationId, secret: ApiSecret) -> ReservationOut:
    """The checkout was abandoned: the held units are available again."""
    return _settle(reservation_id, secret, release, "released")


def _settle(
    reservation_id: int, secret: str, step: Callable[..., Reservation], outcome: str
) -> ReservationOut:
    """Commit or release one of the key's own reservations (`step`), counted as `outcome`."""
    with transaction() as session:
        holder = authorize(session, secret, CAN_RESERVE)
        owned_reservation(session, holder, reservation_id)
        out = _out(session, step(session, reservation_id, actor=holder.actor))
    metrics.count_reservation(outcome)
    return out


@router.post("/sales/returns", response_model=ReturnOut, status_code=201, tags=["sales"])
def post_return(body: ReturnRequest, secret: ApiSecret) -> ReturnOut:
    """A customer sent units of an order back to a warehouse: they go back on hand."""
    with transaction() as session:
        holder = authorize(session, secret, CAN_RESERVE)
        variant = variant_for(session, holder, body.sku)
        place = warehouse_for(session, body.warehouse)
        record_return(
            session, variant.id, place.id, body.qty, order_ref=body.order_ref, actor=holder.actor
        )
        balance = get_balance(session, variant.id, place.id)
    return ReturnOut(
        sku=variant.sku,
        warehouse=place.code,
        qty=body.qty,
        order_ref=body.order_ref,
        balance=_balance(place.code, balance),
    )
