"""/alerts?view=&kind=&brand=&warehouse=&group=&page=: the inbox, acknowledge / snooze /
reopen one alert or the selected ones (all or nothing), grouped by style or warehouse.

Staff only (`alerts.read` to look, `alerts.work` to change): every handler checks on
the server first. The selection holds ids of this page only: a filter or page change
(a new URL, so `load`) and every successful bulk action clear it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypedDict

import reflex as rx
from sqlmodel import Session

from dashboard.formatting import plural, relative_time, units
from dashboard.items import Moment
from dashboard.states.alerts.common import (
    ANY,
    KIND_COLORS,
    KIND_LABELS,
    ROUTE,
    VIEW_LABELS,
    BrandPicker,
    brand_id_of,
    code_or_any,
    href,
    warehouse_id_of,
)
from dashboard.states.auth import RoleGuard, SessionUser, requires, signed_in_user
from dashboard.states.dialogs import UNEXPECTED, DialogState
from dashboard.states.listing import (
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
    query_param,
)
from dashboard.states.live import LiveFollow, Watch, follow
from dashboard.states.sidebar import SidebarState
from models.alerts import (
    VIEWS,
    acknowledge_alert,
    acknowledge_many,
    alert_counts,
    alert_marker,
    group_totals,
    list_alerts,
    reopen_alert,
    snooze_alert,
    snooze_many,
)
from models.base import utcnow
from models.errors import DomainError

log = logging.getLogger(__name__)

FILTERS = ("view", "kind", "brand", "warehouse", "group")
#: Group by (the URL's `?group=`): "" is no grouping.
GROUP_LABELS = {"": "None", "style": "Style", "warehouse": "Warehouse"}
#: The bulk bar's snooze choices: days → button label.
BULK_SNOOZES = {1: "Snooze 1 day", 7: "Snooze 1 week"}


@dataclasses.dataclass
class AlertItem:
    id: int
    kind: str
    kind_label: str
    color: str
    status: str
    subject: str
    detail: str
    brand: str
    warehouse: str
    available: str
    threshold: str
    since: Moment
    state_note: str
    can_ack: bool
    can_reopen: bool
    resolved: bool
    #: Grouped: the group's key ("" ungrouped); the first row of a group on the page
    #: carries its header (label and how many alerts the group has in the whole view).
    group_key: str = ""
    group_start: bool = False
    group_label: str = ""
    group_count: str = ""


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
        since=Moment.of(row.raised_at),
        state_note=_status_note(row),
        can_ack=row.status in ("open", "snoozed"),
        can_reopen=row.status in ("acknowledged", "snoozed"),
        resolved=row.status == "resolved",
    )


def _group_key(row: Any, group: str) -> int:
    return row.product_id if group == "style" else row.warehouse_id


def _group_label(row: Any, group: str) -> str:
    if group == "style":
        return f"{row.brand_code} · {row.style_code} · {row.product}"
    return row.warehouse_code


def read_inbox(
    session: Session,
    page: int,
    view: str,
    kind: str,
    brand: str,
    warehouse: str,
    group: str = "",
) -> tuple[Any, Any, dict[int, int]]:
    """One page of alerts (None when a filter names no brand or warehouse), the counts,
    and when grouped the size of each group on the page in the whole view."""
    brand_id, warehouse_id = brand_id_of(session, brand), warehouse_id_of(session, warehouse)
    if (brand and brand_id is None) or (warehouse and warehouse_id is None):
        return None, alert_counts(session), {}
    filters = {"view": view, "kind": kind or None, "brand_id": brand_id}
    found = fetch_page(
        session,
        list_alerts,
        page,
        warehouse_id=warehouse_id,
        group_by=group or None,
        **filters,
    )
    totals = (
        group_totals(
            session,
            group,
            [_group_key(row, group) for row in found.rows],
            warehouse_id=warehouse_id,
            **filters,
        )
        if group
        else {}
    )
    return found, alert_counts(session, brand_id=brand_id), totals


def read_inbox_since(
    session: Session, since: str | None, *query: Any
) -> tuple[str, tuple[Any, Any, dict[int, int]]] | None:
    """The alert marker and `read_inbox(*query)`; None when the marker is still `since`
    (the marker read first: a change in between shows on the next check)."""
    marker = alert_marker(session)
    if since is not None and marker == since:
        return None
    return marker, read_inbox(session, *query)


def grouped_items(rows: list[Any], group: str, totals: dict[int, int]) -> list[AlertItem]:
    """The page's rows as items, each group's first row carrying the group's header."""
    items, previous = [], None
    for row in rows:
        item = _alert_item(row)
        if group:
            key = _group_key(row, group)
            item.group_key = f"{group}:{key}"
            if key != previous:
                item.group_start = True
                item.group_label = _group_label(row, group)
                item.group_count = plural(totals.get(key, 0), "alert")
            previous = key
        items.append(item)
    return items


