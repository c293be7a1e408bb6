"""Syncs: which brand's stock is current and which is stale and why; run now, pause,
resume, and each connector's schedule; the recent runs with their errors."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.dialogs import close_button, dialog_footer, scrolling, view_dialog
from dashboard.components.figures import NUMERIC, action_link, empty_state, moment
from dashboard.components.lists import list_view, newer_older, page_nav
from dashboard.registry import Nav, page
from dashboard.states.syncs import (
    ALL_BRANDS,
    POLICY_CHOICES,
    BrandItem,
    RunItem,
    SampleItem,
    SyncsState,
)

TITLE = "Syncs"
S = SyncsState
CONNECTOR_COMMAND = (
    "rackroom connector set BRAND \\\n  --style json --url URL \\\n  --token - --every 15m"
)


def _status_badge(status: rx.Var, tone: rx.Var) -> rx.Component:
    return ui.badge(status, color=tone, text_transform="capitalize")


def _one_line(text: rx.Var, width: str, **props) -> rx.Component:
    """Small text cut to one line of at most `width`, with an ellipsis."""
    return rx.text(
        text, size="1", max_width=width, overflow="hidden", text_overflow="ellipsis",
        white_space="nowrap",
        **props,
    )


def _two_lines(top: rx.Component, below: rx.Component, **props) -> rx.Component:
    """A cell of a badge or figure with a small grey line under it."""
    return ui.cell(rx.vstack(top, below, spacing="1"), **props)


# --- the connectors --------------------------------------------------------------------------


def _brand_cell(item: BrandItem) -> rx.Component:
    return rx.table.row_header_cell(
        rx.vstack(
            inline(
                rx.text(item.name, size="2", weight="medium"),
                rx.badge(item.style, variant="outline", color_scheme="gray", size="1"),
            ),
            inline(
                ui.muted(item.code),
                ui.muted("·"),
                rx.tooltip(
                    _one_line(
                        item.url, "260px", color_scheme="gray",
                        style={**ui.MONO, "font_size": "12px"},
                    ),
                    content=item.url,
                ),
                gap="1",
            ),
            ui.muted(
                rx.cond(item.token_set, "token set", "no token"),
                data_testid="token-state",
            ),
            spacing="0",
        ),
        vertical_align="middle",
    )


def _schedule_cell(item: BrandItem) -> rx.Component:
    return _two_lines(
        rx.cond(
            item.paused,
            ui.badge("Paused", color="orange"),
            rx.text("Every " + item.every, size="2", white_space="nowrap"),
        ),
        ui.muted(item.policy_label, white_space="nowrap"),
        data_testid="schedule",
    )


def _freshness_cell(item: BrandItem) -> rx.Component:
    return _two_lines(
        ui.badge(item.freshness, color=item.freshness_tone, data_testid="freshness"),
        ui.muted(item.last_success.ago, title=item.last_success.exact, white_space="nowrap"),
    )


def _last_run_cell(item: BrandItem) -> rx.Component:
    return ui.cell(
        rx.vstack(
            inline(
                rx.cond(
                    item.running,
                    ui.badge(rx.spinner(size="1"), "Running", color="blue"),
                    rx.cond(
                        item.last_status != "",
                        _status_badge(item.last_status, item.last_status_tone),
                    ),
                ),
                rx.cond(
                    item.recent_failures > 0,
                    rx.text(
                        item.recent_failures.to_string() + " of the last 10 failed",
                        size="1", color=rx.color("red", 11), white_space="nowrap",
                    ),
                ),
            ),
            rx.cond(
                item.last_run_id > 0,
                action_link(
                    item.last_counts, on_click=S.open_run(item.last_run_id), size="1",
                    color_scheme="gray", style=NUMERIC, title="Open this run",
                ),
                ui.muted(item.last_counts),
            ),
            rx.cond(
                (item.last_status == "failed") & (item.last_message != ""),
                _one_line(
                    item.last_message, "300px", color=rx.color("red", 11), title=item.last_message,
                ),
            ),
            spacing="1",
        ),
        data_testid="last-run",
    )


def _actions(item: BrandItem) -> rx.Component:
    run_button = button(
        "Run now", "refresh-cw", on_click=S.run_now(item.code),
        loading=S.in_flight.contains(item.code) | item.running,
        variant="soft", size="1", aria_label="Run " + item.name + " now",
    )
    menu = ui.row_menu(
        "More for " + item.name,
        ui.menu_action("calendar-clock", "Edit schedule…", S.open_schedule(item.code)),
        rx.cond(
            item.paused,
            ui.menu_action("play", "Resume", S.resume(item.code)),
            ui.menu_action("pause", "Pause", S.pause(item.code)),
        ),
        title="More",
    )
    return ui.cell(
        inline(rx.cond(S.can_run, run_button), rx.cond(S.can_manage, menu), justify="end"),
        justify="end",
    )


def _brand_row(item: BrandItem) -> rx.Component:
    return rx.table.row(
        _brand_cell(item),
        _schedule_cell(item),
        _freshness_cell(item),
        ui.cell(ui.when(item.next_run, item.next_run_exact), data_testid="next-run"),
        _last_run_cell(item),
        _actions(item),
        data_testid="sync-row", data_brand=item.code,
    )


def _legend() -> rx.Component:
    def key(tone: str, label: str, meaning: str) -> rx.Component:
        return inline(ui.badge(label, color=tone), ui.muted(meaning), gap="1")

    return rx.hstack(
        key("green", "Fresh", "synced within its interval"),
        key("amber", "Late", "a run is overdue"),
        key("red", "Stale", "no success for two intervals, or never"),
        spacing="4", wrap="wrap", aria_label="What the colours mean",
    )


def _connectors() -> rx.Component:
    return column(
        ui.table(
            *ui.headers(
                "Brand and feed", "Schedule", "Freshness", "Next run", "Last run", "",
                widths={"Brand and feed": "30%", "": "150px"},
            ),
            body=rx.foreach(S.brands, _brand_row), test_id="syncs-table",
        ),
        _legend(),
    )


def _empty() -> rx.Component:
    return empty_state(
        "refresh-cw-off", "No brand connectors yet",
        "A connector tells Rackroom where a brand publishes its stock. Set one up from "
        "the command line, then its syncs show here:",
        rx.code_block(CONNECTOR_COMMAND, language="bash", width="100%", text_align="left"),
        "--token - reads the token from standard input; it is stored for the sync and "
        "never shown again. Use --style csv for a CSV file over HTTP, and "
        "rackroom connector demo to point the demo brands at the demo brand API.",
    )


# --- the runs -------------------------------------------------------------------------------


def _run_row(item: RunItem) -> rx.Component:
    return rx.table.row(
        ui.cell(
            action_link(
                "#" + item.id.to_string(),
                on_click=S.open_run(item.id), size="2", style=NUMERIC,
            )
        ),
        ui.cell(rx.text(item.brand, size="2", weight="medium")),
        ui.cell(
            inline(
                _status_badge(item.status, item.tone),
                rx.cond(
                    item.runs > 1,
                    ui.muted("× " + item.runs.to_string(), style=NUMERIC, data_testid="run-folded"),
                ),
                gap="1",
            ),
            data_testid="run-status",
        ),
        ui.cell(moment(item.started)),
        ui.cell(ui.muted(item.trigger, size="2")),
        ui.cell(rx.text(item.took, size="2", style=NUMERIC, white_space="nowrap"), justify="end"),
        ui.cell(
            rx.vstack(
                rx.text(item.counts, size="2", style=NUMERIC),
                rx.cond(
                    item.message != "",
                    rx.text(
                        item.message, size="1",
                        color_scheme=rx.cond(item.status == "failed", "red", "gray"),
                    ),
                ),
                spacing="0",
            ),
            data_testid="run-counts",
        ),
        ui.cell(
            rx.cond(
                item.error_count > 0,
                rx.button(
                    item.error_count.to_string() + " errors",
                    on_click=S.open_run(item.id), color_scheme="red", variant="ghost", size="1",
                ),
                ui.muted("—"),
            ),
            justify="end",
        ),
        data_testid="run-row",
    )


def _runs_filter() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Runs of brand", min_width="200px"),
        rx.select.content(
            rx.select.item("All brands", value=ALL_BRANDS),
            rx.select.separator(),
            rx.foreach(S.brand_choices, lambda c: rx.select.item(c[1], value=c[0])),
        ),
        value=S.brand_filter, on_change=S.filter_brand, size="2",
    )


def _runs_pager() -> rx.Component:
    return rx.cond(
        (S.runs_page > 1) | S.runs_more,
        page_nav(newer_older(
            ui.muted("Page " + S.runs_page.to_string(), style=NUMERIC),
            on_newer=S.newer_runs, newer_off=S.runs_page <= 1, on_older=S.older_runs,
            older_off=~S.runs_more,
        ), "Pages of runs"),
    )


def _runs() -> rx.Component:
    return column(
        rx.hstack(
            rx.heading("Recent runs", as_="h2", size="4"),
            rx.spacer(),
            rx.cond(~S.scoped, _runs_filter()),
            align="center", width="100%", padding_top="12px",
        ),
        list_view(
            columns=[
                *ui.headers(
                    "Run", "Brand", "Status", "Started", "Trigger", "Took", "What happened",
                    "Errors", right=("Took", "Errors"),
                    widths={"Run": "64px", "What happened": "40%"},
                ),
            ],
            rows=S.runs, row=_run_row, loaded=S.loaded, error=rx.Var.create(""),
            empty=empty_state(
                "history", "No runs yet",
                rx.cond(
                    S.brand_filter == ALL_BRANDS,
                    "Runs appear as the scheduler syncs each brand, or when you press Run now.",
                    "This brand has not been synced yet.",
                ),
            ),
            test_id="runs-table",
        ),
        _runs_pager(),
    )


# --- dialogs --------------------------------------------------------------------------------


def _sample_row(item: SampleItem) -> rx.Component:
    return rx.table.row(
        ui.cell(ui.muted(item.where, white_space="nowrap")),
        ui.cell(rx.text(item.sku, style=ui.SKU)),
        ui.cell(rx.text(item.location, size="2")),
        ui.cell(rx.text(item.detail, size="2")),
    )


def _run_dialog() -> rx.Component:
    return view_dialog(
        S, "run",
        rx.cond(
            S.run_message != "",
            rx.callout(S.run_message, icon="info", size="1", margin_bottom="12px"),
        ),
        rx.cond(
            S.run_samples.length() > 0,
            column(
                scrolling(
                    ui.table(
                        *ui.headers("Where", "SKU", "Location", "Problem"),
                        body=rx.foreach(S.run_samples, _sample_row), test_id="run-samples",
                    ),
                    "360px",
                ),
                ui.muted(S.run_more_errors),
                gap="2",
            ),
            ui.muted("No errors or conflicts in this run."),
        ),
        title=rx.dialog.title(S.run_title, size="4", text_transform="none"),
        description=rx.dialog.description(
            S.run_summary, size="2", color_scheme="gray", margin_bottom="12px",
        ),
        footer=dialog_footer(close_button("Close")), width="820px", test_id="run-dialog",
    )


def _schedule_dialog() -> rx.Component:
    return ui.form_dialog(
        ui.text_field(
            "Every", "sync-every", name="every", default_value=S.form_every, key=S.target_code,
            required=True, auto_focus=True, auto_complete="off", placeholder="15m",
            hint="Like 45s, 15m, 1h or 1h30m (from 5 s to 7 days).",
        ),
        ui.select_field(
            "When the brand and Rackroom disagree",
            "sync-policy", POLICY_CHOICES, name="policy", value=S.form_policy,
            on_change=S.set_form_policy,
            hint="Newest wins: the later change (feed timestamp or our correction) stands. "
            "Platform corrections win: the brand is the authority, except for counts "
            "corrected here after its last update.",
        ),
        title="Schedule of " + S.target_label,
        description="How often the brand's feed is read, and whose number wins a conflict.",
        **ui.dialog_wiring(S, "schedule"),
        on_submit=S.save_schedule, submit_label="Save schedule", test_id="schedule-dialog",
    )


# --- the page -------------------------------------------------------------------------------


def _vendor_empty() -> rx.Component:
    return empty_state(
        "refresh-cw-off",
        "Your brand's feed is not connected",
        "Rackroom reads your stock from your own feed once staff set up a connector for "
        "your brand. Until then your stock arrives through CSV imports and the API.",
    )


def _content() -> rx.Component:
    return column(
        notice(S.load_error),
        rx.hstack(
            rx.cond(
                S.brands.length() > 0,
                ui.muted(S.summary, size="2", data_testid="syncs-summary"),
            ),
            rx.spacer(),
            rx.cond(
                S.scoped,
                ui.muted(
                    "Your brand's feed, as Rackroom reads it. Staff run and schedule syncs.",
                    size="2",
                ),
                rx.cond(
                    ~S.can_run & S.loaded,
                    ui.muted("You can look; admins and merchandisers run syncs.", size="2"),
                ),
            ),
            width="100%",
        ),
        rx.cond(
            S.brands.length() > 0,
            rx.fragment(_connectors(), _runs()),
            rx.cond(
                S.loaded,
                rx.cond(S.scoped, _vendor_empty(), _empty()),
                ui.spinner_block(),
            ),
        ),
        _schedule_dialog(),
        _run_dialog(),
        gap="4",
    )


@page(
    routes.SYNCS, TITLE, perm="syncs.read", load=S.load, nav=Nav("Syncs", "refresh-cw"),
    description="Brand stock feeds: how current each brand is, and what every run did.",
    action=lambda: button(
        "Refresh", "rotate-cw", on_click=S.refresh, variant="soft", size="2", icon_size=15,
    ),
)
def syncs_page() -> rx.Component:
    return _content()
