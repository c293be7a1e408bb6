"""The stock grid's bulk-edit mode: the toggle, the on-hand inputs that replace the
balances view's numbers, the bar above the grid (what changed, conflicts after a save),
the review dialog (before → after, one reason) and the leave confirmation.

The keyboard (arrows, Enter), the pasted block and the leave warning are
`states/stock_bulk.js`, sent by the state when bulk edit is turned on."""

from __future__ import annotations

import reflex as rx

from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline
from dashboard.components.dialogs import scrolling
from dashboard.components.figures import NUMERIC
from dashboard.states.stock import REASON_CHOICES, BulkLine, StockCell, StockState

S = StockState

_MARK_BORDER = {
    "changed": rx.color("accent", 9),
    "invalid": rx.color("red", 9),
    "conflict": rx.color("amber", 9),
    "saved": rx.color("grass", 9),
}
_MARK_FILL = {
    "changed": rx.color("accent", 3),
    "invalid": rx.color("red", 3),
    "conflict": rx.color("amber", 4),
    "saved": rx.color("grass", 3),
}


def _by_mark(mark: rx.Var, palette: dict[str, str], other: str) -> rx.Var:
    return rx.match(mark, *palette.items(), other)


def bulk_toggle() -> rx.Component:
    """ "Bulk edit" beside the export, for those who may correct counts (balances view)."""
    return rx.cond(
        S.can_edit & (S.view == "balances"),
        button(
            rx.cond(S.bulk_on, "Leave bulk edit", "Bulk edit"), "square-pen",
            on_click=S.toggle_bulk, size="2", icon_size=15,
            variant=rx.cond(S.bulk_on, "solid", "soft"),
            title="Edit many on-hand counts with the keyboard or a pasted column",
            aria_pressed=S.bulk_on, data_testid="bulk-toggle",
        ),
    )


def bulk_cell(item: StockCell, row: rx.Var, col: rx.Var) -> rx.Component:
    """A cell's on hand as an input; marked when changed, invalid, conflicting or saved.
    Keyed by its on hand, so a new figure from elsewhere remounts it (keeping what was
    typed, from `bulk_text`)."""
    mark = S.bulk_marks.get(item.key, "")
    return rx.el.input(
        default_value=S.bulk_text.get(item.key, item.on_hand.to_string()),
        key=item.key + "@" + item.on_hand.to_string(),
        on_change=lambda value: S.type_cell(item.key, value),
        type="text", input_mode="numeric", auto_complete="off", spell_check=False,
        aria_label=item.count_label, aria_invalid=mark == "invalid",
        title=S.bulk_tips.get(item.key, item.hint),
        data_bulk_row=row, data_bulk_col=col, data_bulk_key=item.key, data_mark=mark,
        data_testid="bulk-cell",
        style={
            **NUMERIC,
            "width": "64px",
            "text_align": "right",
            "padding": "2px 6px",
            "font": "inherit",
            "color": rx.color("gray", 12),
            "border_radius": "var(--radius-2)",
            "border": "1px solid",
            "border_color": _by_mark(mark, _MARK_BORDER, rx.color("gray", 7)),
            "background": _by_mark(mark, _MARK_FILL, rx.color("gray", 1)),
            "_focus": {"outline": f"2px solid {rx.color('accent', 8)}", "outline_offset": "1px"},
        },
    )


def _conflict_line(item: BulkLine) -> rx.Component:
    return rx.list_item(
        rx.text(item["sku"], as_="span", style=ui.SKU), " at ",
        rx.text(item["warehouse"], as_="span", weight="medium"), ": ", item["why"],
        font_size="var(--font-size-2)", data_testid="bulk-conflict",
    )


def _paste_box() -> rx.Component:
    """Where `stock_bulk.js` puts a pasted block (JSON) for the state: never shown."""
    return rx.el.input(
        on_change=S.paste_cells,
        type="text", hidden=True, aria_hidden="true", tab_index=-1, auto_complete="off",
        data_bulk_paste="",
    )


