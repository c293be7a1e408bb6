"""One transfer: its facts and actions, lines, timeline, and the dialogs of its steps
(ship and cancel ask first; receive books what arrived)."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.admin import (
    SKU,
    badge,
    cell,
    confirm_dialog,
    dialog_wiring,
    form_dialog,
    form_error,
    headers,
    muted,
    number_cell,
    table,
    text_field,
)
from dashboard.components.blocks import button, column, inline
from dashboard.components.figures import NUMERIC, numeric_cell
from dashboard.components.layout import detail_page
from dashboard.components.live import live_badge
from dashboard.components.scanning import scan_box, scan_lit
from dashboard.pages.transfers_common import back_to_list
from dashboard.registry import page
from dashboard.states.transfers_detail import EventItem, LineItem, TransferDetailState

D = TransferDetailState
_DESCRIPTION = {"font_size": "14px", "line_height": "20px", "color": rx.color("gray", 11)}


def _available(line: LineItem) -> rx.Component:
    return numeric_cell(
        line.source_available, vertical_align="middle",
        color=rx.cond(line.short_of_stock, rx.color("red", 11), None),
        title=rx.cond(line.short_of_stock, "Less available than the line needs", ""),
    )


def _line_row(line: LineItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.text(line.sku, style=SKU), vertical_align="middle"
        ),
        cell(rx.text(line.product, size="2")),
        cell(line.colour),
        cell(line.size, white_space="nowrap"),
        number_cell(line.qty),
        _available(line),
        number_cell(line.received),
        number_cell(line.short),
        number_cell(line.damaged),
        data_testid="transfer-line", data_sku=line.sku,
    )


def _event(item: EventItem) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="10px", height="10px", border_radius="50%", background=rx.color(item.color, 9),
            margin_top="5px", flex_shrink="0",
        ),
        rx.vstack(
            rx.text(item.label, size="2", weight="bold"),
            rx.text(
                item.actor, " · ",
                rx.el.span(item.when, title=item.exact),
                size="1", color_scheme="gray",
            ),
            rx.cond(item.note != "", rx.text(item.note, size="1")),
            spacing="0",
        ),
        spacing="3", align="start", data_testid="timeline-entry",
    )


def _fact(label: str, value: rx.Var) -> rx.Component:
    return rx.vstack(
        muted(label),
        rx.text(rx.cond(value != "", value, "—"), size="2", weight="medium"),
        spacing="0",
    )


def _actions() -> rx.Component:
    return rx.hstack(
        rx.cond(
            D.can_submit, rx.button("Submit for approval", on_click=D.submit, loading=D.saving)
        ),
        rx.cond(D.can_approve, rx.button("Approve", on_click=D.approve, loading=D.saving)),
        rx.cond(D.can_ship, rx.button("Ship…", on_click=D.confirm_ship)),
        rx.cond(D.can_receive, rx.button("Receive…", on_click=D.open_receive)),
        rx.link(
            button("Pick list", "printer", variant="soft", size="2"),
            href=routes.PICK_LIST + "?id=" + D.transfer_id.to_string(),
        ),
        rx.cond(
            D.can_cancel,
            rx.button(
                "Cancel transfer", on_click=D.confirm_cancel, variant="soft", color_scheme="red",
            ),
        ),
        spacing="2", wrap="wrap", data_testid="transfer-actions",
    )


def _receive_line(line: LineItem) -> rx.Component:
    vid = line.variant_id.to_string()

    def number(name: str, value: rx.Var | int, label: str, **props: object) -> rx.Component:
        return rx.input(
            name=name + "-" + vid,
            default_value=value.to_string() if isinstance(value, rx.Var) else str(value),
            type="number", min="0", aria_label=label + " " + line.sku, width="72px", size="1",
            style=NUMERIC, **props,
        )

    # While scanning, Received shows the units scanned (keyed by it, so each scan redraws
    # it); a number typed there is kept when the field is left, and scans count on.
    received = rx.cond(D.scanning, D.receipt_scans[vid].to(int), line.outstanding)

    return rx.cond(
        line.outstanding > 0,
        rx.table.row(
            rx.table.row_header_cell(
                rx.vstack(
                    rx.text(line.sku, style={**SKU, "font_size": "12px"}),
                    muted(line.outstanding.to_string() + " expected"),
                    spacing="0",
                ),
                vertical_align="middle",
            ),
            cell(
                number(
                    "received", received, "Received", key=vid + ":" + received.to_string(),
                    on_blur=D.keep_received(line.variant_id),
                )
            ),
            cell(number("short", 0, "Short")),
            cell(number("damaged", 0, "Damaged")),
            **scan_lit(D, vid),
            data_testid="receipt-line", data_sku=line.sku,
        ),
    )


def _receive_dialog() -> rx.Component:
    return form_dialog(
        rx.table.root(
            rx.table.header(
                rx.table.row(*headers("SKU", "Received", "Short", "Damaged"))
            ),
            rx.table.body(rx.foreach(D.lines, _receive_line)),
            size="1", width="100%",
        ),
        rx.el.label(
            inline(
                rx.checkbox(name="keep_open"),
                rx.text("More is still coming: keep it in transit", size="2"),
            ),
        ),
        text_field(
            "Note", "receipt-note", name="note", auto_complete="off",
        ),
        title="Book the receipt",
        before=rx.cond(
            D.scanning,
            scan_box(
                D, label="Scan a received unit", test_id="receipt-scan",
                hint="Scan a barcode, or type a SKU, then Enter",
            ),
            button(
                "Count by scanning", "scan-barcode", on_click=D.start_scanning, variant="soft",
                margin_bottom="12px", data_testid="start-scanning",
            ),
        ),
        description="Per line: good units go on hand, damaged ones are written off, short "
        "ones leave incoming. Unbooked units count as short unless you keep it in transit.",
        **dialog_wiring(D, "receive"),
        on_submit=D.receive, submit_label="Book receipt", test_id="receive-dialog",
    )


def _ship_line(line: LineItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(line.sku, style={**SKU, "font_size": "12px"})),
        rx.table.cell(rx.text(line.product + " · " + line.size, size="1")),
        numeric_cell(line.qty),
        _available(line),
        data_testid="ship-line",
    )


def _ship_dialog() -> rx.Component:
    """What ships, from where to where, and how many units: asked before anything moves."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Ship " + D.title + "?", size="4"),
            rx.alert_dialog.description(D.ship_summary, style=_DESCRIPTION, margin_bottom="12px"),
            rx.box(
                table(
                    *headers("SKU", "Variant", "Ships", "At source", right=("Ships", "At source")),
                    body=rx.foreach(D.lines, _ship_line), test_id="ship-lines",
                ),
                max_height="260px", overflow_y="auto", margin_bottom="12px",
            ),
            rx.cond(
                D.short_lines > 0,
                rx.callout(
                    D.short_lines.to_string()
                    + " line(s) ask for more than the source has now: shipping will be "
                    "refused until the stock is there.",
                    icon="triangle-alert", color_scheme="amber", size="1", margin_bottom="8px",
                ),
            ),
            form_error(D.form_error),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Not yet", variant="soft", color_scheme="gray")),
                rx.button("Ship " + D.total_units, on_click=D.ship, loading=D.saving),
                justify="end", spacing="2", padding_top="12px",
            ),
            max_width="560px", data_testid="ship-dialog",
        ),
        open=D.dialog == "ship", on_open_change=D.on_dialog_change,
    )


