"""Admin › Channels: list, create, edit, activate and deactivate sales channels."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components import admin_lists as lists
from dashboard.components.blocks import inline
from dashboard.states.admin_channels import STRATEGY_CHOICES, AdminChannelsState, ChannelItem

S = AdminChannelsState
COLUMNS = ("Code", "Name", "Strategy", "Warehouses, in order", "Split", "Status", "")


def _warehouses(item: ChannelItem) -> rx.Component:
    return rx.cond(
        item.warehouses.length() > 0,
        rx.text(item.warehouses.join(" → "), style=ui.MONO, data_testid="channel-warehouses"),
        ui.muted("Every active warehouse, by priority", size="2"),
    )


def _row(item: ChannelItem) -> rx.Component:
    return rx.table.row(
        *lists.code_cells(item),
        ui.cell(
            rx.badge(
                item.strategy_label,
                variant="soft", color_scheme="gray", size="1", data_testid="channel-strategy",
            )
        ),
        ui.cell(_warehouses(item)),
        ui.cell(rx.cond(item.allow_split, rx.text("Allowed", size="2"), ui.muted("No", size="2"))),
        ui.cell(ui.active_badge(item.active, off="Inactive")),
        ui.cell(lists.edit_and_toggle(S, item), justify="end", width="48px"),
        opacity=rx.cond(item.active, "1", "0.6"), data_testid="channel-row",
    )


def _list() -> rx.Component:
    return lists.admin_table(
        S, COLUMNS, row=_row, test_id="channels-table", widths={"Code": "140px", "": "48px"},
        note="A reservation naming a channel below is allocated from its warehouses by its "
        "strategy; any other channel code by warehouse priority.",
        empty=(
            "network", "No channels yet",
            "Every reservation is allocated by warehouse priority. Create a channel to give "
            "a storefront its own warehouses, the nearest-first strategy or split holds.",
        ),
    )


def _fields(prefix: str) -> list[rx.Component]:
    return [
        ui.select_field(
            "Strategy",
            f"{prefix}-strategy",
            STRATEGY_CHOICES, name="strategy", value=S.form_strategy,
            on_change=S.set_form_strategy,
        ),
        ui.text_field(
            "Warehouses",
            f"{prefix}-warehouses",
            name="warehouses", auto_complete="off", default_value=S.form_warehouses,
            placeholder="LDN, MAN", max_length=400, style={"text_transform": "uppercase"},
            hint=ui.muted(
                "Codes in order, separated by commas; empty for every active warehouse. "
                "Active now: " + S.known_warehouses
            ),
        ),
        inline(
            rx.switch(
                id=f"{prefix}-split",
                name="allow_split", default_checked=S.form_split, size="2",
            ),
            rx.el.label(
                "Allow split: hold across several warehouses when none has enough",
                html_for=f"{prefix}-split",
                style={"font_size": "14px"},
            ),
            gap="2",
        ),
    ]


def _dialogs() -> rx.Component:
    return lists.record_dialogs(
        S, "channel", _fields,
        code={
            "examples": ("web-eu", "Web shop, Europe"),
            "code_hint": "The channel the API's reservations name. It cannot be changed later.",
            "max_length": 64,
        },
        new="A storefront, marketplace or store that reserves stock.",
        edit="Name, strategy, warehouses and splitting. The code stays.",
        handlers=(S.create_channel, S.save_channel),
        switch=(
            "Its reservations are refused until it is active again. Its holds stay.",
            "Its reservations are allocated by its strategy again.",
        ), max_width="520px",
    )


admin_channels_page = ui.admin_page(
    routes.ADMIN_CHANNELS, "Channels", S, perm="admin.channels", icon="network",
    description="Sales channels: which warehouses each reserves from, and how.",
    new="New channel", parts=(_list, _dialogs),
)
