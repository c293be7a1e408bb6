"""Admin › Audit log: every administrative change, newest first, filterable, exportable."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.admin_lists import admin_table
from dashboard.components.blocks import column, inline, notice
from dashboard.components.filters import clear_filters, filter_select, search_box
from dashboard.registry import Nav, page
from dashboard.states.admin_audit import ANY_ACTION, AdminAuditState, AuditItem

TITLE = "Audit log"
S = AdminAuditState


def _row(item: AuditItem) -> rx.Component:
    return rx.table.row(
        ui.cell(ui.when(item.when)),
        ui.cell(rx.text(item.actor, size="2")),
        ui.cell(rx.code(item.action, variant="ghost", style=ui.MONO)),
        rx.table.row_header_cell(rx.text(item.target, size="2"), vertical_align="middle"),
        ui.cell(rx.text(item.changes, size="2", color_scheme="gray"), max_width="420px"),
        data_testid="audit-row",
    )


def _date(name: str, label: str, value: rx.Var) -> rx.Component:
    return rx.el.label(
        ui.muted(label, as_="span"),
        rx.input(
            name=name, type="date", default_value=value, key=value, aria_label=f"{label} date",
            size="2",
        ),
        style={"display": "flex", "align_items": "center", "gap": "6px"},
    )


def _filters() -> rx.Component:
    return column(
        inline(
            filter_select(
                rx.foreach(S.actions, lambda a: rx.select.item(a, value=a)),
                all_label="All actions", all_value=ANY_ACTION, value=S.action_filter,
                on_change=S.filter_action, aria_label="Filter by action", min_width="200px",
            ),
            rx.form(
                inline(
                    search_box(
                        name="actor", value=S.actor_filter, icon="user",
                        placeholder="Who (email, api:key, cli)", aria_label="Filter by who",
                        width="240px",
                    ),
                    _date("since", "From", S.since),
                    _date("until", "To", S.until),
                    rx.button("Apply", type="submit", variant="soft", size="2"),
                    wrap="wrap", gap="3",
                ),
                on_submit=S.apply_filters, reset_on_submit=False, width="auto",
            ),
            clear_filters(S),
            wrap="wrap", width="100%", gap="3",
        ),
        notice(S.filter_error, size="1", width="auto"),
        gap="2",
    )


def _list() -> rx.Component:
    return admin_table(
        S, ("When", "Who", "Action", "Target", "What changed"), row=_row, test_id="audit-table",
        widths={"When": "120px"},
        empty=(
            "scroll-text", "Nothing recorded yet",
            "Changes to users, brands, warehouses, API keys, connectors, webhooks and "
            "alert rules appear here as they are made.",
        ),
        filtered=(
            "No entries match these filters",
            "Try another action, person or date range, or clear the filters.",
        ),
    )


@page(
    routes.ADMIN_AUDIT, TITLE, perm="admin.audit", load=S.load,
    nav=Nav("Audit log", "scroll-text", group="admin"),
    description="Who changed users, brands, warehouses, keys, connectors, webhooks and "
    "alert rules, and when. Entries are never edited or removed.",
    action=lambda: ui.primary_action("Export CSV", "download", S.export_csv),
)
def admin_audit_page() -> rx.Component:
    return rx.fragment(_filters(), _list())
