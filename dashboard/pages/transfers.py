"""Transfers: the list, one transfer (lines, timeline, actions), its pick list, and
suggested rebalancing moves for a brand."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import (
    MONO,
    cell,
    field,
    form_dialog,
    header,
    load_error,
    muted,
    number_cell,
    pager,
    select,
    table,
    text_input,
    when,
)
from dashboard.components.figures import NUMERIC, empty_state
from dashboard.components.layout import app_shell
from dashboard.states.auth import AuthState
from dashboard.states.transfers import (
    DETAIL_ROUTE,
    ROUTE,
    SUGGEST_ROUTE,
    EventItem,
    LineItem,
    MoveItem,
    PickItem,
    PickListState,
    StatusTab,
    SuggestionsState,
    TransferDetailState,
    TransferItem,
    TransfersState,
)
from dashboard.states.transfers import PICK_ROUTE as PICK_ROUTE  # the app registers it

TITLE = "Transfers"
S = TransfersState
D = TransferDetailState
P = PickListState
G = SuggestionsState


def staff_only(*content: rx.Component) -> rx.Component:
    """The page's content for staff; vendors read why they see nothing."""
    return rx.cond(
        AuthState.user_role == "vendor",
        rx.box(
            empty_state(
                "lock",
                "You don't have access to this page",
                "Transfers and alerts are for Rackroom staff. Your brand's stock is on the "
                "Stock page.",
                rx.link("Back to the overview", href="/", size="2", weight="medium"),
            ),
            data_testid="no-access",
            width="100%",
        ),
        rx.vstack(*content, spacing="4", width="100%"),
    )


def status_badge(label: rx.Var, color: rx.Var, **props) -> rx.Component:
    return rx.badge(label, color_scheme=color, variant="soft", **{"size": "1", **props})


# --- the list ---------------------------------------------------------------------------------


def _tab(tab: StatusTab) -> rx.Component:
    active = tab.value == S.status_filter
    return rx.link(
        rx.text(tab.label, as_="span"),
        rx.text(tab.count, as_="span", style=NUMERIC, color=rx.color("gray", 10)),
        href=tab.href,
        underline="none",
        aria_current=rx.cond(active, "page", None),
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
        cell(status_badge(item.status_label, item.color)),
        cell(rx.text(item.route, size="2", weight="medium", white_space="nowrap")),
        cell(rx.text(item.lines, size="2", white_space="nowrap")),
        number_cell(item.units),
        cell(muted(item.created_by, size="2")),
        cell(when(item.created, item.created_exact)),
        cell(when(item.updated, item.updated_exact)),
        cell(muted(item.note, size="2", max_width="220px", truncate=True, title=item.note)),
        data_testid="transfer-row",
    )


