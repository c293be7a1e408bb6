"""Webhook delivery, per the Standard Webhooks spec (https://www.standardwebhooks.com).

Each request carries `webhook-id` (`evt_<event id>`, the same on every retry: receivers
deduplicate by it), `webhook-timestamp` (seconds, when sent) and `webhook-signature`:
`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, one per secret in force
(both old and new for 24 hours after a rotation), space-separated. The body is
`{"type", "timestamp", "data"}`.

- Any 2xx is delivered. 410 Gone disables the endpoint. Anything else — 3xx (redirects
  are not followed), 4xx, 5xx, a timeout (10 s), a refused or unreachable address — is
  a failed attempt, retried after `RETRY_DELAYS` with ±20 % jitter (5 s, 30 s, 2 min,
  10 min, 30 min, 1 h, 2 h, 4 h, 8 h, then every 12 h), and given up (failed) once the
  next try would fall more than 3 days after the first.
- Order: of the deliveries to one endpoint that share an order key (a variant, a
  transfer, an alert), only the oldest outstanding one is sent; the next waits while it
  is retried.
- Claiming: `FOR UPDATE SKIP LOCKED` marks a batch `sending` with a lease (a few
  minutes); several processes share the work, and a process that dies mid-send leaves
  its lease to run out and another sends again: a duplicate, never a gap.
- Only the first KiB of a response is read (for the error excerpt, redacted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, exists, func, insert, literal, or_, select, update

from jobs import metrics
from jobs.logs import redact
from jobs.outbound import OutboundRefused, guarded_client
from models.base import UTCDateTime, utcnow
from models.db import read_session, transaction
from models.events import Event
from models.webhooks import (
    GIVE_UP_AFTER,
    OUTSTANDING,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    secret_bytes,
    signing_secrets,
)

log = logging.getLogger("rackroom.webhooks")

TIMEOUT = 10.0
LEASE = timedelta(minutes=2)
#: Seconds before retry n (1, 2, …); past the list, the last one repeats.
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200)
EXCERPT_BYTES = 1024
USER_AGENT = "Rackroom-Webhooks/1"

_delivery = WebhookDelivery.__table__
_endpoint = WebhookEndpoint.__table__
_attempt = WebhookAttempt.__table__
_event = Event.__table__


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    event_id: int
    attempts: int
    first_attempt_at: datetime
    endpoint_id: int
    url: str
    secrets: list[str]
    event_type: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def message_id(event_id: int) -> str:
    return f"evt_{event_id}"


def body_of(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data},
        separators=(",", ":"),
    ).encode()


def sign(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,<sig>` per secret, space-separated."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(hmac.new(secret_bytes(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets
    )


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (jittered ±20 %)."""
    base = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return timedelta(seconds=base * (rng or random).uniform(0.8, 1.2))


# --- claiming ---------------------------------------------------------------------------------


