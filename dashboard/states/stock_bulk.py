"""The stock grid's bulk-edit mode (a mixin of `StockState`): the on-hand cells of the
page shown become inputs; the edits are reviewed and saved as one compare-and-swap
batch with one reason (`models.stock_bulk.bulk_set_counts`).

A cell's expected count is the on hand it showed when first typed into (or, after a
conflict, the current figure the conflict showed), so a count changed by someone else
meanwhile comes back as a conflict, marked on its cell and still holding what was
typed; saving again sets it. The keyboard and paste handling are
`assets/bulk_edit.js`; the browser only sends what a cell holds, the state judges it.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict

import reflex as rx

from dashboard.formatting import plural, units
from dashboard.states.auth import requires, signed_in_user
from dashboard.states.dialogs import UNEXPECTED
from dashboard.states.listing import db_write
from dashboard.states.stock_balances import cell_key
from dashboard.states.stock_correction import REASON_LABELS, parse_count
from dashboard.states.stock_filters import Events
from models.errors import DomainError
from models.stock import BulkCell, BulkResult, bulk_set_counts

log = logging.getLogger(__name__)

CHANGED, INVALID, CONFLICT, SAVED = "changed", "invalid", "conflict", "saved"


@dataclasses.dataclass
class BulkChange:
    """One line of the review: a cell's SKU and warehouse, before → after."""

    key: str = ""
    sku: str = ""
    warehouse: str = ""
    before: str = ""
    after: str = ""


@dataclasses.dataclass
class BulkConflictItem:
    """A cell not saved, and why: its figure now, what was seen and typed."""

    key: str = ""
    sku: str = ""
    warehouse: str = ""
    text: str = ""


class BulkForm(TypedDict, total=False):
    reason: str
    note: str


