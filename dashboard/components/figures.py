"""Building blocks for pages of numbers: stat cards, figure tables, empty states."""

from __future__ import annotations

from typing import Any

import reflex as rx

#: Digits of equal width, so columns of numbers line up.
NUMERIC = {"font_variant_numeric": "tabular-nums"}


def stat_card(
    label: str,
    value: rx.Var | str,
    hint: rx.Var | str,
    *,
    loading: rx.Var | bool = False,
    color: rx.Var | str | None = None,
    test_id: str = "",
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray", weight="medium"),
            rx.skeleton(
                rx.text(
                    value, size="7", weight="bold", color=color, style=NUMERIC,
                    data_testid=test_id or None,
                ),
                loading=loading,
            ),
            rx.text(hint, size="1", color_scheme="gray"),
            spacing="1",
        ),
        size="2",
    )


#: Column headers read as quiet labels, so the figures stand out.
HEADER = {"color": rx.color("gray", 11), "font_weight": "500", "white_space": "nowrap"}


def header_cell(label: str, **props) -> rx.Component:
    return rx.table.column_header_cell(label, style=HEADER, **props)


def numeric_header(label: str) -> rx.Component:
    return header_cell(label, justify="end")


def numeric_cell(value: rx.Var | str, **props) -> rx.Component:
    return rx.table.cell(value, justify="end", style=NUMERIC, white_space="nowrap", **props)


def action_link(*children: rx.Component | rx.Var | str, on_click: Any, **props) -> rx.Component:
    """A link that runs an event instead of going anywhere (it opens a dialog, selects a row).

    `rx.link` without an href renders `href="#"`: following it changes the URL to `…#`, which
    Reflex treats as a navigation and answers with the page's on_load, closing the dialog the
    click had just opened. The click's default is therefore prevented.
    """
    return rx.link(*children, on_click=on_click.prevent_default, cursor="pointer", **props)


def empty_state(icon: str, title: str, *body: rx.Component | str) -> rx.Component:
    """What an empty list shows: what is missing and what to do about it."""
    return rx.card(
        rx.vstack(
            rx.center(
                rx.icon(icon, size=22, color=rx.color("gray", 10)),
                width="44px", height="44px", border_radius="var(--radius-3)",
                background=rx.color("gray", 3),
            ),
            rx.text(title, size="3", weight="bold"),
            *[
                rx.text(part, size="2", color_scheme="gray") if isinstance(part, str) else part
                for part in body
            ],
            align="center", spacing="2", padding_y="40px", text_align="center", max_width="460px",
            margin_x="auto",
        ),
        width="100%",
    )


def stat_grid(*cards: rx.Component) -> rx.Component:
    """A row of up to five stat cards (two a row on a phone, three on a tablet)."""
    return rx.grid(
        *cards,
        columns=rx.breakpoints(initial="2", sm="3", md="5"),
        spacing="3", width="100%",
    )


def moment(value: rx.Var, **props: Any) -> rx.Component:
    """A `Moment`: its words ("3 h ago") with the exact time on hover (size=None: the
    surrounding text's size)."""
    props = {"size": "2", "white_space": "nowrap", **props}
    shown = {name: prop for name, prop in props.items() if prop is not None}
    return rx.text(value.ago, title=value.exact, **shown)
