"""Admin › Webhooks: the endpoints Rackroom sends its events to; create (the signing
secret is shown once), enable or disable, rotate the secret (shown once), delete.
Every handler checks `admin.webhooks` on the server. The deliveries of one endpoint
are their own page (`admin_webhook_deliveries.py`)."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.listing import Choice, PagedList, db_read, db_write
from dashboard.states.one_time import OneTimeSecrets
from jobs.webhooks import create_webhook
from models.admin import brand_choices
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

ROUTE = routes.ADMIN_WEBHOOKS
ALL_BRANDS = "*"
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
    id: int = 0
    name: str = ""
    url: str = ""
    events: list[str] = dataclasses.field(default_factory=list)
    brand: str = ""
    enabled: bool = True
    disabled_reason: str = ""
    #: The newest delivery: its status label and colour, code or error, and when.
    last_status: str = ""
    last_color: str = ""
    last_detail: str = ""
    last_at: str = ""
    last_at_exact: str = ""
    created: str = ""
    created_exact: str = ""
    deliveries_href: str = ""

    @classmethod
    def of(cls, row: EndpointRow) -> WebhookItem:
        label, color = (
            delivery_look(row.last_status, row.last_attempts or 0) if row.last_status else ("", "")
        )
        detail = f"HTTP {row.last_status_code}" if row.last_status_code else ""
        if row.last_error and row.last_status != "delivered":
            detail = f"{detail} · {row.last_error}" if detail else row.last_error
        return cls(
            id=row.id,
            name=row.name,
            url=row.url,
            events=list(row.event_types),
            brand=f"{row.brand_name} ({row.brand_code})" if row.brand_code else "",
            enabled=row.enabled,
            disabled_reason=row.disabled_reason or "",
            last_status=label,
            last_color=color,
            last_detail=detail,
            last_at=relative_time(row.last_at) if row.last_at else "",
            last_at_exact=exact_time(row.last_at),
            created=relative_time(row.created_at),
            created_exact=exact_time(row.created_at),
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


class AdminWebhooksState(OneTimeSecrets, RoleGuard, TargetDialog, PagedList, rx.State):
    webhooks: list[WebhookItem] = []
    loaded: bool = False
    load_error: str = ""
    brands: list[Choice] = []

    #: The open dialog (`dialog`): "", "create", "secret" (shown once), "rotate", "delete".
    form_brand: str = ALL_BRANDS
    #: Errors shown under their field of the create dialog.
    url_error: str = ""
    events_error: str = ""
    new_secret: str = ""
    ONE_TIME_SECRETS: ClassVar[tuple[str, ...]] = ("new_secret",)
    secret_note: str = ""

    @rx.var
    def summary(self) -> str:
        return plural(self.total, "endpoint") if self.loaded else ""

    @rx.event
    @requires("admin.webhooks")
    async def load(self):
        self._close_dialog()
        await self._refetch()
        return None

    async def _refetch(self) -> None:
        rows = await self._read_rows("webhooks", list_endpoint_page, ROUTE)
        if rows is not None:
            self.webhooks, self.loaded = [WebhookItem.of(row) for row in rows], True

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def set_form_brand(self, code: str) -> None:
        """The brand picked in the create dialog. Changes no data."""
        self.form_brand = code

    def _close_dialog(self) -> None:
        """Closing a dialog also forgets a shown secret and the field errors."""
        super()._close_dialog()
        self.forget_secrets()
        self.secret_note = ""
        self.url_error = self.events_error = ""

    def _show_secret(self, endpoint: WebhookEndpoint, secret: str, note: str) -> None:
        self._close_dialog()
        self.dialog, self.new_secret, self.secret_note = "secret", secret, note
        self.target_id, self.target_label = endpoint.id or 0, endpoint.name

    @rx.event
    @requires("admin.webhooks")
    async def open_create(self):
        self._close_dialog()
        self.brands = [
            Choice(ALL_BRANDS, "All brands"),
            *[Choice(code, f"{name} ({code})") for code, name in await db_read(brand_choices)],
        ]
        self.form_brand = ALL_BRANDS
        self.dialog = "create"
        return None

    @rx.event
    @requires("admin.webhooks")
    async def create_webhook(self, form: NewWebhookForm):
        if self.dialog != "create":
            return None
        url = (form.get("url") or "").strip()
        events = form.get("events") or ""
        brand = "" if self.form_brand == ALL_BRANDS else self.form_brand
        actor = signed_in_user().email
        self.url_error = self.events_error = self.form_error = ""
        self.saving = True
        try:
            endpoint, secret = await db_write(
                create_webhook,
                url,
                events,
                brand_code=brand or None,
                name=form.get("name") or None,
                actor=actor,
            )
        except DomainError as error:
            self.saving = False
            field = error.details.get("field")
            if field == "url":
                self.url_error = _field_message(error)
            elif field == "events":
                self.events_error = _field_message(error)
            else:
                self.form_error = error.message
            return None
        except Exception:
            log.exception("webhooks: creating an endpoint failed")
            self.saving = False
            self.form_error = "Something went wrong and nothing was saved. Try again in a moment."
            return None
        log.info("%s creates webhook %s → %s", actor, endpoint.name, endpoint.url)
        self._show_secret(
            endpoint,
            secret,
            f"The signing secret of {endpoint.name}. The receiver checks every delivery's "
            "webhook-signature with it (Standard Webhooks).",
        )
        await self._refetch()
        return rx.toast.success(f"Created webhook {endpoint.name}")

    @rx.event
    @requires("admin.webhooks")
    async def set_webhook_enabled(self, webhook_id: int, enabled: bool):
        """Enable or disable at once (no dialog: either is undone by the other)."""
        target = row_by_id(self.webhooks, webhook_id)
        if target is None:
            return rx.toast.error("That webhook is not on this page any more. Refresh the list.")
        actor = signed_in_user().email
        try:
            endpoint = await db_write(
                set_enabled,
                target.id,
                bool(enabled),
                reason=f"disabled by {actor}",
                actor=actor,
            )
        except DomainError as error:
            return rx.toast.error(error.message)
        await self._refetch()
        if endpoint.enabled:
            return rx.toast.success(f"Enabled {endpoint.name}: queued events go out again")
        return rx.toast.success(f"Disabled {endpoint.name}: nothing is sent to it for now")

    @rx.event
    @requires("admin.webhooks")
    async def confirm_rotate(self, webhook_id: int):
        return self._open_on(webhook_id, "rotate")

    @rx.event
    @requires("admin.webhooks")
    async def rotate_webhook_secret(self):
        if self.dialog != "rotate":
            return None
        actor = signed_in_user().email
        self.saving, self.form_error = True, ""
        try:
            endpoint, secret = await db_write(rotate_secret, self.target_id, actor=actor)
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        log.info("%s rotates the secret of webhook %s", actor, endpoint.id)
        self._show_secret(
            endpoint,
            secret,
            f"The new signing secret of {endpoint.name}. The previous one keeps signing "
            "beside it for 24 hours, so the receiver can switch without missing a message.",
        )
        await self._refetch()
        return rx.toast.success(f"Rotated the secret of {endpoint.name}")

    @rx.event
    @requires("admin.webhooks")
    async def confirm_delete(self, webhook_id: int):
        return self._open_on(webhook_id, "delete")

    @rx.event
    @requires("admin.webhooks")
    async def delete_webhook(self):
        if self.dialog != "delete":
            return None
        name = self.target_label
        log.info("%s deletes webhook %s", signed_in_user().email, self.target_id)
        return await self._attempt(
            db_write(delete_endpoint, self.target_id, actor=signed_in_user().email),
            done=f"Deleted {name} and its deliveries",
        )

    def _open_on(self, webhook_id: int, dialog: str) -> EventSpec | None:
        target = row_by_id(self.webhooks, webhook_id)
        if target is None:
            return rx.toast.error("That webhook is not on this page any more. Refresh the list.")
        self._open_target(dialog, target.id, target.name)
        return None
