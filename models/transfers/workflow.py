"""A transfer's paperwork: draft, lines, submit, approve, cancel (nothing moves yet)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    insert,
    select,
    update,
)
from sqlmodel import Session

from models.base import utcnow
from models.catalog import Brand, Warehouse
from models.errors import (
    InvalidQuantity,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from models.events import EventType, emit_many
from models.policy import actor_may
from models.settings import settings
from models.stock import require_quantity
from models.transfers.tables import (
    CANCELLABLE,
    Transfer,
    TransferAction,
    TransferStatus,
    _e,
    _l,
    _t,
    _v,
    _w,
)
from models.users import User

_brand = Brand.__table__

# --- policy -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """Rules an organisation may choose. Approving one's own transfer is refused by default."""

    allow_self_approval: bool = False

    @classmethod
    def from_env(cls) -> TransferPolicy:
        """RACKROOM_ALLOW_SELF_APPROVAL=1 lets the creator (or submitter) approve."""
        return cls(allow_self_approval=settings().allow_self_approval)


# --- input ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineInput:
    variant_id: int
    qty: int


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """What arrived of one line: good units, damaged units, and units missing."""

    variant_id: int
    received: int = 0
    damaged: int = 0
    short: int = 0


def _clean_lines(session: Session, lines: Iterable[LineInput | tuple[int, int]]) -> list[LineInput]:
    cleaned: list[LineInput] = []
    seen: set[int] = set()
    for raw in lines:
        line = raw if isinstance(raw, LineInput) else LineInput(*raw)
        if isinstance(line.variant_id, bool) or not isinstance(line.variant_id, int):
            raise InvalidQuantity(
                f"Line variant must be an id, got {line.variant_id!r}.", field="variant_id"
            )
        require_quantity(line.qty, field=f"qty of variant {line.variant_id}")
        if line.variant_id in seen:
            raise InvalidQuantity(
                f"Variant {line.variant_id} appears on more than one line; put it on one line "
                "with the total quantity.",
                field="lines",
                variant_id=line.variant_id,
            )
        seen.add(line.variant_id)
        cleaned.append(line)
    if not cleaned:
        raise InvalidQuantity("A transfer needs at least one line.", field="lines")
    known = set(session.scalars(select(_v.c.id).where(_v.c.id.in_(seen))))
    missing = sorted(seen - known)
    if missing:
        raise NotFound(f"No variant with id {missing[0]}.", variant_id=missing[0])
    return sorted(cleaned, key=lambda x: x.variant_id)


def _active_warehouse(session: Session, warehouse_id: int, role: str) -> Warehouse:
    warehouse = session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(f"No {role} warehouse with id {warehouse_id}.", warehouse_id=warehouse_id)
    if not warehouse.is_active:
        raise InvalidQuantity(
            f"Warehouse {warehouse.code} is inactive; it cannot be a transfer's {role}.",
            field=f"{role}_warehouse_id",
        )
    return warehouse


# --- transitions ------------------------------------------------------------------------


def _load(session: Session, transfer_id: int) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    session.refresh(transfer)
    return transfer


def _log(
    session: Session,
    transfer_id: int,
    action: TransferAction,
    from_status: str | None,
    to_status: str,
    user: User,
    now: datetime,
    note: str = "",
) -> None:
    session.execute(
        insert(_e).values(
            transfer_id=transfer_id,
            action=action.value,
            from_status=from_status,
            to_status=to_status,
            actor_id=user.id,
            actor=user.email,
            note=note[:1000],
            created_at=now,
        )
    )
    if from_status != to_status or action == TransferAction.PARTIALLY_RECEIVED:
        _emit_status_changed(session, transfer_id, action, from_status, to_status, now)


