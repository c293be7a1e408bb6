"""/account: your name, role and brand, and a form to change your password."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import column
from dashboard.registry import page
from dashboard.states.account import AccountState as S
from dashboard.states.auth import AuthState
from models.accounts import MIN_PASSWORD_LENGTH

TITLE = "Your account"


def _who() -> rx.Component:
    return rx.card(
        rx.data_list.root(
            rx.data_list.item(rx.data_list.label("Name"), rx.data_list.value(AuthState.user_name)),
            rx.data_list.item(
                rx.data_list.label("Email"), rx.data_list.value(AuthState.user_email)
            ),
            rx.data_list.item(
                rx.data_list.label("Role"),
                rx.data_list.value(rx.text(AuthState.user_role, text_transform="capitalize")),
            ),
            rx.cond(
                AuthState.brand_name != "",
                rx.data_list.item(
                    rx.data_list.label("Brand"), rx.data_list.value(AuthState.brand_name)
                ),
            ),
        ),
        width="100%",
    )


def _password_form() -> rx.Component:
    return rx.card(
        rx.form(
            column(
                rx.heading("Change your password", as_="h2", size="3"),
                rx.cond(
                    AuthState.must_change_password,
                    rx.callout(
                        "Your password was set by an admin. Choose your own to go on.",
                        icon="key-round", color_scheme="amber", size="1",
                        data_testid="password-change-required",
                    ),
                ),
                ui.text_field(
                    "Current password", "current-password", name="current_password",
                    type="password", required=True, auto_complete="current-password",
                    auto_focus=True,
                ),
                ui.text_field(
                    "New password", "new-password", name="new_password", type="password",
                    required=True, min_length=MIN_PASSWORD_LENGTH, max_length=200,
                    auto_complete="new-password",
                    hint=f"At least {MIN_PASSWORD_LENGTH} characters; a few words make a good one.",
                ),
                ui.text_field(
                    "Repeat the new password", "confirm-password", name="confirm_password",
                    type="password", required=True, auto_complete="new-password",
                ),
                ui.form_error(S.form_error),
                rx.hstack(
                    rx.button("Change password", type="submit", loading=S.saving),
                    justify="end", width="100%",
                ),
            ),
            on_submit=S.change_password, reset_on_submit=True, key=S.form_key.to_string(),
            width="100%",
        ),
        width="100%", data_testid="password-form",
    )


@page(routes.ACCOUNT, TITLE, perm="account.read", load=S.load,
      description="Who you are signed in as, and your password.")
def account_page() -> rx.Component:
    return rx.vstack(_who(), _password_form(), spacing="4", max_width="520px")
