"""Demand: what customers ask for in polls, beside what we stock.

Polls (create, open/close, embed snippet, CSV upload of a survey export), the selected
poll's votes over time, demand against stock, and "wanted but not stocked".
"""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.charts import chart_panel, panels_page, segmented
from dashboard.components.dialogs import close_button, dialog_footer, view_dialog
from dashboard.components.figures import action_link, empty_state, moment
from dashboard.components.layout import app_shell
from dashboard.components.uploads import error_table
from dashboard.registry import Nav, page
from dashboard.states.demand import ROUTE, SIGNAL_KINDS, DemandState, PollItem

TITLE = "Demand"
S = DemandState
_DESCRIPTION = {"font_size": "14px", "line_height": "20px", "color": rx.color("gray", 11)}


# --- polls ------------------------------------------------------------------------------------


def _poll_actions(item: PollItem) -> rx.Component:
    return ui.row_menu(
        "Actions for " + item.question,
        ui.menu_action("chart-line", "Show votes over time", S.select_poll(item.id)),
        ui.menu_action("code", "Embed on a storefront…", S.open_embed(item.id)),
        ui.menu_action(
            "file-up", "Upload survey CSV…", S.open_upload(item.id), disabled=~item.is_open
        ),
        rx.menu.separator(),
        rx.cond(
            item.is_open,
            ui.menu_action("lock", "Close poll", S.set_status(item.id, "closed")),
            ui.menu_action("lock-open", "Reopen poll", S.set_status(item.id, "open")),
        ),
    )


def _poll_row(item: PollItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                action_link(
                    item.question, on_click=S.select_poll(item.id), size="2", weight="medium",
                    underline="hover",
                    color_scheme=rx.cond(item.selected, "indigo", "gray"),
                    high_contrast=~item.selected,
                ),
                ui.muted(item.options),
                spacing="0",
            ),
            vertical_align="middle",
        ),
        ui.cell(rx.text(item.brand, size="2")),
        ui.cell(ui.active_badge(item.is_open, "Open", "Closed")),
        rx.table.cell(
            item.votes, justify="end", vertical_align="middle",
            style={"font_variant_numeric": "tabular-nums"},
            data_testid="poll-votes",
        ),
        ui.cell(moment(item.created)),
        ui.cell(_poll_actions(item), justify="end", width="48px"),
        background=rx.cond(item.selected, rx.color("accent", 2), "transparent"),
        data_testid="poll-row",
    )


def _polls() -> rx.Component:
    return rx.cond(
        S.polls.length() > 0,
        ui.table(
            *ui.headers(
                "Poll", "Brand", "Status", "Votes", "Created", "", right=("Votes",),
                widths={"Poll": "46%", "": "48px"},
            ),
            body=rx.foreach(S.polls, _poll_row), test_id="polls-table",
        ),
        rx.cond(
            S.loaded,
            empty_state(
                "vote", "No polls yet",
                "Ask customers what they want: create a poll with New poll (or POST "
                "/api/v1/polls), put it on the storefront with its embed snippet, or "
                "upload a survey tool's CSV export.",
                button("New poll", "plus", on_click=S.open_create, variant="soft", size="2"),
            ),
            rx.center(rx.spinner(size="3"), padding_y="32px", width="100%"),
        ),
    )


# --- charts -----------------------------------------------------------------------------------


def _card(key: str, description: str, **props) -> rx.Component:
    return chart_panel(S, key, test_id=f"demand-{key}", description=description, **props)


def _charts() -> rx.Component:
    return column(
        _card(
            "votes",
            "Each answer's share of the day's (or week's) votes, so busy and quiet days "
            "compare. Hover for the number of votes.",
            controls=segmented(
                S.bucket,
                [("day", "Per day"), ("week", "Per week")],
                S.set_bucket, "Votes per",
            ),
        ),
        _card(
            "demand",
            "Votes for each answer beside the available units (and selling rate) of the "
            "styles, sizes and colours it signals.",
        ),
        _card(
            "wanted",
            "Answers customers voted for with nothing available that matches; "
            "0 variants matched means we do not carry it at all.",
            table_only=True,
        ),
        gap="4",
    )


# --- dialogs ----------------------------------------------------------------------------------


