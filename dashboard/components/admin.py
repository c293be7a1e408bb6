"""Building blocks of the admin pages: the admin-only shell, form fields, dialogs,
the one-time secret reveal, status badges, the pager and relative times."""

from __future__ import annotations

import reflex as rx

from dashboard.components.figures import HEADER, NUMERIC, empty_state
from dashboard.components.layout import app_shell
from dashboard.states.auth import AuthState

MONO = {"font_family": "var(--code-font-family)", "font_size": "13px"}
_PAGER_STEP = {
    "display": "inline-flex",
    "align_items": "center",
    "gap": "4px",
    "height": "28px",
    "padding_x": "10px",
    "border_radius": "var(--radius-2)",
    "font_size": "13px",
    "font_weight": "500",
}
_PAGER_LINK = {
    **_PAGER_STEP,
    "color": rx.color("gray", 12),
    "background": rx.color("gray", 3),
    "_hover": {"background": rx.color("gray", 4)},
}
_PAGER_OFF = {**_PAGER_STEP, "color": rx.color("gray", 8), "cursor": "default"}
_DESCRIPTION = {"font_size": "14px", "line_height": "20px", "color": rx.color("gray", 11)}
_LABEL = {"font_size": "13px", "font_weight": "500", "color": rx.color("gray", 12)}


# --- page frame ---------------------------------------------------------------------------


def no_access() -> rx.Component:
    return rx.box(
        empty_state(
            "lock",
            "You don't have access to this page",
            "Admin pages are for admins. If something here needs changing, ask an admin.",
            rx.link("Back to the overview", href="/", size="2", weight="medium"),
        ),
        data_testid="no-access",
        width="100%",
    )


def admin_shell(
    *content: rx.Component,
    title: str,
    route: str,
    description: str,
    action: rx.Component | None = None,
) -> rx.Component:
    """An admin page: the shared layout, its content only for admins.

    Rendering is a courtesy: the data is loaded, and every change made, only by
    handlers that check the role on the server first.
    """
    return app_shell(
        rx.cond(
            AuthState.is_admin,
            rx.vstack(*content, spacing="4", width="100%"),
            no_access(),
        ),
        title=title,
        route=route,
        description=description,
        action=rx.cond(AuthState.is_admin, action) if action is not None else None,
    )


def primary_action(label: str, icon: str, on_click: rx.EventHandler) -> rx.Component:
    return rx.button(rx.icon(icon, size=15), label, on_click=on_click, size="2")


def load_error(message: rx.Var) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
    )


# --- tables ---------------------------------------------------------------------------------


def table(*header: rx.Component, body: rx.Component, test_id: str) -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*header)),
        rx.table.body(body),
        variant="surface",
        size="1",
        width="100%",
        data_testid=test_id,
    )


def header(label: str, **props) -> rx.Component:
    return rx.table.column_header_cell(label, style=HEADER, **props)


def cell(*children: rx.Component | rx.Var | str, **props) -> rx.Component:
    return rx.table.cell(*children, vertical_align="middle", **props)


def number_cell(value: rx.Var | str | int) -> rx.Component:
    return rx.table.cell(value, justify="end", style=NUMERIC, vertical_align="middle")


def muted(text: rx.Var | str, **props) -> rx.Component:
    return rx.text(text, **{"size": "1", "color_scheme": "gray", **props})


def when(moment: rx.Var, exact: rx.Var) -> rx.Component:
    """A relative time ("3 h ago") with the exact time on hover."""
    return rx.text(moment, title=exact, size="2", white_space="nowrap")


def active_badge(active: rx.Var, on: str = "Active", off: str = "Deactivated") -> rx.Component:
    return rx.cond(
        active,
        rx.badge(on, color_scheme="green", variant="soft", size="1"),
        rx.badge(off, color_scheme="gray", variant="soft", size="1"),
    )


def pager(range_label: rx.Var, previous_href: rx.Var, next_href: rx.Var) -> rx.Component:
    """ "26–50 of 132" and links to the previous and next page (the page is in the URL).
    Nothing when everything fits on one page."""

    def step(label: str, icon: str, href: rx.Var, *, icon_first: bool) -> rx.Component:
        parts = [rx.icon(icon, size=14), label] if icon_first else [label, rx.icon(icon, size=14)]
        return rx.cond(
            href != "",
            rx.link(*parts, href=href, underline="none", style=_PAGER_LINK),
            rx.text(*parts, aria_disabled="true", style=_PAGER_OFF),
        )

    return rx.cond(
        previous_href.bool() | next_href.bool(),
        rx.hstack(
            muted(range_label, style=NUMERIC),
            rx.spacer(),
            step("Previous", "chevron-left", previous_href, icon_first=True),
            step("Next", "chevron-right", next_href, icon_first=False),
            align="center",
            spacing="2",
            width="100%",
            as_="nav",
            aria_label="Pages",
        ),
    )


# --- forms ----------------------------------------------------------------------------------


