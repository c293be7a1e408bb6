"""The stock grid's size-run view: a row per style-colour, a heat-scaled cell per size
(a click opens the variant), the total, and broken runs flagged. The style and the
total stay in view while the table scrolls sideways."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import muted
from dashboard.components.blocks import column
from dashboard.components.figures import HEADER, NUMERIC
from dashboard.pages import stock_table as grid
from dashboard.states.stock import RunItem, SizeCell, StockState

S = StockState
#: The orange bar a broken run's first cell carries.
_BROKEN = f"inset 3px 0 0 {rx.color('orange', 9)}"


def _size_cell(cell: SizeCell) -> rx.Component:
    content = rx.cond(
        cell.variant_id > 0,
        rx.el.button(
            cell.label, type="button", on_click=S.open_variant(cell.variant_id),
            title=cell.hint + " — click to open", aria_label=cell.hint,
            style={
                **grid.EDIT_BUTTON, "min_width": "36px", "margin_right": "0", "color": "inherit"
            },
        ),
        rx.text(cell.label, title=cell.hint, as_="span"),
    )
    return rx.table.cell(
        content, justify="end",
        style={
            **NUMERIC,
            "background": grid.heat(cell.level, grid.HEAT),
            "color": grid.heat(cell.level, grid.HEAT_TEXT),
            "border_left": f"1px solid {rx.color('gray', 3)}",
            "font_weight": rx.cond(cell.level == "out", "600", "500"),
        },
        data_level=cell.level,
    )


def _run_row(row: RunItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.product, size="2", weight="medium", white_space="nowrap"),
                muted(row.style_code + " · " + row.colour, white_space="nowrap"),
                spacing="0",
            ),
            style={
                **grid.sticky("start"),
                "box_shadow": rx.cond(
                    row.broken,
                    grid.sticky("start", mark=_BROKEN)["box_shadow"],
                    grid.sticky("start")["box_shadow"],
                ),
            },
        ),
        rx.table.cell(row.brand, white_space="nowrap"),
        rx.foreach(row.cells, _size_cell),
        grid.total_cell(row.total, row.state),
        rx.table.cell(
            rx.cond(
                row.broken,
                rx.badge(
                    rx.icon("triangle-alert", size=12),
                    "Broken run", color_scheme="orange", variant="soft", size="1",
                    title="A core size is out while other sizes still have stock",
                    data_testid="broken-run",
                ),
                muted("Complete"),
            ),
            white_space="nowrap",
        ),
        align="center", data_testid="run-row",
        data_broken=rx.cond(row.broken, "true", "false"),
    )


def sizes_table() -> rx.Component:
    return column(
        muted(
            "Available units per size, summed over "
            + rx.cond(S.warehouses.length() > 0, "the chosen warehouses", "every active warehouse")
            + ". Pick one warehouse above to see its own run."
        ),
        grid.grid_table(
            header=rx.table.header(
                rx.table.row(
                    grid.sort_header("Style · colour", "product", pin="start"),
                    grid.sort_header("Brand", "brand"),
                    rx.foreach(
                        S.sizes,
                        lambda size: rx.table.column_header_cell(size, justify="end", style=HEADER),
                    ),
                    grid.sort_header("Total", "available", numeric=True, pin="end"),
                    rx.table.column_header_cell("Run", style=HEADER),
                )
            ),
            body=rx.foreach(S.runs, _run_row), test_id="sizes-table",
        ),
        gap="2",
    )
