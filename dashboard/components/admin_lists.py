"""What the admin pages' lists and dialogs share, bound to their states
(`states.admin_common.AdminList`, `states.one_time.SecretDialog`): the list with its
note, the cells several lists show, the brand picker and the one-time secret's dialog."""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard.components.admin import muted, secret_dialog, select_field
from dashboard.components.blocks import column
from dashboard.components.lists import list_view


def admin_table(
    state: Any,
    *columns: rx.Component,
    row: Any,
    test_id: str,
    empty: rx.Component,
    note: str = "",
    summary: bool = True,
) -> rx.Component:
    """The state's list (`state.LISTING.field`) as a paged table: `note` above it while
    it has rows, the summary (unless the page shows it elsewhere), the pager, and the
    loading, empty and error states."""
    rows = getattr(state, state.LISTING.field)
    table = list_view(
        columns=list(columns), rows=rows, row=row, loaded=state.loaded, error=state.load_error,
        empty=empty, test_id=test_id, paging=state, summary=state.summary if summary else None,
    )
    if not note:
        return table
    return column(rx.cond(rows.length() > 0, muted(note, size="2")), table, gap="2")


def labelled(*lines: rx.Component) -> rx.Component:
    """A row's first cell (its row header): a name over smaller lines."""
    return rx.table.row_header_cell(rx.vstack(*lines, spacing="0"), vertical_align="middle")


def tags(values: rx.Var) -> rx.Component:
    """A list of short codes (scopes, event globs) as outlined badges."""
    return rx.flex(
        rx.foreach(
            values, lambda value: rx.badge(value, variant="outline", color_scheme="gray", size="1")
        ),
        wrap="wrap", gap="4px",
    )


def brand_or_all(brand: rx.Var) -> rx.Component:
    """The brand a key or webhook is bound to, or "All brands"."""
    return rx.cond(brand != "", rx.text(brand, size="2"), muted("All brands", size="2"))


def brand_field(state: Any, id: str, hint: str, **props: Any) -> rx.Component:
    """The brand picker of a `SecretDialog` state's dialogs."""
    return select_field(
        "Brand", id, state.brands, name="brand", value=state.form_brand,
        on_change=state.set_form_brand, hint=hint,
        **props,
    )


def secret_reveal(
    state: Any,
    *,
    title: str,
    warning: str,
    done_label: str = "I have stored it",
    dialog: str = "secret",
    test_id: str = "secret-dialog",
) -> rx.Component:
    """The `SecretDialog` state's secret and note, shown once while `dialog` is open."""
    return secret_dialog(
        title=title, description=state.secret_note, secret=state.new_secret, warning=warning,
        open=state.dialog == dialog, on_open_change=state.on_dialog_change, done_label=done_label,
        test_id=test_id,
    )
