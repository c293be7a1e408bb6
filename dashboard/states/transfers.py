"""/transfers: the list of transfers, by status (in the URL), newest first.

The list stays live while open (`dashboard/states/live.py`): when a transfer changes
(a step in another session), its rows and tab counts are read again.

The other transfer screens have their own modules (`transfers_new`, `transfers_detail`,
`transfers_pick`, `transfers_suggest`); what they share is in `transfers_common`.
"""

from __future__ import annotations

import dataclasses

import reflex as rx
from sqlmodel import Session

from dashboard import routes
from dashboard.formatting import plural, units
from dashboard.items import Moment, item_of
from dashboard.states.auth import RoleGuard, SessionUser, requires, signed_in_user
from dashboard.states.listing import (
    PagedList,
    db_read,
    fetch_page,
    page_number,
    page_size,
    query_param,
)
from dashboard.states.live import LiveFollow, Watch, follow
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
from models.admin import Page
from models.policy import allows
from models.transfers import (
    TransferCounts,
    TransferRow,
    list_transfers,
    transfer_counts,
    transfer_marker,
)

__all__ = ["StatusTab", "TransferItem", "TransfersState", "brand_options"]


@dataclasses.dataclass
class TransferItem:
    id: int
    status: str
    status_label: str
    color: str
    route: str
    lines: str
    units: str
    created_by: str
    created: Moment
    updated: Moment
    note: str
    href: str

    @classmethod
    def of(cls, row: TransferRow) -> TransferItem:
        return item_of(
            cls,
            row,
            status_label=status_label(row.status),
            color=status_color(row.status),
            route=f"{row.source_code} → {row.dest_code}",
            lines=plural(row.lines, "line"),
            units=units(row.units),
            created=Moment.of(row.created_at),
            updated=Moment.of(row.updated_at),
            href=detail_href(row.id),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ListRead:
    """One page of the list, the tab counts, and the marker they reflect."""

    page: Page[TransferRow]
    counts: TransferCounts
    marker: int


def read_list(
    session: Session, status: str | None, page: int, per_page: int, since: int | None = None
) -> ListRead | None:
    """The list as of now (the marker read first: a change in between shows on the next
    check); None when no transfer changed since the marker `since`."""
    marker = transfer_marker(session)
    if since is not None and marker == since:
        return None
    found = fetch_page(session, list_transfers, page, per_page, status=status)
    return ListRead(found, transfer_counts(session), marker)


@dataclasses.dataclass
class StatusTab:
    value: str
    label: str
    count: str
    href: str


class TransfersState(RoleGuard, LiveFollow, PagedList, rx.State):
    """/transfers: the list, its status tabs and paging."""

    transfers: list[TransferItem] = []
    tabs: list[StatusTab] = []
    status_filter: str = ANY_STATUS
    can_create: bool = False
    # backend only: what the live refresh re-reads
    _page: int = 1
    _per: int = 0
    _marker: int = 0

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
        generation = self._next_generation()
        self._page, self._per = page_number(params), page_size(params)
        await self._fetch(self._page, self._per)
        dialog = await self.get_state(NewTransferState)
        dialog._close_dialog()
        if query_param(params, "new") and self.can_create:
            skus = [s.strip() for s in query_param(params, "sku").split(",") if s.strip()]
            await dialog._open_new("\n".join(f"{s} 1" for s in skus[:MAX_LINES]))
        return TransfersState.watch(generation)

    @rx.event(background=True, supersedes=True)
    async def watch(self, generation: int):
        """Follow transfer changes while the list is open (ends when it is left)."""
        return await follow(self, generation, route=routes.TRANSFERS, permission="transfers.read")

    def _status(self) -> str | None:
        return None if self.status_filter == ANY_STATUS else self.status_filter

    def _live_watch(self) -> Watch | None:
        if not self.loaded:
            return None
        return Watch("transfer", None, (self._status(), self._page, self._per, self._marker))

    async def _live_read(self, token: tuple[str | None, int, int, int]) -> ListRead | None:
        return await db_read(read_list, *token[:3], since=token[3])

    def _live_show(self, fresh: ListRead, user: SessionUser) -> None:
        self._show_list(fresh)

    async def _fetch(self, page: int, per_page: int) -> None:
        found = await self._read_list(
            "transfers", db_read(read_list, self._status(), page, per_page)
        )
        if found is not None:
            self._show_list(found)

    def _show_list(self, read: ListRead) -> None:
        found, counts = read.page, read.counts
        self._marker = read.marker
        self._mark_live()
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
