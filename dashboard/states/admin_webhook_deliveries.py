"""Admin › Webhooks › Deliveries: what was sent to one endpoint, newest first, paged and
filtered by status in the URL (`?webhook=<id>&status=failed&page=2`); each delivery's
attempts, and resend. Every handler checks `admin.webhooks` on the server."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, ClassVar
from urllib.parse import urlencode

import reflex as rx

from dashboard import routes
from dashboard.formatting import exact_time
from dashboard.items import Moment, item_of
from dashboard.states.admin_common import AdminPage, Listing
from dashboard.states.admin_webhooks import STATUS_LOOK, delivery_look
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_read, db_write, query_param
from models.errors import DomainError, NotFound
from models.webhooks import (
    DeliveryRow,
    DeliveryStatus,
    delivery_attempts,
    get_endpoint,
    list_deliveries,
    resend_delivery,
)

log = logging.getLogger(__name__)

ROUTE = routes.ADMIN_WEBHOOK_DELIVERIES
ANY_STATUS = "all"
#: The status filter's choices: (value, label).
STATUS_CHOICES: list[tuple[str, str]] = [
    (status.value, STATUS_LOOK[status.value][0]) for status in DeliveryStatus
]


@dataclasses.dataclass
class DeliveryItem:
    id: int
    event: str
    event_id: int
    status: str
    status_label: str
    status_color: str
    attempts: int
    code: str
    error: str
    when: Moment
    next_try: str
    resendable: bool

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryItem:
        label, color = delivery_look(row.status, row.attempts)
        return item_of(
            cls,
            row,
            event=row.event_type,
            status_label=label,
            status_color=color,
            code=str(row.last_status_code) if row.last_status_code else "",
            error=row.last_error or "",
            when=Moment.of(row.delivered_at or row.last_attempt_at or row.created_at),
            next_try=exact_time(row.next_attempt_at) if row.attempts else "",
            resendable=row.status != DeliveryStatus.SENDING.value,
        )


@dataclasses.dataclass
class AttemptItem:
    when: str
    code: str
    error: str
    duration: str

    @classmethod
    def of(cls, attempt: dict[str, Any]) -> AttemptItem:
        return cls(
            when=exact_time(attempt["attempted_at"]),
            code=str(attempt["status_code"]) if attempt["status_code"] else "",
            error=attempt["error"] or "",
            duration=f"{attempt['duration_ms']:,} ms",
        )


def _href(webhook_id: int, status: str) -> str:
    query = {"webhook": str(webhook_id), **({"status": status} if status else {})}
    return f"{ROUTE}?{urlencode(query)}"


class AdminWebhookDeliveriesState(RoleGuard, AdminPage, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.webhooks", "deliveries", list_deliveries, ROUTE, "deliveries", DeliveryItem.of,
        ("delivery", "deliveries"), matching=" with this status",
    )
    webhook_id: int = 0
    webhook_name: str = ""
    webhook_url: str = ""
    webhook_enabled: bool = True
    deliveries: list[DeliveryItem] = []
    status_filter: str = ANY_STATUS
    #: The "attempts" dialog: one delivery's tries, oldest first.
    attempts: list[AttemptItem] = []

    @rx.var
    def filtered(self) -> bool:
        return self.status_filter != ANY_STATUS

    async def _open_page(self) -> None:
        """The endpoint, the status filter and the page come from the URL."""
        params = self.router.url.query_parameters
        status = query_param(params, "status")
        self.status_filter = status if status in dict(STATUS_CHOICES) else ANY_STATUS
        webhook = query_param(params, "webhook")
        self.webhook_id = int(webhook) if webhook.isdigit() and len(webhook) < 10 else 0
        self.deliveries, self.loaded = [], False
        await super()._open_page()

    def _list_filters(self) -> tuple[dict[str, Any], dict[str, str]]:
        status = None if self.status_filter == ANY_STATUS else self.status_filter
        query = {"endpoint_id": self.webhook_id, "status": status}
        return query, {"webhook": str(self.webhook_id), "status": status or ""}

    async def _refetch(self) -> None:
        try:
            endpoint = await db_read(get_endpoint, self.webhook_id)
        except NotFound:
            self.load_error = (
                "There is no such webhook (it may have been deleted). Pick one on the "
                "Webhooks page."
                if self.webhook_id
                else "Pick a webhook on the Webhooks page to see its deliveries."
            )
            self.webhook_name = self.webhook_url = ""
            self.deliveries, self.total, self.loaded = [], 0, True
            return
        except Exception:
            log.exception("webhook deliveries: reading the list failed")
            self.load_error = "The deliveries could not be read. Refresh to try again."
            return
        self.webhook_name, self.webhook_url = endpoint.name, endpoint.url
        self.webhook_enabled = endpoint.enabled
        await super()._refetch()

    @rx.event
    @requires("admin.webhooks")
    async def filter_status(self, status: str):
        """Picking a status filters at once (into the URL, which reloads the list)."""
        status = status if status in dict(STATUS_CHOICES) else ""
        return rx.redirect(_href(self.webhook_id, status))

    @rx.event
    @requires("admin.webhooks")
    async def clear_filters(self):
        return rx.redirect(_href(self.webhook_id, ""))

    @rx.event
    @requires("admin.webhooks")
    async def resend(self, delivery_id: int):
        """Send the same event again, as soon as a worker is free."""
        target = self._listed(delivery_id)
        if target is None:
            return rx.toast.error(self.LISTING.gone_message())
        log.info("%s resends webhook delivery %s", signed_in_user().email, target.id)
        try:
            await db_write(resend_delivery, target.id, endpoint_id=self.webhook_id)
        except DomainError as error:
            return rx.toast.error(error.message)
        await self._refetch()
        title = f"Delivery {target.id} is queued to be sent again"
        if not self.webhook_enabled:
            return rx.toast.success(title, description="It goes out once the webhook is enabled.")
        return rx.toast.success(title)

    @rx.event
    @requires("admin.webhooks")
    async def open_attempts(self, delivery_id: int):
        """The dialog with one delivery's attempts (status codes, errors, durations)."""
        gone = self._open_row("attempts", delivery_id, lambda d: f"{d.event} (delivery {d.id})")
        if gone is not None:
            return gone
        try:
            found = await db_read(delivery_attempts, self.target_id)
        except DomainError as error:
            self._close_dialog()
            return rx.toast.error(error.message)
        self.attempts = [AttemptItem.of(attempt) for attempt in found]
        return None

    def _close_dialog(self) -> None:
        super()._close_dialog()
        self.attempts = []
