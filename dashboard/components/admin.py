"""Building blocks of the admin pages (and others): form fields, dialogs, the one-time
secret reveal, status badges and relative times. The lists are `components.lists`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import reflex as rx

from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.figures import HEADER, numeric_cell
from dashboard.registry import Nav, Render, page

MONO = {"font_family": "var(--code-font-family)", "font_size": "13px"}
#: A SKU (or another code with hyphens): monospaced, never broken across lines.
SKU = {**MONO, "white_space": "nowrap"}
_DESCRIPTION = {"font_size": "14px", "line_height": "20px", "color": rx.color("gray", 11)}
_LABEL = {"font_size": "13px", "font_weight": "500", "color": rx.color("gray", 12)}


# --- page frame ---------------------------------------------------------------------------


def primary_action(label: str, icon: str, on_click: rx.EventHandler) -> rx.Component:
    return rx.button(rx.icon(icon, size=15), label, on_click=on_click, size="2")


def admin_page(
    route: str,
    title: str,
    state: Any,
    *,
    perm: str,
    icon: str,
    description: str,
    new: str,
    parts: Sequence[Render],
    new_icon: str = "plus",
) -> Render:
    """Register an admin list page: `parts` (filters, list, dialogs) one after another,
    `state.load` on every visit, its `title` with `icon` under the sidebar's Admin heading,
    and the header's `new` button opening `state.open_create`."""

    def render() -> rx.Component:
        return rx.fragment(*(part() for part in parts))

    render.__name__ = f"{perm.replace('.', '_')}_page"
    return page(
        route, title, perm=perm, load=state.load, nav=Nav(title, icon, group="admin"),
        description=description, action=lambda: primary_action(new, new_icon, state.open_create),
    )(render)


# --- tables ---------------------------------------------------------------------------------


def table(*header: rx.Component, body: rx.Component, test_id: str) -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*header)),
        rx.table.body(body),
        variant="surface", size="1", width="100%", data_testid=test_id,
    )


def header(label: str, **props) -> rx.Component:
    return rx.table.column_header_cell(label, style=HEADER, **props)


def cell(*children: rx.Component | rx.Var | str, **props) -> rx.Component:
    return rx.table.cell(*children, vertical_align="middle", **props)


def number_cell(value: rx.Var | str | int) -> rx.Component:
    """A figure in a row: right-aligned, never broken over two lines ("0.0 wk")."""
    return numeric_cell(value, vertical_align="middle")


def number_cells(*values: rx.Var | str | int) -> list[rx.Component]:
    """A `number_cell` for each of `values`, in order (a row's run of figures)."""
    return [number_cell(value) for value in values]


def muted(text: rx.Var | str, **props) -> rx.Component:
    return rx.text(text, **{"size": "1", "color_scheme": "gray", **props})


def when(moment: rx.Var, exact: rx.Var | None = None) -> rx.Component:
    """A relative time ("3 h ago") with the exact time on hover: a `dashboard.items.Moment`
    var, or the two texts."""
    if exact is None:
        moment, exact = moment.ago, moment.exact  # type: ignore[attr-defined]
    return rx.text(moment, title=exact, size="2", white_space="nowrap")


def badge(*label: rx.Component | rx.Var | str, color: rx.Var | str, **props: Any) -> rx.Component:
    """A small soft badge in `color` (a Radix colour): a status, a state, a kind."""
    return rx.badge(*label, color_scheme=color, variant="soft", **{"size": "1", **props})


def active_badge(active: rx.Var, on: str = "Active", off: str = "Deactivated") -> rx.Component:
    return rx.cond(active, badge(on, color="green"), badge(off, color="gray"))


# --- forms ----------------------------------------------------------------------------------


def field(
    label: str, control: rx.Component, *, for_id: str, hint: str | rx.Component | None = None
) -> rx.Component:
    """A label tied to its control (`for`/`id`), the control, and an optional hint."""
    return column(
        rx.el.label(label, html_for=for_id, style=_LABEL),
        control,
        muted(hint) if isinstance(hint, str) else hint,
        gap="1",
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
        name=name, size="2",
        **props,
    )


def form_error(message: rx.Var) -> rx.Component:
    """A dialog's or form's inline error."""
    return notice(message, icon="circle-alert", size="1", test_id="form-error")


def dialog_wiring(state: Any, name: str) -> dict[str, Any]:
    """How a dialog hangs on its page's `DialogState`: open while `state.dialog == name`,
    closed through `on_dialog_change` (Esc, Cancel, a click outside), with the state's
    saving flag and inline error. `form_dialog(..., **dialog_wiring(S, "create"))`."""
    return {
        "open": state.dialog == name,
        "on_open_change": state.on_dialog_change,
        "saving": state.saving,
        "error": state.form_error,
    }


def _heading(parts: Any, title: str | rx.Var, description: Any, gap: str) -> list[rx.Component]:
    """A dialog's title and description (`parts` is `rx.dialog` or `rx.alert_dialog`)."""
    return [
        parts.title(title, size="4"),
        parts.description(description, style=_DESCRIPTION, margin_bottom=gap),
    ]


def _buttons(*buttons: rx.Component, gap: str) -> rx.Component:
    """A dialog's buttons, at its bottom right."""
    return rx.hstack(*buttons, justify="end", spacing="2", width="100%", padding_top=gap)


def _cancel(**props: Any) -> rx.Component:
    return rx.button("Cancel", variant="soft", color_scheme="gray", **props)