class SnoozeForm(TypedDict, total=False):
    until: str


class AlertsState(
    RoleGuard, LiveFollow, DialogState, PagedList, BrandPicker, rx.State
):
    """/alerts?view=&kind=&brand=&warehouse=&group=&page=: the inbox; it follows alert
    changes while open (a new alert shows without a reload)."""

    alerts: list[AlertItem] = []
    view: str = "open"
    kind: str = ANY
    warehouse: str = ANY
    group: str = ""
    counts: dict[str, str] = {}

    target_id: int = 0
    target_label: str = ""
    snooze_default: str = ""

    #: Ids of the alerts ticked on this page, for a bulk action.
    selected: list[int] = []
    #: Why the last bulk action was refused ("" when it was not).
    bulk_error: str = ""
    # backend only: what the live refresh re-reads
    _query: tuple = ()
    _marker: str = ""

    @rx.var
    def selected_label(self) -> str:
        return f"{len(self.selected):,} selected"

    @rx.var
    def page_selected(self) -> bool:
        """Every alert on the page that can be worked is ticked (and there is one)."""
        ids = {item.id for item in self.alerts if not item.resolved}
        return bool(ids) and ids <= set(self.selected)

    @rx.var
    def groups_selected(self) -> dict[str, bool]:
        """Group key → every alert of the group on this page is ticked."""
        chosen = set(self.selected)
        groups: dict[str, bool] = {}
        for item in self.alerts:
            if item.group_key and not item.resolved:
                groups[item.group_key] = groups.get(item.group_key, True) and item.id in chosen
        return groups

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
            "group": self.group,
        }

    def _href(self, **changes: str) -> str:
        params = {**self._filters(), **changes}
        if params.get("view") == "open":
            params["view"] = ""
        return href(ROUTE, **params)

    @rx.event
    @requires("alerts.read")
    async def load(self):
        params = self.router.url.query_parameters
        view = query_param(params, "view")
        self.view = view if view in VIEWS else "open"
        kind = query_param(params, "kind")
        self.kind = kind if kind in KIND_LABELS else ANY
        self._read_brand(params)
        self.warehouse = code_or_any(query_param(params, "warehouse"))
        group = query_param(params, "group")
        self.group = group if group in GROUP_LABELS else ""
        self.selected, self.bulk_error = [], ""
        self._close_dialog()
        if not self.brands:
            await self._read_choices()
        generation = self._next_generation()
        await self._refetch()
        return AlertsState.watch(generation)

    @rx.event(background=True, supersedes=True)
    async def watch(self, generation: int):
        """Follow alert changes while the inbox is open (ends when it is left)."""
        return await follow(self, generation, route=ROUTE, permission="alerts.read")

    def _live_watch(self) -> Watch | None:
        if not self.loaded or not self._query:
            return None
        return Watch("alert", None, (self._marker, self._query))

    async def _live_read(self, token: tuple[str, tuple]) -> Any | None:
        return await db_read(read_inbox_since, token[0], *token[1])

    def _live_show(self, fresh: Any, user: SessionUser) -> None:
        self._show(fresh)

    async def _refetch(self) -> None:
        f = self._filters()
        page = page_number(self.router.url.query_parameters)
        self._query = (page, self.view, f["kind"], f["brand"], f["warehouse"], self.group)
        read = await self._read_list("alerts", db_read(read_inbox_since, None, *self._query))
        if read is not None:
            self._show(read)

    def _show(self, read: tuple[str, tuple[Any, Any, dict[int, int]]]) -> None:
        """Show what `read_inbox_since` read (on load, after a change, or live)."""
        self._marker, (found, counts, totals) = read
        f = self._filters()
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
            self.alerts = grouped_items(found.rows, self.group, totals)
            self._show_paging(found, ROUTE, f)
        # Only what is still on the page and can be worked stays ticked.
        shown = set(self._selectable())
        self.selected = [i for i in self.selected if i in shown]
        self.loaded = True
        self._mark_live()

    @rx.event
    @requires("alerts.read")
    def set_filter(self, name: str, value: str):
        """A picker changed: the filter goes into the URL, which reloads the list."""
        if name not in FILTERS:
            return None
        if name == "group" and value not in GROUP_LABELS:
            value = ""
        return rx.redirect(self._href(**{name: value[:40]}))

    @rx.event
    @requires("alerts.read")
    def clear_filters(self):
        return rx.redirect(self._href(kind="", brand="", warehouse=""))

    async def _change(self, alert_id: int, fn: Callable[..., Any], done: str, **kwargs: Any):
        """Run `fn` on the alert (the sidebar's open count follows)."""
        refresh = [SidebarState.refresh()]
        return await self._act(fn, alert_id, "alert", done=done, then=refresh, **kwargs)

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

    # --- selection and bulk actions -----------------------------------------------------

    def _selectable(self) -> list[int]:
        return [item.id for item in self.alerts if not item.resolved]

    @rx.event
    @requires("alerts.work")
    def select_alert(self, alert_id: int, checked: bool) -> None:
        """Tick or untick one alert of the page (others are ignored)."""
        if alert_id not in self._selectable():
            return
        rest = [i for i in self.selected if i != alert_id]
        self.selected = [*rest, alert_id] if checked else rest
        self.bulk_error = ""

    @rx.event
    @requires("alerts.work")
    def select_page(self, checked: bool) -> None:
        """Tick every alert on the page that can be worked, or none."""
        self.selected = self._selectable() if checked else []
        self.bulk_error = ""

    @rx.event
    @requires("alerts.work")
    def select_group(self, group_key: str, checked: bool) -> None:
        """Tick or untick the alerts of one group on this page."""
        ids = [i.id for i in self.alerts if i.group_key == group_key and not i.resolved]
        rest = [i for i in self.selected if i not in ids]
        self.selected = [*rest, *ids] if checked else rest
        self.bulk_error = ""

    @rx.event
    @requires("alerts.work")
    def clear_selection(self) -> None:
        self.selected, self.bulk_error = [], ""

    async def _bulk(self, fn: Callable[..., Any], verb: str, **kwargs: Any):
        """Run a bulk action on the ticked alerts: all of them change, or none (and why)."""
        if not self.selected:  # (a second click waits its turn, then finds nothing ticked)
            return None
        user = signed_in_user()
        ids = list(self.selected)
        self.bulk_error = ""
        try:
            changed = await db_write(
                fn, ids, actor_id=user.id, brand_scope=user.brand_scope, **kwargs
            )
        except DomainError as error:
            self.bulk_error = error.message
            await self._refetch()
            return rx.toast.error(error.message, description="Nothing was changed.")
        except Exception:
            log.exception("alerts: bulk %s of %s alerts failed", fn.__name__, len(ids))
            self.bulk_error = UNEXPECTED
            return rx.toast.error(UNEXPECTED)
        log.info("%s: %s %s alerts", user.email, fn.__name__, len(changed))
        self.selected = []
        await self._refetch()
        return [rx.toast.success(f"{plural(len(changed), 'alert')} {verb}"), SidebarState.refresh()]

    @rx.event
    @requires("alerts.work")
    async def bulk_acknowledge(self):
        return await self._bulk(acknowledge_many, "acknowledged")

    @rx.event
    @requires("alerts.work")
    async def bulk_snooze(self, days: int):
        if days not in BULK_SNOOZES:
            return rx.toast.error("Snooze for a day or a week.")
        until = utcnow() + timedelta(days=days)
        return await self._bulk(snooze_many, f"snoozed until {until:%d %b}", until=until)