def claim(engine: Engine, *, now: datetime, limit: int = 32) -> list[Claimed]:
    """Mark up to `limit` due deliveries as being sent by this process and return them."""
    d = _delivery
    earlier = _delivery.alias("earlier")
    due = (
        select(d.c.id)
        .where(
            or_(
                and_(d.c.status == DeliveryStatus.PENDING.value, d.c.next_attempt_at <= now),
                and_(d.c.status == DeliveryStatus.SENDING.value, d.c.locked_until <= now),
            ),
            exists().where(_endpoint.c.id == d.c.endpoint_id, _endpoint.c.enabled.is_(True)),
            ~exists().where(
                earlier.c.endpoint_id == d.c.endpoint_id,
                earlier.c.order_key == d.c.order_key,
                earlier.c.event_id < d.c.event_id,
                earlier.c.status.in_(OUTSTANDING),
            ),
        )
        .order_by(d.c.next_attempt_at, d.c.id)
    )
    anything = select(d.c.id).where(
        or_(
            and_(d.c.status == DeliveryStatus.PENDING.value, d.c.next_attempt_at <= now),
            and_(d.c.status == DeliveryStatus.SENDING.value, d.c.locked_until <= now),
        )
    )
    with read_session(engine) as session:  # idle: no write transaction (SQLite's lock)
        if session.scalar(anything.limit(1)) is None:
            return []
    with transaction(engine) as session:
        ids = list(session.scalars(due.limit(limit).with_for_update(skip_locked=True)))
        if not ids:
            return []
        rows = session.execute(
            update(d)
            .where(d.c.id.in_(ids))
            .values(
                status=DeliveryStatus.SENDING.value,
                locked_until=now + LEASE,
                attempts=d.c.attempts + 1,
                first_attempt_at=func.coalesce(d.c.first_attempt_at, literal(now, UTCDateTime)),
                last_attempt_at=now,
            )
            .returning(d.c.id, d.c.event_id, d.c.attempts, d.c.first_attempt_at, d.c.endpoint_id)
        ).all()
        endpoints = {
            row.id: row
            for row in session.execute(
                select(
                    _endpoint.c.id,
                    _endpoint.c.url,
                    _endpoint.c.secret_enc,
                    _endpoint.c.previous_secret_enc,
                    _endpoint.c.previous_secret_until,
                ).where(_endpoint.c.id.in_({r.endpoint_id for r in rows}))
            )
        }
        events = {
            row.id: row
            for row in session.execute(
                select(_event.c.id, _event.c.type, _event.c.occurred_at, _event.c.data).where(
                    _event.c.id.in_({r.event_id for r in rows})
                )
            )
        }
    claimed = []
    for row in sorted(rows, key=lambda r: r.id):
        endpoint, event = endpoints[row.endpoint_id], events[row.event_id]
        claimed.append(
            Claimed(
                delivery_id=row.id,
                event_id=row.event_id,
                attempts=row.attempts,
                first_attempt_at=row.first_attempt_at,
                endpoint_id=row.endpoint_id,
                url=endpoint.url,
                secrets=signing_secrets(
                    endpoint.secret_enc,
                    endpoint.previous_secret_enc,
                    endpoint.previous_secret_until,
                    now,
                ),
                event_type=event.type,
                occurred_at=event.occurred_at,
                data=event.data,
            )
        )
    return claimed


# --- sending ----------------------------------------------------------------------------------


def send(client: httpx.Client, item: Claimed, *, timeout: float = TIMEOUT) -> Outcome:
    """POST one delivery; never raises (every failure is an Outcome with its error)."""
    body = body_of(item.event_type, item.occurred_at, item.data)
    msg_id = message_id(item.event_id)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(item.secrets, msg_id, timestamp, body),
    }
    started = time.perf_counter()
    deadline = started + timeout
    status: int | None = None
    error: str | None = None
    try:
        with client.stream(
            "POST", item.url, content=body, headers=headers, timeout=httpx.Timeout(timeout)
        ) as response:
            status = response.status_code
            excerpt = _excerpt(response, deadline)  # a body read to its end keeps the
            if not 200 <= status < 300:  # connection for the next delivery
                error = _describe_status(response, excerpt)
    except OutboundRefused as refused:
        error = f"refused: {refused.message}"
    except httpx.TimeoutException:
        error = f"no answer within {timeout:g} s"
    except httpx.HTTPError as problem:
        error = f"{type(problem).__name__}: {problem}" if str(problem) else type(problem).__name__
    except Exception as problem:  # a worker must never die on one receiver
        log.exception("webhook delivery %s failed unexpectedly", item.delivery_id)
        error = f"{type(problem).__name__}"
    return Outcome(status, _short(error), int((time.perf_counter() - started) * 1000))


def _excerpt(response: httpx.Response, deadline: float) -> bytes:
    """Up to EXCERPT_BYTES of the body: a huge or trickling answer is cut off there."""
    excerpt = b""
    try:
        for chunk in response.iter_raw():
            excerpt += chunk
            if len(excerpt) > EXCERPT_BYTES or time.perf_counter() > deadline:
                break
    except httpx.HTTPError:
        pass
    return excerpt[:EXCERPT_BYTES]


