"""Dialogs that show something (a run's errors, an embed code) rather than take a form:
one frame for the title, the body, a width and a footer, hung on the page's `DialogState`.

Form dialogs and confirmations are `components.admin.form_dialog` / `confirm_dialog`."""

from __future__ import annotations

from typing import Any

import reflex as rx


def close_button(label: str = "Done", **props: Any) -> rx.Component:
    """The button that closes the open dialog (Esc and a click outside do too)."""
    return rx.dialog.close(rx.button(label, **props))


def dialog_footer(*buttons: rx.Component, **props: Any) -> rx.Component:
    """A dialog's buttons, right-aligned under its body."""
    return rx.hstack(*buttons, justify="end", spacing="2", **{"padding_top": "16px", **props})


def view_dialog(
    state: Any,
    name: str,
    *body: rx.Component,
    title: rx.Component,
    description: rx.Component | None = None,
    width: str,
    test_id: str,
    footer: rx.Component | None = None,
) -> rx.Component:
    """Dialog `name` of `state` (open while `state.dialog == name`): `title` and
    `description` (an `rx.dialog.title` and `rx.dialog.description`), the body and the
    footer (by default one "Done" button)."""
    head = [title] if description is None else [title, description]
    return rx.dialog.root(
        rx.dialog.content(
            *head,
            *body,
            dialog_footer(close_button()) if footer is None else footer,
            max_width=width, data_testid=test_id,
        ),
        open=state.dialog == name, on_open_change=state.on_dialog_change,
    )


def scrolling(child: rx.Component, max_height: str, **props: Any) -> rx.Component:
    """`child` (a long table) scrolling vertically past `max_height`, inside a dialog."""
    return rx.scroll_area(child, type="auto", scrollbars="vertical", max_height=max_height, **props)
