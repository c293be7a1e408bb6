"""Webhook endpoints as the CLI and the API manage them: the domain's operations
(`models.webhooks`) with the outbound guard's check of where the URL points."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import Session

from jobs.outbound import OutboundRefused, check_url
from models.errors import InvalidQuantity
from models.webhooks import WebhookEndpoint, create_endpoint
from models.webhooks import check_url as check_shape


def create_webhook(
    session: Session,
    url: str,
    events: list[str] | str,
    *,
    brand_code: str | None = None,
    name: str | None = None,
    actor: str = "",
    brand_scope: int | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once), refused with a message naming the URL
    when it is not http(s) or points inside the network (`RACKROOM_OUTBOUND_ALLOW`)."""
    url = check_shape(url)
    try:
        check_url(url)
    except OutboundRefused as refused:
        host = urlsplit(url).hostname or url
        raise InvalidQuantity(
            f"url: {refused.message}.", field="url", value=url[:200], host=host
        ) from None
    return create_endpoint(
        session,
        url,
        events,
        brand_code=brand_code,
        name=name,
        actor=actor,
        brand_scope=brand_scope,
    )