def _list() -> rx.Component:
    return rx.cond(
        S.transfers.length() > 0,
        rx.vstack(
            table(
                header("Transfer"),
                header("Status"),
                header("Route"),
                header("Lines"),
                header("Units", justify="end"),
                header("Drafted by"),
                header("Created"),
                header("Last step"),
                header("Note"),
                body=rx.foreach(S.transfers, _row),
                test_id="transfers-table",
            ),
            pager(S.range_label, S.previous_href, S.next_href),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            S.loaded,
            empty_state(
                "arrow-left-right",
                rx.cond(S.status_filter == "all", "No transfers yet", "No transfers in this state"),
                "Draft one with New transfer (or from a variant on the Stock page), or let "
                "Suggestions propose moves for a brand.",
                rx.cond(
                    S.status_filter != "all",
                    rx.link("Show all transfers", href=ROUTE, size="2", weight="medium"),
                ),
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
        ),
    )


def _new_dialog() -> rx.Component:
    return form_dialog(
        rx.hstack(
            field(
                "From",
                select(
                    "transfer-source",
                    S.warehouses,
                    name="source",
                    placeholder="Source warehouse",
                    value=S.form_source,
                    on_change=S.set_form_source,
                ),
                for_id="transfer-source",
            ),
            field(
                "To",
                select(
                    "transfer-dest",
                    S.warehouses,
                    name="dest",
                    placeholder="Destination",
                    value=S.form_dest,
                    on_change=S.set_form_dest,
                ),
                for_id="transfer-dest",
            ),
            spacing="3",
            width="100%",
        ),
        field(
            "Lines",
            rx.text_area(
                id="transfer-lines",
                name="lines",
                default_value=S.form_lines,
                key=S.form_lines,
                placeholder="NORTH-NW-STRAIGHT-30 12\nNORTH-NW-STRAIGHT-32 4",
                rows="6",
                width="100%",
                style=MONO,
            ),
            for_id="transfer-lines",
            hint="One line per SKU: the SKU (or alias or barcode), a space, the quantity.",
        ),
        field(
            "Note",
            text_input("transfer-note", name="note", auto_complete="off"),
            for_id="transfer-note",
            hint="Optional: why this move (shown on the list and the pick list).",
        ),
        title="New transfer",
        description="A draft: nothing moves until it is approved and shipped.",
        open=S.dialog == "create",
        on_open_change=S.on_dialog_change,
        on_submit=S.create,
        submit_label="Create draft",
        saving=S.saving,
        error=S.form_error,
        test_id="new-transfer-dialog",
    )


def transfers_page() -> rx.Component:
    return app_shell(
        staff_only(
            load_error(S.load_error),
            rx.hstack(
                rx.el.nav(
                    rx.hstack(rx.foreach(S.tabs, _tab), spacing="1", wrap="wrap"),
                    aria_label="Transfer status",
                ),
                rx.spacer(),
                muted(S.summary, size="2", white_space="nowrap", data_testid="transfers-summary"),
                align="center",
                width="100%",
            ),
            _list(),
            _new_dialog(),
        ),
        title=TITLE,
        route=ROUTE,
        description="Stock moving between warehouses and stores, with every step on record.",
        action=rx.cond(
            AuthState.user_role != "vendor",
            rx.hstack(
                rx.link(
                    rx.button(
                        rx.icon("sparkles", size=15), "Suggestions", variant="soft", size="2"
                    ),
                    href=SUGGEST_ROUTE,
                ),
                rx.cond(
                    S.can_create,
                    rx.button(
                        rx.icon("plus", size=15), "New transfer", on_click=S.open_create, size="2"
                    ),
                ),
                spacing="2",
            ),
        ),
    )


ON_LOAD = [AuthState.require_login, S.load]


# --- one transfer -----------------------------------------------------------------------------


def _line_row(line: LineItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(line.sku, style=MONO), vertical_align="middle"),
        cell(rx.text(line.product, size="2")),
        cell(line.colour),
        cell(line.size),
        number_cell(line.qty),
        rx.table.cell(
            line.source_available,
            justify="end",
            style=NUMERIC,
            color=rx.cond(line.short_of_stock, rx.color("red", 11), None),
            title=rx.cond(line.short_of_stock, "Less available than the line needs", ""),
        ),
        number_cell(line.received),
        number_cell(line.short),
        number_cell(line.damaged),
        data_testid="transfer-line",
        data_sku=line.sku,
    )


def _event(item: EventItem) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="10px",
            height="10px",
            border_radius="50%",
            background=rx.color(item.color, 9),
            margin_top="5px",
            flex_shrink="0",
        ),
        rx.vstack(
            rx.text(item.label, size="2", weight="bold"),
            rx.text(
                item.actor,
                " · ",
                rx.el.span(item.when, title=item.exact),
                size="1",
                color_scheme="gray",
            ),
            rx.cond(item.note != "", rx.text(item.note, size="1")),
            spacing="0",
        ),
        spacing="3",
        align="start",
        data_testid="timeline-entry",
    )


def _fact(label: str, value: rx.Var, test_id: str = "") -> rx.Component:
    return rx.vstack(
        muted(label),
        rx.text(rx.cond(value != "", value, "—"), size="2", weight="medium"),
        spacing="0",
        data_testid=test_id or None,
    )


