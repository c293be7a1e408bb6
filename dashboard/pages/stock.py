"""Stock (`/stock`): the merchandiser's grid — balances or size runs of one filter,
corrections with a reason, bulk edit, a variant's drawer, live refresh and CSV export.

The page is put together here; its parts live beside it: the filter bar and legend
(`stock_filters`), the two views (`stock_balances`, `stock_sizes`, sharing
`stock_table`), the correction dialog (`stock_correction`), bulk edit (`stock_bulk`) and
the variant drawer (`stock_drawer`).
"""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.figures import empty_state
from dashboard.components.filters import filtered_empty
from dashboard.components.layout import app_shell
from dashboard.pages.stock_balances import balances_table
from dashboard.pages.stock_bulk import bulk_bar, bulk_parts, bulk_toggle
from dashboard.pages.stock_correction import correction_dialog
from dashboard.pages.stock_drawer import variant_drawer
from dashboard.pages.stock_filters import filter_bar, summary_bar
from dashboard.pages.stock_sizes import sizes_table
from dashboard.pages.stock_table import pager
from dashboard.registry import Nav, page
from dashboard.states.stock import ROUTE, StockState

TITLE = "Stock"
S = StockState


def _empty() -> rx.Component:
    return filtered_empty(
        S,
        "No stock matches these filters",
        "Try a shorter search (part of a SKU, barcode or product name), another "
        "warehouse, or clear the filters.",
        empty_state(
            "package-open", "No variants to show yet",
            "Stock appears here once a brand's catalogue and counts arrive: upload a feed "
            "under Imports, or set up a brand sync.",
        ),
    )


def _grid() -> rx.Component:
    has_rows = rx.cond(S.view == "sizes", S.runs.length() > 0, S.rows.length() > 0)
    return rx.box(
        rx.cond(
            S.loaded,
            rx.cond(
                has_rows,
                column(rx.cond(S.view == "sizes", sizes_table(), balances_table()), pager()),
                _empty(),
            ),
            rx.center(rx.spinner(size="3"), padding_y="64px", width="100%"),
        ),
        opacity=rx.cond(S.loading & S.loaded, "0.6", "1"),
        transition="opacity 120ms", width="100%", data_testid="stock-grid",
        data_view_key=S.view_key,
    )


def _notes() -> rx.Component:
    return rx.cond(
        S.notes.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("info", size=16)),
            rx.vstack(
                rx.foreach(S.notes, lambda note: rx.text(note, size="2")),
                spacing="1",
            ),
            color_scheme="amber", size="1", width="100%", data_testid="grid-notes",
        ),
    )


# --- the page -------------------------------------------------------------------------------


def _export_button() -> rx.Component:
    return button(
        "Export CSV", "download", on_click=S.export_csv, loading=S.exporting, size="2",
        title="The filtered view, every page, as a CSV file",
        icon_size=15,
    )


@page(
    routes.STOCK, TITLE, perm="stock.read", load=S.load, nav=Nav("Stock", "package"), shell=False,
)
def stock_page() -> rx.Component:
    return app_shell(
        column(
            notice(S.load_error),
            _notes(),
            filter_bar(),
            summary_bar(),
            bulk_bar(),
            _grid(),
            correction_dialog(),
            bulk_parts(),
            variant_drawer(),
            gap="4",
        ),
        title=TITLE, route=ROUTE,
        description=rx.text(S.scope_label, size="2", color_scheme="gray"),
        action=inline(bulk_toggle(), _export_button()),
    )
