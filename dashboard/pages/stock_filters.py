"""The stock grid's filter bar (search, brand, warehouses, category, colour, size, season,
tag, stock state, view) and the summary line with the legend of the view shown."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import muted
from dashboard.components.blocks import button, column, inline
from dashboard.components.figures import NUMERIC
from dashboard.components.filters import clear_filters, filter_select, search_form
from dashboard.components.live import live_badge
from dashboard.pages.stock_table import HEAT
from dashboard.states.stock import LOW_STOCK_THRESHOLD, STOCK_CHOICES, StockState

S = StockState


def _picker(
    label: str, all_label: str, value: rx.Var, name: str, items: rx.Component, width: str
) -> rx.Component:
    return filter_select(
        items, value=value, on_change=lambda v: S.set_filter(name, v), aria_label=label,
        all_label=all_label, popper=True, title=label, min_width=width, max_width="220px",
    )


def _text_items(values: rx.Var) -> rx.Component:
    return rx.foreach(values, lambda v: rx.select.item(v, value=v))


def _warehouse_picker() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            button(
                S.warehouse_label, "warehouse",
                rx.icon("chevron-down", size=14),
                variant="surface", color_scheme="gray", size="2", aria_label="Warehouses",
                data_testid="warehouse-picker",
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Warehouses", size="2", weight="bold"),
                muted("Tick one or several; none ticked shows every active warehouse."),
                rx.foreach(
                    S.warehouse_choices,
                    lambda c: rx.el.label(
                        rx.checkbox(
                            checked=S.warehouses.contains(c.value),
                            on_change=lambda _checked: S.toggle_warehouse(c.value),
                        ),
                        c.label, display="flex", gap="8px", align_items="center", font_size="14px",
                        cursor="pointer",
                    ),
                ),
                rx.cond(
                    S.warehouses.length() > 0,
                    rx.button(
                        "All warehouses", on_click=S.toggle_warehouse("all"), variant="ghost",
                        size="1",
                    ),
                ),
                spacing="2", min_width="240px",
            ),
            align="start",
        ),
    )


def filter_bar() -> rx.Component:
    """Search, the pickers, the stock state and the view; each writes the URL."""
    return column(
        inline(
            search_form(
                S.apply_search, name="q", value=S.search, key=S.view_key,
                placeholder="SKU, alias, barcode or product — Enter",
                aria_label="Search stock",
            ),
            rx.cond(
                ~S.is_vendor,
                _picker(
                    "Brand", "All brands", S.brand, "brand",
                    rx.foreach(S.brand_choices, lambda c: rx.select.item(c.label, value=c.value)),
                    "140px",
                ),
            ),
            _warehouse_picker(),
            _picker(
                "Category", "All categories", S.category, "category",
                _text_items(S.category_choices),
                "130px",
            ),
            _picker(
                "Colour", "All colours", S.colour, "colour",
                _text_items(S.colour_choices),
                "120px",
            ),
            _picker("Size", "All sizes", S.size, "size", _text_items(S.size_choices), "100px"),
            _picker(
                "Season", "All seasons", S.season, "season",
                _text_items(S.season_choices),
                "110px",
            ),
            search_form(
                S.apply_tag, name="tag", value=S.tag, key=S.view_key, icon="tag",
                placeholder="Tag — Enter", aria_label="Filter by tag", width="150px",
            ),
            wrap="wrap", width="100%",
        ),
        inline(
            rx.segmented_control.root(
                *[rx.segmented_control.item(label, value=value) for value, label in STOCK_CHOICES],
                value=S.stock, on_change=lambda v: S.set_filter("stock", v), size="1",
                aria_label="Stock state",
            ),
            clear_filters(S, size="1"),
            rx.spacer(),
            rx.segmented_control.root(
                rx.segmented_control.item("Balances", value="balances"),
                rx.segmented_control.item("Size run", value="sizes"),
                value=S.view, on_change=lambda v: S.set_filter("view", v), size="1",
                aria_label="View",
            ),
            width="100%", gap="3",
        ),
    )


# --- legend and summary ---------------------------------------------------------------------


def _dot(color: str) -> rx.Component:
    return rx.box(width="8px", height="8px", border_radius="50%", background=color)


def _swatch(level: str, label: str) -> rx.Component:
    return inline(
        rx.box(
            width="14px", height="14px", border_radius="3px", background=HEAT[level],
            border=f"1px solid {rx.color('gray', 6)}",
        ),
        muted(label),
        gap="1",
    )


def _legend() -> rx.Component:
    low = f"1–{LOW_STOCK_THRESHOLD}"
    balances = inline(
        *[
            inline(_dot(color), muted(label), gap="1")
            for color, label in (
                (rx.color("red", 9), "Out (0)"),
                (rx.color("amber", 9), f"Low ({low})"),
                (rx.color("gray", 12), f"Healthy ({LOW_STOCK_THRESHOLD + 1}+)"),
            )
        ],
        muted("· hover a number for on hand and reserved", display=["none", "none", "block"]),
        gap="3",
    )
    sizes = inline(
        _swatch("out", "Out"),
        _swatch("low", low),
        _swatch("ok1", f"{LOW_STOCK_THRESHOLD + 1}–9"),
        _swatch("ok2", "10–49"),
        _swatch("ok3", "50+"),
        inline(muted("·", weight="bold"), muted("not made"), gap="1"),
        rx.badge("Broken run", color_scheme="orange", variant="soft", size="1"),
        muted("= a core size is out while others remain"),
        wrap="wrap", gap="3",
    )
    return rx.box(
        rx.cond(S.view == "sizes", sizes, balances),
        aria_label="Legend", data_testid="legend",
    )


def summary_bar() -> rx.Component:
    """How many rows match, the live badge, and the legend of the view shown."""
    return inline(
        rx.text(S.summary, size="2", weight="medium", data_testid="grid-summary", style=NUMERIC),
        rx.cond(S.loading, rx.spinner(size="1")),
        live_badge(S.live_label, "rows update by themselves when stock changes elsewhere."),
        rx.spacer(),
        _legend(),
        width="100%", wrap="wrap", gap="3",
    )
