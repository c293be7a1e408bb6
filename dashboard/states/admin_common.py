"""What every admin list page's state shares: a declared `Listing` (what it reads and how
a row shows), the paged read with its filters from the URL, the summary above the list
(`AdminList`), and dialogs on one row (`AdminPage`).

    class AdminBrandsState(RoleGuard, AdminPage, rx.State):
        LISTING: ClassVar[Listing] = Listing(
            "admin.brands", "brands", list_brands, ROUTE, "brands", BrandItem.of, ("brand",)
        )
        brands: list[BrandItem] = []

`load` (the page's on_load) is the mixin's, checked against `LISTING.perm`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import reflex as rx
from reflex.event import EventSpec

from dashboard.formatting import plural
from dashboard.states.auth import requires, signed_in_user
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.listing import PagedList

log = logging.getLogger(__name__)


def checked(perm: str, name: str, step: Callable[..., Awaitable[Any]]) -> Callable:
    """`step(state, *args)` as the handler `name` under `@requires(perm)`: for handlers
    a mixin declares once for pages with different permissions."""

    async def handler(state: Any, *args: Any) -> Any:
        return await step(state, *args)

    handler.__name__ = handler.__qualname__ = name
    return requires(perm)(handler)


def confirm_row(dialog: str, label: Callable[[Any], str]) -> Callable:
    """The handler `confirm_<dialog>(row_id)` of an `AdminPage`: open the confirm dialog
    `dialog` on a listed row, named in it by `label(row)`, under `@requires(LISTING.perm)`.

        confirm_revoke = confirm_row("revoke", lambda key: key.name)
    """
    name = f"confirm_{dialog}"

    async def step(state: AdminPage, row_id: int) -> EventSpec | None:
        return state._open_row(dialog, row_id, label)

    async def handler(self: AdminPage, row_id: int) -> EventSpec | None:
        return await checked(self.LISTING.perm, name, step)(self, row_id)

    handler.__name__ = handler.__qualname__ = name
    return handler


@dataclasses.dataclass(frozen=True)
class Listing:
    """An admin list, declared: the page's permission `perm` (models.policy),
    `lister(session, offset=, limit=, **filters)` reads a page of rows, `item` turns a
    row into what the page shows, kept in the state var `field`.

    `what` names the rows in errors ("The API keys could not be read"), `noun` counts
    them in the summary (`plural(total, *noun)`), `matching` follows it while filtered.
    """

    perm: str
    what: str
    lister: Callable[..., Any]
    route: str
    field: str
    item: Callable[[Any], Any]
    noun: tuple[str, ...] = ("row",)
    matching: str = " match the filters"
    #: What an admin reads when the row they clicked has left the page meanwhile.
    gone: str = ""

    def gone_message(self) -> str:
        return self.gone or f"That {self.noun[0]} is not on this page any more. Refresh the list."


class AdminList(PagedList, mixin=True):
    """A paged, possibly filtered admin list (see `Listing`)."""

    LISTING: ClassVar[Listing]
    #: "12 keys", "3 users match the filters"; empty until the first load.
    summary: str = ""

    @rx.event
    async def load(self):
        """on_load: the page's permission (`LISTING.perm`) checked, then `_open_page()`."""
        return await checked(self.LISTING.perm, "load", type(self)._open_page)(self)

    async def _open_page(self) -> None:
        """What a page load does once allowed: read the list. Pages with filters in the
        URL read them first."""
        await self._refetch()

    def _list_filters(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The lister's keyword filters, and the same as URL parameters (for the pager's
        links). Lists with filters override it."""
        return {}, {}

    def _item(self, row: Any) -> Any:
        return self.LISTING.item(row)

    async def _refetch(self) -> None:
        """Read this URL's page (`?page=`, `?per=`) of the list with its filters."""
        spec = self.LISTING
        query, url = self._list_filters()
        rows = await self._read_rows(spec.what, spec.lister, spec.route, url, **query)
        if rows is not None:
            self._show_items([self._item(row) for row in rows])

    def _show_items(self, items: list[Any]) -> None:
        spec = self.LISTING
        setattr(self, spec.field, items)
        self.loaded = True
        filtered = bool(getattr(self, "filtered", False))
        self.summary = plural(self.total, *spec.noun) + (spec.matching if filtered else "")

    def _listed(self, row_id: int) -> Any:
        """The listed row `row_id`, or None when it has left the page."""
        return row_by_id(getattr(self, self.LISTING.field), row_id)


class AdminPage(AdminList, TargetDialog, mixin=True):
    """An admin list with dialogs on its rows."""

    async def _open_page(self) -> None:
        """A page load: no dialog open, the list read afresh."""
        self._close_dialog()
        await self._refetch()

    def _open_row(self, dialog: str, row_id: int, label: Callable[[Any], str]) -> EventSpec | None:
        """Open `dialog` on a listed row (named by `label(row)`), or say it is gone."""
        target = self._listed(row_id)
        if target is None:
            return rx.toast.error(self.LISTING.gone_message())
        self._open_target(dialog, target.id, label(target))
        return None


class ActiveRows(AdminPage, mixin=True):
    """An admin list of things switched off and on, never deleted (warehouses,
    channels): the Deactivate… / Activate… confirm dialogs and their one handler, both
    checked against `LISTING.perm`. A page says how a row is named (`_row_label`) and
    switched (`_switch`: an awaitable of the changed thing, `_switched`: the toast)."""

    def _row_label(self, row: Any) -> str:
        return f"{row.name} ({row.code})"

    def _switch(self, row: Any, active: bool) -> Awaitable[Any]:
        raise NotImplementedError

    def _switched(self, changed: Any, active: bool) -> str:
        raise NotImplementedError

    @rx.event
    async def confirm_active(self, row_id: int, active: bool):
        """Open the Activate… (`active`) or Deactivate… dialog on a listed row."""
        return await checked(self.LISTING.perm, "confirm_active", type(self)._confirm)(
            self, row_id, active
        )

    async def _confirm(self, row_id: int, active: bool) -> EventSpec | None:
        return self._open_row("activate" if active else "deactivate", row_id, self._row_label)

    @rx.event
    async def set_active(self):
        """The open dialog's answer: the row (de)activated, in the domain's words."""
        return await checked(self.LISTING.perm, "set_active", type(self)._set_active)(self)

    async def _set_active(self) -> EventSpec | None:
        target = self._listed(self.target_id)
        if self.dialog not in ("activate", "deactivate") or target is None:
            return None
        active = self.dialog == "activate"
        log.info(
            "%s sets %s %s active=%s",
            signed_in_user().email,
            self.LISTING.noun[0],
            target.code,
            active,
        )
        return await self._attempt(
            self._switch(target, active), done=lambda changed: self._switched(changed, active)
        )
