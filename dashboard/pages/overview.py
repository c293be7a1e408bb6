"""Overview: how much stock there is, in total, per brand and per warehouse, and the key
charts: units sold per day, open alerts, and what customers want that we don't stock."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.charts import chart_card
from dashboard.components.figures import (
    NUMERIC,
    empty_state,
    header_cell,
    numeric_cell,
    numeric_header,
    stat_card,
    stat_grid,
)
from dashboard.components.layout import app_shell
from dashboard.components.live import live_badge
from dashboard.registry import Nav, page
from dashboard.states.overview import FigureRow, GapItem, OverviewState

ROUTE = "/"
TITLE = "Overview"


def _stat_cards() -> rx.Component:
    total = OverviewState.total
    loading = OverviewState.loading & ~OverviewState.has_stock
    return stat_grid(
        stat_card(
            "Units on hand", total.on_hand,
            f"Across {OverviewState.variant_summary}",
            loading=loading, test_id="stat-on-hand",
        ),
        stat_card(
            "Available", total.available, "On hand minus reserved", loading=loading,
            test_id="stat-available",
        ),
        stat_card(
            "Reserved", total.reserved, "Held for open checkouts", loading=loading,
            test_id="stat-reserved",
        ),
        stat_card(
            "Incoming", total.incoming, "In transit to a warehouse", loading=loading,
            test_id="stat-incoming",
        ),
        stat_card(
            "Out-of-stock variants", total.out_of_stock, "Nothing available anywhere",
            loading=loading,
            color=rx.cond(total.has_out_of_stock, rx.color("red", 11), rx.color("gray", 12)),
            test_id="stat-out-of-stock",
        ),
    )


def _figure_row(row: FigureRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.label, weight="medium"),
        numeric_cell(row.on_hand),
        numeric_cell(row.reserved),
        numeric_cell(row.available),
        numeric_cell(row.incoming),
        numeric_cell(
            row.out_of_stock,
            color=rx.cond(row.has_out_of_stock, rx.color("red", 11), rx.color("gray", 10)),
        ),
    )


def _figure_table(title: str, first_column: str, rows: rx.Var, test_id: str) -> rx.Component:
    return column(
        rx.heading(title, as_="h2", size="3", weight="bold"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    header_cell(first_column, width="34%"),
                    numeric_header("On hand"),
                    numeric_header("Reserved"),
                    numeric_header("Available"),
                    numeric_header("Incoming"),
                    numeric_header("Out of stock"),
                )
            ),
            rx.table.body(rx.foreach(rows, _figure_row)),
            variant="surface", size="1", width="100%", data_testid=test_id,
        ),
        gap="2",
    )


def _gap(item: GapItem) -> rx.Component:
    return inline(
        rx.vstack(
            rx.text(item.label, size="2", weight="medium"),
            rx.text(
                item.signal,
                rx.cond(item.carried, " · none available", " · not carried"),
                size="1", color_scheme="gray",
            ),
            spacing="0", min_width="0", flex="1",
        ),
        rx.badge(item.votes, variant="soft", size="1", style=NUMERIC),
        width="100%", title=item.question, data_testid="overview-gap", gap="3",
    )


def _gaps() -> rx.Component:
    return rx.card(
        column(
            rx.hstack(
                rx.heading("Top gaps: wanted but not stocked", as_="h2", size="3", weight="bold"),
                rx.spacer(),
                rx.link("Demand", href="/demand", size="2", weight="medium"),
                align="center", width="100%",
            ),
            rx.text(OverviewState.gap_summary, size="1", color_scheme="gray"),
            rx.skeleton(
                # Skeleton hands its props to its one child: a box, not cond's Fragment
                # (React refuses aria-hidden on a Fragment).
                rx.box(
                    rx.cond(
                        OverviewState.gaps.length() > 0,
                        column(rx.foreach(OverviewState.gaps, _gap), padding_top="4px"),
                        rx.text(
                            "Nothing customers voted for is missing. Polls on the Demand page "
                            "tell you what they ask for.",
                            size="2", color_scheme="gray",
                        ),
                    ),
                    width="100%",
                ),
                loading=OverviewState.key_charts_loading,
            ),
            gap="2",
        ),
        width="100%", data_testid="overview-gaps",
    )


def _alerts_card() -> rx.Component:
    return stat_card(
        "Open alerts", OverviewState.open_alerts,
        "Low stock, out of stock, broken size runs",
        loading=OverviewState.key_charts_loading,
        color=rx.cond(OverviewState.has_open_alerts, rx.color("red", 11), rx.color("gray", 12)),
        test_id="stat-open-alerts",
    )


def _key_charts() -> rx.Component:
    return column(
        notice(OverviewState.key_charts_error, tone="amber", role="alert"),
        rx.grid(
            rx.box(
                chart_card(
                    OverviewState.trend, test_id="overview-trend",
                    description="Units sold per day over the last 28 days, the 7-day "
                    "moving average and last year's. Analytics has the rest.",
                    loading=OverviewState.key_charts_loading,
                ),
                grid_column=rx.breakpoints(initial="span 1", md="span 2"),
                min_width="0",
            ),
            column(
                rx.cond(
                    OverviewState.is_vendor,
                    _alerts_card(),
                    rx.link(
                        _alerts_card(),
                        href="/alerts", underline="none", color="inherit", width="100%",
                        aria_label="Open alerts",
                    ),
                ),
                _gaps(),
                min_width="0",
            ),
            columns=rx.breakpoints(initial="1", md="3"), spacing="3", width="100%",
        ),
    )


def _no_stock() -> rx.Component:
    return empty_state(
        "package-open", "No stock recorded yet",
        "Figures appear here once goods are received into a warehouse "
        "or a brand's inventory feed is imported.",
        rx.text(OverviewState.empty_hint, size="2", color_scheme="gray"),
    )


def _content() -> rx.Component:
    return column(
        notice(OverviewState.load_error),
        rx.cond(
            OverviewState.has_stock | OverviewState.loading,
            column(
                _stat_cards(),
                _key_charts(),
                rx.cond(
                    OverviewState.has_stock,
                    column(
                        rx.cond(
                            ~OverviewState.is_vendor,
                            _figure_table(
                                "By brand", "Brand", OverviewState.by_brand, "table-by-brand",
                            ),
                        ),
                        _figure_table(
                            "By warehouse", "Warehouse", OverviewState.by_warehouse,
                            "table-by-warehouse",
                        ),
                        padding_top="12px", gap="6",
                    ),
                ),
                gap="5",
            ),
            _no_stock(),
        ),
        gap="4",
    )


def _description() -> rx.Component:
    return inline(
        rx.text(OverviewState.scope_description, size="2", color_scheme="gray"),
        rx.cond(
            OverviewState.live_label != "",
            live_badge(
                OverviewState.live_label,
                "the stock figures update by themselves when stock changes.",
            ),
        ),
        wrap="wrap", gap="3",
    )


def _refresh_button() -> rx.Component:
    return button(
        "Refresh", "refresh-cw", on_click=OverviewState.load, loading=OverviewState.loading,
        variant="soft", size="2",
    )


@page(routes.OVERVIEW, TITLE, perm="overview.read", load=OverviewState.load,
      nav=Nav("Overview", "layout-dashboard"), shell=False)
def overview_page() -> rx.Component:
    return app_shell(
        _content(),
        title=TITLE, route=ROUTE, description=_description(), action=_refresh_button(),
    )


