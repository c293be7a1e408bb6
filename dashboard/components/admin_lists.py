"""What the admin pages' lists and dialogs share, bound to their states
(`states.admin_common.AdminList`, `states.one_time.SecretDialog`): the list with its
note, the cells several lists show, the brand picker and the one-time secret's dialog."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx

from dashboard.components.admin import (
    MONO,
    active_toggle,
    cell,
    dialog_wiring,
    form_dialog,
    headers,
    menu_action,
    muted,
    row_menu,
    secret_dialog,
    select_field,
    target_confirm,
    text_field,
)
from dashboard.components.blocks import column
from dashboard.components.figures import empty_state
from dashboard.components.filters import filtered_empty
from dashboard.components.lists import list_view


def admin_table(
    state: Any,
    columns: Sequence[str],
    *,
    row: Any,
    test_id: str,
    empty: tuple[str, str, str],
    filtered: tuple[str, str] | None = None,
    note: str = "",
    summary: bool = True,
    right: tuple[str, ...] = (),
    widths: dict[str, str] | None = None,
) -> rx.Component:
    """The state's list (`state.LISTING.field`) as a paged table under the `columns`'
    headers (`right`, `widths` as `headers` takes them): `note` above it while it has
    rows, the summary (unless the page shows it elsewhere), the pager, and the loading,
    error and empty states. `empty` is (icon, title, what to do) when there is nothing;
    a list with filters says `filtered` (title, hint) while they match nothing."""
    rows = getattr(state, state.LISTING.field)
    nothing = empty_state(*empty)
    table = list_view(
        columns=headers(*columns, right=right, widths=widths), rows=rows, row=row,
        loaded=state.loaded, error=state.load_error,
        empty=filtered_empty(state, *filtered, nothing) if filtered else nothing,
        test_id=test_id, paging=state, summary=state.summary if summary else None,
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


def edit_and_toggle(state: Any, item: Any) -> rx.Component:
    """A row's menu of Edit… (`state.open_edit`) and Deactivate… / Activate…
    (`state.confirm_active`), for lists of things that are switched off, never deleted."""
    return row_menu(
        "Actions for " + item.code,
        menu_action("pencil", "Edit…", state.open_edit(item.id)),
        rx.menu.separator(),
        active_toggle(
            item.active,
            off=("circle-pause", "Deactivate…", state.confirm_active(item.id, False)),
            on=("circle-play", "Activate…", state.confirm_active(item.id, True)),
        ),
    )


def active_dialogs(state: Any, noun: str, *, off: str, on: str) -> rx.Component:
    """The confirm dialogs behind `edit_and_toggle`'s Deactivate… (`off` says what that
    does) and Activate… (`on`), both answered by `state.set_active`."""
    return rx.fragment(
        target_confirm(
            state, "deactivate", "Deactivate",
            description=off, on_confirm=state.set_active, test_id=f"deactivate-{noun}-dialog",
        ),
        target_confirm(
            state, "activate", "Activate",
            description=on, on_confirm=state.set_active, test_id=f"activate-{noun}-dialog",
            danger=False,
        ),
    )


def record_dialogs(
    state: Any,
    noun: str,
    fields: Callable[[str], list[rx.Component]],
    *,
    code: dict[str, Any],
    new: str,
    edit: str,
    handlers: tuple[Any, Any],
    switch: tuple[str, str] | None = None,
    max_width: str = "460px",
) -> rx.Component:
    """Every dialog of a list of coded records (warehouses, channels, brands): "New
    `noun`" with its code and name (`code_and_name`'s `code` options) then
    `fields(prefix)`, "Edit <row>" the same without the code (it stays), each described
    (`new`, `edit`) and answered by `handlers` (create, save); and, for records switched
    off and on, the confirms of `active_dialogs` (`switch`: what deactivating,
    activating does)."""
    return rx.fragment(
        form_dialog(
            *code_and_name(f"new-{noun}", True, state.form_name, **code),
            *fields(f"new-{noun}"),
            title=f"New {noun}", description=new, **dialog_wiring(state, "create"),
            on_submit=handlers[0], submit_label=f"Create {noun}",
            test_id=f"new-{noun}-dialog", max_width=max_width,
        ),
        form_dialog(
            *code_and_name(f"edit-{noun}", False, state.form_name, **code),
            *fields(f"edit-{noun}"),
            title="Edit " + state.target_label, description=edit,
            **dialog_wiring(state, "edit"),
            on_submit=handlers[1], submit_label="Save", test_id=f"edit-{noun}-dialog",
            max_width=max_width,
        ),
        active_dialogs(state, noun, off=switch[0], on=switch[1]) if switch else rx.fragment(),
    )


def code_cells(item: Any) -> list[rx.Component]:
    """A coded record's first cells: its code, then its name as the row's header."""
    return [
        cell(rx.text(item.code, style=MONO)),
        rx.table.row_header_cell(rx.text(item.name, weight="medium"), vertical_align="middle"),
    ]


#: `code_and_name`'s code for records whose code is short, upper-case and prefixes
#: others' (brands, warehouses): `record_dialogs(..., code={..., **SHORT_CODE})`.
SHORT_CODE: dict[str, Any] = {
    "code_hint": "Short and unique: letters, digits or '-'. It cannot be changed later.",
    "max_length": 32,
    "style": {"text_transform": "uppercase"},
}


def code_and_name(
    prefix: str,
    with_code: bool,
    name: rx.Var,
    *,
    examples: tuple[str, str],
    code_hint: str,
    **code_props: Any,
) -> list[rx.Component]:
    """A coded record's first fields: its code (only `with_code`: a code is set once,
    with `code_hint`) and its name (`name`, the state's value), `examples` as their
    placeholders; the first of them has the focus."""
    code = text_field(
        "Code",
        f"{prefix}-code",
        name="code", required=True, auto_focus=True, auto_complete="off",
        placeholder=examples[0], hint=code_hint, **code_props,
    )
    named = text_field(
        "Name",
        f"{prefix}-name",
        name="name", required=True, auto_focus=not with_code, auto_complete="off",
        default_value=name, placeholder=examples[1], max_length=200,
    )
    return [code, named] if with_code else [named]
