"""Admin › API keys: list, create (the secret is shown once), revoke."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.admin import (
    MONO,
    active_badge,
    admin_body,
    admin_list,
    cell,
    dialog_wiring,
    form_dialog,
    headers,
    muted,
    primary_action,
    secret_dialog,
    select_field,
    table,
    target_confirm,
    text_field,
    when,
)
from dashboard.components.figures import empty_state
from dashboard.registry import Nav, page
from dashboard.states.admin_api_keys import (
    SCOPE_CHOICES,
    AdminApiKeysState,
    ApiKeyItem,
)

TITLE = "API keys"
S = AdminApiKeysState


def _row(item: ApiKeyItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(item.name, weight="medium"),
                rx.tooltip(
                    muted("client_id " + item.id.to_string(), size="1"),
                    content="The OAuth2 client_id of this key (its secret is the key itself)",
                ),
                spacing="0",
            ),
            vertical_align="middle",
        ),
        cell(rx.text(item.prefix, style=MONO, data_testid="key-prefix")),
        cell(
            rx.flex(
                rx.foreach(
                    item.scopes,
                    lambda scope: rx.badge(scope, variant="outline", color_scheme="gray", size="1"),
                ),
                wrap="wrap",
                gap="4px",
            )
        ),
        cell(
            rx.cond(item.brand != "", rx.text(item.brand, size="2"), muted("All brands", size="2"))
        ),
        cell(
            rx.tooltip(
                rx.vstack(
                    rx.text(item.rate, size="2", white_space="nowrap"),
                    muted(item.burst, white_space="nowrap"),
                    spacing="0",
                ),
                content="Rate limit: " + item.limit + " (requests refilled, and at once)",
            ),
            data_testid="key-limit",
        ),
        cell(when(item.created, item.created_exact)),
        cell(when(item.last_used, item.last_used_exact)),
        cell(
            rx.cond(
                item.live,
                active_badge(item.live),
                rx.tooltip(
                    rx.badge("Revoked", color_scheme="red", variant="soft", size="1"),
                    content="Revoked " + item.revoked + " · " + item.revoked_exact,
                ),
            ),
            data_testid="key-state",
        ),
        cell(
            rx.cond(
                item.live,
                rx.button(
                    "Revoke",
                    on_click=S.confirm_revoke(item.id),
                    variant="ghost",
                    color_scheme="red",
                    size="1",
                    aria_label="Revoke " + item.name,
                ),
            ),
            justify="end",
        ),
        opacity=rx.cond(item.live, "1", "0.6"),
        data_testid="key-row",
    )


def _list() -> rx.Component:
    return admin_list(
        S,
        S.keys,
        table(
            *headers(
                "Name",
                "Key",
                "Scopes",
                "Brand",
                "Rate limit",
                "Created",
                "Last used",
                "State",
                "",
                widths={"": "72px"},
            ),
            body=rx.foreach(S.keys, _row),
            test_id="keys-table",
        ),
        note="Only the first characters of each key are kept in the clear; "
        "a lost key cannot be shown again, only revoked and replaced.",
        empty=empty_state(
            "key-round",
            "No API keys yet",
            "Storefronts and brand systems call the REST API with a key. Create one "
            "with New API key and give it only the scopes it needs.",
        ),
    )


def _scope_option(value: str, description: str) -> rx.Component:
    return rx.el.label(
        rx.checkbox(name="scopes", value=value, default_checked=value == "stock:read"),
        rx.vstack(
            rx.text(value, style=MONO, weight="medium"),
            muted(description),
            spacing="0",
        ),
        display="flex",
        gap="10px",
        align_items="start",
        cursor="pointer",
    )


def _create_dialog() -> rx.Component:
    return form_dialog(
        text_field(
            "Name",
            "new-key-name",
            name="name",
            required=True,
            auto_focus=True,
            auto_complete="off",
            placeholder="shopify-storefront",
            max_length=100,
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
        select_field(
            "Brand",
            "new-key-brand",
            S.brands,
            name="brand",
            value=S.form_brand,
            on_change=S.set_form_brand,
            hint="A key bound to a brand can only read and change that brand's SKUs.",
        ),
        rx.hstack(
            text_field(
                "Rate",
                "new-key-rate",
                name="rate",
                placeholder="20/s",
                auto_complete="off",
                max_length=20,
                hint="Requests refilled per second (50/s) or minute (600/m).",
            ),
            text_field(
                "Burst",
                "new-key-burst",
                name="burst",
                placeholder="40",
                auto_complete="off",
                input_mode="numeric",
                max_length=6,
                hint="Requests it may make at once.",
            ),
            spacing="3",
            width="100%",
        ),
        title="New API key",
        description="The key is shown once, right after you create it.",
        **dialog_wiring(S, "create"),
        on_submit=S.create_key,
        submit_label="Create key",
        test_id="new-key-dialog",
    )


def _dialogs() -> rx.Component:
    return rx.fragment(
        _create_dialog(),
        secret_dialog(
            title="Store this key now",
            description=S.new_key_note,
            secret=S.new_secret,
            warning="This is the only time Rackroom shows this key. Only a hash is stored; "
            "if it is lost, revoke it and create a new one.",
            open=S.dialog == "secret",
            on_open_change=S.on_dialog_change,
            done_label="I have stored it",
            test_id="secret-dialog",
        ),
        target_confirm(
            S,
            "revoke",
            "Revoke",
            description="Every request with this key is refused from now on. Clients using "
            "it stop working until they get a new key. This cannot be undone.",
            on_confirm=S.revoke_key,
            test_id="revoke-dialog",
            confirm_label="Revoke key",
        ),
    )


@page(
    routes.ADMIN_API_KEYS,
    TITLE,
    perm="admin.api_keys",
    load=S.load,
    nav=Nav("API keys", "key-round", group="admin"),
    description="Keys for storefronts and brand systems calling the API (REST or GraphQL).",
    action=lambda: primary_action("New API key", "plus", S.open_create),
)
def admin_api_keys_page() -> rx.Component:
    return admin_body(S, _list(), _dialogs())
