"""Sign in with email and password; Enter submits, a failure says why."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.blocks import column, inline, notice
from dashboard.registry import page
from dashboard.states.auth import LOGIN_ROUTE, AuthState

ROUTE = LOGIN_ROUTE
TITLE = "Sign in"


def _field(label: str, **input_props) -> rx.Component:
    # The <label> wraps its input, so the browser (and screen readers) pair them.
    return rx.el.label(
        rx.text(label, size="2", weight="medium"),
        rx.input(size="3", width="100%", required=True, **input_props),
        display="flex", flex_direction="column", gap="6px", width="100%",
    )


def _form() -> rx.Component:
    return rx.form(
        column(
            _field(
                "Email", id="email", name="email", type="email", auto_complete="username",
                auto_focus=True, placeholder="you@company.com",
            ),
            _field(
                "Password", id="password", name="password", type="password",
                auto_complete="current-password",
            ),
            notice(AuthState.login_error, icon="circle-alert", size="1", test_id="login-error"),
            rx.button(
                "Sign in", type="submit", size="3", width="100%", loading=AuthState.logging_in,
            ),
            gap="4",
        ),
        on_submit=AuthState.log_in, reset_on_submit=False, width="100%",
    )


@page(routes.LOGIN, TITLE, public=True, load=AuthState.skip_login_if_signed_in)
def login_page() -> rx.Component:
    # Anchored near the top, not centred: an error message must not make the form jump.
    return rx.flex(
        column(
            inline(
                rx.center(
                    rx.icon("boxes", size=18, color="white"),
                    width="32px", height="32px", border_radius="var(--radius-3)",
                    background=rx.color("accent", 9),
                ),
                rx.text("Rackroom", size="5", weight="bold"),
            ),
            rx.card(
                column(
                    rx.vstack(
                        rx.heading("Sign in", as_="h1", size="5"),
                        rx.text("to the inventory back office", size="2", color_scheme="gray"),
                        spacing="1",
                    ),
                    _form(),
                    gap="5",
                ),
                size="4", width="100%",
            ),
            align="center", max_width="400px", gap="5",
        ),
        justify="center", align="start", min_height="100vh", padding="24px", padding_top="14vh",
        background=rx.color("gray", 2),
    )


