"""A transfer's pick list: black on white, no sidebar, made for paper (Print hides the
buttons). A `paper` page of the registry."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button
from dashboard.components.figures import NUMERIC
from dashboard.components.layout import gate, shown_to
from dashboard.registry import page
from dashboard.states.auth import AuthState
from dashboard.states.transfers_pick import PickItem, PickListState

P = PickListState
_PRINT_HIDDEN = {"@media print": {"display": "none"}}
_CELL = {"border_bottom": "1px solid #bbb", "padding": "6px 8px", "text_align": "left"}
_NUM = {**_CELL, "text_align": "right", **NUMERIC}
_HEAD = ("", "SKU", "Barcode", "Product", "Colour", "Size", "Pick", "On hand")


def _pick_row(item: PickItem) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.span("☐", font_size="18px"), style=_CELL),
        rx.el.td(item.sku, style={**_CELL, **ui.MONO}),
        rx.el.td(item.barcode, style={**_CELL, **ui.MONO}),
        rx.el.td(item.product, style=_CELL),
        rx.el.td(item.colour, style=_CELL),
        rx.el.td(item.size, style=_CELL),
        rx.el.td(item.qty, style={**_NUM, "font_weight": "700"}),
        rx.el.td(item.on_hand, style=_NUM),
        data_testid="pick-line",
    )


def _th(label: str) -> rx.Component:
    return rx.el.th(
        label,
        style={
            **(_NUM if label in ("Pick", "On hand") else _CELL),
            "border_bottom": "2px solid #000",
            "font_size": "12px",
            "text_transform": "uppercase",
        },
    )


def _sheet() -> rx.Component:
    return rx.box(
        rx.el.p(
            "From " + P.source + "  →  to " + P.dest + " · " + P.total + " · " + P.status_label,
            style={"margin": "0 0 2px", "font_size": "14px"},
            data_testid="pick-route",
        ),
        rx.el.p(
            "Printed " + P.printed_at,
            style={"margin": "0 0 16px", "font_size": "12px", "color": "#555"},
        ),
        rx.el.table(
            rx.el.thead(rx.el.tr(*[_th(h) for h in _HEAD])),
            rx.el.tbody(rx.foreach(P.items, _pick_row)),
            style={"width": "100%", "border_collapse": "collapse", "font_size": "14px"},
            data_testid="pick-table",
        ),
        rx.hstack(
            rx.el.p("Picked by ____________________"),
            rx.el.p("Checked by ____________________"),
            rx.el.p("Date __________"),
            spacing="6", padding_top="40px", font_size="14px",
        ),
    )


@page(routes.PICK_LIST, "Pick list", perm="transfers.read", load=P.load, paper=True)
def pick_list_page() -> rx.Component:
    found = P.load_error == ""
    return rx.cond(
        AuthState.is_authenticated,
        rx.box(
            rx.hstack(
                rx.link(
                    "← Back to the transfer",
                    href=rx.cond(
                        P.transfer_id > 0,
                        routes.TRANSFER_DETAIL + "?id=" + P.transfer_id.to_string(),
                        routes.TRANSFERS,
                    ),
                ),
                rx.spacer(),
                shown_to(
                    "transfers.read",
                    button(
                        "Print", "printer", on_click=rx.call_script("window.print()"),
                        disabled=~found,
                    ),
                ),
                style=_PRINT_HIDDEN, padding_bottom="16px",
            ),
            rx.el.h1(
                rx.cond(
                    found & (P.transfer_id > 0),
                    "Pick list · Transfer #" + P.transfer_id.to_string(),
                    "Pick list",
                ),
                style={"font_size": "22px", "font_weight": "700", "margin": "0 0 4px"},
            ),
            gate(
                "transfers.read",
                rx.cond(found, _sheet(), rx.el.p(P.load_error, data_testid="pick-error")),
            ),
            background="white", color="black", min_height="100vh", padding="32px 40px",
            max_width="1000px", margin_x="auto", class_name="pick-list",
        ),
        rx.center(rx.spinner(size="3"), height="100vh"),
    )
