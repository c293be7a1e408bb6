"""Admin › API keys: list, create (the secret is shown once), revoke."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components import admin_lists as lists
from dashboard.states.admin_api_keys import SCOPE_CHOICES, AdminApiKeysState, ApiKeyItem

S = AdminApiKeysState
COLUMNS = ("Name", "Key", "Scopes", "Brand", "Rate limit", "Created", "Last used", "State", "")


def _row(item: ApiKeyItem) -> rx.Component:
    return rx.table.row(
        lists.labelled(
            rx.text(item.name, weight="medium"),
            rx.tooltip(
                ui.muted("client_id " + item.id.to_string(), size="1"),
                content="The OAuth2 client_id of this key (its secret is the key itself)",
            ),
        ),
        ui.cell(rx.text(item.prefix, style=ui.MONO, data_testid="key-prefix")),
        ui.cell(lists.tags(item.scopes)),
        ui.cell(lists.brand_or_all(item.brand)),
        ui.cell(
            rx.tooltip(
                rx.vstack(
                    rx.text(item.rate, size="2", white_space="nowrap"),
                    ui.muted(item.burst, white_space="nowrap"),
                    spacing="0",
                ),
                content="Rate limit: " + item.limit + " (requests refilled, and at once)",
            ),
            data_testid="key-limit",
        ),
        ui.cell(ui.when(item.created)),
        ui.cell(ui.when(item.last_used)),
        ui.cell(
            rx.cond(
                item.live,
                ui.active_badge(item.live),
                rx.tooltip(
                    rx.badge("Revoked", color_scheme="red", variant="soft", size="1"),
                    content="Revoked " + item.revoked.ago + " · " + item.revoked.exact,
                ),
            ),
            data_testid="key-state",
        ),
        ui.cell(
            rx.cond(
                item.live,
                rx.button(
                    "Revoke", on_click=S.confirm_revoke(item.id), variant="ghost",
                    color_scheme="red", size="1", aria_label="Revoke " + item.name,
                ),
            ),
            justify="end",
        ),
        opacity=rx.cond(item.live, "1", "0.6"), data_testid="key-row",
    )


def _list() -> rx.Component:
    return lists.admin_table(
        S, COLUMNS, row=_row, test_id="keys-table", widths={"": "72px"},
        note="Only the first characters of each key are kept in the clear; "
        "a lost key cannot be shown again, only revoked and replaced.",
        empty=(
            "key-round", "No API keys yet",
            "Storefronts and brand systems call the REST API with a key. Create one "
            "with New API key and give it only the scopes it needs.",
        ),
    )


def _scope_option(value: str, description: str) -> rx.Component:
    return rx.el.label(
        rx.checkbox(name="scopes", value=value, default_checked=value == "stock:read"),
        rx.vstack(
            rx.text(value, style=ui.MONO, weight="medium"),
            ui.muted(description),
            spacing="0",
        ),
        display="flex", gap="10px", align_items="start", cursor="pointer",
    )


def _create_dialog() -> rx.Component:
    return ui.form_dialog(
        ui.text_field(
            "Name", "new-key-name", name="name", required=True, auto_focus=True,
            auto_complete="off", placeholder="shopify-storefront", max_length=100,
            hint="Who uses it; shown as the actor of every change it makes.",
        ),
        rx.el.fieldset(
            rx.el.legend(
                "Scopes",
                style={"font_size": "13px", "font_weight": "500", "margin_bottom": "6px"},
            ),
            rx.vstack(*[_scope_option(v, d) for v, d in SCOPE_CHOICES], spacing="2"),
            style={"border": "none", "padding": "0", "margin": "0"},
        ),
        lists.brand_field(
            S, "new-key-brand",
            "A key bound to a brand can only read and change that brand's SKUs.",
        ),
        rx.hstack(
            ui.text_field(
                "Rate", "new-key-rate", name="rate", placeholder="20/s", auto_complete="off",
                max_length=20,
                hint="Requests refilled per second (50/s) or minute (600/m).",
            ),
            ui.text_field(
                "Burst", "new-key-burst", name="burst", placeholder="40", auto_complete="off",
                input_mode="numeric", max_length=6, hint="Requests it may make at once.",
            ),
            spacing="3", width="100%",
        ),
        title="New API key",
        description="The key is shown once, right after you create it.",
        **ui.dialog_wiring(S, "create"),
        on_submit=S.create_key, submit_label="Create key", test_id="new-key-dialog",
    )


def _dialogs() -> rx.Component:
    return rx.fragment(
        _create_dialog(),
        lists.secret_reveal(
            S, title="Store this key now",
            warning="This is the only time Rackroom shows this key. Only a hash is stored; "
            "if it is lost, revoke it and create a new one.",
        ),
        ui.target_confirm(
            S, "revoke", "Revoke",
            description="Every request with this key is refused from now on. Clients using "
            "it stop working until they get a new key. This cannot be undone.",
            on_confirm=S.revoke_key, test_id="revoke-dialog", confirm_label="Revoke key",
        ),
    )


admin_api_keys_page = ui.admin_page(
    routes.ADMIN_API_KEYS, "API keys", S, perm="admin.api_keys", icon="key-round",
    description="Keys for storefronts and brand systems calling the API (REST or GraphQL).",
    new="New API key", parts=(_list, _dialogs),
)
