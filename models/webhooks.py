"""Webhook endpoints (subscriptions), their signing secrets, and the deliveries to them.

An endpoint is a URL, the event types it wants (globs: `stock.changed`,
`reservation.*`) and optionally one brand (a brand-bound endpoint gets only that
brand's events). Its signing secret (`whsec_` + base64 of 32 random bytes, the
Standard Webhooks form) is shown once and kept encrypted (`models.secrets`): it must
be sent on as a signature with every delivery. After a rotation the previous secret
keeps signing beside the new one for `ROTATION_OVERLAP` (24 h), so a receiver can
switch without missing a message.

A delivery is one event for one endpoint: the relay creates them, the delivery workers
(`jobs/events/delivery.py`) send them and record each attempt here. `brand_scope`
arguments limit an operation to one brand's endpoints (a brand-bound API key); None
means every endpoint.
"""

from __future__ import annotations

import base64
import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    func,
    select,
    text,
    update,
)
from sqlmodel import Field, Session, SQLModel

from models.admin import PAGE_SIZE, Page
from models.audit import SECRET_REPLACED, SECRET_SET, SYSTEM, record
from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Brand
from models.errors import InvalidQuantity, InvalidTransition, NotFound, PermissionDenied
from models.events import Event, check_patterns
from models.secrets import decrypt, encrypt

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
ROTATION_OVERLAP = timedelta(hours=24)
MAX_URL = 2000
#: A delivery still failing this long after its first attempt is given up.
GIVE_UP_AFTER = timedelta(days=3)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


#: Statuses that still hold back later events of the same order key.
OUTSTANDING = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
_OUTSTANDING_SQL = text("status IN ('pending', 'sending')")


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    url: str = Field(max_length=MAX_URL)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    enabled: bool = Field(default=True)
    #: Why it was disabled ("410 Gone from the receiver", "by admin@…").
    disabled_reason: str | None = Field(default=None, max_length=200)
    secret_enc: str = Field(max_length=500)
    previous_secret_enc: str | None = Field(default=None, max_length=500)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: pending → sending → delivered, or failed (given up)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'failed')",
            name="webhook_delivery_status",
        ),
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=_OUTSTANDING_SQL,
            sqlite_where=_OUTSTANDING_SQL,
        ),
        Index(
            "ix_webhook_delivery_order",
            "endpoint_id",
            "order_key",
            "event_id",
            postgresql_where=_OUTSTANDING_SQL,
            sqlite_where=_OUTSTANDING_SQL,
        ),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_delivery_event", "event_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    endpoint_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), nullable=False
        )
    )
    event_id: int = Field(
        sa_column=Column(BigIntId, ForeignKey("event.id", ondelete="CASCADE"), nullable=False)
    )
    event_type: str = Field(max_length=40)
    order_key: str | None = Field(default=None, max_length=64)
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: A worker's claim: another may take the delivery over once this has passed.
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Start of the give-up window (the first attempt, or the last resend).
    first_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One try at a delivery: the receiver's status code, or why there was none."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery", "delivery_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    delivery_id: int = Field(
        sa_column=Column(
            BigIntId, ForeignKey("webhook_delivery.id", ondelete="CASCADE"), nullable=False
        )
    )
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int = Field(default=0)


_endpoint = WebhookEndpoint.__table__
_delivery = WebhookDelivery.__table__
_attempt = WebhookAttempt.__table__
_event = Event.__table__

