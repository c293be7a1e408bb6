"""/alerts?view=&kind=&brand=&warehouse=&page=: the inbox, acknowledge / snooze / reopen.

Staff only (`alerts.read` to look, `alerts.work` to change): every handler checks on
the server first.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypedDict

import reflex as rx
from sqlmodel import Session

from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.alerts.common import (
    ANY,
    KIND_COLORS,
    KIND_LABELS,
    ROUTE,
    VIEW_LABELS,
    brand_choices,
    brand_id_of,
    code_or_any,
    href,
    warehouse_choices,
    warehouse_id_of,
)
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import UNEXPECTED, DialogState
from dashboard.states.listing import (
    Choice,
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
    query_param,
)
from dashboard.states.sidebar import SidebarState
from models.alerts import (
    VIEWS,
    acknowledge_alert,
    alert_counts,
    list_alerts,
    reopen_alert,
    snooze_alert,
)
from models.base import utcnow
from models.errors import DomainError

log = logging.getLogger(__name__)

FILTERS = ("view", "kind", "brand", "warehouse")


@dataclasses.dataclass
class AlertItem:
    id: int = 0
    kind: str = ""
    kind_label: str = ""
    color: str = "gray"
    status: str = ""
    subject: str = ""
    detail: str = ""
    brand: str = ""
    warehouse: str = ""
    available: str = ""
    threshold: str = ""
    since: str = ""
    since_exact: str = ""
    state_note: str = ""
    can_ack: bool = False
    can_reopen: bool = False
    resolved: bool = False


def _status_note(row: Any) -> str:
    if row.status == "resolved":
        return "resolved " + relative_time(row.resolved_at)
    if row.status == "acknowledged":
        return "acknowledged by " + (row.acknowledged_by or "someone")
    if row.status == "snoozed" and row.snoozed_until is not None:
        if row.snoozed_until > utcnow():
            return "snoozed to " + row.snoozed_until.strftime("%d %b")
        return "snooze ended"
    return "open"


def _alert_item(row: Any) -> AlertItem:
    if row.kind == "broken_size_run":
        subject = f"{row.style_code} · {row.colour}"
        detail = row.product + " · a core size is out"
    else:
        subject = row.sku
        detail = f"{row.product} · {row.colour} · {row.size}"
    return AlertItem(
        id=row.id,
        kind=row.kind,
        kind_label=KIND_LABELS.get(row.kind, row.kind),
        color=KIND_COLORS.get(row.kind, "gray"),
        status=row.status,
        subject=subject,
        detail=detail,
        brand=row.brand_code,
        warehouse=row.warehouse_code,
        available="" if row.available is None else units(row.available),
        threshold="" if row.threshold is None else units(row.threshold),
        since=relative_time(row.raised_at),
        since_exact=exact_time(row.raised_at),
        state_note=_status_note(row),
        can_ack=row.status in ("open", "snoozed"),
        can_reopen=row.status in ("acknowledged", "snoozed"),
        resolved=row.status == "resolved",
    )


def read_inbox(
    session: Session, page: int, view: str, kind: str, brand: str, warehouse: str
) -> tuple[Any, Any]:
    """One page of alerts (None when a filter names no brand or warehouse) and the counts."""
    brand_id, warehouse_id = brand_id_of(session, brand), warehouse_id_of(session, warehouse)
    if (brand and brand_id is None) or (warehouse and warehouse_id is None):
        return None, alert_counts(session)
    found = fetch_page(
        session,
        list_alerts,
        page,
        view=view,
        kind=kind or None,
        brand_id=brand_id,
        warehouse_id=warehouse_id,
    )
    return found, alert_counts(session, brand_id=brand_id)


class SnoozeForm(TypedDict, total=False):
    until: str


class AlertsState(RoleGuard, DialogState, PagedList, rx.State):
    """/alerts?view=&kind=&brand=&warehouse=&page=: the inbox."""

    alerts: list[AlertItem] = []
    view: str = "open"
    kind: str = ANY
    brand: str = ANY
    warehouse: str = ANY
    brands: list[Choice] = []
    warehouses: list[Choice] = []
    counts: dict[str, str] = {}
    loaded: bool = False
    load_error: str = ""

    target_id: int = 0
    target_label: str = ""
    snooze_default: str = ""

    @rx.var
    def filtered(self) -> bool:
        return self.kind != ANY or self.brand != ANY or self.warehouse != ANY

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        return plural(self.total, "alert") + " · " + VIEW_LABELS.get(self.view, "").lower()

    def _filters(self) -> dict[str, str]:
        return {
            "view": "" if self.view == "open" else self.view,
            "kind": "" if self.kind == ANY else self.kind,
            "brand": "" if self.brand == ANY else self.brand,
            "warehouse": "" if self.warehouse == ANY else self.warehouse,
        }

    def _href(self, **changes: str) -> str:
        params = {**self._filters(), **changes}
        if params.get("view") == "open":
            params["view"] = ""
        return href(ROUTE, **params)

    @rx.event
    @requires("alerts.read")
    async def load(self) -> None:
        params = self.router.url.query_parameters
        view = query_param(params, "view")
        self.view = view if view in VIEWS else "open"
        kind = query_param(params, "kind")
        self.kind = kind if kind in KIND_LABELS else ANY
        self.brand = code_or_any(query_param(params, "brand"))
        self.warehouse = code_or_any(query_param(params, "warehouse"))
        self._close_dialog()
        if not self.brands:
            self.brands, self.warehouses = await brand_choices(), await warehouse_choices()
        await self._refetch()

    async def _refetch(self) -> None:
        f = self._filters()
        page = page_number(self.router.url.query_parameters)
        read = await self._read_list(
            "alerts", db_read(read_inbox, page, self.view, f["kind"], f["brand"], f["warehouse"])
        )
        if read is None:
            return
        found, counts = read
        self.counts = {
            "open": units(counts.open),
            "acknowledged": units(counts.acknowledged),
            "snoozed": units(counts.snoozed),
            **{k: units(n) for k, n in counts.by_kind.items()},
        }
        if found is None:
            self.alerts = []
            self.total = 0
            self.range_label = self.first_href = self.previous_href = ""
            self.next_href = self.last_href = ""
        else:
            self.alerts = [_alert_item(row) for row in found.rows]
            self._show_paging(found, ROUTE, f)
        self.loaded = True

    @rx.event
    @requires("alerts.read")
    def set_filter(self, name: str, value: str):
        """A picker changed: the filter goes into the URL, which reloads the list."""
        if name not in FILTERS:
            return None
        return rx.redirect(self._href(**{name: value[:40]}))

    @rx.event
    @requires("alerts.read")
    def clear_filters(self):
        return rx.redirect(self._href(kind="", brand="", warehouse=""))

    async def _change(self, alert_id: int, fn: Callable[..., Any], done: str, **kwargs: Any):
        """Run `fn` on the alert: in the open dialog through `_attempt`, else with a toast."""
        user = signed_in_user()
        change = db_write(fn, alert_id, actor_id=user.id, **kwargs)
        if self.dialog:
            toast = await self._attempt(change, done=done)
            if toast is None:
                return None
            log.info("%s: %s alert %s", user.email, fn.__name__, alert_id)
            return [toast, SidebarState.refresh()]
        try:
            await change
        except DomainError as error:
            await self._refetch()
            return rx.toast.error(error.message, description="Nothing was changed.")
        except Exception:
            log.exception("alerts: %s on %s failed", fn.__name__, alert_id)
            return rx.toast.error(UNEXPECTED)
        log.info("%s: %s alert %s", user.email, fn.__name__, alert_id)
        await self._refetch()
        return [rx.toast.success(done), SidebarState.refresh()]

    @rx.event
    @requires("alerts.work")
    async def acknowledge(self, alert_id: int):
        return await self._change(
            alert_id,
            acknowledge_alert,
            "Acknowledged: it stays listed until the stock recovers",
        )

    @rx.event
    @requires("alerts.work")
    async def reopen(self, alert_id: int):
        return await self._change(alert_id, reopen_alert, "Reopened")

    @rx.event
    @requires("alerts.work")
    def open_snooze(self, alert_id: int):
        target = next((a for a in self.alerts if a.id == alert_id), None)
        if target is None:
            return rx.toast.error("That alert is not on this page any more. Refresh the list.")
        self._open_dialog("snooze")
        self.target_id, self.target_label = target.id, f"{target.subject} at {target.warehouse}"
        self.snooze_default = (date.today() + timedelta(days=7)).isoformat()
        return None

    @rx.event
    @requires("alerts.work")
    async def snooze(self, form: SnoozeForm):
        if self.dialog != "snooze":
            return None
        raw = str(form.get("until") or "").strip()
        try:
            until = date.fromisoformat(raw)
        except ValueError:
            self.form_error = "Pick the date the alert should come back."
            return None
        return await self._change(
            self.target_id, snooze_alert, f"Snoozed until {until:%d %b %Y}", until=until
        )
