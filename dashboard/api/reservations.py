"""`/reservations` and `/sales/returns`: checkout holds, their outcome, and returns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import select
from sqlmodel import Session

from dashboard.api.lookups import owned_reservation, variant_for, warehouse_for
from dashboard.api.schemas import (
    Allocation,
    ErrorBody,
    ReservationOut,
    ReserveRequest,
    ReturnOut,
    ReturnRequest,
)
from dashboard.api.security import ApiSecret, authorize
from dashboard.api.stock import _balance
from dashboard.items import item_of
from jobs import metrics
from jobs.logs import bind
from models.api_keys import KEY_PREFIX, KeyHolder, Scope, note_use
from models.catalog import Variant, Warehouse
from models.db import transaction
from models.errors import DomainError
from models.geo import Place, place
from models.reservation_rows import ReserveResult
from models.reservations import (
    Reservation,
    ReservationStatus,
    commit_hold,
    record_return,
    release_hold,
    reserve,
    reserve_by_key,
    sibling_lines,
)
from models.stock import get_balance
from models.users import hash_secret

router = APIRouter(tags=["reservations"])
ReservationId = Annotated[int, Path(ge=1, le=2**62)]
CAN_RESERVE = Scope.RESERVATIONS_WRITE


def _out(
    session: Session,
    reservation: Reservation,
    sku: str | None = None,
    lines: tuple[Reservation, ...] | list[Reservation] = (),
) -> ReservationOut:
    """The hold `reservation` belongs to (all its lines, when split), as the API shows it."""
    if sku is None:
        variant = session.get(Variant, reservation.variant_id)
        sku = variant.sku if variant else "?"
    lines = sorted(lines or sibling_lines(session, reservation), key=lambda r: r.line)
    codes = dict(
        session.execute(
            select(Warehouse.id, Warehouse.code).where(
                Warehouse.id.in_({r.warehouse_id for r in lines})
            )
        ).all()
    )
    allocations = [Allocation(warehouse=codes.get(r.warehouse_id, "?"), qty=r.qty) for r in lines]
    return item_of(
        ReservationOut,
        reservation,
        sku=sku,
        warehouse=allocations[0].warehouse,
        qty=sum(a.qty for a in allocations),
        allocations=allocations,
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
    """Hold stock for an order. The same (channel, order_ref, sku) again returns the same hold.

    A configured channel allocates by its strategy (towards `ship_to` for `nearest`) and,
    if it allows splitting, over several warehouses: all of `allocations` or nothing."""
    ship_to = ship_to_of(body)
    with transaction() as session:
        held = _reserve_at_once(session, body, secret)
        if held is not None:
            metrics.count_reservation("created")
            return held
        holder = authorize(session, secret, CAN_RESERVE)
        sku, result = reserve_for(session, holder, body, ship_to)
        out = _out(session, result.reservation, sku, result.lines)
    if not result.created:
        response.status_code = 200
    return out


def ship_to_of(body: ReserveRequest) -> Place | None:
    """The request's checked destination (refused before anything is held)."""
    to = body.ship_to
    return place(to.country, to.lat, to.lon) if to else None


def reserve_for(
    session: Session, holder: KeyHolder, body: ReserveRequest, ship_to: Place | None
) -> tuple[str, ReserveResult]:
    """A reserve request (REST or GraphQL) as `holder` may make it: the SKU and warehouse
    it names, the hold, and the outcome counted (created, replayed or refused). Returns
    the variant's canonical SKU with the result."""
    variant = variant_for(session, holder, body.sku)
    try:
        result = reserve(
            session,
            variant.id,
            body.qty,
            channel=body.channel,
            order_ref=body.order_ref,
            actor=holder.actor,
            warehouse_id=warehouse_for(session, body.warehouse).id if body.warehouse else None,
            ttl=timedelta(seconds=body.ttl_seconds),
            ship_to=ship_to,
        )
    except DomainError as refusal:
        metrics.count_reservation("refused", refusal.code)
        raise
    metrics.count_reservation("created" if result.created else "replayed")
    return variant.sku, result


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
    return item_of(
        ReservationOut,
        held,
        id=held.reservation_id,
        warehouse=held.warehouse_code,
        qty=body.qty,
        allocations=[Allocation(warehouse=held.warehouse_code, qty=body.qty)],
        status=ReservationStatus.ACTIVE.value,
    )


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
def get_reservation(reservation_id: ReservationId, secret: ApiSecret) -> ReservationOut:
    with transaction() as session:
        holder = authorize(session, secret, CAN_RESERVE)
        return _out(session, owned_reservation(session, holder, reservation_id))


@router.post("/reservations/{reservation_id}/commit", response_model=ReservationOut)
def commit_reservation(reservation_id: ReservationId, secret: ApiSecret) -> ReservationOut:
    """The order was paid: the held units are sold (on hand and reserved both go down)."""
    return _close(reservation_id, secret, commit_hold, "committed")


@router.post("/reservations/{reservation_id}/release", response_model=ReservationOut)
def release_reservation(reservation_id: ReservationId, secret: ApiSecret) -> ReservationOut:
    """The checkout was abandoned: the held units are available again."""
    return _close(reservation_id, secret, release_hold, "released")


def _close(
    reservation_id: int,
    secret: str,
    close: Callable[..., list[Reservation]],
    outcome: str,
) -> ReservationOut:
    """Commit or release a whole hold (every warehouse of a split); answer for this id."""
    with transaction() as session:
        holder = authorize(session, secret, CAN_RESERVE)
        owned_reservation(session, holder, reservation_id)
        lines = close(session, reservation_id, actor=holder.actor)
        out = _out(session, next(r for r in lines if r.id == reservation_id), lines=lines)
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
