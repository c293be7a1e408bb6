"""The alert inbox's pieces: filters and grouping, the rows with their checkboxes and
group headers, the bulk bar and the snooze dialog (the page itself: pages/alerts.py)."""

from __future__ import annotations

import reflex as rx

from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.figures import NUMERIC, empty_state, moment
from dashboard.components.filters import choice_items, clear_filters, filter_select, filtered_empty
from dashboard.components.lists import list_view
from dashboard.components.live import live_badge
from dashboard.states.alerts import (
    ANY,
    KIND_LABELS,
    RULES_ROUTE,
    VIEW_LABELS,
    AlertItem,
    AlertsState,
)

S = AlertsState


def picker(
    label: str,
    value: rx.Var,
    on_change,
    options: list[tuple[str, str]] | rx.Var,
    all_label: str,
    width: str = "170px",
) -> rx.Component:
    return filter_select(
        options if isinstance(options, list) else choice_items(options),
        all_label=all_label, all_value=ANY, value=value, on_change=on_change, aria_label=label,
        min_width=width,
    )


# --- rows ------------------------------------------------------------------------------------


def _alert_actions(item: AlertItem) -> rx.Component:
    return rx.hstack(
        rx.cond(
            item.can_ack,
            rx.button(
                "Acknowledge", on_click=S.acknowledge(item.id), size="1", variant="soft",
            ),
        ),
        rx.cond(
            ~item.resolved,
            rx.button(
                "Snooze…", on_click=S.open_snooze(item.id), size="1", variant="soft",
                color_scheme="gray",
            ),
        ),
        rx.cond(
            item.can_reopen,
            rx.button(
                "Reopen", on_click=S.reopen(item.id), size="1", variant="outline",
                color_scheme="gray",
            ),
        ),
        spacing="2", justify="end",
    )


def _group_header(item: AlertItem) -> rx.Component:
    """A group's header row: tick it to tick the group's alerts on this page."""
    return rx.table.row(
        ui.cell(
            rx.checkbox(
                checked=S.groups_selected[item.group_key],
                on_change=lambda checked: S.select_group(item.group_key, checked),
                aria_label="Select the alerts of " + item.group_label + " on this page",
            )
        ),
        rx.table.row_header_cell(
            inline(
                rx.text(item.group_label, size="2", weight="bold"),
                rx.badge(item.group_count, variant="soft", color_scheme="gray", size="1"),
            ),
            col_span=9, vertical_align="middle",
        ),
        background=rx.color("gray", 2), data_testid="alert-group", data_group=item.group_key,
    )


def _alert_row(item: AlertItem) -> rx.Component:
    return rx.fragment(rx.cond(item.group_start, _group_header(item)), _alert_line(item))


def _alert_line(item: AlertItem) -> rx.Component:
    return rx.table.row(
        ui.cell(
            rx.cond(
                item.resolved,
                rx.fragment(),
                rx.checkbox(
                    checked=S.selected.contains(item.id),
                    on_change=lambda checked: S.select_alert(item.id, checked),
                    aria_label="Select " + item.subject + " at " + item.warehouse,
                ),
            )
        ),
        ui.cell(rx.badge(item.kind_label, color_scheme=item.color, variant="soft", size="1")),
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(item.subject, size="2", weight="medium", style=ui.SKU),
                ui.muted(item.detail),
                spacing="0",
            ),
            vertical_align="middle",
        ),
        ui.cell(item.brand),
        ui.cell(rx.text(item.warehouse, weight="medium")),
        ui.number_cell(rx.cond(item.available != "", item.available, "—")),
        ui.number_cell(rx.cond(item.threshold != "", item.threshold, "—")),
        ui.cell(moment(item.since)),
        ui.cell(ui.muted(item.state_note, size="1")),
        ui.cell(_alert_actions(item), justify="end"),
        data_testid="alert-row", data_kind=item.kind, data_alert_id=item.id,
        data_selected=S.selected.contains(item.id).to_string(),
    )


