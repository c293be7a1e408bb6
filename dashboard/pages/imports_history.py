"""Imports, the history: every import (applied, refused or failed) with its counts, paged
in the URL, and a past import's errors in a dialog."""

from __future__ import annotations

import reflex as rx

from dashboard.components import figures
from dashboard.components.admin import cell, confirm_dialog, header, muted
from dashboard.components.blocks import button, column, inline
from dashboard.components.dialogs import close_button, dialog_footer, scrolling, view_dialog
from dashboard.components.lists import list_view
from dashboard.components.uploads import error_table
from dashboard.pages.imports_flow import SECTION
from dashboard.states.imports import ImportsState
from dashboard.states.imports_history import HistoryItem

S = ImportsState


def _status_badge(item: HistoryItem) -> rx.Component:
    return rx.badge(
        item.status_label,
        color_scheme=rx.match(
            item.status,
            ("applied", "green"),
            ("refused", "amber"),
            ("failed", "red"),
            "gray",
        ),
        variant="soft", size="1",
    )


def _number(value: rx.Var | rx.Component) -> rx.Component:
    return figures.numeric_cell(value, vertical_align="middle")


def _errors_link(item: HistoryItem) -> rx.Component:
    return rx.cond(
        item.has_errors,
        figures.action_link(
            item.errors, on_click=S.open_run_errors(item.id), color_scheme="red",
            title="See the errors",
            aria_label="See the errors of import " + item.id.to_string(),
        ),
        rx.text("0", color=rx.color("gray", 10)),
    )


def _row(item: HistoryItem) -> rx.Component:
    return rx.table.row(
        cell(figures.moment(item.when)),
        cell(
            rx.vstack(
                rx.text(item.file_name, size="2", weight="medium", word_break="break-all"),
                muted(item.format_label),
                spacing="0",
            )
        ),
        rx.cond(~S.is_vendor, cell(rx.text(item.brand_code, size="2"))),
        cell(rx.text(item.actor, size="2", word_break="break-all")),
        _number(item.rows),
        _number(item.new_variants),
        _number(item.changed),
        _number(_errors_link(item)),
        cell(
            inline(
                rx.cond(
                    item.can_revert & S.can_revert,
                    button(
                        "Revert", "undo-2",
                        on_click=S.open_revert(item.id), variant="soft", color_scheme="gray",
                        size="1", aria_label="Revert import " + item.id.to_string(),
                        data_testid="revert-button",
                    ),
                ),
                rx.tooltip(_status_badge(item), content=item.message),
                justify="end", gap="2",
            ),
            justify="end",
        ),
        data_testid="history-row",
    )


def history() -> rx.Component:
    """The heading with the count, then the list with its pager."""
    return column(
        rx.hstack(
            rx.heading("History", as_="h2", style=SECTION),
            muted(S.history_summary, size="2", data_testid="history-summary"),
            align="baseline", spacing="3",
        ),
        list_view(
            columns=[
                header("When"),
                header("File", width="26%"),
                rx.cond(~S.is_vendor, header("Brand")),
                header("Who"),
                figures.numeric_header("Rows"),
                figures.numeric_header("New variants"),
                figures.numeric_header("Changed"),
                figures.numeric_header("Errors"),
                header("Status", justify="end"),
            ],
            rows=S.history, row=_row, loaded=S.loaded, error=S.history_error,
            empty=figures.empty_state(
                "history", "No imports yet",
                rx.cond(
                    S.can_import,
                    "Upload a CSV above and run the dry run; every apply (and every "
                    "refused attempt) is listed here.",
                    "Imports appear here once brands or merchandisers apply their feeds.",
                ),
            ),
            test_id="history-table", paging=S,
        ),
        padding_top="8px",
    )


def run_errors_dialog() -> rx.Component:
    """A past import's errors (the first ones; the CSV has all)."""
    return view_dialog(
        S, "run-errors",
        muted(S.run_errors_note, padding_y="10px"),
        scrolling(error_table(S.run_errors, "run-error-table"), "50vh"),
        title=rx.dialog.title(S.run_title, size="4"),
        description=rx.dialog.description(S.run_message, size="2", color_scheme="gray"),
        footer=dialog_footer(
            button(
                "Download errors (CSV)", "download", on_click=S.download_run_errors,
                variant="soft",
            ),
            close_button("Close", variant="soft", color_scheme="gray"),
            padding_top="14px",
        ),
        width="820px", test_id="run-errors-dialog",
    )


def revert_dialog() -> rx.Component:
    """Are you sure? Reverting puts back every balance the import set and the product
    attributes it changed (or is refused, naming what moved since)."""
    return confirm_dialog(
        title=S.revert_title,
        description=(
            "Every on-hand count this import set goes back to what it was before, with "
            "compensating ledger rows, and so do the product attributes (tags, fabric…) it "
            "changed. If any of them has changed since, nothing is reverted and they are "
            "listed. Products and variants it created stay."
        ),
        confirm_label="Revert import",
        open=S.dialog == "revert", on_open_change=S.on_dialog_change,
        on_confirm=S.confirm_revert, saving=S.saving, error=S.form_error,
        test_id="revert-dialog",
    )