def _emit_status_changed(
    session: Session,
    transfer_id: int,
    action: TransferAction,
    from_status: str | None,
    to_status: str,
    now: datetime,
) -> None:
    """`transfer.status_changed`, once per brand on the transfer, each with only that
    brand's lines (a brand's webhook never sees another brand's SKUs)."""
    source, dest = (_w.alias("source"), _w.alias("dest"))
    places = session.execute(
        select(source.c.code, dest.c.code)
        .select_from(_t)
        .join(source, source.c.id == _t.c.source_warehouse_id)
        .join(dest, dest.c.id == _t.c.dest_warehouse_id)
        .where(_t.c.id == transfer_id)
    ).one()
    lines = session.execute(
        select(
            _v.c.brand_id,
            _brand.c.code,
            _v.c.sku,
            _l.c.qty,
            _l.c.received_qty,
            _l.c.damaged_qty,
            _l.c.short_qty,
        )
        .join(_v, _v.c.id == _l.c.variant_id)
        .join(_brand, _brand.c.id == _v.c.brand_id)
        .where(_l.c.transfer_id == transfer_id)
        .order_by(_v.c.brand_id, _v.c.sku)
    ).all()
    by_brand: dict[tuple[int, str], list[dict[str, object]]] = {}
    for brand_id, code, sku, qty, received, damaged, short in lines:
        by_brand.setdefault((brand_id, code), []).append(
            {"sku": sku, "qty": qty, "received": received, "damaged": damaged, "short": short}
        )
    emit_many(
        session,
        [
            (
                EventType.TRANSFER_STATUS_CHANGED.value,
                {
                    "transfer_id": transfer_id,
                    "brand": code,
                    "action": action.value,
                    "from_status": from_status,
                    "to_status": str(to_status),
                    "source": places[0],
                    "destination": places[1],
                    "lines": brand_lines,
                },
                brand_id,
                f"transfer:{transfer_id}",
            )
            for (brand_id, code), brand_lines in by_brand.items()
        ],
        now=now,
    )