def _cancel_dialog() -> rx.Component:
    return confirm_dialog(
        title="Cancel " + D.title + "?",
        description="Nothing has moved yet, so nothing moves back. It stays on the list as "
        "cancelled.",
        confirm_label="Cancel transfer",
        **dialog_wiring(D, "cancel"),
        on_confirm=D.cancel, test_id="cancel-dialog",
    )


def _summary_card() -> rx.Component:
    return rx.card(
        column(
            inline(
                badge(D.status_label, color=D.color, size="2", data_testid="status"),
                rx.text(D.next_step, size="2", color_scheme="gray"),
                rx.spacer(),
                live_badge(D.live_label, "steps taken elsewhere show here by themselves."),
                width="100%", gap="3",
            ),
            rx.grid(
                _fact("From", D.source),
                _fact("To", D.dest),
                _fact("Size", D.total_units),
                _fact("Drafted by", D.created_by),
                _fact("Submitted by", D.requested_by),
                _fact("Approved by", D.approved_by),
                columns="3", spacing="4", width="100%",
            ),
            rx.cond(D.note != "", rx.text(D.note, size="2")),
            _actions(),
            gap="4",
        ),
        width="100%",
    )


def _detail() -> rx.Component:
    return column(
        _summary_card(),
        rx.grid(
            column(
                rx.heading("Lines", as_="h2", size="3"),
                table(
                    *headers(
                        "SKU", "Product", "Colour", "Size", "Qty", "Available at source",
                        "Received", "Short", "Damaged",
                        right=("Qty", "Available at source", "Received", "Short", "Damaged"),
                    ),
                    body=rx.foreach(D.lines, _line_row), test_id="lines-table",
                ),
                overflow_x="auto", gap="2",
            ),
            column(
                rx.heading("Timeline", as_="h2", size="3"),
                rx.card(
                    rx.vstack(rx.foreach(D.timeline, _event), spacing="3"),
                    width="100%", data_testid="timeline",
                ),
                gap="2",
            ),
            columns="minmax(0, 3fr) minmax(220px, 1fr)", spacing="5", width="100%",
        ),
        _ship_dialog(),
        _receive_dialog(),
        _cancel_dialog(),
        gap="5",
    )


@page(routes.TRANSFER_DETAIL, "Transfer", perm="transfers.read", load=D.load, shell=False)
def transfer_detail_page() -> rx.Component:
    """Its own frame: the title is the transfer's number."""
    return detail_page(
        "transfers.read", D, _detail(),
        shown=D.status != "", back=back_to_list(), route=routes.TRANSFERS,
    )
