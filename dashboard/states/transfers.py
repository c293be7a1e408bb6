"""/transfers: the list of transfers, by status (in the URL), newest first.

The other transfer screens have their own modules (`transfers_new`, `transfers_detail`,
`transfers_pick`, `transfers_suggest`); what they share is in `transfers_common`.
"""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import (
    PagedList,
    db_read,
    fetch_page,
    page_number,
    page_size,
    query_param,
)
from dashboard.states.transfers_common import (
    ANY_STATUS,
    STATUS_LABELS,
    brand_options,
    detail_href,
    list_href,
    status_color,
    status_label,
)
from dashboard.states.transfers_new import MAX_LINES, NewTransferState
from models.policy import allows
from models.transfers import TransferRow, list_transfers, transfer_counts

__all__ = ["StatusTab", "TransferItem", "TransfersState", "brand_options"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TransferItem:
    id: int = 0
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    route: str = ""
    lines: str = ""
    units: str = ""
    created_by: str = ""
    created: str = ""
    created_exact: str = ""
    updated: str = ""
    updated_exact: str = ""
    note: str = ""
    href: str = ""

    @classmethod
    def of(cls, row: TransferRow) -> TransferItem:
        return cls(
            id=row.id,
            status=row.status,
            status_label=status_label(row.status),
            color=status_color(row.status),
            route=f"{row.source_code} → {row.dest_code}",
            lines=plural(row.lines, "line"),
            units=units(row.units),
            created_by=row.created_by,
            created=relative_time(row.created_at),
            created_exact=exact_time(row.created_at),
            updated=relative_time(row.updated_at),
            updated_exact=exact_time(row.updated_at),
            note=row.note,
            href=detail_href(row.id),
        )


@dataclasses.dataclass
class StatusTab:
    value: str = ""
    label: str = ""
    count: str = ""
    href: str = ""


class TransfersState(RoleGuard, PagedList, rx.State):
    """/transfers: the list, its status tabs and paging."""

    transfers: list[TransferItem] = []
    tabs: list[StatusTab] = []
    status_filter: str = ANY_STATUS
    loaded: bool = False
    load_error: str = ""
    can_create: bool = False

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        what = plural(self.total, "transfer")
        if self.status_filter == ANY_STATUS:
            return what
        return f"{what} · {status_label(self.status_filter).lower()}"

    @rx.event
    @requires("transfers.read")
    async def load(self):
        """on_load: status and page come from the URL; ?new=1&sku=A,B opens the new-transfer
        dialog with those SKUs (the stock grid's "Add to transfer")."""
        params = self.router.url.query_parameters
        status = query_param(params, "status")
        self.status_filter = status if status in STATUS_LABELS else ANY_STATUS
        self.can_create = allows(signed_in_user().role, "transfers.create")
        await self._fetch(page_number(params), page_size(params))
        dialog = await self.get_state(NewTransferState)
        dialog._close_dialog()
        if query_param(params, "new") and self.can_create:
            skus = [s.strip() for s in query_param(params, "sku").split(",") if s.strip()]
            await dialog._open_new("\n".join(f"{s} 1" for s in skus[:MAX_LINES]))

    async def _fetch(self, page: int, per_page: int) -> None:
        status = None if self.status_filter == ANY_STATUS else self.status_filter
        try:
            found = await db_read(fetch_page, list_transfers, page, per_page, status=status)
            counts = await db_read(transfer_counts)
        except Exception:
            log.exception("transfers: reading the list failed")
            self.load_error = "The transfers could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.transfers = [TransferItem.of(row) for row in found.rows]
        total = sum(counts.by_status.values())
        self.tabs = [StatusTab(ANY_STATUS, "All", units(total), routes.TRANSFERS)] + [
            StatusTab(s, label, units(counts.by_status.get(s, 0)), list_href(s))
            for s, label in STATUS_LABELS.items()
        ]
        status_param = "" if self.status_filter == ANY_STATUS else self.status_filter
        self._show_paging(found, routes.TRANSFERS, {"status": status_param})
        self.loaded = True

    @rx.event
    @requires("transfers.read")
    def filter_status(self, status: str):
        return rx.redirect(list_href(status if status in STATUS_LABELS else ANY_STATUS))
