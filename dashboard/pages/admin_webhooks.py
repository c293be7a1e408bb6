"""Admin › Webhooks: list, create (the signing secret is shown once), enable or disable,
rotate the secret (shown once), delete; each endpoint links to its deliveries."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components import admin_lists as lists
from dashboard.components.blocks import inline
from dashboard.states.admin_webhooks import KNOWN_EVENTS, AdminWebhooksState, WebhookItem

S = AdminWebhooksState
COLUMNS = ("Endpoint", "Events", "Brand", "State", "Last delivery", "Created", "")


def _last_delivery(item: WebhookItem) -> rx.Component:
    return rx.cond(
        item.last_status != "",
        rx.vstack(
            inline(
                rx.badge(item.last_status, color_scheme=item.last_color, variant="soft", size="1"),
                rx.text(item.last_at.ago, title=item.last_at.exact, size="1", white_space="nowrap"),
            ),
            rx.cond(
                item.last_detail != "",
                ui.muted(
                    item.last_detail, max_width="220px", truncate=True, title=item.last_detail,
                ),
            ),
            spacing="1",
        ),
        ui.muted("Nothing sent yet", size="2"),
    )


def _actions(item: WebhookItem) -> rx.Component:
    return ui.row_menu(
        "Actions for " + item.name,
        ui.menu_action("list", "Deliveries", rx.redirect(item.deliveries_href)),
        ui.menu_action("refresh-cw", "Rotate secret…", S.confirm_rotate(item.id)),
        ui.active_toggle(
            item.enabled,
            off=("pause", "Disable", S.set_webhook_enabled(item.id, False)),
            on=("play", "Enable", S.set_webhook_enabled(item.id, True)),
        ),
        rx.menu.separator(),
        ui.menu_action("trash-2", "Delete…", S.confirm_delete(item.id), danger=True),
    )


def _row(item: WebhookItem) -> rx.Component:
    return rx.table.row(
        lists.labelled(
            rx.link(
                item.name, href=item.deliveries_href, weight="medium", size="2",
                title="See the deliveries of " + item.name,
            ),
            rx.text(
                item.url, style=ui.MONO, size="1", color_scheme="gray", max_width="320px",
                truncate=True, title=item.url, data_testid="webhook-url",
            ),
        ),
        ui.cell(lists.tags(item.events)),
        ui.cell(lists.brand_or_all(item.brand)),
        ui.cell(
            rx.cond(
                item.enabled,
                ui.active_badge(item.enabled, on="Enabled"),
                rx.tooltip(
                    rx.badge("Disabled", color_scheme="gray", variant="soft", size="1"),
                    content=item.disabled_reason,
                ),
            ),
            data_testid="webhook-state",
        ),
        ui.cell(_last_delivery(item), data_testid="webhook-last"),
        ui.cell(ui.when(item.created)),
        ui.cell(_actions(item), justify="end"),
        opacity=rx.cond(item.enabled, "1", "0.7"), data_testid="webhook-row",
    )


def _list() -> rx.Component:
    return lists.admin_table(
        S, COLUMNS, row=_row, test_id="webhooks-table", widths={"": "48px"},
        note="Deliveries are signed with the endpoint's secret; a lost secret cannot be "
        "shown again, only rotated.",
        empty=(
            "webhook", "No webhooks yet",
            "A webhook sends Rackroom's events (stock changes, reservations, transfers, "
            "alerts) to a URL as they happen. Create one with New webhook.",
        ),
    )


def _checked_field(
    label: str, id: str, error: rx.Var, hint: str, test_id: str, **props: object
) -> rx.Component:
    """A text field whose error (`error`, red, `test_id`) shows under it instead of `hint`."""
    under = rx.cond(
        error != "",
        rx.text(error, size="1", color_scheme="red", role="alert", data_testid=test_id),
        ui.muted(hint),
    )
    invalid = rx.cond(error != "", "true", "false")
    return ui.text_field(
        label, id, auto_complete="off", aria_invalid=invalid, hint=under,
        **props,
    )


def _create_dialog() -> rx.Component:
    return ui.form_dialog(
        _checked_field(
            "URL", "new-webhook-url", S.url_error,
            "Where Rackroom POSTs each event (http or https, outside our network).",
            "url-error", name="url", required=True, auto_focus=True,
            placeholder="https://shop.example.com/hooks/rackroom",
            max_length=2000,
        ),
        _checked_field(
            "Events", "new-webhook-events", S.events_error,
            "Event types or globs, separated by commas. Known: " + KNOWN_EVENTS + ".",
            "events-error", name="events", placeholder="stock.changed, reservation.*",
            max_length=500,
        ),
        lists.brand_field(
            S, "new-webhook-brand",
            "A brand-bound webhook gets only that brand's events.",
        ),
        ui.text_field(
            "Name", "new-webhook-name", name="name", auto_complete="off",
            placeholder="The URL's host", max_length=100,
            hint="Optional; how lists and the audit log name it.",
        ),
        title="New webhook",
        description="The signing secret is shown once, right after you create it.",
        **ui.dialog_wiring(S, "create"),
        on_submit=S.create_webhook, submit_label="Create webhook", test_id="new-webhook-dialog",
        max_width="520px",
    )


def _dialogs() -> rx.Component:
    return rx.fragment(
        _create_dialog(),
        lists.secret_reveal(
            S, title="Store this signing secret now",
            warning="This is the only time Rackroom shows this secret. If it is lost, "
            "rotate it and give the receiver the new one.",
        ),
        ui.target_confirm(
            S, "rotate", "Rotate the secret of",
            description="A new signing secret is made and shown once. The current one keeps "
            "signing beside it for 24 hours, so the receiver can switch in that time.",
            on_confirm=S.rotate_webhook_secret, test_id="rotate-dialog",
            confirm_label="Rotate secret", danger=False,
        ),
        ui.target_confirm(
            S, "delete", "Delete",
            description="The endpoint, its deliveries and their attempts are removed; "
            "nothing more is sent to it. This cannot be undone (disable it to pause instead).",
            on_confirm=S.delete_webhook, test_id="delete-dialog", confirm_label="Delete webhook",
        ),
    )


admin_webhooks_page = ui.admin_page(
    routes.ADMIN_WEBHOOKS, "Webhooks", S, perm="admin.webhooks", icon="webhook",
    description="Endpoints that receive Rackroom's events as they happen, and what was sent.",
    new="New webhook", parts=(_list, _dialogs),
)
