"""Admin › Webhooks › Deliveries: what was sent to one endpoint, newest first, paged and
filtered by status in the URL (`?webhook=<id>&status=failed&page=2`); each delivery's
attempts, and resend. Every handler checks `admin.webhooks` on the server."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any
from urllib.parse import urlencode

import reflex as rx

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.admin_webhooks import STATUS_LOOK, delivery_look
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.listing import (
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
    page_size,
    query_param,
)
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
    id: int = 0
    event: str = ""
    event_id: int = 0
    status: str = ""
    status_label: str = ""
    status_color: str = "gray"
    attempts: int = 0
    code: str = ""
    error: str = ""
    when: str = ""
    when_exact: str = ""
    next_try: str = ""
    resendable: bool = True

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryItem:
        label, color = delivery_look(row.status, row.attempts)
        moment = row.delivered_at or row.last_attempt_at or row.created_at
        return cls(
            id=row.id,
            event=row.event_type,
            event_id=row.event_id,
            status=row.status,
            status_label=label,
            status_color=color,
            attempts=row.attempts,
            code=str(row.last_status_code) if row.last_status_code else "",
            error=row.last_error or "",
            when=relative_time(moment),
            when_exact=exact_time(moment),
            next_try=exact_time(row.next_attempt_at) if row.attempts else "",
            resendable=row.status != DeliveryStatus.SENDING.value,
        )


@dataclasses.dataclass
class AttemptItem:
    when: str = ""
    code: str = ""
    error: str = ""
    duration: str = ""

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


class AdminWebhookDeliveriesState(RoleGuard, TargetDialog, PagedList, rx.State):
    webhook_id: int = 0
    webhook_name: str = ""
    webhook_url: str = ""
    webhook_enabled: bool = True
    deliveries: list[DeliveryItem] = []
    status_filter: str = ANY_STATUS
    loaded: bool = False
    load_error: str = ""
    #: The "attempts" dialog: one delivery's tries, oldest first.
    attempts: list[AttemptItem] = []

    @rx.var
    def filtered(self) -> bool:
        return self.status_filter != ANY_STATUS

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        return plural(self.total, "delivery", "deliveries") + (
            " with this status" if self.filtered else ""
        )

    @rx.event
    @requires("admin.webhooks")
    async def load(self):
        """on_load: the endpoint, the status filter and the page come from the URL."""
        self._close_dialog()
        params = self.router.url.query_parameters
        status = query_param(params, "status")
        self.status_filter = status if status in dict(STATUS_CHOICES) else ANY_STATUS
        webhook = query_param(params, "webhook")
        self.webhook_id = int(webhook) if webhook.isdigit() and len(webhook) < 10 else 0
        self.deliveries, self.loaded = [], False
        await self._refetch()
        return None

    async def _refetch(self) -> None:
        status = None if self.status_filter == ANY_STATUS else self.status_filter
        params = self.router.url.query_parameters
        try:
            endpoint = await db_read(get_endpoint, self.webhook_id)
            found = await db_read(
                fetch_page,
                list_deliveries,
                page_number(params),
                page_size(params),
                endpoint_id=self.webhook_id,
                status=status,
            )
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
        self.load_error = ""
        self.webhook_name, self.webhook_url = endpoint.name, endpoint.url
        self.webhook_enabled = endpoint.enabled
        self.deliveries = [DeliveryItem.of(row) for row in found.rows]
        filters = {"webhook": str(self.webhook_id), "status": status or ""}
        self._show_paging(found, ROUTE, filters)
        self.loaded = True

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
        target = row_by_id(self.deliveries, delivery_id)
        if target is None:
            return rx.toast.error("That delivery is not on this page any more. Refresh the list.")
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
        target = row_by_id(self.deliveries, delivery_id)
        if target is None:
            return rx.toast.error("That delivery is not on this page any more. Refresh the list.")
        try:
            found = await db_read(delivery_attempts, target.id)
        except DomainError as error:
            return rx.toast.error(error.message)
        self._open_target("attempts", target.id, f"{target.event} (delivery {target.id})")
        self.attempts = [AttemptItem.of(attempt) for attempt in found]
        return None

    def _close_dialog(self) -> None:
        super()._close_dialog()
        self.attempts = []