def _actions() -> rx.Component:
    return rx.hstack(
        rx.cond(
            D.can_submit, rx.button("Submit for approval", on_click=D.submit, loading=D.saving)
        ),
        rx.cond(D.can_approve, rx.button("Approve", on_click=D.approve, loading=D.saving)),
        rx.cond(D.can_ship, rx.button("Ship", on_click=D.ship, loading=D.saving)),
        rx.cond(D.can_receive, rx.button("Receive…", on_click=D.open_receive)),
        rx.link(
            rx.button(rx.icon("printer", size=14), "Pick list", variant="soft", size="2"),
            href=D.pick_href,
        ),
        rx.cond(
            D.can_cancel,
            rx.button(
                "Cancel transfer",
                on_click=D.confirm_cancel,
                variant="soft",
                color_scheme="red",
            ),
        ),
        spacing="2",
        wrap="wrap",
        data_testid="transfer-actions",
    )


def _receive_line(line: LineItem) -> rx.Component:
    def number(name: str, value: rx.Var | int, label: str) -> rx.Component:
        return rx.input(
            name=name + "-" + line.variant_id.to_string(),
            default_value=value.to_string() if isinstance(value, rx.Var) else str(value),
            type="number",
            min="0",
            aria_label=label + " " + line.sku,
            width="72px",
            size="1",
            style=NUMERIC,
        )

    return rx.cond(
        line.outstanding > 0,
        rx.table.row(
            rx.table.row_header_cell(
                rx.vstack(
                    rx.text(line.sku, style={**MONO, "font_size": "12px"}, white_space="nowrap"),
                    muted(line.outstanding.to_string() + " expected"),
                    spacing="0",
                ),
                vertical_align="middle",
            ),
            cell(number("received", line.outstanding, "Received")),
            cell(number("short", 0, "Short")),
            cell(number("damaged", 0, "Damaged")),
            data_testid="receipt-line",
            data_sku=line.sku,
        ),
    )


def _receive_dialog() -> rx.Component:
    return form_dialog(
        rx.table.root(
            rx.table.header(
                rx.table.row(header("SKU"), header("Received"), header("Short"), header("Damaged"))
            ),
            rx.table.body(rx.foreach(D.lines, _receive_line)),
            size="1",
            width="100%",
        ),
        rx.el.label(
            rx.hstack(
                rx.checkbox(name="keep_open"),
                rx.text("More is still coming: keep it in transit", size="2"),
                spacing="2",
                align="center",
            ),
        ),
        field(
            "Note",
            text_input("receipt-note", name="note", auto_complete="off"),
            for_id="receipt-note",
        ),
        title="Book the receipt",
        description="Per line: good units go on hand, damaged ones are written off, short "
        "ones leave incoming. Unbooked units count as short unless you keep it in transit.",
        open=D.dialog == "receive",
        on_open_change=D.on_dialog_change,
        on_submit=D.receive,
        submit_label="Book receipt",
        saving=D.saving,
        error=D.form_error,
        test_id="receive-dialog",
    )


def _cancel_dialog() -> rx.Component:
    from dashboard.components.admin import confirm_dialog

    return confirm_dialog(
        title="Cancel " + D.title + "?",
        description="Nothing has moved yet, so nothing moves back. It stays on the list as "
        "cancelled.",
        confirm_label="Cancel transfer",
        open=D.dialog == "cancel",
        on_open_change=D.on_dialog_change,
        on_confirm=D.cancel,
        saving=D.saving,
        error=D.form_error,
        test_id="cancel-dialog",
    )