def _describe_status(response: httpx.Response, excerpt: bytes) -> str:
    text = excerpt.decode("utf-8", "replace")
    phrase = httpx.codes.get_reason_phrase(response.status_code)
    where = response.headers.get("location")
    head = f"{response.status_code} {phrase}".strip()
    if 300 <= response.status_code < 400:
        head += f" (redirect to {where[:100]!r} not followed)" if where else " (not followed)"
    return f"{head}: {text}" if text.strip() else head


def _short(error: str | None) -> str | None:
    """A short, redacted, single-line excerpt."""
    if error is None:
        return None
    flat = " ".join(redact(error).split())
    return flat[:297] + "…" if len(flat) > 300 else flat


# --- recording --------------------------------------------------------------------------------


def record(
    engine: Engine,
    results: list[tuple[Claimed, Outcome]],
    *,
    now: datetime,
    rng: random.Random | None = None,
) -> list[str]:
    """Write each attempt and its delivery's new state, in one transaction; returns the
    states. A delivery whose lease another process has since taken over is left to that
    process (only the attempt is recorded)."""
    d = _delivery.c
    states: list[str] = []
    with transaction(engine) as session:
        session.execute(
            insert(_attempt),
            [
                {
                    "delivery_id": item.delivery_id,
                    "attempted_at": now,
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                    "duration_ms": outcome.duration_ms,
                }
                for item, outcome in results
            ],
        )
        for item, outcome in results:
            values = _next_state(item, outcome, now, rng)
            states.append(str(values["status"]))
            session.execute(
                update(_delivery)
                .where(
                    d.id == item.delivery_id,
                    d.status == DeliveryStatus.SENDING.value,
                    d.attempts == item.attempts,
                )
                .values(**values)
            )
            if outcome.status_code == 410:
                session.execute(
                    update(_endpoint)
                    .where(_endpoint.c.id == item.endpoint_id)
                    .values(
                        enabled=False,
                        disabled_reason="the receiver answered 410 Gone",
                        updated_at=now,
                    )
                )
                log.warning("webhook %s disabled: its receiver answered 410 Gone", item.endpoint_id)
    return states


def _next_state(
    item: Claimed, outcome: Outcome, now: datetime, rng: random.Random | None
) -> dict[str, Any]:
    if outcome.delivered:
        values: dict[str, Any] = {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now}
    elif outcome.status_code == 410:
        values = {"status": DeliveryStatus.FAILED.value}
    else:
        next_at = now + retry_delay(item.attempts, rng)
        gave_up = next_at > item.first_attempt_at + GIVE_UP_AFTER
        values = (
            {"status": DeliveryStatus.FAILED.value}
            if gave_up
            else {"status": DeliveryStatus.PENDING.value, "next_attempt_at": next_at}
        )
    values.update(
        locked_until=None,
        last_status_code=outcome.status_code,
        last_error=outcome.error,
        last_attempt_at=now,
    )
    return values


# --- the loop's step ----------------------------------------------------------------------------


def deliver_due(
    engine: Engine,
    *,
    now: datetime | None = None,
    clock: Callable[[], datetime] = utcnow,
    limit: int = 32,
    timeout: float = TIMEOUT,
    client: httpx.Client | None = None,
    pool: ThreadPoolExecutor | None = None,
    rng: random.Random | None = None,
) -> int:
    """Claim a batch of due deliveries, send them (concurrently with `pool`), record the
    batch's attempts in one transaction; returns how many were attempted. `now` pins the
    time (tests); else `clock`. Deliveries to one endpoint in a batch never share an
    order key (the claim takes only the oldest outstanding one of each)."""
    claimed = claim(engine, now=now or clock(), limit=limit)
    if not claimed:
        return 0
    own = client is None
    client = client or guarded_client(timeout=timeout)
    try:

        def one(item: Claimed) -> Outcome:
            return send(client, item, timeout=timeout)

        outcomes = list(pool.map(one, claimed)) if pool is not None else map(one, claimed)
        states = record(
            engine, list(zip(claimed, outcomes, strict=True)), now=now or clock(), rng=rng
        )
        for state in states:
            result = {"pending": "retrying"}.get(state, state)
            metrics.WEBHOOK_ATTEMPTS.labels(result=result).inc()
    finally:
        if own:
            client.close()
    return len(claimed)
