"""`/webhooks`: subscribe to Rackroom's events (Standard Webhooks), see deliveries, resend.

Scope `webhooks:write` for every route. A brand-bound key sees and manages only its
brand's endpoints (and creates endpoints only for its brand); another brand's endpoint
answers 404 as if it did not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, model_validator

from dashboard.api.security import ApiSecret, authorize
from dashboard.items import item_of
from jobs.webhooks import create_webhook
from models.api_keys import Scope
from models.db import transaction
from models.events import EVENT_TYPES
from models.text_safety import find_bad_text
from models.webhooks import (
    delete_endpoint,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    resend_delivery,
    rotate_secret,
)

router = APIRouter(tags=["webhooks"])
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]


class WebhookCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="The receiver (http or https).")
    events: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1,
        max_length=20,
        description=f"Event types or globs (`reservation.*`): {', '.join(EVENT_TYPES)}.",
    )
    brand: str | None = Field(default=None, max_length=32, description="Only this brand's events.")
    name: str | None = Field(default=None, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: object) -> object:
        bad = find_bad_text(data)
        if bad is not None:
            raise ValueError(f"{bad[0]} {bad[1]}")
        return data


class WebhookOut(BaseModel):
    id: int
    name: str
    url: str
    events: list[str]
    brand: str | None
    enabled: bool
    disabled_reason: str | None = None
    created_at: datetime
    deliveries: dict[str, int] = Field(default_factory=dict)


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_…`); shown only in this answer.")


class SecretOut(BaseModel):
    id: int
    secret: str
    previous_valid_until: datetime | None


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str = Field(description="The `webhook-id` header it is sent with.")
    type: str
    status: str
    attempts: int
    response_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int


def _out(view) -> WebhookOut:
    return item_of(WebhookOut, view, events=view.event_types, deliveries=view.counts)


@router.post("/webhooks", response_model=WebhookCreated, status_code=201)
def create(body: WebhookCreate, secret: ApiSecret) -> WebhookCreated:
    """Subscribe a URL to event types; the answer holds the signing secret, once."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.WEBHOOKS_WRITE)
        endpoint, signing = create_webhook(
            session,
            body.url,
            body.events,
            brand_code=body.brand,
            name=body.name,
            actor=holder.actor,
            brand_scope=holder.brand_id,
        )
        view = next(v for v in list_endpoints(session) if v.id == endpoint.id)
    return WebhookCreated(**_out(view).model_dump(), secret=signing)


@router.get("/webhooks", response_model=list[WebhookOut])
def list_all(secret: ApiSecret) -> list[WebhookOut]:
    """Every endpoint this key may see, with its deliveries by status."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.WEBHOOKS_WRITE)
        views = list_endpoints(session, brand_scope=holder.brand_id)
    return [_out(v) for v in views]


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
def get_one(webhook_id: WebhookId, secret: ApiSecret) -> WebhookOut:
    with transaction() as session:
        holder = authorize(session, secret, Scope.WEBHOOKS_WRITE)
        get_endpoint(session, webhook_id, brand_scope=holder.brand_id)
        view = next(v for v in list_endpoints(session) if v.id == webhook_id)
    return _out(view)


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete(webhook_id: WebhookId, secret: ApiSecret) -> Response:
    """Remove the endpoint and its delivery history."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.WEBHOOKS_WRITE)
        delete_endpoint(session, webhook_id, brand_scope=holder.brand_id, actor=holder.actor)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=SecretOut)
def rotate(webhook_id: WebhookId, secret: ApiSecret) -> SecretOut:
    """A new signing secret (shown once); the previous one keeps signing for 24 hours."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.WEBHOOKS_WRITE)
        endpoint, signing = rotate_secret(
            session, webhook_id, brand_scope=holder.brand_id, actor=holder.actor
        )
    return SecretOut(
        id=endpoint.id, secret=signing, previous_valid_until=endpoint.previous_secret_until
    )


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage)
def deliveries(
    webhook_id: WebhookId,
    secret: ApiSecret,
    status: Annotated[str | None, Query(pattern="^(pending|sending|delivered|failed)$")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """The endpoint's deliveries, newest first: status, attempts, response code, last error."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.WEBHOOKS_WRITE)
        page = list_deliveries(
            session,
            webhook_id,
            status=status,
            brand_scope=holder.brand_id,
            offset=offset,
            limit=limit,
        )
    return DeliveryPage(
        items=[
            item_of(
                DeliveryOut, d, webhook_id=f"evt_{d.event_id}", type=d.event_type,
                response_code=d.last_status_code,
            )
            for d in page.rows
        ],
        total=page.total,
    )


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", status_code=202)
def resend(webhook_id: WebhookId, delivery_id: DeliveryId, secret: ApiSecret) -> dict:
    """Send a delivery again as soon as a worker is free (same `webhook-id`)."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.WEBHOOKS_WRITE)
        resend_delivery(session, delivery_id, endpoint_id=webhook_id, brand_scope=holder.brand_id)
    return {"id": delivery_id, "status": "pending"}