def bulk_bar() -> rx.Component:
    """What bulk edit is doing: how to use it, what changed, Review, and the conflicts
    of the last save. Its `data-bulk-unsaved` is what the leave warning reads."""
    conflicts = rx.callout.root(
        rx.callout.icon(rx.icon("triangle-alert", size=16)),
        column(
            rx.callout.text(
                "Not saved: these counts changed while you were editing. They keep what you "
                "typed; check the figures and review again to save them.",
                weight="medium",
            ),
            rx.list.unordered(rx.foreach(S.bulk_conflicts, _conflict_line), margin="0"),
            gap="1",
        ),
        color_scheme="amber", size="1", width="100%", data_testid="bulk-conflicts",
    )
    return rx.cond(
        S.bulk_on,
        column(
            inline(
                rx.icon("square-pen", size=16, color=rx.color("accent", 11)),
                rx.text("Bulk edit", size="2", weight="bold"),
                ui.muted("·", size="2"),
                rx.text(S.bulk_summary, size="2", style=NUMERIC, data_testid="bulk-summary"),
                rx.spacer(),
                button(
                    S.bulk_review_label, "list-checks",
                    on_click=S.open_review, disabled=S.bulk_count == 0, size="2",
                    data_testid="bulk-review",
                ),
                width="100%", gap="3",
            ),
            ui.muted(
                "Type on-hand counts. Arrows and Enter move between cells; paste cells "
                "from a spreadsheet to fill right and down from the cell.",
                size="2", margin_top="-6px",
            ),
            _paste_box(),
            rx.cond(S.bulk_conflicts.length() > 0, conflicts),
            padding="10px 12px", border_radius="var(--radius-3)",
            border=f"1px solid {rx.color('accent', 6)}", background=rx.color("accent", 2),
            data_testid="bulk-bar", data_bulk_unsaved=S.bulk_count + S.bulk_invalid,
        ),
    )


def _change_row(change: BulkLine) -> rx.Component:
    return rx.table.row(
        ui.cell(rx.text(change["sku"], style=ui.SKU)),
        ui.cell(change["warehouse"]),
        ui.number_cell(change["before"]),
        ui.number_cell(change["after"]),
        data_testid="bulk-change",
    )


def review_dialog() -> rx.Component:
    return ui.form_dialog(
        scrolling(
            ui.table(
                *ui.headers("SKU", "Warehouse", "Before", "After", right=("Before", "After")),
                body=rx.foreach(S.bulk_changes, _change_row), test_id="bulk-changes",
            ),
            "280px",
        ),
        ui.select_field(
            "Reason", "bulk-reason", REASON_CHOICES, name="reason", default_value="count",
        ),
        ui.text_field(
            "Note", "bulk-note", name="note", placeholder="Optional: what you counted, where",
            auto_complete="off", hint="Saved on every changed count's ledger row.",
        ),
        title="Review changes",
        description="The on-hand counts below are saved as one batch with one reason. A "
        "count someone else changed since you saw it is not overwritten: it comes back as a "
        "conflict, and the rest are saved.",
        on_submit=S.save_bulk, submit_label="Save counts", test_id="bulk-review-dialog",
        max_width="560px", **ui.dialog_wiring(S, "review"),
    )


def leave_dialog() -> rx.Component:
    return ui.confirm_dialog(
        title="Leave bulk edit?",
        description=f"Your edits are not saved ({S.bulk_summary}). Leaving bulk edit "
        "discards them.",
        confirm_label="Discard edits",
        on_confirm=S.discard_bulk, test_id="bulk-leave-dialog", **ui.dialog_wiring(S, "leave"),
    )


def bulk_parts() -> rx.Component:
    """The review and leave dialogs, once on the page."""
    return rx.fragment(review_dialog(), leave_dialog())
