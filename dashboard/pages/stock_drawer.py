"""The stock grid's variant drawer: a sheet with one variant's balances (each
correctable, for those allowed), open reservations, paged history, facts and aliases,
and a link that starts a transfer with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.admin import MONO, muted
from dashboard.components.blocks import button, column
from dashboard.components.figures import NUMERIC, moment
from dashboard.components.layout import shown_to
from dashboard.components.lists import newer_older
from dashboard.pages.stock_table import state_color
from dashboard.states.stock import DrawerBalance, Fact, LedgerItem, ReservationItem, StockState

S = StockState

_SHEET = {
    "position": "fixed",
    "top": "0",
    "right": "0",
    "height": "100vh",
    "max_height": "100vh",
    "width": "min(640px, 100vw)",
    "max_width": "none",
    "border_radius": "0",
    "margin": "0",
    "overflow_y": "auto",
    "padding": "24px",
}


def _section(title: str, *children: rx.Component, test_id: str = "") -> rx.Component:
    return column(
        rx.heading(title, as_="h3", size="2", weight="bold"),
        *children,
        data_testid=test_id or None, gap="2",
    )


def _listed(
    rows: rx.Var, row: Callable[[Any], rx.Component], *labels: str, right: tuple[str, ...] = (),
    test_id: str, empty: str,
) -> rx.Component:
    """A small table of `rows`, or the `empty` note when there are none."""
    return rx.cond(
        rows.length() > 0,  # type: ignore[attr-defined]
        ui.table(*ui.headers(*labels, right=right), body=rx.foreach(rows, row), test_id=test_id),
        muted(empty, size="2"),
    )


def _drawer_balance(b: DrawerBalance) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(b.warehouse, weight="medium"),
        rx.table.cell(
            b.available, justify="end", style=NUMERIC, color=state_color(b.state),
            font_weight="600",
        ),
        rx.table.cell(b.on_hand, justify="end", style=NUMERIC),
        rx.table.cell(b.reserved, justify="end", style=NUMERIC),
        rx.table.cell(b.incoming, justify="end", style=NUMERIC),
        rx.table.cell(moment(b.updated, size="1")),
        rx.cond(
            S.can_edit,
            rx.table.cell(
                button(
                    "Correct", "pencil",
                    on_click=S.open_correction(S.drawer_variant, b.warehouse_id, b.on_hand_count),
                    aria_label=b.edit_label, variant="soft", size="1", icon_size=12,
                ),
                justify="end",
            ),
        ),
        data_testid="drawer-balance",
    )


def _reservation(r: ReservationItem) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(r.order_ref, style=MONO)),
        rx.table.cell(r.channel),
        rx.table.cell(r.warehouse),
        rx.table.cell(r.qty, justify="end", style=NUMERIC),
        rx.table.cell(moment(r.expires, size=None)),
    )


def _ledger_row(item: LedgerItem) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            moment(item.when, size="1"),
        ),
        rx.table.cell(item.warehouse),
        rx.table.cell(
            rx.text(
                item.change,
                color=rx.match(
                    item.tone,
                    ("green", rx.color("grass", 11)),
                    ("red", rx.color("red", 11)),
                    rx.color("gray", 11),
                ),
                style=NUMERIC, white_space="nowrap",
            ),
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(item.reason, size="1", weight="medium"),
                rx.cond(item.note != "", muted(item.note)),
                spacing="0",
            )
        ),
        rx.table.cell(rx.cond(item.reference != "", muted(item.reference), muted("—"))),
        rx.table.cell(muted(item.actor, word_break="break-all")),
        data_testid="ledger-row",
    )


def _fact(fact: Fact) -> rx.Component:
    return rx.fragment(
        muted(fact.label, size="2"),
        rx.text(fact.value, size="2"),
    )


def _drawer_body() -> rx.Component:
    return column(
        _section(
            "Balances",
            ui.table(
                *ui.headers(
                    "Warehouse", "Available", "On hand", "Reserved", "Incoming", "Updated",
                    right=("Available", "On hand", "Reserved", "Incoming"),
                ),
                rx.cond(S.can_edit, ui.header("")),
                body=rx.foreach(S.drawer_balances, _drawer_balance), test_id="drawer-balances",
            ),
        ),
        _section(
            "Open reservations",
            _listed(
                S.drawer_reservations, _reservation,
                "Order", "Channel", "Warehouse", "Units", "Expires", right=("Units",),
                test_id="drawer-reservations",
                empty="None: no checkout holds this variant right now.",
            ),
        ),
        _section(
            "History",
            _listed(
                S.drawer_ledger, _ledger_row,
                "When", "Where", "Change", "Reason", "Reference", "By",
                test_id="drawer-ledger", empty="No changes recorded yet.",
            ),
            newer_older(
                muted(S.ledger_label),
                on_newer=S.ledger_newer, newer_off=~S.ledger_has_newer, on_older=S.ledger_older,
                older_off=~S.ledger_has_older, icon_size=12,
            ),
            test_id="drawer-history",
        ),
        _section(
            "Details",
            rx.grid(
                rx.foreach(S.drawer_facts, _fact),
                columns="140px 1fr", gap_x="12px", gap_y="4px", width="100%",
            ),
        ),
        _section(
            "Aliases",
            rx.cond(
                S.drawer_aliases.length() > 0,
                rx.flex(
                    rx.foreach(
                        S.drawer_aliases,
                        lambda a: rx.badge(
                            a.label + ": " + a.value,
                            variant="outline", color_scheme="gray",
                        ),
                    ),
                    wrap="wrap", gap="6px",
                ),
                muted("No other codes name this variant.", size="2"),
            ),
        ),
        gap="5",
    )


def variant_drawer() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.hstack(
                rx.vstack(
                    rx.dialog.title(
                        S.drawer_sku, size="5", font_family="var(--code-font-family)", margin="0",
                        data_testid="drawer-sku",
                    ),
                    rx.dialog.description(S.drawer_title, size="2", color_scheme="gray"),
                    spacing="1",
                ),
                rx.spacer(),
                rx.link(
                    button("Product", "shirt", variant="soft", color_scheme="gray", size="2"),
                    href=S.drawer_product_href, on_click=S.on_drawer_change(False),
                    data_testid="open-product",
                ),
                # Transfers: start a draft holding this SKU. Leaving closes the drawer,
                # so coming back shows the grid, not this variant over another grid.
                shown_to(
                    "transfers.create",
                    rx.link(
                        button("Add to transfer", "arrow-left-right", variant="soft", size="2"),
                        href=f"{routes.TRANSFERS}?new=1&sku=" + S.drawer_sku,
                        on_click=S.on_drawer_change(False), data_testid="add-to-transfer",
                    ),
                ),
                rx.dialog.close(
                    rx.icon_button(
                        rx.icon("x", size=16),
                        variant="ghost", color_scheme="gray", aria_label="Close",
                    )
                ),
                align="start",
                width="100%",
                padding_bottom="16px",
            ),
            rx.cond(
                S.drawer_error != "",
                rx.callout(S.drawer_error, icon="triangle-alert", color_scheme="red"),
                rx.cond(
                    S.drawer_loading & (S.drawer_sku == ""),
                    rx.center(rx.spinner(size="3"), padding_y="48px"),
                    _drawer_body(),
                ),
            ),
            style=_SHEET, data_testid="variant-drawer",
        ),
        open=S.drawer_open, on_open_change=S.on_drawer_change,
    )