def _option_row(slot: rx.Var, index: rx.Var) -> rx.Component:
    return inline(
        rx.text(index + 1, size="1", color_scheme="gray", width="16px", text_align="right"),
        rx.input(
            name="label_" + slot.to_string(), placeholder="Answer, e.g. Navy knit",
            aria_label="Answer " + (index + 1).to_string(),
            size="2", flex="2", auto_complete="off",
        ),
        rx.select.root(
            rx.select.trigger(
                aria_label="Signal of answer " + (index + 1).to_string(), width="120px"
            ),
            rx.select.content(
                *[rx.select.item(label, value=kind) for kind, label in SIGNAL_KINDS],
                position="popper",
            ),
            name="kind_" + slot.to_string(), default_value="none", size="2",
        ),
        rx.input(
            name="value_" + slot.to_string(), placeholder="e.g. M, Navy, SO-CREW",
            aria_label="Signal value of answer " + (index + 1).to_string(),
            size="2", flex="1", auto_complete="off",
        ),
        width="100%", data_testid="option-row",
    )


def _create_dialog() -> rx.Component:
    brand_field = rx.cond(
        S.is_vendor,
        rx.fragment(),
        ui.field(
            "Brand",
            rx.select.root(
                rx.select.trigger(id="poll-brand", width="100%"),
                rx.select.content(
                    rx.select.item("Across brands", value="all"),
                    rx.select.separator(),
                    rx.foreach(S.brand_choices, lambda c: rx.select.item(c.label, value=c.value)),
                    position="popper",
                ),
                name="brand", default_value="all", size="2",
            ),
            for_id="poll-brand",
            hint="A poll about one brand is visible to that brand's vendors too.",
        ),
    )
    return ui.form_dialog(
        ui.text_field(
            "Question", "poll-question", name="question", required=True, auto_focus=True,
            auto_complete="off", placeholder="Which size should we restock?",
        ),
        brand_field,
        column(
            rx.text("Answers", style={"font_size": "13px", "font_weight": "500"}),
            rx.foreach(S.option_slots, _option_row),
            rx.cond(
                S.can_add_option,
                button(
                    "Add answer", "plus", type="button", on_click=S.add_option_row,
                    variant="ghost", size="1",
                ),
            ),
            gap="2",
        ),
        title="New poll",
        description="Each answer can signal what choosing it asks for (a style code, a size, "
        "a colour, a category or a brand): that is how votes meet stock.",
        **ui.dialog_wiring(S, "create"),
        on_submit=S.create_poll, submit_label="Create poll", test_id="new-poll-dialog",
        max_width="640px",
    )


def _embed_body() -> rx.Component:
    return column(
        rx.text(
            "Paste this where the poll should appear, and list that site below:", size="2"
        ),
        ui.copy_box(S.embed_html, label="Embed snippet", test_id="embed-snippet"),
        inline(
            ui.muted("Public page:"),
            rx.link(
                S.embed_url, href=S.embed_url, is_external=True, size="1", data_testid="embed-url",
            ),
        ),
        rx.el.label(
            inline(
                rx.switch(checked=S.embed_published, on_change=S.set_published,
                          data_testid="embed-published"),
                rx.text("Published: the link takes votes while the poll is open", size="2"),
            ),
        ),
        ui.muted("Unpublished or closed, the link shows “not available”. Anyone with it can "
              "vote once; votes are capped per address per minute and per day."),
        _frame_origins_form(),
        gap="2",
    )


def _frame_origins_form() -> rx.Component:
    """The sites whose pages may show the poll in an iframe (none listed: no site may)."""
    return rx.form(
        column(
            rx.text("Sites that may show it in a frame", size="2", weight="medium"),
            rx.text_area(
                name="frame_origins", default_value=S.embed_origins, key=S.embed_origins,
                placeholder="https://shop.example.com", rows="3", width="100%",
                aria_label="Sites that may show it in a frame",
                data_testid="embed-origins",
            ),
            rx.hstack(
                ui.muted("One site a line: https://host or http://host:port, no path, no *. "
                      "None listed: no site may frame the poll."),
                rx.button("Save sites", type="submit", size="1", variant="soft",
                          data_testid="embed-origins-save"),
                justify="between", align="center", width="100%",
            ),
            gap="1",
        ),
        on_submit=S.save_frame_origins, reset_on_submit=False, width="100%", padding_top="8px",
    )