def _act(label: str, saving: rx.Var, danger: bool, **props: Any) -> rx.Component:
    """The dialog's main button: red when it destroys, spinning while it saves."""
    return rx.button(label, loading=saving, color_scheme="red" if danger else None, **props)


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
    max_width: str = "460px",
    before: rx.Component | None = None,
) -> rx.Component:
    """A dialog around one form: Enter submits, Esc or Cancel closes, errors inline.
    `before` goes between the heading and the form, outside it (a form of its own, such
    as a scan box, may not sit inside another)."""
    form = rx.form(
        column(
            *fields,
            form_error(error),
            _buttons(
                rx.dialog.close(_cancel(type="button")),
                _act(submit_label, saving, danger, type="submit"),
                gap="4px",
            ),
        ),
        on_submit=on_submit, reset_on_submit=False, width="100%",
    )
    return rx.dialog.root(
        rx.dialog.content(
            *_heading(rx.dialog, title, description, "16px"),
            *([before] if before is not None else []),
            form, max_width=max_width, data_testid=test_id,
        ),
        open=open, on_open_change=on_open_change,
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
            *_heading(rx.alert_dialog, title, description, "16px"),
            form_error(error),
            _buttons(
                rx.alert_dialog.cancel(_cancel()),
                _act(confirm_label, saving, danger, on_click=on_confirm),
                gap="12px",
            ),
            max_width="440px", data_testid=test_id,
        ),
        open=open, on_open_change=on_open_change,
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
            *_heading(rx.dialog, title, description, "14px"),
            rx.callout(
                warning, icon="triangle-alert", color_scheme="amber", size="1",
                margin_bottom="12px",
            ),
            copy_box(secret, test_id="secret-value"),
            _buttons(rx.dialog.close(rx.button(done_label)), gap="18px"),
            max_width="560px", data_testid=test_id,
        ),
        open=open, on_open_change=on_open_change,
    )


def copy_box(value: rx.Var, *, test_id: str, label: str = "") -> rx.Component:
    """A value to copy (a secret, a snippet): monospaced, selectable, a Copy button."""
    return inline(
        rx.box(
            rx.text(value, style=MONO, data_testid=test_id),
            flex="1", min_width="0", padding="8px 10px", border_radius="var(--radius-2)",
            background=rx.color("gray", 3), border=f"1px solid {rx.color('gray', 6)}",
            word_break="break-all", user_select="all",
        ),
        button(
            "Copy", "copy",
            on_click=[
                rx.set_clipboard(value),
                rx.toast.success(f"{label} copied" if label else "Copied to the clipboard",
                                 duration=2000),
            ],
            variant="soft", size="2",
            aria_label=f"Copy the {label.lower()}" if label else "Copy",
        ),
        width="100%",
    )


def row_menu(label: rx.Var | str, *items: rx.Component, title: str = "Actions"
             ) -> rx.Component:
    """A table row's "…" menu; `label` names the row for screen readers."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis", size=16),
                variant="ghost", color_scheme="gray", size="1", aria_label=label, title=title,
            )
        ),
        rx.menu.content(*items, size="1", align="end"),
    )


def menu_action(icon: str, label: str | rx.Var, on_click: Any, *, danger: bool = False,
                **props: Any) -> rx.Component:
    """One item of a row's "…" menu: an icon and a label (red when it destroys)."""
    if danger:
        props["color"] = "red"
    return rx.menu.item(rx.icon(icon, size=14), label, on_click=on_click, **props)


def spinner_block() -> rx.Component:
    """What a list shows before its first load."""
    return rx.center(rx.spinner(size="3"), padding_y="48px", width="100%")


def active_toggle(
    active: rx.Var,
    *,
    off: tuple[str, str, Any],
    on: tuple[str, str, Any],
) -> rx.Component:
    """A row menu's (de)activate item: `off` (icon, label, handler) while `active` (shown
    in red), else `on`."""
    return rx.cond(
        active,
        menu_action(*off, danger=True),
        menu_action(*on),
    )


def target_confirm(
    state: Any,
    name: str,
    verb: str,
    *,
    description: str | rx.Var | rx.Component,
    on_confirm: rx.EventHandler,
    test_id: str,
    confirm_label: str = "",
    danger: bool = True,
) -> rx.Component:
    """"`verb` <the row>?": the confirm dialog `name` on the state's `target_label`."""
    return confirm_dialog(
        title=verb + " " + state.target_label + "?", description=description,
        confirm_label=confirm_label or verb,
        **dialog_wiring(state, name),
        on_confirm=on_confirm, test_id=test_id, danger=danger,
    )


def text_field(
    label: str, id: str, *, hint: str | rx.Component | None = None, **props: Any
) -> rx.Component:
    """`field` around a `text_input` with that id."""
    return field(label, text_input(id, **props), for_id=id, hint=hint)


def select_field(
    label: str,
    id: str,
    options: list[tuple[str, str]] | rx.Var,
    *,
    name: str,
    hint: str | rx.Component | None = None,
    **props: Any,
) -> rx.Component:
    """`field` around a `select` with that id."""
    return field(label, select(id, options, name=name, **props), for_id=id, hint=hint)


def headers(
    *labels: str, right: tuple[str, ...] = (), widths: dict[str, str] | None = None
) -> list[rx.Component]:
    """A table's column headers: the `right` ones (figures) aligned to the right, `widths`
    by label."""
    widths = widths or {}
    return [
        header(
            label,
            **({"justify": "end"} if label in right else {}),
            **({"width": widths[label]} if label in widths else {}),
        )
        for label in labels
    ]