def _detail() -> rx.Component:
    return rx.cond(
        D.status != "",
        rx.vstack(
            rx.card(
                rx.vstack(
                    rx.hstack(
                        status_badge(D.status_label, D.color, size="2", data_testid="status"),
                        rx.text(D.next_step, size="2", color_scheme="gray"),
                        align="center",
                        spacing="3",
                    ),
                    rx.grid(
                        _fact("From", D.source),
                        _fact("To", D.dest),
                        _fact("Size", D.total_units),
                        _fact("Drafted by", D.created_by),
                        _fact("Submitted by", D.requested_by),
                        _fact("Approved by", D.approved_by),
                        columns="3",
                        spacing="4",
                        width="100%",
                    ),
                    rx.cond(D.note != "", rx.text(D.note, size="2")),
                    _actions(),
                    spacing="4",
                    width="100%",
                ),
                width="100%",
            ),
            rx.grid(
                rx.vstack(
                    rx.heading("Lines", as_="h2", size="3"),
                    table(
                        header("SKU"),
                        header("Product"),
                        header("Colour"),
                        header("Size"),
                        header("Qty", justify="end"),
                        header("Available at source", justify="end"),
                        header("Received", justify="end"),
                        header("Short", justify="end"),
                        header("Damaged", justify="end"),
                        body=rx.foreach(D.lines, _line_row),
                        test_id="lines-table",
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.vstack(
                    rx.heading("Timeline", as_="h2", size="3"),
                    rx.card(
                        rx.vstack(rx.foreach(D.timeline, _event), spacing="3"),
                        width="100%",
                        data_testid="timeline",
                    ),
                    spacing="2",
                    width="100%",
                ),
                columns="minmax(0, 3fr) minmax(220px, 1fr)",
                spacing="5",
                width="100%",
            ),
            _receive_dialog(),
            _cancel_dialog(),
            spacing="5",
            width="100%",
        ),
        rx.cond(D.loaded, rx.fragment(), rx.center(rx.spinner(size="3"), padding_y="48px")),
    )


def transfer_detail_page() -> rx.Component:
    return app_shell(
        staff_only(
            rx.link(
                rx.hstack(rx.icon("arrow-left", size=14), "All transfers", spacing="1"),
                href=ROUTE,
                size="2",
            ),
            load_error(D.load_error),
            _detail(),
        ),
        title=D.title,  # type: ignore[arg-type]  # a Var renders like the text
        route=ROUTE,
    )


DETAIL_ON_LOAD = [AuthState.require_login, D.load]


# --- pick list --------------------------------------------------------------------------------

_PRINT_HIDDEN = {"@media print": {"display": "none"}}
_CELL = {"border_bottom": "1px solid #bbb", "padding": "6px 8px", "text_align": "left"}
_NUM = {**_CELL, "text_align": "right", **NUMERIC}


def _pick_row(item: PickItem) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.span("☐", font_size="18px"), style=_CELL),
        rx.el.td(item.sku, style={**_CELL, **MONO}),
        rx.el.td(item.barcode, style={**_CELL, **MONO}),
        rx.el.td(item.product, style=_CELL),
        rx.el.td(item.colour, style=_CELL),
        rx.el.td(item.size, style=_CELL),
        rx.el.td(item.qty, style={**_NUM, "font_weight": "700"}),
        rx.el.td(item.on_hand, style=_NUM),
        data_testid="pick-line",
    )


def pick_list_page() -> rx.Component:
    """Black on white, no sidebar: made for paper (Print hides the buttons)."""
    head = ("", "SKU", "Barcode", "Product", "Colour", "Size", "Pick", "On hand")
    return rx.cond(
        AuthState.is_authenticated & (AuthState.user_role != "vendor"),
        rx.box(
            rx.hstack(
                rx.link(
                    "← Back to the transfer", href=DETAIL_ROUTE + "?id=" + P.transfer_id.to_string()
                ),
                rx.spacer(),
                rx.button(
                    rx.icon("printer", size=14),
                    "Print",
                    on_click=rx.call_script("window.print()"),
                ),
                style=_PRINT_HIDDEN,
                padding_bottom="16px",
            ),
            rx.cond(
                P.load_error != "",
                rx.text(P.load_error),
                rx.box(
                    rx.el.h1(
                        "Pick list · Transfer #" + P.transfer_id.to_string(),
                        style={"font_size": "22px", "font_weight": "700", "margin": "0 0 4px"},
                    ),
                    rx.el.p(
                        "From "
                        + P.source
                        + "  →  to "
                        + P.dest
                        + " · "
                        + P.total
                        + " · "
                        + P.status_label,
                        style={"margin": "0 0 2px", "font_size": "14px"},
                        data_testid="pick-route",
                    ),
                    rx.el.p(
                        "Printed " + P.printed_at,
                        style={"margin": "0 0 16px", "font_size": "12px", "color": "#555"},
                    ),
                    rx.el.table(
                        rx.el.thead(
                            rx.el.tr(
                                *[
                                    rx.el.th(
                                        h,
                                        style={
                                            **(_NUM if h in ("Pick", "On hand") else _CELL),
                                            "border_bottom": "2px solid #000",
                                            "font_size": "12px",
                                            "text_transform": "uppercase",
                                        },
                                    )
                                    for h in head
                                ]
                            )
                        ),
                        rx.el.tbody(rx.foreach(P.items, _pick_row)),
                        style={"width": "100%", "border_collapse": "collapse", "font_size": "14px"},
                        data_testid="pick-table",
                    ),
                    rx.hstack(
                        rx.el.p("Picked by ____________________"),
                        rx.el.p("Checked by ____________________"),
                        rx.el.p("Date __________"),
                        spacing="6",
                        padding_top="40px",
                        font_size="14px",
                    ),
                ),
            ),
            background="white",
            color="black",
            min_height="100vh",
            padding="32px 40px",
            max_width="1000px",
            margin_x="auto",
            class_name="pick-list",
        ),
        rx.center(rx.spinner(size="3"), height="100vh"),
    )


