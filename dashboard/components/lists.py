"""One way to show a list: `list_view` (table, loading, empty and error states) and one
`pager` (first / previous / next / last, and rows per page) for every list."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import reflex as rx

from dashboard.components.admin import muted, table
from dashboard.components.blocks import column, inline, notice
from dashboard.components.figures import NUMERIC
from dashboard.states.listing import PAGE_SIZES, PagedList

_STEP = {
    "display": "inline-flex",
    "align_items": "center",
    "gap": "4px",
    "height": "28px",
    "padding_x": "8px",
    "border_radius": "var(--radius-2)",
    "font_size": "13px",
    "font_weight": "500",
}
_LINK = {
    **_STEP,
    "color": rx.color("gray", 12),
    "background": rx.color("gray", 3),
    "_hover": {"background": rx.color("gray", 4)},
}
_OFF = {**_STEP, "color": rx.color("gray", 8), "cursor": "default"}


def _step(label: str, icon: str, href: rx.Var, *, forward: bool, icon_only: bool = False):
    """One pager link; greyed out (not a link) when there is no such page."""
    words = rx.text(label, as_="span", class_name="pager-label") if icon_only else label
    parts = [words, rx.icon(icon, size=14)] if forward else [rx.icon(icon, size=14), words]
    return rx.cond(
        href != "",
        rx.link(*parts, href=href, underline="none", style=_LINK, title=label, aria_label=label),
        rx.text(*parts, as_="span", aria_disabled="true", style=_OFF, title=label),
    )


def page_nav(row: rx.Component, label: str) -> rx.Component:
    """`row` (a pager) as a navigation landmark named `label`, which screen readers list
    among the page's landmarks. Its own element: a stack's `as_="nav"` is dropped (Radix
    Flex renders a div), which left the pagers as unnamed divs with an aria-label."""
    return rx.el.nav(row, aria_label=label, width="100%")


def pager(state: type[PagedList]) -> rx.Component:
    """ "26–50 of 132", rows per page, and first / previous / next / last links.

    The page is in the URL, so every step is a link (back and forward work, and a
    page can be shared). Nothing shows while the list is empty.
    """
    return rx.cond(
        state.total > 0,
        page_nav(inline(
            muted(state.range_label, style=NUMERIC, data_testid="pager-range"),
            rx.spacer(),
            inline(
                muted("Rows"),
                rx.select(
                    [str(size) for size in PAGE_SIZES],
                    value=state.per_page, on_change=state.set_per_page, size="1", variant="soft",
                    aria_label="Rows per page",
                ),
            ),
            _step("First", "chevrons-left", state.first_href, forward=False, icon_only=True),
            _step("Previous", "chevron-left", state.previous_href, forward=False),
            _step("Next", "chevron-right", state.next_href, forward=True),
            _step("Last", "chevrons-right", state.last_href, forward=True, icon_only=True),
            width="100%", data_testid="pager", style={"& .pager-label": {"display": "none"}},
        ), "Pages"),
    )


def list_view(
    *,
    columns: Sequence[rx.Component],
    rows: rx.Var,
    row: Callable[[rx.Var], rx.Component],
    loaded: rx.Var,
    error: rx.Var,
    empty: rx.Component,
    test_id: str,
    paging: type[PagedList] | None = None,
    summary: rx.Var | None = None,
) -> rx.Component:
    """A table of `rows` drawn by `row`, with the states every list needs.

    Before the first load a spinner; a load error as a callout above; no rows after
    loading the `empty` state (which should say what to do next); the pager below.
    """
    return column(
        notice(error),
        rx.cond(
            rows.length() > 0,
            column(
                rx.hstack(rx.spacer(), muted(summary, size="2"), width="100%")
                if summary is not None
                else rx.fragment(),
                rx.box(
                    table(*columns, body=rx.foreach(rows, row), test_id=test_id),
                    overflow_x="auto", width="100%",
                ),
                pager(paging) if paging is not None else rx.fragment(),
            ),
            rx.cond(
                loaded, empty,
                rx.center(
                    rx.spinner(size="3"),
                    padding_y="48px", width="100%", aria_busy="true",
                ),
            ),
        ),
    )


def newer_older(
    label: rx.Component,
    *,
    on_newer: rx.EventHandler,
    newer_off: rx.Var,
    on_older: rx.EventHandler,
    older_off: rx.Var,
    icon_size: int = 14,
    **props,
) -> rx.Component:
    """`label`, then "Newer" and "Older" buttons for a list paged in the state (not the
    URL); `*_off` disable them at either end. `props` go on the row; wrap it in
    `page_nav` to name it as a pager."""

    def step(word: str, icon: str, on_click: rx.EventHandler, off: rx.Var, first: bool):
        glyph = rx.icon(icon, size=icon_size)
        parts = [glyph, word] if first else [word, glyph]
        return rx.button(
            *parts,
            on_click=on_click, disabled=off, variant="soft", color_scheme="gray", size="1",
        )

    return inline(
        label,
        rx.spacer(),
        step("Newer", "chevron-left", on_newer, newer_off, True),
        step("Older", "chevron-right", on_older, older_off, False),
        width="100%",
        **props,
    )
