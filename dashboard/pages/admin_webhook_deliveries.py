"""Admin › Webhooks › Deliveries: one endpoint's deliveries (status, attempts, response
code, last error, time), paged and filtered by status; each one's attempts; resend."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.admin_lists import admin_table, labelled
from dashboard.components.blocks import button, column, inline
from dashboard.components.filters import clear_filters, filter_select
from dashboard.registry import page
from dashboard.states.admin_webhook_deliveries import (
    ANY_STATUS,
    STATUS_CHOICES,
    AdminWebhookDeliveriesState,
    AttemptItem,
    DeliveryItem,
)

TITLE = "Webhook deliveries"
S = AdminWebhookDeliveriesState
COLUMNS = ("Event", "Status", "Attempts", "Response", "Last error", "Time", "")


def _or_dash(value: rx.Var, shown: rx.Component) -> rx.Component:
    """`shown` when `value` is not empty, else a dash."""
    return rx.cond(value != "", shown, ui.muted("—", size="2"))


def _code(code: rx.Var) -> rx.Component:
    """The receiver's HTTP status code, or a dash when there was none."""
    return _or_dash(code, rx.text(code, style=ui.MONO))


def _row(item: DeliveryItem) -> rx.Component:
    return rx.table.row(
        labelled(
            rx.text(item.event, style=ui.MONO, weight="medium"),
            ui.muted("evt_" + item.event_id.to_string()),
        ),
        ui.cell(
            rx.badge(item.status_label, color_scheme=item.status_color, variant="soft", size="1"),
            data_testid="delivery-status",
        ),
        ui.number_cell(item.attempts),
        ui.cell(_code(item.code), data_testid="delivery-code"),
        ui.cell(
            _or_dash(
                item.error,
                rx.text(item.error, size="1", max_width="280px", truncate=True, title=item.error),
            )
        ),
        ui.cell(
            rx.vstack(
                ui.when(item.when),
                rx.cond(
                    (item.next_try != "") & (item.status == "pending"),
                    ui.muted("next try " + item.next_try),
                ),
                spacing="0",
            )
        ),
        ui.cell(
            inline(
                rx.button(
                    "Attempts", on_click=S.open_attempts(item.id), variant="ghost",
                    color_scheme="gray", size="1", disabled=item.attempts == 0,
                    aria_label="Attempts of delivery " + item.id.to_string(),
                ),
                button(
                    "Resend", "send", on_click=S.resend(item.id), variant="soft", size="1",
                    disabled=~item.resendable,
                    aria_label="Resend delivery " + item.id.to_string(),
                    icon_size=13,
                ),
                justify="end", gap="3",
            ),
            justify="end",
        ),
        data_testid="delivery-row",
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.link(
                inline(rx.icon("arrow-left", size=14), "Webhooks", gap="1"),
                href=routes.ADMIN_WEBHOOKS, size="2", underline="none",
            ),
            rx.heading(S.webhook_name, as_="h2", size="4", data_testid="deliveries-webhook"),
            rx.text(
                S.webhook_url, style=ui.MONO, size="1", color_scheme="gray",
                word_break="break-all",
            ),
            rx.cond(
                ~S.webhook_enabled & (S.webhook_name != ""),
                rx.badge("Disabled: nothing is sent until it is enabled", color_scheme="gray"),
            ),
            spacing="1", min_width="0",
        ),
        rx.spacer(),
        clear_filters(S),
        filter_select(
            STATUS_CHOICES, value=S.status_filter, on_change=S.filter_status,
            aria_label="Delivery status", all_label="Every status", all_value=ANY_STATUS,
            min_width="160px",
        ),
        align="end", spacing="3", width="100%", wrap="wrap",
    )


def _list() -> rx.Component:
    return admin_table(
        S, COLUMNS, row=_row, test_id="deliveries-table",
        right=("Attempts",), widths={"": "170px"},
        empty=(
            "send", "Nothing sent yet",
            "Each event this webhook subscribes to becomes a delivery here as soon as it "
            "happens.",
        ),
        filtered=("No deliveries with this status", "Pick another status or clear the filter."),
    )


def _attempt_row(item: AttemptItem) -> rx.Component:
    return rx.table.row(
        ui.cell(rx.text(item.when, size="2", white_space="nowrap")),
        ui.cell(_code(item.code)),
        ui.cell(_or_dash(item.error, rx.text(item.error, size="1", word_break="break-word"))),
        ui.number_cell(item.duration),
        data_testid="attempt-row",
    )


def _attempts_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Attempts of " + S.target_label, size="4"),
            rx.dialog.description(
                "Every try, oldest first: the receiver's status code, or why there was none.",
                size="2", color_scheme="gray", margin_bottom="12px",
            ),
            ui.table(
                *ui.headers("Time", "Code", "Error", "Took", right=("Took",)),
                body=rx.foreach(S.attempts, _attempt_row), test_id="attempts-table",
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                justify="end", padding_top="16px",
            ),
            max_width="680px", data_testid="attempts-dialog",
        ),
        open=S.dialog == "attempts", on_open_change=S.on_dialog_change,
    )


@page(
    routes.ADMIN_WEBHOOK_DELIVERIES,
    TITLE, perm="admin.webhooks", load=S.load, section=routes.ADMIN_WEBHOOKS,
    description="What was sent to one webhook, and how the receiver answered.",
)
def admin_webhook_deliveries_page() -> rx.Component:
    return column(_toolbar(), _list(), _attempts_dialog(), gap="4")
