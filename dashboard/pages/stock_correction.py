"""The stock grid's correction dialog: the counted on-hand figure, a reason and a note,
saved through compare-and-swap against the figure the user was shown."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import form_dialog, muted, select_field, text_field
from dashboard.components.figures import NUMERIC
from dashboard.states.stock import REASON_CHOICES, StockState

S = StockState


def correction_dialog() -> rx.Component:
    return form_dialog(
        text_field(
            "New on-hand count", "correction-count", name="count", type="number", step="1",
            input_mode="numeric", default_value=S.edit_count, key=S.edit_seen, auto_focus=True,
            style=NUMERIC,
            hint=muted(S.edit_seen, data_testid="correction-seen"),
        ),
        select_field(
            "Reason", "correction-reason", REASON_CHOICES, name="reason", default_value="count",
        ),
        text_field(
            "Note", "correction-note", name="note",
            placeholder="Optional: what you found, where",
            auto_complete="off",
            hint="Saved in the ledger with your name and the time.",
        ),
        title=S.edit_title,
        description="Set on hand to the units you counted. If someone changes this count "
        "before you save, nothing is overwritten and you see the new figure.",
        open=S.edit_open, on_open_change=S.on_correction_change, on_submit=S.save_correction,
        submit_label="Save count", saving=S.saving, error=S.edit_error,
        test_id="correction-dialog",
    )
