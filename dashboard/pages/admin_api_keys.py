"""Admin › API keys: list, create (the secret is shown once), revoke."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import (
    MONO,
    active_badge,
    admin_shell,
    cell,
    confirm_dialog,
    field,
    form_dialog,
    header,
    load_error,
    muted,
    pager,
    primary_action,
    secret_dialog,
    select,
    table,
    text_input,
    when,
)
from dashboard.components.figures import empty_state
from dashboard.states.admin_api_keys import (
    ROUTE,
    SCOPE_CHOICES,
    AdminApiKeysState,
    ApiKeyItem,
)
from dashboard.states.auth import AuthState

TITLE = "API keys"
S = AdminApiKeysState


def _row(item: ApiKeyItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(item.name, weight="medium"), vertical_align="middle"),
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
    return rx.cond(
        S.keys.length() > 0,
        rx.vstack(
            rx.hstack(
                muted(
                    "Only the first characters of each key are kept in the clear; "
                    "a lost key cannot be shown again, only revoked and replaced.",
                    size="2",
                ),
                rx.spacer(),
                muted(S.summary, size="2"),
                width="100%",
            ),
            table(
                header("Name"),
                header("Key"),
                header("Scopes"),
                header("Brand"),
                header("Created"),
                header("Last used"),
                header("State"),
                header("", width="72px"),
                body=rx.foreach(S.keys, _row),
                test_id="keys-table",
            ),
            pager(S.range_label, S.previous_href, S.next_href),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            S.loaded,
            empty_state(
                "key-round",
                "No API keys yet",
                "Storefronts and brand systems call the REST API with a key. Create one "
                "with New API key and give it only the scopes it needs.",
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
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
        field(
            "Name",
            text_input(
                "new-key-name",
                name="name",
                required=True,
                auto_focus=True,
                auto_complete="off",
                placeholder="shopify-storefront",
                max_length=100,
            ),
            for_id="new-key-name",
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
        field(
            "Brand",
            select(
                "new-key-brand",
                S.brands,
                name="brand",
                value=S.form_brand,
                on_change=S.set_form_brand,
            ),
            for_id="new-key-brand",
            hint="A key bound to a brand can only read and change that brand's SKUs.",
        ),
        title="New API key",
        description="The key is shown once, right after you create it.",
        open=S.dialog == "create",
        on_open_change=S.on_dialog_change,
        on_submit=S.create_key,
        submit_label="Create key",
        saving=S.saving,
        error=S.form_error,
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
        confirm_dialog(
            title="Revoke " + S.target_label + "?",
            description="Every request with this key is refused from now on. Clients using "
            "it stop working until they get a new key. This cannot be undone.",
            confirm_label="Revoke key",
            open=S.dialog == "revoke",
            on_open_change=S.on_dialog_change,
            on_confirm=S.revoke_key,
            saving=S.saving,
            error=S.form_error,
            test_id="revoke-dialog",
        ),
    )


def admin_api_keys_page() -> rx.Component:
    return admin_shell(
        load_error(S.load_error),
        _list(),
        _dialogs(),
        title=TITLE,
        route=ROUTE,
        description="Keys for storefronts and brand systems calling the REST API.",
        action=primary_action("New API key", "plus", S.open_create),
    )


ON_LOAD = [AuthState.require_login, S.load]
