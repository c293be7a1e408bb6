"""Markdown suggestions: per style-colour, a suggested tier from age and cover, with the
sell-through it is expected to bring; filtered by brand and category (in the URL)."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline
from dashboard.components.charts import panels_page
from dashboard.components.figures import empty_state
from dashboard.components.filters import filtered_empty
from dashboard.components.lists import list_view
from dashboard.registry import Nav, page
from dashboard.states.markdowns import ROUTE, TABLE, MarkdownItem, MarkdownsState
from jobs.analytics import markdowns as md

TITLE = "Markdowns"
S = MarkdownsState
FIGURES = ("On hand", f"Sold in {md.DEFAULT_WEEKS} wk", "Weeks of cover", "Sell-through", "Age",
           "Projected")
RULES = "; ".join(f"{r.tier} % from {r.reason}" for r in md.RULES)
DESCRIPTION = (
    "A suggested markdown per style-colour from its age since first receipt and its weeks "
    f"of cover over the last {md.DEFAULT_WEEKS} weeks ({RULES}), with the sell-through it "
    f"is expected to bring (price elasticity {md.ELASTICITY:g})."
)


def _row(row: MarkdownItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            column(rx.text(row.product, size="2", weight="medium"), ui.muted(row.style), gap="0"),
            vertical_align="middle",
        ),
        ui.cell(rx.text(row.colour, size="2")),
        *ui.number_cells(row.on_hand, row.sold, row.cover, row.sell_through, row.age),
        ui.cell(rx.badge(row.tier, color_scheme=row.tier_colour, variant="soft", title=row.reason,
                      data_testid="tier")),
        ui.number_cell(row.projected),
        data_testid="markdown-row", data_key=row.key,
    )


def _list() -> rx.Component:
    return column(
        inline(
            rx.spacer(),
            button("Export CSV", "download", variant="soft", size="2",
                   on_click=S.export_csv(TABLE), disabled=S.total == 0,
                   data_testid="markdowns-export"),
            width="100%",
        ),
        list_view(
            columns=ui.headers("Product", "Colour", *FIGURES[:-1], "Markdown", FIGURES[-1],
                            right=FIGURES),
            rows=S.rows, row=_row, loaded=S.loaded, error=S.load_error,
            empty=filtered_empty(
                S, "No style-colour matches these filters", "Try another brand or category.",
                empty_state("tag", "Nothing in stock to mark down",
                            "Suggestions appear here for every style-colour with units on "
                            "hand, once stock has been received."),
            ),
            test_id="markdowns-table", paging=S,
        ),
    )


@page(routes.MARKDOWNS, TITLE, perm="markdowns.read", load=S.load,
      nav=Nav("Markdowns", "badge-percent"), description=DESCRIPTION)
def markdowns_page() -> rx.Component:
    return panels_page(S, _list(), route=ROUTE, test_prefix="markdowns", with_period=False)