PICK_ON_LOAD = [AuthState.require_login, P.load]


# --- suggestions ------------------------------------------------------------------------------


def _move_row(move: MoveItem) -> rx.Component:
    return rx.table.row(
        cell(
            rx.checkbox(
                checked=move.selected,
                on_change=lambda on: G.toggle(move.key, on),
                aria_label="Include " + move.sku + " " + move.route,
                disabled=~G.can_create,
            )
        ),
        rx.table.row_header_cell(rx.text(move.sku, style=MONO), vertical_align="middle"),
        cell(rx.text(move.product + " · " + move.colour + " · " + move.size, size="2")),
        cell(rx.text(move.route, weight="medium", white_space="nowrap")),
        number_cell(move.qty),
        number_cell(move.from_velocity + " → " + move.to_velocity),
        number_cell(move.from_cover),
        number_cell(move.to_cover),
        data_testid="move-row",
    )


def suggestions_page() -> rx.Component:
    return app_shell(
        staff_only(
            rx.link(
                rx.hstack(rx.icon("arrow-left", size=14), "All transfers", spacing="1"),
                href=ROUTE,
                size="2",
            ),
            rx.hstack(
                rx.select.root(
                    rx.select.trigger(placeholder="Pick a brand", aria_label="Brand"),
                    rx.select.content(
                        rx.foreach(G.brands, lambda c: rx.select.item(c.label, value=c.value))
                    ),
                    value=G.brand,
                    on_change=G.pick_brand,
                ),
                rx.spacer(),
                rx.cond(
                    G.can_create & (G.moves.length() > 0),
                    rx.button(
                        rx.icon("file-plus", size=15),
                        G.draft_label,
                        on_click=G.create_drafts,
                        loading=G.saving,
                        disabled=G.selected_count == 0,
                    ),
                ),
                width="100%",
                align="center",
            ),
            load_error(G.load_error),
            rx.cond(
                G.moves.length() > 0,
                table(
                    header("", width="36px"),
                    header("SKU"),
                    header("Variant"),
                    header("Move"),
                    header("Units", justify="end"),
                    header("Sells / wk (from → to)", justify="end"),
                    header("Cover at source", justify="end"),
                    header("Cover at destination", justify="end"),
                    body=rx.foreach(G.moves, _move_row),
                    test_id="moves-table",
                ),
                rx.cond(
                    G.brand == "",
                    empty_state(
                        "sparkles",
                        "Pick a brand",
                        "Rackroom looks at each size's sales per warehouse over 28 days and "
                        "proposes moves from where it sits to where it sells and runs short "
                        "(target: 4 weeks of cover).",
                    ),
                    rx.cond(
                        G.loaded,
                        empty_state(
                            "circle-check",
                            "Nothing to rebalance",
                            "Every size of this brand has enough cover where it sells, or no "
                            "warehouse has stock to spare.",
                        ),
                        rx.center(rx.spinner(size="3"), padding_y="48px"),
                    ),
                ),
            ),
        ),
        title="Suggested transfers",
        route=ROUTE,
        description="Moves from warehouses where a size sells slowly to where it sells fast "
        "and is short, with the weeks of cover before → after.",
    )


SUGGEST_ON_LOAD = [AuthState.require_login, G.load]
