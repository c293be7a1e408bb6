"""Analytics: what sells, what sits. One filter bar (in the URL) for every chart."""

from __future__ import annotations

import reflex as rx

from dashboard.components.charts import chart_card, filter_bar, filter_status, segmented
from dashboard.components.layout import app_shell
from dashboard.states.analytics import ROUTE, SLOW_DAYS, AnalyticsState
from dashboard.states.analytics_filters import PERIOD_CHOICES
from dashboard.states.auth import AuthState

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
}


def _card(key: str, controls: rx.Component | None = None) -> rx.Component:
    return chart_card(
        S.charts[key],
        test_id=f"chart-{key.replace('_', '-')}",
        description=DESCRIPTIONS[key],
        loading=S.loading,
        on_page=S.table_page,
        on_export=S.export_csv,
        controls=controls,
    )


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
            S.set_level,
            "Velocity per",
        ),
        segmented(
            S.window,
            [("7", "7 d"), ("28", "28 d"), ("90", "90 d")],
            S.set_window,
            "Velocity window",
        ),
        spacing="2",
        wrap="wrap",
    )


def _history_controls() -> rx.Component:
    return segmented(
        S.history_by,
        [("total", "Total"), ("brand", "Per brand"), ("warehouse", "Per warehouse")],
        S.set_history_by,
        "Stock history series",
    )


def _pair(left: rx.Component, right: rx.Component) -> rx.Component:
    return rx.grid(
        left, right, columns=rx.breakpoints(initial="1", lg="2"), spacing="4", width="100%"
    )


def _refused() -> rx.Component:
    return rx.callout(
        rx.vstack(
            rx.text(S.refusal, weight="medium"),
            rx.text("Nothing was read. The figures you may see are one click away.", size="2"),
            rx.link("Show my brand's figures", href=ROUTE, size="2", weight="medium"),
            spacing="1",
        ),
        icon="shield-alert",
        color_scheme="red",
        role="alert",
        width="100%",
        data_testid="analytics-refused",
    )


def _filter_problem() -> rx.Component:
    return rx.callout(
        rx.vstack(
            rx.text(S.filter_error, weight="medium"),
            rx.link("Clear the filters", href=ROUTE, size="2", weight="medium"),
            spacing="1",
        ),
        icon="circle-alert",
        color_scheme="amber",
        role="alert",
        width="100%",
        data_testid="analytics-filter-error",
    )


def _charts() -> rx.Component:
    return rx.vstack(
        _card("trend"),
        _card("velocity", _velocity_controls()),
        _pair(_card("movers_top"), _card("movers_bottom")),
        _pair(_card("cover"), _card("sell_through")),
        _pair(_card("slow"), _card("ageing")),
        _pair(_card("size_curve"), _card("history", _history_controls())),
        spacing="4",
        width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        filter_bar(S, periods=PERIOD_CHOICES, vendor_brand=AuthState.brand_name),
        filter_status(S),
        rx.cond(
            S.load_error != "",
            rx.callout(
                S.load_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"
            ),
        ),
        rx.cond(
            S.refusal != "",
            _refused(),
            rx.cond(S.filter_error != "", _filter_problem(), _charts()),
        ),
        spacing="3",
        width="100%",
    )


def analytics_page() -> rx.Component:
    return app_shell(
        _content(),
        title=TITLE,
        route=ROUTE,
        description="Sales velocity, cover, sell-through, slow movers, ageing, size curves "
        "and stock history. Every chart has a table view and a CSV export.",
    )


ON_LOAD = [AuthState.require_login, S.load]
