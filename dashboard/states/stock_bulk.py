"""The stock grid's bulk-edit mode (a mixin of `StockState`): the on-hand cells of the
page shown become inputs; the edits are reviewed and saved as one compare-and-swap
batch with one reason (`models.stock_bulk.bulk_set_counts`).

A cell's expected count is the on hand it showed when first typed into (or, after a
conflict, the current figure the conflict showed), so a count changed by someone else
meanwhile comes back as a conflict, marked on its cell and still holding what was
typed; saving again sets it. The keyboard and paste handling are
`stock_bulk.js` beside this module (sent when bulk edit is turned on; it installs
itself once per tab); the browser only sends what a cell holds, or the cells a pasted
block covers, and the state judges it: a paste with any value that is not a count is
refused whole, naming the cells.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TypedDict

import reflex as rx

from dashboard.formatting import plural, units
from dashboard.states.auth import requires, signed_in_user
from dashboard.states.dialogs import DialogState
from dashboard.states.listing import db_write
from dashboard.states.stock_balances import cell_key
from dashboard.states.stock_correction import REASON_LABELS, parse_count
from dashboard.states.stock_filters import Events
from models.stock import BulkCell, BulkResult, bulk_set_counts

log = logging.getLogger(__name__)

#: Keyboard, pasted blocks and the leave warning, run in the browser.
BULK_EDIT_JS = Path(__file__).with_name("stock_bulk.js").read_text(encoding="utf-8")
CHANGED, INVALID, CONFLICT, SAVED = "changed", "invalid", "conflict", "saved"


#: A line of the review ("key", "sku", "warehouse", "before", "after") or of the
#: conflicts after a save ("key", "sku", "warehouse", "why").
BulkLine = dict[str, str]


class BulkForm(TypedDict, total=False):
    reason: str
    note: str


class BulkEdit(DialogState, mixin=True):
    """Which cells were edited, what they hold; its dialogs are "review" and "leave"."""

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
    bulk_changes: list[BulkLine] = []
    bulk_conflicts: list[BulkLine] = []

    #: The count each edited cell is compared against when saved.
    _bulk_seen: dict[str, int] = {}

    def _close_bulk(self) -> None:
        self.bulk_on = False
        self.bulk_text, self.bulk_marks, self.bulk_tips, self._bulk_seen = {}, {}, {}, {}
        self.bulk_changes, self.bulk_conflicts = [], []
        self._close_dialog()
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
            return rx.call_script(BULK_EDIT_JS) if self.bulk_on else None
        if self.bulk_count or self.bulk_invalid:
            self._open_dialog("leave")
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
        """A cell's input changed (typed)."""
        if self.bulk_on:
            self._type_cells([(key, raw)], self._bulk_cells())
        return None

    @rx.event
    @requires("stock.correct")
    async def paste_cells(self, payload: str) -> Events:
        """A block pasted from a spreadsheet, filled right and down from the focused cell
        (`stock_bulk.js` sends `{"cells": [[key, text], ...], "left_out": n}`): every value
        must be a count, or nothing of the paste is applied."""
        if not self.bulk_on:
            return None
        try:
            sent = json.loads(payload)
            pasted = [(str(key), str(raw)) for key, raw in sent["cells"]]
            left_out = max(0, int(sent.get("left_out", 0)))
        except (ValueError, TypeError, KeyError, AttributeError):
            return rx.toast.error("That paste could not be read. Copy the cells again.")
        cells = self._bulk_cells()
        on_page = [(key, raw) for key, raw in pasted if key in cells]
        left_out += len(pasted) - len(on_page)  # cells no longer on the page shown
        bad = [(key, raw) for key, raw in on_page if parse_count(raw)[0] is None]
        if bad:
            named = [f"{cells[key][0]} at {cells[key][1]}: {raw!r}" for key, raw in bad[:3]]
            more = f" and {len(bad) - 3:,} more" if len(bad) > 3 else ""
            return rx.toast.error(
                f"Nothing was pasted: {plural(len(bad), 'value')} "
                f"{'is' if len(bad) == 1 else 'are'} not a count",
                description="; ".join(named) + more + ". A count is a whole number, 0 or more.",
            )
        self._type_cells(on_page, cells)
        fill = rx.call_script(f"window.rackroomBulkFill({json.dumps(on_page)})")
        done = f"Pasted {plural(len(on_page), 'value')}"
        if not left_out:
            return [fill, rx.toast.success(done)]
        return [
            fill,
            rx.toast.warning(
                f"{done}; {plural(left_out, 'value')} beyond the grid's edge "
                f"{'was' if left_out == 1 else 'were'} left out."
            ),
        ]

    def _type_cells(
        self, typed: list[tuple[str, str]], cells: dict[str, tuple[str, str, int]]
    ) -> None:
        """Cells now hold `typed` (key, text): each is marked against the count it was
        first seen at; one back at that count is no longer an edit."""
        marks, tips, text = dict(self.bulk_marks), dict(self.bulk_tips), dict(self.bulk_text)
        for key, raw in typed:
            found = cells.get(key)
            if found is None:
                continue
            seen = self._bulk_seen.get(key, found[2])
            value, problem = parse_count(raw)
            if value == seen:  # back to what it showed: not an edit (a conflict seen to)
                for d in (marks, tips, text):
                    d.pop(key, None)
                self._bulk_seen.pop(key, None)
                continue
            self._bulk_seen[key] = seen
            text[key] = raw
            if value is None:
                marks[key], tips[key] = INVALID, problem
            else:
                marks[key], tips[key] = CHANGED, f"{units(seen)} → {units(value)}"
        self.bulk_marks, self.bulk_tips, self.bulk_text = marks, tips, text
        self._recount()

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
            changes.append(
                {
                    "key": key,
                    "sku": sku,
                    "warehouse": code,
                    "before": units(before),
                    "after": units(value),
                }
            )
        if not changes:
            return rx.toast.info("No counts were changed; there is nothing to save.")
        self.bulk_changes = sorted(changes, key=lambda c: (c["sku"], c["warehouse"]))
        self._open_dialog("review")
        return None

    @rx.event
    @requires("stock.correct")
    async def save_bulk(self, form: BulkForm) -> Events:
        """Save the reviewed cells as one batch; conflicts stay marked and editable."""
        reason = str(form.get("reason") or "count")
        if reason not in REASON_LABELS:
            self.form_error = "Pick a reason from the list."
            return None
        note = " ".join(str(form.get("note") or "").split())[:1000] or None
        cells = []
        for change in self.bulk_changes:
            key = change["key"]
            variant_id, warehouse_id = (int(part) for part in key.split(":"))
            value, _ = parse_count(self.bulk_text.get(key, ""))
            seen = self._bulk_seen.get(key)
            if value is not None and seen is not None:
                cells.append(BulkCell(variant_id, warehouse_id, seen, value))
        return await self._attempt(
            self._save(cells, reason, note),
            done=lambda result: f"Saved {plural(len(result.saved), 'count')}",
            description=lambda result: (
                f"{plural(len(result.conflicts), 'conflict')}: changed meanwhile, not "
                "saved (marked on the grid)."
                if result.conflicts
                else REASON_LABELS[reason]
            ),
        )

    async def _save(self, cells: list[BulkCell], reason: str, note: str | None) -> BulkResult:
        user = signed_in_user()
        result = await db_write(
            bulk_set_counts,
            cells,
            reason=reason,
            actor=user.email,
            note=note,
            brand_scope=user.brand_scope,
        )
        log.info(
            "%s bulk-set %d counts (%s), %d conflicts",
            user.email,
            len(result.saved),
            reason,
            len(result.conflicts),
        )
        self._show_result(result)
        return result

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
            conflicts.append({"key": key, "sku": sku, "warehouse": code, "why": why})
        self.bulk_marks, self.bulk_tips, self.bulk_text = marks, tips, text
        self.bulk_conflicts, self.bulk_changes = conflicts, []
        self._recount()
