"""Admin › Webhooks: the endpoints Rackroom sends its events to; create (the signing
secret is shown once), enable or disable, rotate the secret (shown once), delete.
Every handler checks `admin.webhooks` on the server. The deliveries of one endpoint
are their own page (`admin_webhook_deliveries.py`)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable
from typing import ClassVar, TypedDict, TypeVar
from urllib.parse import urlencode

import reflex as rx

from dashboard import routes
from dashboard.items import Moment, item_of
from dashboard.states.admin_common import Listing, confirm_row
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_write
from dashboard.states.one_time import SecretDialog
from jobs.webhooks import create_webhook
from models.errors import DomainError
from models.events import EVENT_TYPES
from models.webhooks import (
    EndpointRow,
    WebhookEndpoint,
    delete_endpoint,
    list_endpoint_page,
    rotate_secret,
    set_enabled,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The event types the create dialog names (globs such as `reservation.*` work too).
KNOWN_EVENTS = ", ".join(EVENT_TYPES)
#: A delivery status as the list shows it, and its badge colour.
STATUS_LOOK: dict[str, tuple[str, str]] = {
    "pending": ("Retrying", "amber"),
    "sending": ("Sending", "blue"),
    "delivered": ("Delivered", "green"),
    "failed": ("Failed", "red"),
}


def delivery_look(status: str, attempts: int) -> tuple[str, str]:
    """A delivery's status label and colour: pending and never tried yet is "Queued",
    pending after a failed try "Retrying"."""
    if status == "pending" and attempts == 0:
        return "Queued", "gray"
    return STATUS_LOOK.get(status, (status, "gray"))


def deliveries_href(webhook_id: int, status: str = "") -> str:
    """The deliveries page of one endpoint (optionally filtered by status)."""
    query = {"webhook": str(webhook_id), **({"status": status} if status else {})}
    return f"{routes.ADMIN_WEBHOOK_DELIVERIES}?{urlencode(query)}"


@dataclasses.dataclass
class WebhookItem:
    id: int
    name: str
    url: str
    events: list[str]
    brand: str
    enabled: bool
    disabled_reason: str
    #: The newest delivery: its status label and colour, code or error, and when.
    last_status: str
    last_color: str
    last_detail: str
    last_at: Moment
    created: Moment
    deliveries_href: str

    @classmethod
    def of(cls, row: EndpointRow) -> WebhookItem:
        label, color = (
            delivery_look(row.last_status, row.last_attempts or 0) if row.last_status else ("", "")
        )
        detail = f"HTTP {row.last_status_code}" if row.last_status_code else ""
        if row.last_error and row.last_status != "delivered":
            detail = f"{detail} · {row.last_error}" if detail else row.last_error
        return item_of(
            cls,
            row,
            events=list(row.event_types),
            brand=f"{row.brand_name} ({row.brand_code})" if row.brand_code else "",
            disabled_reason=row.disabled_reason or "",
            last_status=label,
            last_color=color,
            last_detail=detail,
            last_at=Moment.of(row.last_at, never=""),
            created=Moment.of(row.created_at),
            deliveries_href=deliveries_href(row.id),
        )


class NewWebhookForm(TypedDict, total=False):
    name: str
    url: str
    events: str


def _field_message(error: DomainError) -> str:
    """The domain's "url: …" message without its field prefix (it shows under the field)."""
    field = error.details.get("field", "")
    prefix = f"{field}: "
    return error.message[len(prefix) :] if error.message.startswith(prefix) else error.message


def _name(item: WebhookItem) -> str:
    return item.name


class AdminWebhooksState(SecretDialog, RoleGuard, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.webhooks", "webhooks", list_endpoint_page, routes.ADMIN_WEBHOOKS,
        "webhooks", WebhookItem.of, ("endpoint",),
        gone="That webhook is not on this page any more. Refresh the list.",
    )
    webhooks: list[WebhookItem] = []
    #: The open dialog (`dialog`): "", "create", "secret" (shown once), "rotate", "delete".
    #: Errors shown under their field of the create dialog.
    url_error: str = ""
    events_error: str = ""

    def _close_dialog(self) -> None:
        """Closing a dialog also forgets the field errors."""
        super()._close_dialog()
        self.url_error = self.events_error = ""

    def _show_endpoint_secret(self, endpoint: WebhookEndpoint, secret: str, note: str) -> None:
        self._close_dialog()
        self._show_secret(secret, note)
        self.target_id, self.target_label = endpoint.id or 0, endpoint.name

    @rx.event
    @requires("admin.webhooks")
    async def create_webhook(self, form: NewWebhookForm):
        if self.dialog != "create":
            return None
        self.url_error = self.events_error = ""
        change = db_write(
            create_webhook,
            (form.get("url") or "").strip(),
            form.get("events") or "",
            brand_code=self._brand_code(),
            name=form.get("name") or None,
            actor=signed_in_user().email,
        )
        return await self._attempt(_under_fields(self, change), done=self._created)

    def _created(self, created: tuple[WebhookEndpoint, str]) -> str:
        endpoint, secret = created
        log.info("%s creates webhook %s → %s", signed_in_user().email, endpoint.name, endpoint.url)
        self._show_endpoint_secret(
            endpoint,
            secret,
            f"The signing secret of {endpoint.name}. The receiver checks every delivery's "
            "webhook-signature with it (Standard Webhooks).",
        )
        return f"Created webhook {endpoint.name}"

    @rx.event
    @requires("admin.webhooks")
    async def set_webhook_enabled(self, webhook_id: int, enabled: bool):
        """Enable or disable at once (no dialog: either is undone by the other)."""
        target = self._listed(webhook_id)
        if target is None:
            return rx.toast.error(self.LISTING.gone_message())
        actor = signed_in_user().email
        try:
            endpoint = await db_write(
                set_enabled, target.id, bool(enabled), reason=f"disabled by {actor}", actor=actor
            )
        except DomainError as error:
            return rx.toast.error(error.message)
        await self._refetch()
        if endpoint.enabled:
            return rx.toast.success(f"Enabled {endpoint.name}: queued events go out again")
        return rx.toast.success(f"Disabled {endpoint.name}: nothing is sent to it for now")

    confirm_rotate = confirm_row("rotate", _name)

    @rx.event
    @requires("admin.webhooks")
    async def rotate_webhook_secret(self):
        return await self._save_target("rotate", rotate_secret, self._rotated)

    def _rotated(self, rotated: tuple[WebhookEndpoint, str]) -> str:
        endpoint, secret = rotated
        log.info("%s rotates the secret of webhook %s", signed_in_user().email, endpoint.id)
        self._show_endpoint_secret(
            endpoint,
            secret,
            f"The new signing secret of {endpoint.name}. The previous one keeps signing "
            "beside it for 24 hours, so the receiver can switch without missing a message.",
        )
        return f"Rotated the secret of {endpoint.name}"

    confirm_delete = confirm_row("delete", _name)

    @rx.event
    @requires("admin.webhooks")
    async def delete_webhook(self):
        name = self.target_label
        return await self._save_target(
            "delete", delete_endpoint, lambda _: f"Deleted {name} and its deliveries"
        )



async def _under_fields(state: AdminWebhooksState, change: Awaitable[T]) -> T:
    """`change`; a refusal naming the URL or the events shows under that field instead of
    above the buttons."""
    try:
        return await change
    except DomainError as error:
        field = error.details.get("field")
        if field not in ("url", "events"):
            raise
        setattr(state, f"{field}_error", _field_message(error))
        raise DomainError("") from error
