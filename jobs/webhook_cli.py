"""`rackroom webhook …`: subscriptions to Rackroom's events, signed per Standard Webhooks."""

from __future__ import annotations

import json
import sys

import click

from jobs.webhooks import create_webhook
from models.db import read_session, transaction
from models.errors import DomainError
from models.events import EVENT_TYPES
from models.webhooks import (
    delete_endpoint,
    list_deliveries,
    list_endpoints,
    resend_delivery,
    rotate_secret,
    set_enabled,
)


def _refused(error: DomainError) -> None:
    click.echo(f"error: {error.message}", err=True)
    sys.exit(1)


@click.group()
def webhook() -> None:
    """Webhook endpoints: create, list, disable, enable, delete, rotate-secret, deliveries."""


@webhook.command("create")
@click.argument("url")
@click.option(
    "--events",
    required=True,
    help="Comma-separated event types or globs, e.g. stock.changed,reservation.* "
    f"(types: {', '.join(EVENT_TYPES)}).",
)
@click.option("--brand", "brand_code", help="Only this brand's events.")
@click.option("--name", help="A name to tell endpoints apart (default: the URL's host).")
def create(url: str, events: str, brand_code: str | None, name: str | None) -> None:
    """Subscribe URL to events; prints the id and the signing secret (shown once)."""
    try:
        with transaction() as session:
            endpoint, secret = create_webhook(
                session, url, events, brand_code=brand_code, name=name, actor="cli"
            )
    except DomainError as error:
        _refused(error)
    types = ", ".join(endpoint.event_types)
    click.echo(f"created webhook {endpoint.id} ({endpoint.name}) for {types}", err=True)
    click.echo("its signing secret, shown only now:", err=True)
    click.echo(f"{endpoint.id} {secret}")


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as JSON.")
def list_command(as_json: bool) -> None:
    """Every endpoint with its deliveries by status (never a secret)."""
    with read_session() as session:
        endpoints = list_endpoints(session)
    if as_json:
        click.echo(json.dumps([_view(e) for e in endpoints], default=str))
        return
    if not endpoints:
        click.echo("no webhooks yet: rackroom webhook create URL --events stock.changed")
        return
    for e in endpoints:
        state = "enabled" if e.enabled else f"disabled ({e.disabled_reason})"
        counts = " ".join(f"{k} {v}" for k, v in e.counts.items())
        click.echo(
            f"{e.id}\t{e.name}\t{e.url}\t{','.join(e.event_types)}\t{e.brand or 'all brands'}"
            f"\t{state}\t{counts}"
        )


def _view(endpoint) -> dict:
    return {name: getattr(endpoint, name) for name in endpoint.__slots__}


def _switch(endpoint_id: int, enabled: bool) -> None:
    try:
        with transaction() as session:
            set_enabled(session, endpoint_id, enabled, reason="disabled from the CLI", actor="cli")
    except DomainError as error:
        _refused(error)
    click.echo(f"{'enabled' if enabled else 'disabled'} webhook {endpoint_id}")


@webhook.command("disable")
@click.argument("endpoint_id", type=int)
def disable(endpoint_id: int) -> None:
    """Stop sending to an endpoint (nothing is queued for it while disabled)."""
    _switch(endpoint_id, False)


@webhook.command("enable")
@click.argument("endpoint_id", type=int)
def enable(endpoint_id: int) -> None:
    """Start sending to an endpoint again (what waited is sent first)."""
    _switch(endpoint_id, True)


@webhook.command("delete")
@click.argument("endpoint_id", type=int)
def delete(endpoint_id: int) -> None:
    """Remove an endpoint with its delivery history."""
    try:
        with transaction() as session:
            delete_endpoint(session, endpoint_id, actor="cli")
    except DomainError as error:
        _refused(error)
    click.echo(f"deleted webhook {endpoint_id}")


@webhook.command("rotate-secret")
@click.argument("endpoint_id", type=int)
def rotate(endpoint_id: int) -> None:
    """A new signing secret (printed once); the old one keeps signing for 24 hours."""
    try:
        with transaction() as session:
            endpoint, secret = rotate_secret(session, endpoint_id, actor="cli")
    except DomainError as error:
        _refused(error)
    click.echo(
        f"new secret for webhook {endpoint.id}; the old one also signs until "
        f"{endpoint.previous_secret_until:%Y-%m-%d %H:%M} UTC:",
        err=True,
    )
    click.echo(secret)


@webhook.command("deliveries")
@click.argument("endpoint_id", type=int)
@click.option("--status", type=click.Choice(["pending", "sending", "delivered", "failed"]))
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
def deliveries(endpoint_id: int, status: str | None, limit: int) -> None:
    """An endpoint's latest deliveries: status, attempts, response code, last error."""
    try:
        with read_session() as session:
            page = list_deliveries(session, endpoint_id, status=status, limit=limit)
    except DomainError as error:
        _refused(error)
    for d in page.rows:
        code = d.last_status_code if d.last_status_code is not None else "-"
        click.echo(
            f"{d.id}\t{d.event_type}\tevt_{d.event_id}\t{d.status}\t{d.attempts} attempt(s)"
            f"\t{code}\t{d.last_error or ''}"
        )
    click.echo(f"{len(page.rows)} of {page.total}", err=True)


@webhook.command("resend")
@click.argument("delivery_id", type=int)
def resend(delivery_id: int) -> None:
    """Send a delivery again (same webhook-id); a failed one gets a fresh 3 days."""
    try:
        with transaction() as session:
            resend_delivery(session, delivery_id)
    except DomainError as error:
        _refused(error)
    click.echo(f"delivery {delivery_id} queued to be sent again")