def _transition(
    session: Session,
    transfer_id: int,
    allowed_from: tuple[TransferStatus, ...],
    to: TransferStatus,
    verb: str,
    now: datetime,
    **values: object,
) -> str:
    """Move the transfer to `to` if it is in `allowed_from`; returns the old status.

    The row is locked first (FOR UPDATE on PostgreSQL; SQLite has one writer), so
    concurrent steps on the same transfer queue up and the later one sees the new
    status and is refused. The UPDATE repeats the status guard all the same.
    """
    current = session.execute(
        select(_t.c.status).where(_t.c.id == transfer_id).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        raise NotFound(f"No transfer with id {transfer_id}.", transfer_id=transfer_id)
    if current in {s.value for s in allowed_from}:
        moved = session.execute(
            update(_t)
            .where(_t.c.id == transfer_id, _t.c.status == current)
            .values(status=to.value, updated_at=now, **values)
            .returning(_t.c.id)
        ).one_or_none()
        if moved is not None:
            return current
        current = session.scalar(select(_t.c.status).where(_t.c.id == transfer_id)) or current
    wanted = " or ".join(s.value.replace("_", " ") for s in allowed_from)
    raise InvalidTransition(
        f"Transfer {transfer_id} is {current.replace('_', ' ')}; it can be {verb} only when "
        f"{wanted}.",
        transfer_id=transfer_id,
        status=current,
    )


def create_transfer(
    session: Session,
    *,
    source_warehouse_id: int,
    dest_warehouse_id: int,
    lines: Iterable[LineInput | tuple[int, int]],
    actor_id: int,
    note: str = "",
    now: datetime | None = None,
) -> Transfer:
    """A draft transfer of `lines` (variant id, qty) from one warehouse to another."""
    now = now or utcnow()
    user = actor_may(session, actor_id, "transfers.create")
    if source_warehouse_id == dest_warehouse_id:
        raise InvalidQuantity(
            "A transfer must go to a different warehouse than it comes from.",
            field="dest_warehouse_id",
        )
    _active_warehouse(session, source_warehouse_id, "source")
    _active_warehouse(session, dest_warehouse_id, "destination")
    cleaned = _clean_lines(session, lines)
    transfer_id = session.execute(
        insert(_t)
        .values(
            source_warehouse_id=source_warehouse_id,
            dest_warehouse_id=dest_warehouse_id,
            status=TransferStatus.DRAFT.value,
            note=note.strip()[:1000],
            created_by_id=user.id,
            created_at=now,
            updated_at=now,
        )
        .returning(_t.c.id)
    ).scalar_one()
    session.execute(
        insert(_l),
        [{"transfer_id": transfer_id, "variant_id": x.variant_id, "qty": x.qty} for x in cleaned],
    )
    _log(session, transfer_id, TransferAction.CREATED, None, TransferStatus.DRAFT, user, now)
    return _load(session, transfer_id)


def set_lines(
    session: Session,
    transfer_id: int,
    lines: Iterable[LineInput | tuple[int, int]],
    *,
    actor_id: int,
    now: datetime | None = None,
) -> Transfer:
    """Replace a draft's lines (only drafts can be edited)."""
    now = now or utcnow()
    user = actor_may(session, actor_id, "transfers.edit")
    cleaned = _clean_lines(session, lines)
    _transition(session, transfer_id, (TransferStatus.DRAFT,), TransferStatus.DRAFT, "edited", now)
    session.execute(_l.delete().where(_l.c.transfer_id == transfer_id))
    session.execute(
        insert(_l),
        [{"transfer_id": transfer_id, "variant_id": x.variant_id, "qty": x.qty} for x in cleaned],
    )
    _log(
        session,
        transfer_id,
        TransferAction.LINES_CHANGED,
        TransferStatus.DRAFT,
        TransferStatus.DRAFT,
        user,
        now,
        note=f"{len(cleaned)} line(s), {sum(x.qty for x in cleaned)} unit(s)",
    )
    return _load(session, transfer_id)


def submit_transfer(
    session: Session,
    transfer_id: int,
    *,
    actor_id: int,
    note: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Draft → requested: ask a manager to approve it."""
    now = now or utcnow()
    user = actor_may(session, actor_id, "transfers.submit")
    _transition(
        session,
        transfer_id,
        (TransferStatus.DRAFT,),
        TransferStatus.REQUESTED,
        "submitted",
        now,
        requested_by_id=user.id,
    )
    _log(
        session,
        transfer_id,
        TransferAction.SUBMITTED,
        TransferStatus.DRAFT,
        TransferStatus.REQUESTED,
        user,
        now,
        note,
    )
    return _load(session, transfer_id)


def approve_transfer(
    session: Session,
    transfer_id: int,
    *,
    actor_id: int,
    note: str = "",
    policy: TransferPolicy | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Requested → approved, by a manager or admin who (by default) did not raise it."""
    now = now or utcnow()
    policy = policy or TransferPolicy.from_env()
    user = actor_may(session, actor_id, "transfers.approve")
    transfer = _load(session, transfer_id)
    if not policy.allow_self_approval and user.id in (
        transfer.created_by_id,
        transfer.requested_by_id,
    ):
        raise PermissionDenied(
            f"You created or submitted transfer {transfer_id}; another manager must approve it.",
            transfer_id=transfer_id,
        )
    _transition(
        session,
        transfer_id,
        (TransferStatus.REQUESTED,),
        TransferStatus.APPROVED,
        "approved",
        now,
        approved_by_id=user.id,
    )
    _log(
        session,
        transfer_id,
        TransferAction.APPROVED,
        TransferStatus.REQUESTED,
        TransferStatus.APPROVED,
        user,
        now,
        note,
    )
    return _load(session, transfer_id)


def cancel_transfer(
    session: Session,
    transfer_id: int,
    *,
    actor_id: int,
    note: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Cancel a transfer that has not shipped (nothing has moved, so nothing moves back)."""
    now = now or utcnow()
    user = actor_may(session, actor_id, "transfers.cancel")
    before = _transition(
        session, transfer_id, CANCELLABLE, TransferStatus.CANCELLED, "cancelled", now
    )
    _log(
        session,
        transfer_id,
        TransferAction.CANCELLED,
        before,
        TransferStatus.CANCELLED,
        user,
        now,
        note,
    )
    return _load(session, transfer_id)