def _poll_dialog(name: str, title: str, body: rx.Component) -> rx.Component:
    """A dialog about one poll: `title`, the poll's name under it, and `body`."""
    return view_dialog(
        S, name,
        body,
        title=rx.dialog.title(title, size="4"),
        description=rx.dialog.description(
            S.target_label, style=_DESCRIPTION, margin_bottom="14px"
        ),
        width="600px", test_id=f"{name}-dialog",
    )


def _embed_dialog() -> rx.Component:
    return _poll_dialog("embed", "Embed the poll", _embed_body())


def _created_dialog() -> rx.Component:
    return _poll_dialog(
        "created", "Poll created",
        column(
            rx.text("Webhook secret", size="2", weight="medium"),
            rx.callout(
                "Copy it now: it is shown only this once. A survey tool signs its "
                "webhook calls to /api/v1/polls/{id}/responses with it.",
                icon="triangle-alert", color_scheme="amber", size="1",
            ),
            ui.copy_box(S.webhook_secret, label="Webhook secret", test_id="webhook-secret"),
            rx.separator(size="4", margin_y="8px"),
            rx.text("Embed on a storefront", size="2", weight="medium"),
            _embed_body(),
            gap="2",
        ),
    )


def _upload_dialog() -> rx.Component:
    return view_dialog(
        S, "upload",
        column(
            rx.upload.root(
                rx.vstack(
                    rx.icon("file-up", size=20, color=rx.color("gray", 10)),
                    rx.cond(
                        rx.selected_files("poll-csv").length() > 0,
                        rx.text(rx.selected_files("poll-csv")[0], size="2", weight="medium"),
                        rx.text("Drop the CSV here, or click to choose it", size="2"),
                    ),
                    align="center", spacing="1",
                ),
                id="poll-csv",
                accept={"text/csv": [".csv"], "text/plain": [".txt"]},
                max_files=1, multiple=False, border=f"1px dashed {rx.color('gray', 7)}",
                border_radius="var(--radius-3)", padding="20px", width="100%", cursor="pointer",
                data_testid="poll-csv-drop",
            ),
            notice(S.upload_message, icon="circle-alert", size="1", test_id="upload-message"),
            rx.cond(
                S.upload_errors.length() > 0,
                rx.box(
                    error_table(
                        S.upload_errors, "upload-error-table", reason="Problem",
                        row_test_id="upload-error-row",
                    ),
                    max_height="220px", overflow_y="auto", width="100%",
                    data_testid="upload-errors",
                ),
            ),
        ),
        title=rx.dialog.title("Upload survey answers", size="4"),
        description=rx.dialog.description(
            rx.text(
                "Into “", S.target_label,
                "”. A CSV export with a respondent column "
                "(respondent, participant id, response id…), an answer column "
                "(answer, option, choice) and optionally a date. Every row is "
                "recorded, or none: rows naming an unknown answer are listed.",
            ),
            style=_DESCRIPTION, margin_bottom="14px",
        ),
        footer=dialog_footer(
            close_button("Cancel", variant="soft", color_scheme="gray"),
            button(
                "Import votes", "upload",
                on_click=S.upload_csv(rx.upload_files_chunk(upload_id="poll-csv")),
                loading=S.saving,
            ),
        ),
        width="600px", test_id="upload-dialog",
    )


# --- page -------------------------------------------------------------------------------------


def _content() -> rx.Component:
    return rx.fragment(
        panels_page(
            S,
            column(rx.heading("Polls", as_="h2", size="3", weight="bold"), _polls(), _charts()),
            route=ROUTE, test_prefix="demand", with_category=False,
        ),
        _create_dialog(),
        _created_dialog(),
        _embed_dialog(),
        _upload_dialog(),
    )


@page(routes.DEMAND, TITLE, perm="demand.read", load=S.load, nav=Nav("Demand", "vote"),
      shell=False)
def demand_page() -> rx.Component:
    return app_shell(
        _content(),
        title=TITLE, route=ROUTE,
        description="What customers ask for in polls, beside what we have in stock.",
        action=button("New poll", "plus", on_click=S.open_create, size="2", icon_size=15),
    )