def inbox_filters() -> rx.Component:
    return inline(
        picker("View", S.view, lambda v: S.set_filter("view", v), list(VIEW_LABELS.items()), ""),
        picker(
            "Kind", S.kind,
            lambda v: S.set_filter("kind", v),
            list(KIND_LABELS.items()),
            "All kinds",
        ),
        picker("Brand", S.brand, lambda v: S.set_filter("brand", v), S.brands, "All brands"),
        picker(
            "Warehouse", S.warehouse,
            lambda v: S.set_filter("warehouse", v),
            S.warehouses, "All warehouses",
        ),
        clear_filters(S),
        inline(
            rx.text("Group by", size="2", color_scheme="gray", as_="label"),
            filter_select(
                [("none", "None"), ("style", "Style"), ("warehouse", "Warehouse")],
                value=rx.cond(S.group == "", "none", S.group),
                on_change=lambda v: S.set_filter("group", v), aria_label="Group by",
                min_width="130px",
            ),
        ),
        rx.spacer(),
        ui.muted(S.summary, size="2", white_space="nowrap", data_testid="alerts-summary"),
        rx.cond(
            S.live_label != "",
            live_badge(S.live_label, "new alerts and changes show by themselves."),
        ),
        width="100%", wrap="wrap", gap="3",
    )


def _count_chip(label: str, value: rx.Var, color: str) -> rx.Component:
    return inline(
        rx.box(width="8px", height="8px", border_radius="50%", background=rx.color(color, 9)),
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size="1", weight="bold", style=NUMERIC),
        gap="1",
    )


def inbox_table() -> rx.Component:
    return list_view(
        columns=[
            rx.table.column_header_cell(
                rx.checkbox(
                    checked=S.page_selected, on_change=S.select_page,
                    aria_label="Select all alerts on this page",
                ),
                width="36px",
            ),
            *ui.headers(
                "Kind", "Subject", "Brand", "Warehouse", "Available", "Threshold", "Since",
                "State", "", right=("Available", "Threshold", ""),
            ),
        ],
        rows=S.alerts, row=_alert_row, loaded=S.loaded, error=S.load_error,
        empty=filtered_empty(
            S,
            "No alerts match these filters",
            "Try another kind, brand or warehouse, or clear the filters.",
            empty_state(
                "bell-off", "Nothing needs you right now",
                "Alerts appear when a watched size runs low or out, or a style's core sizes "
                "break. No alerts at all? Set a threshold under Rules.",
                rx.link("Set up rules", href=RULES_ROUTE, size="2", weight="medium"),
            ),
        ),
        test_id="alerts-table", paging=S,
    )


def snooze_dialog() -> rx.Component:
    return ui.form_dialog(
        ui.text_field(
            "Until", "snooze-until", name="until", type="date", default_value=S.snooze_default,
            key=S.snooze_default, required=True,
            hint="It comes back as open on that date (midnight UTC) if the stock is still low.",
        ),
        title="Snooze " + S.target_label,
        description="Hide it from the open inbox for a while.",
        **ui.dialog_wiring(S, "snooze"),
        on_submit=S.snooze, submit_label="Snooze", test_id="snooze-dialog",
    )


def bulk_bar() -> rx.Component:
    """Shown while alerts are ticked: how many, the bulk actions, and why the last failed."""
    return rx.cond(
        S.selected.length() > 0,
        column(
            inline(
                rx.text(S.selected_label, size="2", weight="bold", data_testid="bulk-count"),
                rx.text("·", color_scheme="gray"),
                button("Acknowledge", "check", on_click=S.bulk_acknowledge, size="1"),
                *[
                    rx.button(
                        f"Snooze 1 {span}",
                        on_click=S.bulk_snooze(days), size="1", variant="soft",
                        color_scheme="gray",
                    )
                    for span, days in (("day", 1), ("week", 7))
                ],
                rx.button(
                    "Clear", on_click=S.clear_selection, size="1", variant="ghost",
                    color_scheme="gray",
                ),
                wrap="wrap", gap="3",
            ),
            notice(S.bulk_error, size="1", width="auto", test_id="bulk-error"),
            padding="8px 12px", border_radius="6px", background=rx.color("accent", 3),
            role="region", aria_label="Bulk actions", aria_live="polite", data_testid="bulk-bar",
            gap="2",
        ),
    )


def inbox_counts() -> rx.Component:
    return inline(
        _count_chip("Open", S.counts["open"], "red"),
        _count_chip("Acknowledged", S.counts["acknowledged"], "blue"),
        _count_chip("Snoozed", S.counts["snoozed"], "gray"),
        rx.separator(orientation="vertical", size="1"),
        _count_chip("Low", S.counts["low_stock"], "amber"),
        _count_chip("Out", S.counts["out_of_stock"], "red"),
        _count_chip("Broken runs", S.counts["broken_size_run"], "purple"),
        gap="4",
    )