def field(
    label: str, control: rx.Component, *, for_id: str, hint: str | rx.Component | None = None
) -> rx.Component:
    """A label tied to its control (`for`/`id`), the control, and an optional hint."""
    return rx.vstack(
        rx.el.label(label, html_for=for_id, style=_LABEL),
        control,
        muted(hint) if isinstance(hint, str) else hint,
        spacing="1",
        width="100%",
    )


def text_input(id: str, **props) -> rx.Component:
    return rx.input(id=id, name=props.pop("name", id), size="2", width="100%", **props)


def select(
    id: str,
    options: list[tuple[str, str]] | rx.Var,
    *,
    name: str,
    placeholder: str = "",
    **props,
) -> rx.Component:
    """A Radix select whose trigger carries `id` (so a <label for> names it); inside a
    form it submits `name`. `options` are (value, label) pairs or a Var of Choices."""
    items = (
        [rx.select.item(label, value=value) for value, label in options]
        if isinstance(options, list)
        else [rx.foreach(options, lambda c: rx.select.item(c.label, value=c.value))]
    )
    return rx.select.root(
        rx.select.trigger(id=id, width="100%", placeholder=placeholder or None),
        rx.select.content(*items, position="popper"),
        name=name,
        size="2",
        **props,
    )


def form_error(message: rx.Var) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(
            message,
            icon="circle-alert",
            color_scheme="red",
            size="1",
            role="alert",
            width="100%",
            data_testid="form-error",
        ),
    )


def form_dialog(
    *fields: rx.Component,
    title: str,
    description: str | rx.Var | rx.Component,
    open: rx.Var,
    on_open_change: rx.EventHandler,
    on_submit: rx.EventHandler,
    submit_label: str,
    saving: rx.Var,
    error: rx.Var,
    test_id: str,
    danger: bool = False,
) -> rx.Component:
    """A dialog around one form: Enter submits, Esc or Cancel closes, errors inline."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title, size="4"),
            rx.dialog.description(description, style=_DESCRIPTION, margin_bottom="16px"),
            rx.form(
                rx.vstack(
                    *fields,
                    form_error(error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button(
                            submit_label,
                            type="submit",
                            loading=saving,
                            color_scheme="red" if danger else None,
                        ),
                        justify="end",
                        spacing="2",
                        width="100%",
                        padding_top="4px",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=on_submit,
                reset_on_submit=False,
                width="100%",
            ),
            max_width="460px",
            data_testid=test_id,
        ),
        open=open,
        on_open_change=on_open_change,
    )


def confirm_dialog(
    *,
    title: str,
    description: rx.Var | str | rx.Component,
    confirm_label: str,
    open: rx.Var,
    on_open_change: rx.EventHandler,
    on_confirm: rx.EventHandler,
    saving: rx.Var,
    error: rx.Var,
    test_id: str,
    danger: bool = True,
) -> rx.Component:
    """Are you sure? Cancel has the focus, so Enter alone never destroys anything."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title, size="4"),
            rx.alert_dialog.description(description, style=_DESCRIPTION, margin_bottom="16px"),
            form_error(error),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray"),
                ),
                rx.button(
                    confirm_label,
                    on_click=on_confirm,
                    loading=saving,
                    color_scheme="red" if danger else None,
                ),
                justify="end",
                spacing="2",
                padding_top="12px",
            ),
            max_width="440px",
            data_testid=test_id,
        ),
        open=open,
        on_open_change=on_open_change,
    )


def secret_dialog(
    *,
    title: str,
    description: rx.Var | str | rx.Component,
    secret: rx.Var,
    warning: str,
    open: rx.Var,
    on_open_change: rx.EventHandler,
    done_label: str,
    test_id: str,
) -> rx.Component:
    """Shows a secret once: monospaced, selectable, a copy button, and a clear warning."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title, size="4"),
            rx.dialog.description(description, style=_DESCRIPTION, margin_bottom="14px"),
            rx.callout(
                warning,
                icon="triangle-alert",
                color_scheme="amber",
                size="1",
                margin_bottom="12px",
            ),
            rx.hstack(
                rx.box(
                    rx.text(secret, style=MONO, data_testid="secret-value"),
                    flex="1",
                    min_width="0",
                    padding="8px 10px",
                    border_radius="var(--radius-2)",
                    background=rx.color("gray", 3),
                    border=f"1px solid {rx.color('gray', 6)}",
                    word_break="break-all",
                    user_select="all",
                ),
                rx.button(
                    rx.icon("copy", size=14),
                    "Copy",
                    on_click=[
                        rx.set_clipboard(secret),
                        rx.toast.success("Copied to the clipboard", duration=2000),
                    ],
                    variant="soft",
                    size="2",
                ),
                align="center",
                spacing="2",
                width="100%",
            ),
            rx.hstack(
                rx.dialog.close(rx.button(done_label)),
                justify="end",
                padding_top="18px",
            ),
            max_width="560px",
            data_testid=test_id,
        ),
        open=open,
        on_open_change=on_open_change,
    )
