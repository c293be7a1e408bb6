"""Analytics: what sells, what sits. One filter bar (in the URL) for every chart."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.blocks import column
from dashboard.components.charts import chart_panel, panels_page, segmented
from dashboard.components.layout import app_shell
from dashboard.registry import Nav, page
from dashboard.states.analytics import CHART_STATES, ROUTE, SLOW_DAYS, AnalyticsState

TITLE = "Analytics"
S = AnalyticsState

DESCRIPTIONS = {
    "trend": "Net units sold per day (returns taken off), the 7-day moving average, and "
    "the same weeks last year (52 weeks earlier, so weekdays line up).",
    "velocity": "Units sold per day over the last 7, 28 and 90 days to the period's end; "
    "the chart shows the 20 fastest.",
    "movers_top": "Products selling the most units in the period, beside the same number "
    "of days just before.",
    "movers_bottom": "Products with stock available that sold least in the period.",
    "cover": "Weeks the available units last at the last 28 days' selling rate; "
    "the 20 shortest. Nothing sold: no end in sight (—).",
    "sell_through": "Units sold ÷ (units sold + units on hand), per product, over the period.",
    "slow": f"Variants with units on hand and no net sales in the last {SLOW_DAYS} days, "
    "most stock first.",
    "ageing": "Units on hand by days since they were last received or transferred in.",
    "size_curve": "Each size's share of the units sold beside its share of the units on "
    "hand. Stock share above sales share: over-bought.",
    "history": "Units on hand per day, from the nightly stock snapshots.",
    "accuracy": "Per warehouse and week (by count day): the share of submitted count lines "
    "whose count equalled the expected (system) on hand when the sheet started. The table "
    "adds the share within the class's tolerance (applied without a manager).",
}


def _card(key: str, controls: rx.Component | None = None) -> rx.Component:
    return chart_panel(S, key, test_id=f"chart-{key.replace('_', '-')}",
                       description=DESCRIPTIONS[key], view=CHART_STATES[key].view,
                       controls=controls)


def _velocity_controls() -> rx.Component:
    return rx.hstack(
        segmented(
            S.level,
            [
                ("brand", "Brand"),
                ("product", "Product"),
                ("variant", "Variant"),
                ("warehouse", "Warehouse"),
            ],
            S.set_level, "Velocity per",
        ),
        segmented(
            S.window,
            [("7", "7 d"), ("28", "28 d"), ("90", "90 d")],
            S.set_window, "Velocity window",
        ),
        spacing="2", wrap="wrap",
    )


def _history_controls() -> rx.Component:
    return segmented(
        S.history_by,
        [("total", "Total"), ("brand", "Per brand"), ("warehouse", "Per warehouse")],
        S.set_history_by, "Stock history series",
    )


def _pair(left: rx.Component, right: rx.Component) -> rx.Component:
    return rx.grid(
        left, right, columns=rx.breakpoints(initial="1", lg="2"), spacing="4", width="100%",
    )


def _charts() -> rx.Component:
    return column(
        _card("trend"),
        _card("velocity", _velocity_controls()),
        _pair(_card("movers_top"), _card("movers_bottom")),
        _pair(_card("cover"), _card("sell_through")),
        _pair(_card("slow"), _card("ageing")),
        # Full width: every size system side by side needs it (waist sizes alone are 20).
        _card("size_curve"),
        _pair(_card("history", _history_controls()), _card("accuracy")),
        gap="4",
    )


@page(routes.ANALYTICS, TITLE, perm="analytics.read", load=S.load,
      nav=Nav("Analytics", "chart-line"), shell=False)
def analytics_page() -> rx.Component:
    return app_shell(
        panels_page(S, _charts(), route=ROUTE, test_prefix="analytics"),
        title=TITLE, route=ROUTE,
        description="Sales velocity, cover, sell-through, slow movers, ageing, size curves, "
        "stock history and count accuracy. Every chart has a table view and a CSV export.",
    )


