"""Alerts: the inbox, the rules editor (and what a SKU inherits), replenishment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline
from dashboard.components.figures import NUMERIC, empty_state, moment
from dashboard.components.filters import search_form
from dashboard.components.lists import list_view
from dashboard.pages.alerts_inbox import (
    bulk_bar,
    inbox_counts,
    inbox_filters,
    inbox_table,
    picker,
    snooze_dialog,
)
from dashboard.registry import Nav, Render, page
from dashboard.states.alerts import (
    ANY,
    LEVEL_LABELS,
    REPLENISH_ROUTE,
    ROUTE,
    RULES_ROUTE,
    AlertRulesState,
    AlertsState,
    InheritItem,
    ReplenishItem,
    ReplenishmentState,
    RuleItem,
)

TITLE = "Alerts"
S = AlertsState
R = AlertRulesState
Q = ReplenishmentState


def _section_tabs(active: str) -> rx.Component:
    def tab(label: str, href: str, icon: str) -> rx.Component:
        on = href == active
        return rx.link(
            rx.icon(icon, size=14),
            label, href=href, underline="none", aria_current="page" if on else None,
            style={
                "display": "inline-flex",
                "align_items": "center",
                "gap": "6px",
                "padding": "6px 12px",
                "font_size": "14px",
                "font_weight": "500",
                "color": rx.color("accent", 11) if on else rx.color("gray", 11),
                "border_bottom": f"2px solid {rx.color('accent', 9) if on else 'transparent'}",
            },
        )

    return rx.el.nav(
        rx.hstack(
            tab("Inbox", ROUTE, "inbox"),
            tab("Rules", RULES_ROUTE, "sliders-horizontal"),
            tab("Replenishment", REPLENISH_ROUTE, "shopping-cart"),
            spacing="1",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            width="100%",
        ),
        aria_label="Alert sections", width="100%",
    )


INHERITED = ("Threshold", "Reorder qty", "Lead time", "Target cover")
RULE_FIGURES = ("Low at ≤", "Reorder qty", "Lead time", "Target cover")
ORDER_FIGURES = (
    "Available",
    "Incoming",
    "Sells / wk",
    "Cover",
    "Low at ≤",
    "Min order",
    "Lead + cover",
    "Votes",
    "Order",
)


def _alerts_tab(
    route: str, title: str, **options: Any
) -> Callable[[Callable[[], list[rx.Component]]], Render]:
    """Register a page of the Alerts section (`page` with `options`): under the sidebar's
    Alerts entry, the section tabs (this one current) above what the decorated function
    returns."""

    def register(content: Callable[[], list[rx.Component]]) -> Render:
        def render() -> rx.Component:
            return column(_section_tabs(route), *content(), gap="4")

        render.__name__ = content.__name__
        return page(route, title, section=routes.ALERTS, **options)(render)

    return register


# --- inbox (its pieces: dashboard/pages/alerts_inbox.py) -----------------------------------


@_alerts_tab(
    ROUTE, TITLE, perm="alerts.read", load=S.load,
    nav=Nav("Alerts", "bell", count="alerts"),
    description="Low stock, out of stock and broken size runs, one per subject; they "
    "resolve themselves when the stock recovers.",
)
def alerts_page() -> list[rx.Component]:
    return [
        inbox_counts(),
        inbox_filters(),
        bulk_bar(),
        inbox_table(),
        snooze_dialog(),
    ]


# --- rules ------------------------------------------------------------------------------------


def _rule_row(item: RuleItem) -> rx.Component:
    return rx.table.row(
        ui.cell(rx.badge(item.level_label, variant="soft", color_scheme="gray", size="1")),
        rx.table.row_header_cell(rx.text(item.subject, size="2", weight="medium")),
        ui.cell(item.brand),
        ui.cell(item.warehouse),
        *ui.number_cells(item.threshold, item.reorder_qty, item.lead_time, item.cover),
        ui.cell(rx.vstack(ui.muted(item.updated_by), moment(item.updated), spacing="0")),
        ui.cell(
            rx.icon_button(
                rx.icon("trash-2", size=14),
                on_click=R.confirm_delete(item.id), variant="ghost", color_scheme="red", size="1",
                aria_label="Delete rule for " + item.subject,
            ),
            justify="end",
        ),
        data_testid="rule-row",
    )


def _inherit_row(item: InheritItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(item.warehouse, weight="medium")),
        *ui.number_cells(item.threshold, item.reorder_qty, item.lead_time, item.cover),
        ui.cell(
            rx.text(
                item.source, size="2",
                color=rx.cond(item.watched, rx.color("gray", 12), rx.color("gray", 10)),
            )
        ),
        data_testid="inherit-row",
    )


def _inherit_box() -> rx.Component:
    return rx.card(
        column(
            rx.heading("What does a SKU inherit?", as_="h2", size="3"),
            search_form(
                R.look_up, name="sku", value=R.sku,
                placeholder="SKU, alias or barcode, then Enter",
                aria_label="SKU to look up", width="320px",
            ),
            rx.cond(R.inherit_error != "", rx.text(R.inherit_error, color_scheme="red", size="2")),
            rx.cond(
                R.inherited.length() > 0,
                ui.table(
                    *ui.headers("Warehouse", *INHERITED, "Comes from", right=INHERITED),
                    body=rx.foreach(R.inherited, _inherit_row), test_id="inherit-table",
                ),
                ui.muted(
                    "The most specific rule wins, whole: variant, then product, then brand; at "
                    "each level a warehouse's own rule before the all-warehouses one.",
                    size="2",
                ),
            ),
        ),
        width="100%",
    )


def _rule_dialog() -> rx.Component:
    return ui.form_dialog(
        ui.select_field(
            "Level", "rule-level",
            list(LEVEL_LABELS.items()),
            name="level", value=R.form_level, on_change=R.set_form_level,
        ),
        ui.text_field(
            "Brand code, style code or SKU",
            "rule-subject", name="subject", default_value=R.form_subject, key=R.form_subject,
            required=True, auto_complete="off",
        ),
        ui.field(
            "Warehouse",
            rx.select.root(
                rx.select.trigger(id="rule-warehouse", width="100%"),
                rx.select.content(
                    rx.select.item("All warehouses", value=ANY),
                    rx.foreach(R.warehouses, lambda c: rx.select.item(c.label, value=c.value)),
                    position="popper",
                ),
                name="warehouse", value=R.form_warehouse, on_change=R.set_form_warehouse,
            ),
            for_id="rule-warehouse",
        ),
        rx.grid(
            ui.text_field(
                "Low at or below", "rule-threshold", name="threshold", type="number", min="0",
                required=True,
            ),
            ui.text_field(
                "Reorder qty (min)", "rule-reorder", name="reorder_qty", type="number", min="0",
                placeholder="0",
            ),
            ui.text_field(
                "Lead time (days)", "rule-lead", name="lead_time_days", type="number", min="0",
                placeholder="14",
            ),
            ui.text_field(
                "Target cover (days)", "rule-cover", name="target_cover_days", type="number",
                min="0", placeholder="28",
            ),
            columns="2", spacing="3", width="100%",
        ),
        title="Set a rule",
        description="Replaces the rule for the same level, subject and warehouse if there is one.",
        **ui.dialog_wiring(R, "rule"),
        on_submit=R.save_rule, submit_label="Save rule", test_id="rule-dialog",
    )


def _rules() -> rx.Component:
    return list_view(
        columns=ui.headers(
            "Level", "Subject", "Brand", "Warehouse",
            *RULE_FIGURES,
            "Changed", "", right=RULE_FIGURES,
        ),
        rows=R.rules, row=_rule_row, loaded=R.loaded, error=R.load_error,
        empty=empty_state(
            "sliders-horizontal", "No rules yet",
            "Nothing is watched until a rule says so. Start with a brand default "
            "(all warehouses), then refine a style or a SKU where it differs.",
        ),
        test_id="rules-table", paging=R,
    )


@_alerts_tab(
    RULES_ROUTE, "Alert rules", perm="alerts.read", load=R.load,
    description="Low-stock thresholds and reorder quantities per warehouse, set at brand, "
    "style or SKU level.",
    action=lambda: ui.primary_action("New rule", "plus", R.open_create),
)
def rules_page() -> list[rx.Component]:
    return [
        _inherit_box(),
        rx.hstack(
            picker("Brand", R.brand, R.filter_brand, R.brands, "All brands"),
            width="100%", align="center",
        ),
        _rules(),
        _rule_dialog(),
        ui.confirm_dialog(
            title="Delete this rule?",
            description="Its variants fall back to the next less specific rule, or are "
            "no longer watched.",
            confirm_label="Delete rule",
            **ui.dialog_wiring(R, "delete"),
            on_confirm=R.delete, test_id="delete-rule-dialog",
        ),
    ]


# --- replenishment ----------------------------------------------------------------------------


def _replenish_row(item: ReplenishItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(rx.text(item.sku, style=ui.SKU), ui.muted(item.variant), spacing="0")
        ),
        ui.cell(rx.badge(item.kind_label, color_scheme=item.color, variant="soft", size="1")),
        ui.cell(item.warehouse),
        *ui.number_cells(
            item.available, item.incoming, item.velocity, item.cover, item.threshold,
            item.reorder_qty, item.lead, item.votes,
        ),
        rx.table.cell(
            item.suggested, justify="end", style=NUMERIC, font_weight="700",
            vertical_align="middle",
            color=rx.cond(item.to_order, rx.color("accent", 11), rx.color("gray", 10)),
        ),
        data_testid="replenish-row",
    )


def _uplift_form() -> rx.Component:
    """Units per poll vote: Enter applies (the URL keeps it, so the CSV and a shared link
    order the same)."""
    return rx.form(
        inline(
            rx.el.label("Units per vote", html_for="per-vote", font_size="14px"),
            rx.input(
                id="per-vote", name="per_vote", default_value=Q.per_vote, key=Q.per_vote,
                placeholder="0", input_mode="decimal", width="72px", size="2",
                title="Units to order on top of sales for each customer-poll vote (0 to 10)",
            ),
            rx.button("Apply", type="submit", variant="soft", size="2"),
        ),
        on_submit=Q.apply_per_vote, reset_on_submit=False, width="auto",
        data_testid="uplift-form",
    )


@_alerts_tab(
    REPLENISH_ROUTE, "Replenishment", perm="replenishment.read", load=Q.load,
    description="What to reorder for alerted variants, per warehouse; a CSV purchase list "
    "per brand.",
)
def replenishment_page() -> list[rx.Component]:
    return [
        inline(
            picker("Brand", Q.brand, Q.filter_brand, Q.brands, "All brands"),
            button(
                "Purchase list (CSV)", "download", on_click=Q.download, variant="soft",
                disabled=Q.brand == ANY,
                title=rx.cond(Q.brand == ANY, "Pick a brand first", "Download the CSV"),
            ),
            _uplift_form(),
            rx.spacer(),
            ui.muted(Q.summary, size="2"),
            width="100%", gap="3", wrap="wrap",
        ),
        list_view(
            columns=ui.headers("SKU", "Alert", "Warehouse", *ORDER_FIGURES, right=ORDER_FIGURES),
            rows=Q.lines, row=_replenish_row, loaded=Q.loaded, error=Q.load_error,
            empty=empty_state(
                "shopping-cart", "Nothing to reorder",
                "Suggestions appear for variants with an open low- or out-of-stock alert.",
            ),
            test_id="replenish-table", paging=Q,
        ),
        ui.muted(
            "Order = max(sales per day × (lead time + target cover) + votes × units per "
            "vote, threshold + 1) − (available + incoming), at least the minimum order; 28 "
            "days of sales and of customer-poll votes.",
            size="1",
        ),
    ]
