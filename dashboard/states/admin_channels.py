"""Admin › Channels: the sales channels reservations name, which warehouses each
allocates from (in order) and how; create, edit, activate and deactivate. Every handler
checks on the server that the caller is an admin; `models.channels` checks the input and
writes the audit row."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict

import reflex as rx

from dashboard import routes
from dashboard.items import item_of
from dashboard.states.admin_common import ActiveRows, Listing
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_read, db_write
from models.admin import list_warehouses
from models.channels import ChannelRow, Strategy, channel_page, create_channel, update_channel

log = logging.getLogger(__name__)

STRATEGY_CHOICES: list[tuple[str, str]] = [
    (Strategy.PRIORITY.value, "Priority: the first in the list that has enough"),
    (Strategy.MOST_STOCK.value, "Most stock: the one with the most available"),
    (Strategy.NEAREST.value, "Nearest: the closest to the order's address"),
]
STRATEGY_LABELS = {
    Strategy.PRIORITY.value: "Priority",
    Strategy.MOST_STOCK.value: "Most stock",
    Strategy.NEAREST.value: "Nearest",
}


@dataclasses.dataclass
class ChannelItem:
    id: int
    code: str
    name: str
    strategy: str
    strategy_label: str
    #: The warehouses' codes in the channel's order; empty: every active warehouse.
    warehouses: list[str]
    allow_split: bool
    active: bool

    @classmethod
    def of(cls, row: ChannelRow) -> ChannelItem:
        label = STRATEGY_LABELS.get(row.strategy, row.strategy)
        codes = list(row.warehouses)
        return item_of(cls, row, strategy_label=label, warehouses=codes, active=row.is_active)


class ChannelForm(TypedDict, total=False):
    code: str
    name: str
    warehouses: str
    allow_split: str


def _active_codes(session) -> list[str]:
    """The active warehouses' codes in allocation order: what a channel may list."""
    rows = list_warehouses(session, limit=200).rows
    return [w.code for w in rows if w.is_active]


class AdminChannelsState(RoleGuard, ActiveRows, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        perm="admin.channels", what="channels", lister=channel_page, route=routes.ADMIN_CHANNELS,
        field="channels", item=ChannelItem.of, noun=("channel",),
        gone="That channel is not on this page any more. Refresh.",
    )  # fmt: skip
    channels: list[ChannelItem] = []

    #: The open dialog (`dialog`): "", "create", "edit", "deactivate", "activate".
    form_name: str = ""
    form_strategy: str = Strategy.PRIORITY.value
    form_warehouses: str = ""
    form_split: bool = False
    #: The active warehouses a channel may list, for the dialog's hint ("LDN, MAN").
    known_warehouses: str = ""

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def set_form_strategy(self, strategy: str) -> None:
        """The strategy picked in a dialog. Changes no data."""
        if strategy in STRATEGY_LABELS:
            self.form_strategy = strategy

    async def _fill_form(self, row: ChannelItem | None) -> None:
        """The dialog's fields: `row`'s (editing) or a new channel's."""
        if row is None:
            self.form_name, self.form_strategy = "", Strategy.PRIORITY.value
            self.form_warehouses, self.form_split = "", False
        else:
            self.form_name, self.form_strategy = row.name, row.strategy
            self.form_warehouses, self.form_split = ", ".join(row.warehouses), row.allow_split
        try:
            self.known_warehouses = ", ".join(await db_read(_active_codes)) or "none"
        except Exception:  # only a hint: the dialog works without it
            log.exception("could not read the warehouses for the channel dialog")
            self.known_warehouses = "(could not be read)"

    @rx.event
    @requires("admin.channels")
    async def open_create(self):
        await self._fill_form(None)
        self._open_dialog("create")

    @rx.event
    @requires("admin.channels")
    async def open_edit(self, channel_id: int):
        refused = self._open_row("edit", channel_id, lambda c: c.code)
        if refused is None:
            await self._fill_form(self._listed(channel_id))
        return refused

    def _choices(self, form: ChannelForm) -> dict[str, object]:
        """What the dialog sets besides code and name, and who sets it."""
        return {
            "name": form.get("name") or "",
            "strategy": self.form_strategy,
            "warehouses": form.get("warehouses") or "",
            "allow_split": form.get("allow_split") in (True, "on", "true"),
            "actor": signed_in_user().email,
        }

    @rx.event
    @requires("admin.channels")
    async def create_channel(self, form: ChannelForm):
        code = form.get("code") or ""
        log.info("%s creates channel %s", signed_in_user().email, code)
        made = db_write(create_channel, code, **self._choices(form))
        return await self._attempt(made, done=lambda c: f"Created channel {c.name} ({c.code})")

    @rx.event
    @requires("admin.channels")
    async def save_channel(self, form: ChannelForm):
        target = self._listed(self.target_id)
        if self.dialog != "edit" or target is None:
            return None
        log.info("%s edits channel %s", signed_in_user().email, target.code)
        saved = db_write(update_channel, target.code, **self._choices(form))
        return await self._attempt(saved, done=lambda c: f"Saved {c.name} ({c.code})")

    def _switch(self, row: ChannelItem, active: bool):
        return db_write(update_channel, row.code, active=active, actor=signed_in_user().email)

    def _switched(self, channel, active: bool) -> str:
        if active:
            return f"{channel.name} reserves by its strategy again"
        return f"{channel.name} is deactivated; its reservations are refused until it is active"
