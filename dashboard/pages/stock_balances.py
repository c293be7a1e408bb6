"""The stock grid's balances view: a row per variant, available units per warehouse (a
click corrects the count, for those allowed), and the totals. The SKU and the total
available stay in view while the table scrolls sideways."""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard.components.admin import MONO, muted
from dashboard.components.figures import HEADER, NUMERIC
from dashboard.pages import stock_table as grid
from dashboard.pages.stock_bulk import bulk_cell
from dashboard.states.stock import BalanceItem, Column, StockCell, StockState

S = StockState


def _stock_number(cell: StockCell) -> rx.Component:
    color = grid.state_color(cell.state)
    return rx.cond(
        S.can_edit,
        rx.el.button(
            cell.available, type="button",
            on_click=S.open_correction(cell.variant_id, cell.warehouse_id, cell.on_hand),
            aria_label=cell.edit_label,
            title=cell.hint + " — click to correct the count",
            style={**grid.EDIT_BUTTON, "color": color},
        ),
        rx.text(cell.available, title=cell.hint, color=color, as_="span"),
    )


def _number(value: rx.Var) -> rx.Component:
    return rx.table.cell(value, justify="end", style=NUMERIC)


def _balance_row(row: BalanceItem, index: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.el.button(
                row.sku, type="button", on_click=S.open_variant(row.variant_id),
                aria_label=row.open_label,
                title="Open the variant: facts, balances, reservations and history",
                style={**grid.LINK_BUTTON, **MONO},
            ),
            style=grid.sticky("start"), white_space="nowrap",
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(row.product, size="2", weight="medium", white_space="nowrap"),
                muted(row.style_code + " · " + row.brand, white_space="nowrap"),
                spacing="0",
            ),
        ),
        rx.table.cell(row.colour, white_space="nowrap"),
        rx.table.cell(row.size, white_space="nowrap"),
        rx.foreach(
            row.cells,
            lambda cell, col: rx.table.cell(
                rx.cond(S.bulk_on, bulk_cell(cell, index, col), _stock_number(cell)),
                justify="end", style=NUMERIC, white_space="nowrap",
                font_weight=rx.cond(cell.state == "ok", "400", "500"),
            ),
        ),
        grid.total_cell(row.available, row.state),
        _number(row.on_hand),
        _number(row.reserved),
        _number(row.incoming),
        align="center", data_testid="balance-row", data_sku=row.sku,
    )


def _group_header(label: str | rx.Var, **props: Any) -> rx.Component:
    return rx.table.column_header_cell(
        label,
        style={**HEADER, "font_size": "12px", "text_transform": "uppercase"},
        **props,
    )


def _warehouse_header(column: Column) -> rx.Component:
    return rx.table.column_header_cell(
        rx.text(
            column.code,
            title=column.name + rx.cond(S.bulk_on, " — on hand", " — available units"),
        ),
        justify="end", style=HEADER,
    )


def balances_table() -> rx.Component:
    return grid.grid_table(
        header=rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(
                    " ",
                    style={**HEADER, **grid.sticky("start", head=True)},
                ),
                rx.table.column_header_cell(" ", col_span=3, style=HEADER),
                _group_header(
                    rx.cond(S.bulk_on, "On hand by warehouse", "Available by warehouse"),
                    col_span=S.columns.length(), justify="end",
                ),
                _group_header("Total", col_span=4, justify="end", border_left=grid.RULE),
            ),
            rx.table.row(
                grid.sort_header("SKU", "sku", pin="start"),
                grid.sort_header("Product", "product"),
                grid.sort_header("Colour", "colour"),
                grid.sort_header("Size", "size"),
                rx.foreach(S.columns, _warehouse_header),
                grid.sort_header("Available", "available", numeric=True, pin="end"),
                grid.sort_header("On hand", "on_hand", numeric=True),
                grid.sort_header("Reserved", "reserved", numeric=True),
                grid.sort_header("Incoming", "incoming", numeric=True),
            ),
        ),
        body=rx.foreach(S.rows, _balance_row), test_id="balances-table",
    )
