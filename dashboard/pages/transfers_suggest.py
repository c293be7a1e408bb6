"""Suggested transfers for a brand, grouped by route (from → to), moves below a minimum
size left out; tick a route to draft it as one transfer."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.figures import NUMERIC, empty_state
from dashboard.pages.transfers_common import back_to_list
from dashboard.registry import page
from dashboard.states.transfers_suggest import (
    MIN_CHOICES,
    MoveItem,
    RouteGroup,
    SuggestionsState,
)

G = SuggestionsState


def _move_row(move: MoveItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(move.sku, style=ui.SKU), vertical_align="middle"),
        ui.cell(rx.text(move.variant, size="2")),
        *ui.number_cells(move.qty, move.velocity, move.from_cover, move.to_cover),
        data_testid="move-row",
    )


def _group(group: RouteGroup) -> rx.Component:
    return rx.card(
        column(
            inline(
                rx.checkbox(
                    checked=group.selected,
                    on_change=lambda on: G.toggle_route(group.key, on),
                    disabled=~G.can_create, aria_label="Draft " + group.route,
                ),
                rx.heading(group.route, as_="h2", size="3", style=NUMERIC),
                ui.muted(group.summary, size="2"),
                gap="3",
            ),
            rx.box(
                ui.table(
                    *ui.headers(
                        "SKU", "Variant", "Units", "Sells / wk (from → to)", "Cover at source",
                        "Cover at destination",
                        right=(
                            "Units",
                            "Sells / wk (from → to)",
                            "Cover at source",
                            "Cover at destination",
                        ),
                    ),
                    body=rx.foreach(group.moves, _move_row), test_id="moves-table",
                ),
                overflow_x="auto", width="100%",
            ),
        ),
        width="100%", data_testid="route-group", data_route=group.route,
    )


def _toolbar() -> rx.Component:
    return inline(
        rx.select.root(
            rx.select.trigger(placeholder="Pick a brand", aria_label="Brand"),
            rx.select.content(
                rx.foreach(G.brands, lambda c: rx.select.item(c.label, value=c.value))
            ),
            value=G.brand, on_change=G.pick_brand,
        ),
        inline(
            ui.muted("Moves of at least", size="2", white_space="nowrap"),
            rx.select.root(
                rx.select.trigger(aria_label="Smallest move"),
                rx.select.content(
                    *[
                        rx.select.item(f"{n} units" if n != "1" else "1 unit", value=n)
                        for n in MIN_CHOICES
                    ]
                ),
                value=G.min_qty, on_change=G.set_min,
            ),
        ),
        rx.spacer(),
        ui.muted(G.filter_note, size="2", data_testid="suggest-summary"),
        rx.cond(
            G.can_create & (G.groups.length() > 0),
            button(
                G.draft_label, "file-plus", on_click=G.create_drafts, loading=G.saving,
                disabled=G.selected_count == 0, data_testid="draft-routes", icon_size=15,
            ),
        ),
        width="100%", wrap="wrap", gap="3",
    )


def _empty() -> rx.Component:
    return rx.cond(
        G.brand == "",
        empty_state(
            "sparkles", "Pick a brand",
            "Rackroom looks at each size's sales per warehouse over 28 days and "
            "proposes moves from where it sits to where it sells and runs short "
            "(target: 4 weeks of cover).",
        ),
        rx.cond(
            G.loaded,
            empty_state(
                "circle-check", "Nothing to rebalance",
                rx.text(
                    rx.cond(
                        G.all_moves > 0,
                        "Every suggested move is smaller than the minimum. Lower it to see them.",
                        "Every size of this brand has enough cover where it sells, or no "
                        "warehouse has stock to spare.",
                    ),
                    size="2", color_scheme="gray",
                ),
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px"),
        ),
    )


@page(
    routes.TRANSFER_SUGGESTIONS, "Suggested transfers", perm="transfers.read", load=G.load,
    section=routes.TRANSFERS,
    description="Moves from warehouses where a size sells slowly to where it sells fast "
    "and is short, with the weeks of cover before → after. Tick a route to draft it.",
)
def suggestions_page() -> rx.Component:
    return column(
        back_to_list(),
        _toolbar(),
        notice(G.load_error),
        rx.cond(
            G.groups.length() > 0,
            column(rx.foreach(G.groups, _group), gap="4"),
            _empty(),
        ),
        gap="4",
    )
