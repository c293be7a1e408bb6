"""Admin › Audit log: who changed users, brands, warehouses, API keys, connectors,
webhooks and alert rules, and when (`admin.audit`). Read-only: the log has no edits.

The filters (action, actor, from, to) live in the URL like every list's; the CSV export
is a link to `GET /exports/audit.csv` with the same filters (dashboard/api/exports/).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, TypedDict
from urllib.parse import urlencode

import reflex as rx

from dashboard import routes
from dashboard.api.exports import audit_export_href, download
from dashboard.items import Moment, item_of
from dashboard.states.admin_common import AdminList, Listing
from dashboard.states.auth import RoleGuard, requires
from dashboard.states.listing import db_read, query_param
from models.audit import (
    EXPORT_MAX_ROWS,
    AuditEntry,
    AuditFilter,
    audit_actions,
    count_audit,
    describe_changes,
    list_audit,
)
from models.errors import DomainError

ROUTE = routes.ADMIN_AUDIT
ANY_ACTION = "all"


@dataclasses.dataclass
class AuditItem:
    """One entry, ready to show."""

    id: int
    when: Moment
    actor: str
    action: str
    target: str
    changes: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditItem:
        label = entry.target_label or entry.target_id
        return item_of(
            cls,
            entry,
            id=entry.id or 0,
            when=Moment.of(entry.at),
            target=f"{entry.target_type.replace('_', ' ')} {label}".strip(),
            changes=describe_changes(entry.changes or {}),
        )


class FilterForm(TypedDict, total=False):
    actor: str
    since: str
    until: str


class AdminAuditState(RoleGuard, AdminList, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.audit", "audit log", list_audit, ROUTE, "entries", AuditItem.of, ("entry", "entries")
    )
    entries: list[AuditItem] = []
    actions: list[str] = []
    action_filter: str = ANY_ACTION
    actor_filter: str = ""
    since: str = ""
    until: str = ""
    filter_error: str = ""

    @rx.var
    def filtered(self) -> bool:
        return bool(self.actor_filter or self.since or self.until) or (
            self.action_filter != ANY_ACTION
        )

    def _filter(self) -> AuditFilter:
        action = "" if self.action_filter == ANY_ACTION else self.action_filter
        return AuditFilter.parse(action, self.actor_filter, self.since, self.until)

    async def _open_page(self) -> None:
        """The filters and page come from the URL."""
        params = self.router.url.query_parameters
        self.action_filter = query_param(params, "action") or ANY_ACTION
        self.actor_filter = query_param(params, "actor")
        self.since, self.until = query_param(params, "from"), query_param(params, "to")
        try:
            self._filter()
        except DomainError as error:
            self.filter_error, self.entries, self.loaded = error.message, [], True
            self.total = 0
            return None
        self.filter_error = ""
        actions = await self._read_list("audit log", db_read(audit_actions))
        if actions is not None:
            self.actions = actions
            await self._refetch()
        return None

    def _list_filters(self) -> tuple[dict[str, Any], dict[str, str]]:
        f = self._filter()
        return {"filters": f}, f.to_params()

    @rx.event
    @requires("admin.audit")
    async def apply_filters(self, form: FilterForm):
        """Enter or Apply: the filters go into the URL, which reloads the list."""
        action = "" if self.action_filter == ANY_ACTION else self.action_filter
        try:
            f = AuditFilter.parse(
                action, form.get("actor") or "", form.get("since") or "", form.get("until") or ""
            )
        except DomainError as error:
            self.filter_error = error.message
            return None
        return rx.redirect(_href(f))

    @rx.event
    @requires("admin.audit")
    async def filter_action(self, action: str):
        """Picking an action filters at once (a select has no Enter)."""
        self.action_filter = action if action in self.actions else ANY_ACTION
        try:
            return rx.redirect(_href(self._filter()))
        except DomainError as error:
            self.filter_error = error.message
            return None

    @rx.event
    @requires("admin.audit")
    async def clear_filters(self):
        return rx.redirect(ROUTE)

    @rx.event
    @requires("admin.audit")
    async def export_csv(self):
        """The selected entries (every page) as a CSV file, fetched over HTTP."""
        try:
            f = self._filter()
            total = await db_read(count_audit, f)
        except DomainError as error:
            return rx.toast.error(error.message)
        if total > EXPORT_MAX_ROWS:
            return rx.toast.error(
                f"The selection has {total:,} entries; an export holds at most "
                f"{EXPORT_MAX_ROWS:,}. Narrow the dates or filters."
            )
        return download(audit_export_href(f))


def _href(f: AuditFilter) -> str:
    query = urlencode(f.to_params())
    return f"{ROUTE}?{query}" if query else ROUTE
