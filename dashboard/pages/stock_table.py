"""What the stock grid's two tables share: the colours of stock states, the sticky
first and total columns, sortable headers, clickable numbers, and the pager."""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard.components.admin import muted
from dashboard.components.blocks import inline
from dashboard.components.figures import HEADER, NUMERIC
from dashboard.components.filters import filter_select
from dashboard.components.lists import _step, page_nav
from dashboard.states.stock import PAGE_SIZES, StockState

S = StockState

# --- colours: one meaning everywhere (grid text, heat cells, legend) --------------------------

TEXT = {"out": rx.color("red", 11), "low": rx.color("amber", 11)}
HEAT = {
    "none": "transparent",
    "out": rx.color("red", 4),
    "low": rx.color("amber", 4),
    "ok1": rx.color("grass", 3),
    "ok2": rx.color("grass", 5),
    "ok3": rx.color("grass", 7),
}
HEAT_TEXT = {
    "none": rx.color("gray", 8),
    "out": rx.color("red", 11),
    "low": rx.color("amber", 11),
    "ok1": rx.color("grass", 11),
    "ok2": rx.color("grass", 12),
    "ok3": rx.color("grass", 12),
}
RULE = f"1px solid {rx.color('gray', 5)}"


def state_color(state: rx.Var) -> rx.Var:
    """The text colour of a stock state: red out, amber low, plain otherwise."""
    return rx.match(state, ("out", TEXT["out"]), ("low", TEXT["low"]), rx.color("gray", 12))


def heat(level: rx.Var, palette: dict[str, str]) -> rx.Var:
    """A size-run cell's colour from `palette` (HEAT or HEAT_TEXT)."""
    return rx.match(level, *[(k, v) for k, v in palette.items() if k != "none"], palette["none"])


# --- sticky columns: the first (what a row is) and the total stay in view ----------------------

#: Radix's surface table clips its <table> (overflow: hidden, for the rounded corners),
#: which makes the table itself the box sticky cells stick to, so they scroll away with
#: it. Let the table overflow into the scroll area instead: that is what scrolls.
SCROLLING = {"& .rt-TableRootTable": {"overflow": "visible"}}
#: The row separator Radix draws on every cell (a box shadow, which sticky cells keep).
_ROW_LINE = "var(--table-row-box-shadow)"
_PANEL = "var(--color-panel-solid)"
#: Header cells keep the header's tint over an opaque panel.
_HEAD_TINT = f"linear-gradient(var(--gray-a2), var(--gray-a2)), {_PANEL}"


def sticky(edge: str, *, head: bool = False, mark: str = "") -> dict[str, Any]:
    """The style of a cell stuck to the `edge` ("start": left, "end": right) of the
    scrolling table, ruled off from the columns scrolling under it. `mark` is another
    inset shadow drawn first (the broken-run bar)."""
    start = edge == "start"
    rule = f"inset {'-1px' if start else '1px'} 0 0 var(--gray-a5)"
    return {
        "position": "sticky",
        "left" if start else "right": "0",
        "z_index": "2" if head else "1",
        "background": _HEAD_TINT if head else _PANEL,
        "box_shadow": ", ".join(part for part in (mark, rule, _ROW_LINE) if part),
    }


# --- headers and clickable numbers ---------------------------------------------------------

LINK_BUTTON = {
    "all": "unset",
    "cursor": "pointer",
    "color": rx.color("accent", 11),
    "font_weight": "500",
    "_hover": {"text_decoration": "underline"},
    "_focus_visible": {"outline": f"2px solid {rx.color('accent', 8)}", "border_radius": "2px"},
}
EDIT_BUTTON = {
    "all": "unset",
    "box_sizing": "border-box",
    "cursor": "pointer",
    "display": "inline-block",
    "min_width": "44px",
    "text_align": "right",
    "padding": "1px 6px",
    "margin_right": "-7px",
    "border_radius": "var(--radius-2)",
    "border": "1px dashed transparent",
    "_hover": {"border_color": rx.color("gray", 8), "background": rx.color("gray", 3)},
    "_focus_visible": {"outline": f"2px solid {rx.color('accent', 8)}"},
}


def sort_header(
    label: str, key: str, *, numeric: bool = False, pin: str = "", **props: Any
) -> rx.Component:
    """A column header that sorts by `key` (a link: the sort is in the URL); `pin` ("start"
    or "end") keeps it in view while the grid scrolls sideways."""
    active = S.sort == key
    return rx.table.column_header_cell(
        rx.link(
            label,
            rx.text(S.sort_marks[key], as_="span", color=rx.color("accent", 11)),
            href=S.sort_links[key], underline="none", color="inherit",
            title=f"Sort by {label.lower()}", display="inline-flex", gap="4px",
        ),
        justify="end" if numeric else "start",
        aria_sort=rx.cond(active, rx.cond(S.direction == "asc", "ascending", "descending"), "none"),
        style={**HEADER, **(sticky(pin, head=True) if pin else {})},
        **props,
    )


def total_cell(value: rx.Var, state: rx.Var) -> rx.Component:
    """A row's total available units, stuck to the right edge."""
    return rx.table.cell(
        value, justify="end", style={**NUMERIC, **sticky("end")}, color=state_color(state),
        font_weight="600", data_testid="row-total",
    )


def grid_table(*, header: rx.Component, body: rx.Component, test_id: str) -> rx.Component:
    """A grid table whose sticky columns stay in view while it scrolls sideways."""
    return rx.table.root(
        header,
        rx.table.body(body),
        variant="surface", size="1", width="100%", style=SCROLLING, data_testid=test_id,
    )


# --- the pager -----------------------------------------------------------------------------


def pager() -> rx.Component:
    """ "1–50 of 132", rows per page, and first / previous / "Page 1 of 3" / next / last."""
    return page_nav(inline(
        muted(S.range_label, style=NUMERIC, size="2"),
        filter_select(
            [(n, f"{n} per page") for n in PAGE_SIZES], value=S.per_page,
            on_change=lambda v: S.set_filter("per_page", v), aria_label="Rows per page",
            size="1", popper=True, variant="ghost",
        ),
        rx.spacer(),
        _step("First", "chevrons-left", S.first_href, forward=False),
        _step("Previous", "chevron-left", S.previous_href, forward=False),
        rx.text(S.page_label, size="2", style=NUMERIC, padding_x="6px", data_testid="page-label"),
        _step("Next", "chevron-right", S.next_href, forward=True),
        _step("Last", "chevrons-right", S.last_href, forward=True),
        width="100%",
    ), "Pages")
