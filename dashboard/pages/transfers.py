"""Transfers: the list by status. The other transfer screens register from their own
modules: one transfer (`transfers_detail`), its pick list (`transfers_pick`), suggested
moves (`transfers_suggest`); the new-transfer dialog is `transfers_new`."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline
from dashboard.components.figures import NUMERIC, empty_state, moment
from dashboard.components.lists import list_view
from dashboard.components.live import live_badge
from dashboard.pages import (  # noqa: F401 (imported to register their pages)
    transfers_detail,
    transfers_pick,
    transfers_suggest,
)
from dashboard.pages.transfers_common import back_to_list, staff_only
from dashboard.pages.transfers_new import new_transfer_dialog
from dashboard.registry import Nav, page
from dashboard.states.transfers import StatusTab, TransferItem, TransfersState
from dashboard.states.transfers_new import NewTransferState

__all__ = ["back_to_list", "staff_only", "transfers_page"]

S = TransfersState


def _tab(tab: StatusTab) -> rx.Component:
    active = tab.value == S.status_filter
    return rx.link(
        rx.text(tab.label, as_="span"),
        rx.text(tab.count, as_="span", style=NUMERIC, color=rx.color("gray", 10)),
        href=tab.href, underline="none", aria_current=rx.cond(active, "page", None),
        style={
            "display": "inline-flex",
            "gap": "6px",
            "align_items": "center",
            "padding": "5px 10px",
            "border_radius": "var(--radius-2)",
            "font_size": "13px",
            "font_weight": "500",
            "white_space": "nowrap",
            "color": rx.cond(active, rx.color("accent", 11), rx.color("gray", 12)),
            "background": rx.cond(active, rx.color("accent", 3), "transparent"),
            "_hover": {"background": rx.color("gray", 3)},
        },
    )


def _row(item: TransferItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link("#" + item.id.to_string(), href=item.href, weight="medium", style=NUMERIC),
            vertical_align="middle",
        ),
        ui.cell(ui.badge(item.status_label, color=item.color)),
        ui.cell(rx.text(item.route, size="2", weight="medium", white_space="nowrap")),
        ui.cell(rx.text(item.lines, size="2", white_space="nowrap")),
        ui.number_cell(item.units),
        ui.cell(ui.muted(item.created_by, size="2")),
        ui.cell(moment(item.created)),
        ui.cell(moment(item.updated)),
        ui.cell(ui.muted(item.note, size="2", max_width="220px", truncate=True, title=item.note)),
        data_testid="transfer-row",
    )


def _list() -> rx.Component:
    return list_view(
        columns=[
            *ui.headers(
                "Transfer", "Status", "Route", "Lines", "Units", "Drafted by", "Created",
                "Last step", "Note", right=("Units",),
            ),
        ],
        rows=S.transfers, row=_row, loaded=S.loaded, error=S.load_error,
        empty=empty_state(
            "arrow-left-right",
            rx.cond(S.status_filter == "all", "No transfers yet", "No transfers in this state"),
            "Draft one with New transfer (or from a variant on the Stock page), or let "
            "Suggestions propose moves for a brand.",
            rx.cond(
                S.status_filter != "all",
                rx.link("Show all transfers", href=routes.TRANSFERS, size="2", weight="medium"),
            ),
        ),
        test_id="transfers-table", paging=S,
    )


def _actions() -> rx.Component:
    return rx.hstack(
        rx.link(
            button("Suggestions", "sparkles", variant="soft", size="2", icon_size=15),
            href=routes.TRANSFER_SUGGESTIONS,
        ),
        rx.cond(
            S.can_create,
            button(
                "New transfer", "plus", on_click=NewTransferState.open_create, size="2",
                icon_size=15,
            ),
        ),
        spacing="2",
    )


@page(
    routes.TRANSFERS, "Transfers", perm="transfers.read", load=S.load,
    nav=Nav("Transfers", "arrow-left-right", count="transfers"),
    description="Stock moving between warehouses and stores, with every step on record.",
    action=_actions,
)
def transfers_page() -> rx.Component:
    return column(
        inline(
            rx.el.nav(
                rx.hstack(rx.foreach(S.tabs, _tab), spacing="1", wrap="wrap"),
                aria_label="Transfer status",
            ),
            rx.spacer(),
            ui.muted(S.summary, size="2", white_space="nowrap", data_testid="transfers-summary"),
            rx.cond(
                S.loaded,
                live_badge(S.live_label, "the list updates by itself when a transfer changes."),
            ),
            width="100%", gap="3",
        ),
        _list(),
        new_transfer_dialog(),
        gap="4",
    )