class BulkEdit(rx.State, mixin=True):
    """Which cells were edited, what they hold, and the review and leave dialogs."""

    bulk_on: bool = False
    #: What each edited cell holds (only edited cells), shown again if it remounts.
    bulk_text: dict[str, str] = {}
    #: key -> CHANGED / INVALID / CONFLICT / SAVED, and the cell's hover text.
    bulk_marks: dict[str, str] = {}
    bulk_tips: dict[str, str] = {}
    bulk_count: int = 0
    bulk_invalid: int = 0
    #: "Review 3 changes", and the bar's "3 changed · 1 not a count".
    bulk_review_label: str = ""
    bulk_summary: str = ""
    bulk_changes: list[BulkChange] = []
    bulk_conflicts: list[BulkConflictItem] = []
    bulk_dialog: str = ""
    bulk_error: str = ""
    bulk_saving: bool = False

    #: The count each edited cell is compared against when saved.
    _bulk_seen: dict[str, int] = {}

    def _close_bulk(self) -> None:
        self.bulk_on = self.bulk_saving = False
        self.bulk_text, self.bulk_marks, self.bulk_tips, self._bulk_seen = {}, {}, {}, {}
        self.bulk_changes, self.bulk_conflicts = [], []
        self.bulk_dialog = self.bulk_error = ""
        self._recount()

    def _bulk_cells(self) -> dict[str, tuple[str, str, int]]:
        """key -> (SKU, warehouse code, on hand) of every cell on the page shown."""
        codes = {c.id: c.code for c in self.columns}  # type: ignore[attr-defined]
        return {
            cell_key(row.variant_id, cell.warehouse_id): (
                row.sku,
                codes.get(cell.warehouse_id, "?"),
                cell.on_hand,
            )
            for row in self.rows  # type: ignore[attr-defined]
            for cell in row.cells
        }

    def _recount(self) -> None:
        marks = self.bulk_marks.values()
        self.bulk_invalid = sum(1 for m in marks if m == INVALID)
        self.bulk_count = sum(1 for m in marks if m in (CHANGED, CONFLICT))
        self.bulk_review_label = f"Review {plural(self.bulk_count, 'change')}"
        parts = [f"{self.bulk_count:,} changed"] if self.bulk_count else []
        if self.bulk_invalid:
            parts.append(f"{self.bulk_invalid:,} not a count")
        self.bulk_summary = " · ".join(parts) or "No changes yet"

    @rx.event
    @requires("stock.correct")
    async def toggle_bulk(self) -> Events:
        """Enter bulk edit, or leave it (asking first when edits are unsaved)."""
        if not self.bulk_on:
            self._close_bulk()
            self.bulk_on = self.view == "balances"  # type: ignore[attr-defined]
            self._close_edit()  # type: ignore[attr-defined]
            return None
        if self.bulk_count or self.bulk_invalid:
            self.bulk_dialog = "leave"
            return None
        self._close_bulk()
        return None

    @rx.event
    @requires("stock.read")
    async def discard_bulk(self) -> Events:
        """Leave bulk edit, dropping the unsaved edits (the leave dialog's answer)."""
        self._close_bulk()
        return None

    @rx.event
    @requires("stock.correct")
    async def type_cell(self, key: str, raw: str) -> Events:
        """A cell's input changed (typed, or filled by a pasted column)."""
        found = self._bulk_cells().get(key) if self.bulk_on else None
        if found is None:
            return None
        seen = self._bulk_seen.get(key, found[2])
        value, problem = parse_count(raw)
        marks, tips, text = dict(self.bulk_marks), dict(self.bulk_tips), dict(self.bulk_text)
        if value == seen:  # back to what it showed: not an edit (a conflict seen to)
            for d in (marks, tips, text):
                d.pop(key, None)
            self._bulk_seen.pop(key, None)
        else:
            self._bulk_seen[key] = seen
            text[key] = raw
            if value is None:
                marks[key], tips[key] = INVALID, problem
            else:
                marks[key], tips[key] = CHANGED, f"{units(seen)} → {units(value)}"
        self.bulk_marks, self.bulk_tips, self.bulk_text = marks, tips, text
        self._recount()
        return None

    @rx.event
    @requires("stock.correct")
    async def open_review(self) -> Events:
        """The "Review N changes" dialog: every changed cell, before → after."""
        if self.bulk_invalid:
            return rx.toast.error(
                f"{plural(self.bulk_invalid, 'cell')} marked in red hold no valid count; "
                "fix them before saving."
            )
        cells = self._bulk_cells()
        changes = []
        for key, mark in self.bulk_marks.items():
            value, _ = parse_count(self.bulk_text.get(key, ""))
            if mark not in (CHANGED, CONFLICT) or key not in cells or value is None:
                continue
            sku, code, _on_hand = cells[key]
            before = self._bulk_seen.get(key, _on_hand)
            changes.append(BulkChange(key, sku, code, units(before), units(value)))
        if not changes:
            return rx.toast.info("No counts were changed; there is nothing to save.")
        self.bulk_changes = sorted(changes, key=lambda c: (c.sku, c.warehouse))
        self.bulk_dialog, self.bulk_error = "review", ""
        return None

    @rx.event
    @requires("stock.read")
    async def on_bulk_dialog(self, open_: bool) -> Events:
        """Esc, Cancel or a click outside closes the review or leave dialog."""
        if not open_ and not self.bulk_saving:
            self.bulk_dialog, self.bulk_error = "", ""
        return None

    @rx.event
    @requires("stock.correct")
    async def save_bulk(self, form: BulkForm) -> Events:
        """Save the reviewed cells as one batch; conflicts stay marked and editable."""
        reason = str(form.get("reason") or "count")
        if reason not in REASON_LABELS:
            self.bulk_error = "Pick a reason from the list."
            return None
        note = " ".join(str(form.get("note") or "").split())[:1000] or None
        cells = []
        for change in self.bulk_changes:
            variant_id, warehouse_id = (int(part) for part in change.key.split(":"))
            value, _ = parse_count(self.bulk_text.get(change.key, ""))
            seen = self._bulk_seen.get(change.key)
            if value is not None and seen is not None:
                cells.append(BulkCell(variant_id, warehouse_id, seen, value))
        user = signed_in_user()
        self.bulk_saving = True
        try:
            result: BulkResult = await db_write(
                bulk_set_counts,
                cells,
                reason=reason,
                actor=user.email,
                note=note,
                brand_scope=user.brand_scope,
            )
        except DomainError as error:
            self.bulk_saving, self.bulk_error = False, error.message
            return None
        except Exception:
            log.exception("stock grid: saving a bulk edit failed")
            self.bulk_saving, self.bulk_error = False, UNEXPECTED
            return None
        log.info(
            "%s bulk-set %d counts (%s), %d conflicts",
            user.email,
            len(result.saved),
            reason,
            len(result.conflicts),
        )
        self._show_result(result)
        await self._refresh_after_change(user)  # type: ignore[attr-defined]
        saved = f"Saved {plural(len(result.saved), 'count')}"
        if result.conflicts:
            return rx.toast.warning(
                saved,
                description=f"{plural(len(result.conflicts), 'conflict')}: "
                "changed meanwhile, not saved (marked on the grid).",
            )
        return rx.toast.success(saved, description=REASON_LABELS[reason])

    def _show_result(self, result: BulkResult) -> None:
        cells = self._bulk_cells()
        marks, tips, text = dict(self.bulk_marks), dict(self.bulk_tips), dict(self.bulk_text)
        for cell in result.saved:
            key = cell_key(cell.variant_id, cell.warehouse_id)
            marks[key], tips[key] = SAVED, f"Saved: {units(cell.expected)} → {units(cell.on_hand)}"
            text.pop(key, None)
            self._bulk_seen.pop(key, None)
        conflicts = []
        for c in result.conflicts:
            key = cell_key(c.variant_id, c.warehouse_id)
            sku, code, _ = cells.get(key, (str(c.variant_id), str(c.warehouse_id), 0))
            if c.why == "reserved":
                why = (
                    f"{units(c.reserved)} reserved for orders; it can't be counted below "
                    f"that (you entered {units(c.on_hand)})."
                )
            else:
                why = (
                    f"now {units(c.current)} on hand, not the {units(c.expected)} you saw "
                    f"(you entered {units(c.on_hand)}). Save again to set it."
                )
            marks[key], tips[key] = CONFLICT, why
            self._bulk_seen[key] = c.current
            conflicts.append(BulkConflictItem(key, sku, code, why))
        self.bulk_marks, self.bulk_tips, self.bulk_text = marks, tips, text
        self.bulk_conflicts = conflicts
        self.bulk_changes, self.bulk_dialog, self.bulk_error = [], "", ""
        self.bulk_saving = False
        self._recount()