# --- endpoints ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointView:
    """An endpoint as lists and the API show it (never its secret)."""

    id: int
    name: str
    url: str
    event_types: list[str]
    brand: str | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    created_by: str
    #: Deliveries by status (pending, sending, delivered, failed).
    counts: dict[str, int]


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for (Standard Webhooks)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def check_url(url: object) -> str:
    """A webhook URL's shape: http(s), a host, no user:password, at most 2000 characters.
    Where it points is the outbound guard's to judge (`jobs/outbound.py`)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidQuantity("url: give the receiver's http(s) URL.", field="url")
    url = url.strip()
    if len(url) > MAX_URL:
        raise InvalidQuantity(f"url: longer than {MAX_URL} characters.", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as error:
        raise InvalidQuantity(f"url: {error}.", field="url", value=url[:200]) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidQuantity(
            f"url: only http and https URLs can receive webhooks, not {parts.scheme or 'none'!r}.",
            field="url",
            value=url[:200],
        )
    if not parts.hostname:
        raise InvalidQuantity("url: the URL has no host.", field="url", value=url[:200])
    if parts.username or parts.password:
        raise InvalidQuantity(
            "url: leave user:password out of the URL; receivers check the signature.",
            field="url",
        )
    return url


def _brand_id(session: Session, brand_code: str | None) -> int | None:
    if not brand_code:
        return None
    code = brand_code.strip().upper()
    brand_id = session.scalar(select(Brand.id).where(Brand.code == code))
    if brand_id is None:
        raise NotFound(f"No brand with code {code!r}.", field="brand", brand=code)
    return brand_id


def create_endpoint(
    session: Session,
    url: str,
    event_types: list[str] | str,
    *,
    brand_code: str | None = None,
    name: str | None = None,
    actor: str = "",
    brand_scope: int | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its signing secret (returned once, never again).

    `brand_scope` (a brand-bound caller) forces the endpoint onto that brand and refuses
    another. Check where the URL points first (`jobs.outbound`)."""
    url = check_url(url)
    if isinstance(event_types, str):
        event_types = event_types.split(",")
    try:
        patterns = check_patterns(event_types)
    except ValueError as error:
        raise InvalidQuantity(f"events: {error}.", field="events") from None
    brand_id = _brand_id(session, brand_code)
    if brand_scope is not None:
        if brand_id is not None and brand_id != brand_scope:
            raise PermissionDenied(
                "This key may only subscribe to its own brand's events.", field="brand"
            )
        brand_id = brand_scope
    name = (name or "").strip() or (urlsplit(url).hostname or "webhook")
    if len(name) > 100:
        raise InvalidQuantity("name: at most 100 characters.", field="name")
    secret = new_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(
        name=name,
        url=url,
        event_types=patterns,
        brand_id=brand_id,
        secret_enc=encrypt(secret),
        created_by=actor[:200],
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    _audit(
        session,
        actor or SYSTEM,
        "webhook.created",
        endpoint,
        {"url": url, "events": patterns, "brand": brand_code, "secret": SECRET_SET},
    )
    return endpoint, secret


def _audit(
    session: Session, actor: str, action: str, endpoint: WebhookEndpoint, changes: dict[str, Any]
) -> None:
    record(
        session,
        actor,
        action,
        target_type="webhook",
        target_id=endpoint.id,
        label=endpoint.name,
        changes=changes,
    )


def get_endpoint(
    session: Session, endpoint_id: int, *, brand_scope: int | None = None
) -> WebhookEndpoint:
    """The endpoint, or NotFound (also for another brand's, so its existence stays private)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or (brand_scope is not None and endpoint.brand_id != brand_scope):
        raise NotFound(f"No webhook with id {endpoint_id}.", webhook_id=endpoint_id)
    session.refresh(endpoint)
    return endpoint


def list_endpoints(session: Session, *, brand_scope: int | None = None) -> list[EndpointView]:
    query = (
        select(WebhookEndpoint, Brand.code)
        .outerjoin(Brand, Brand.id == WebhookEndpoint.brand_id)
        .order_by(WebhookEndpoint.id)
    )
    if brand_scope is not None:
        query = query.where(WebhookEndpoint.brand_id == brand_scope)
    rows = session.execute(query).all()
    counts: dict[int, dict[str, int]] = {}
    if rows:
        for endpoint_id, status, n in session.execute(
            select(_delivery.c.endpoint_id, _delivery.c.status, func.count())
            .where(_delivery.c.endpoint_id.in_([e.id for e, _ in rows]))
            .group_by(_delivery.c.endpoint_id, _delivery.c.status)
        ):
            counts.setdefault(endpoint_id, {})[status] = int(n)
    return [
        EndpointView(
            id=e.id,
            name=e.name,
            url=e.url,
            event_types=list(e.event_types),
            brand=code,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            created_at=e.created_at,
            created_by=e.created_by,
            counts={s.value: counts.get(e.id, {}).get(s.value, 0) for s in DeliveryStatus},
        )
        for e, code in rows
    ]


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """An endpoint as the admin page lists it: its newest delivery beside it (never the
    secret)."""

    id: int
    name: str
    url: str
    event_types: list[str]
    brand_code: str | None
    brand_name: str | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    created_by: str
    #: The newest delivery's status, attempts, receiver status code, error and time
    #: (None: nothing sent yet).
    last_status: str | None
    last_attempts: int | None
    last_status_code: int | None
    last_error: str | None
    last_at: datetime | None


def list_endpoint_page(
    session: Session,
    *,
    brand_scope: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[EndpointRow]:
    """One page of endpoints (oldest first), each with its newest delivery, in one query:
    the newest is found through `ix_webhook_delivery_endpoint` (endpoint, id)."""
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    e, d = _endpoint.c, _delivery.c
    scope = [] if brand_scope is None else [e.brand_id == brand_scope]
    total = session.scalar(select(func.count()).select_from(_endpoint).where(*scope)) or 0
    newest = (
        select(func.max(d.id)).where(d.endpoint_id == e.id).correlate(_endpoint).scalar_subquery()
    )
    last = _delivery.alias("last_delivery")
    rows = session.execute(
        select(
            e.id,
            e.name,
            e.url,
            e.event_types,
            Brand.code,
            Brand.name,
            e.enabled,
            e.disabled_reason,
            e.created_at,
            e.created_by,
            last.c.status,
            last.c.attempts,
            last.c.last_status_code,
            last.c.last_error,
            func.coalesce(last.c.last_attempt_at, last.c.created_at),
        )
        .select_from(_endpoint)
        .outerjoin(Brand, Brand.id == e.brand_id)
        .outerjoin(last, last.c.id == newest)
        .where(*scope)
        .order_by(e.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(
        rows=[EndpointRow(*r[:3], list(r[3] or []), *r[4:]) for r in rows],
        total=int(total),
        offset=offset,
        limit=limit,
    )


def set_enabled(
    session: Session,
    endpoint_id: int,
    enabled: bool,
    *,
    reason: str | None = None,
    brand_scope: int | None = None,
    now: datetime | None = None,
    actor: str = SYSTEM,
) -> WebhookEndpoint:
    """Enable or disable. A disabled endpoint is sent nothing: what was queued waits until
    it is enabled again, and events meanwhile are not queued for it."""
    endpoint = get_endpoint(session, endpoint_id, brand_scope=brand_scope)
    was = endpoint.enabled
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else (reason or "disabled")[:200]
    endpoint.updated_at = now or utcnow()
    session.add(endpoint)
    session.flush()
    if was != enabled:
        _audit(
            session,
            actor,
            "webhook.updated",
            endpoint,
            {"enabled": {"old": was, "new": enabled}, "reason": endpoint.disabled_reason},
        )
    return endpoint


def delete_endpoint(
    session: Session, endpoint_id: int, *, brand_scope: int | None = None, actor: str = SYSTEM
) -> None:
    """Remove the endpoint with its deliveries and their attempts."""
    endpoint = get_endpoint(session, endpoint_id, brand_scope=brand_scope)
    _audit(session, actor, "webhook.deleted", endpoint, {"url": endpoint.url})
    ids = select(_delivery.c.id).where(_delivery.c.endpoint_id == endpoint.id)
    session.execute(_attempt.delete().where(_attempt.c.delivery_id.in_(ids)))
    session.execute(_delivery.delete().where(_delivery.c.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()


def rotate_secret(
    session: Session,
    endpoint_id: int,
    *,
    brand_scope: int | None = None,
    now: datetime | None = None,
    actor: str = SYSTEM,
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (returned once); the old one also signs for 24 hours."""
    endpoint = get_endpoint(session, endpoint_id, brand_scope=brand_scope)
    now = now or utcnow()
    secret = new_secret()
    endpoint.previous_secret_enc = endpoint.secret_enc
    endpoint.previous_secret_until = now + ROTATION_OVERLAP
    endpoint.secret_enc = encrypt(secret)
    endpoint.updated_at = now
    session.add(endpoint)
    session.flush()
    _audit(session, actor, "webhook.secret_rotated", endpoint, {"secret": SECRET_REPLACED})
    return endpoint, secret


def signing_secrets(
    secret_enc: str,
    previous_enc: str | None,
    previous_until: datetime | None,
    now: datetime,
) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    during the 24 hours after a rotation."""
    keys = [decrypt(secret_enc)]
    if previous_enc and previous_until is not None and previous_until > now:
        keys.append(decrypt(previous_enc))
    return keys


# --- deliveries -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    event_id: int
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


def list_deliveries(
    session: Session,
    endpoint_id: int,
    *,
    status: str | None = None,
    brand_scope: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[DeliveryRow]:
    """One page of an endpoint's deliveries, newest first (optionally of one status)."""
    endpoint = get_endpoint(session, endpoint_id, brand_scope=brand_scope)
    if status is not None and status not in {s.value for s in DeliveryStatus}:
        raise InvalidQuantity(f"status: unknown delivery status {status!r}.", field="status")
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    conditions = [_delivery.c.endpoint_id == endpoint.id]
    if status is not None:
        conditions.append(_delivery.c.status == status)
    total = session.scalar(select(func.count()).select_from(_delivery).where(*conditions)) or 0
    d = _delivery.c
    rows = session.execute(
        select(
            d.id,
            d.event_id,
            d.event_type,
            d.status,
            d.attempts,
            d.last_status_code,
            d.last_error,
            d.last_attempt_at,
            d.next_attempt_at,
            d.delivered_at,
            d.created_at,
        )
        .where(*conditions)
        .order_by(d.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(
        rows=[
            DeliveryRow(*r[:8], None if r.status in ("delivered", "failed") else r[8], r[9], r[10])
            for r in rows
        ],
        total=int(total),
        offset=offset,
        limit=limit,
    )


def delivery_attempts(
    session: Session, delivery_id: int, *, brand_scope: int | None = None
) -> list[dict[str, Any]]:
    """A delivery's attempts, oldest first."""
    delivery = _delivery_in_scope(session, delivery_id, brand_scope)
    return [
        {
            "attempted_at": at,
            "status_code": code,
            "error": error,
            "duration_ms": ms,
        }
        for at, code, error, ms in session.execute(
            select(
                _attempt.c.attempted_at,
                _attempt.c.status_code,
                _attempt.c.error,
                _attempt.c.duration_ms,
            )
            .where(_attempt.c.delivery_id == delivery.id)
            .order_by(_attempt.c.id)
        )
    ]


def _delivery_in_scope(
    session: Session, delivery_id: int, brand_scope: int | None
) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"No delivery with id {delivery_id}.", delivery_id=delivery_id)
    get_endpoint(session, delivery.endpoint_id, brand_scope=brand_scope)
    session.refresh(delivery)
    return delivery


def resend_delivery(
    session: Session,
    delivery_id: int,
    *,
    endpoint_id: int | None = None,
    brand_scope: int | None = None,
    now: datetime | None = None,
) -> WebhookDelivery:
    """Send a delivery again (the same event, the same webhook-id) as soon as a worker is
    free; a failed one gets a fresh three days. A delivery being sent right now is refused."""
    delivery = _delivery_in_scope(session, delivery_id, brand_scope)
    if endpoint_id is not None and delivery.endpoint_id != endpoint_id:
        raise NotFound(f"No delivery with id {delivery_id}.", delivery_id=delivery_id)
    now = now or utcnow()
    changed = session.execute(
        update(_delivery)
        .where(
            _delivery.c.id == delivery.id,
            _delivery.c.status != DeliveryStatus.SENDING.value,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            next_attempt_at=now,
            first_attempt_at=None,
            locked_until=None,
        )
        .returning(_delivery.c.id)
    ).one_or_none()
    if changed is None:
        raise InvalidTransition(
            f"Delivery {delivery_id} is being sent right now; try again in a moment.",
            delivery_id=delivery_id,
            status=delivery.status,
        )
    session.refresh(delivery)
    return delivery
