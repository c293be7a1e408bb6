"""Pieces every filtered list repeats: the search box, a "Clear filters" button, a filter
select with an "All …" choice, and the empty state that tells filters from no data."""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard.components.blocks import button
from dashboard.components.figures import empty_state


def search_box(
    *,
    name: str,
    value: rx.Var,
    placeholder: str,
    aria_label: str,
    icon: str = "search",
    key: rx.Var | None = None,
    width: str = "300px",
    **props: Any,
) -> rx.Component:
    """A search input that submits with Enter; `key` re-mounts it when the URL changes."""
    return rx.input(
        rx.input.slot(rx.icon(icon, size=14)),
        name=name, type="search", default_value=value, key=value if key is None else key,
        placeholder=placeholder, aria_label=aria_label, size="2", width=width,
        **props,
    )


def search_form(on_submit: Any, **box: Any) -> rx.Component:
    """A `search_box` in its own form: Enter submits it to `on_submit` (the search
    writes the URL, so the box keeps what was typed)."""
    return rx.form(search_box(**box), on_submit=on_submit, reset_on_submit=False, width="auto")


def clear_filters(state: Any, size: str = "2") -> rx.Component:
    """A quiet "Clear filters" button, shown only while `state.filtered`."""
    return rx.cond(
        state.filtered,
        button(
            "Clear filters", "x", on_click=state.clear_filters, variant="ghost",
            color_scheme="gray", size=size,
        ),
    )


def filtered_empty(state: Any, title: str, hint: str, empty: rx.Component) -> rx.Component:
    """The empty state of a filtered list: "nothing matches" with a way out while
    filters are on, otherwise `empty` (the list really has nothing)."""
    return rx.cond(
        state.filtered,
        empty_state(
            "search-x", title, hint,
            rx.button("Clear filters", on_click=state.clear_filters, variant="soft", size="2"),
        ),
        empty,
    )


def filter_select(
    options: list[tuple[str, str]] | rx.Component,
    *,
    value: rx.Var,
    on_change: Any,
    aria_label: str,
    all_label: str = "",
    all_value: str = "all",
    size: str = "2",
    popper: bool = False,
    **trigger: Any,
) -> rx.Component:
    """A filter's select: `options` are (value, label) pairs or ready items (a foreach),
    after an "All …" choice when `all_label` is given. `trigger` styles the trigger;
    `popper` opens the list below it instead of over it."""
    items = (
        [rx.select.item(label, value=v) for v, label in options]
        if isinstance(options, list)
        else [options]
    )
    first = [rx.select.item(all_label, value=all_value), rx.select.separator()]
    return rx.select.root(
        rx.select.trigger(aria_label=aria_label, **trigger),
        rx.select.content(
            *(first if all_label else []), *items,
            **({"position": "popper"} if popper else {}),
        ),
        value=value, on_change=on_change, size=size,
    )


def choice_items(choices: rx.Var) -> rx.Component:
    """Select items from a Var of Choices (value, label)."""
    return rx.foreach(choices, lambda c: rx.select.item(c.label, value=c.value))
