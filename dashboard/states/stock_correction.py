"""The stock grid's correction dialog (a mixin of `StockState`): set one balance's
on-hand count to what was counted, with a reason, through compare-and-swap.

The dialog remembers the on-hand figure the user was shown; the save compares
against it, so a count changed by someone else meanwhile is never overwritten: the
dialog stays open with the new figure, and saving again applies the count.

Not `DialogState`: this dialog keeps itself open on a stale count (with the figure
re-read and the grid refreshed) and names the balance it was opened for, which its
`_attempt` (close on success, an error otherwise) does not model.
"""

from __future__ import annotations

import logging
from typing import TypedDict

import reflex as rx

from dashboard.formatting import units
from dashboard.states.auth import requires, signed_in_user
from dashboard.states.dialogs import UNEXPECTED
from dashboard.states.listing import db_write
from dashboard.states.stock_filters import Events
from models.errors import DomainError, StaleCount
from models.stock import ADJUSTMENT_REASONS, set_count

log = logging.getLogger(__name__)

REASON_LABELS: dict[str, str] = {
    "count": "Stock count",
    "damaged": "Damaged",
    "found": "Found",
    "correction": "Correction",
    "lost": "Lost",
}
REASON_CHOICES: list[tuple[str, str]] = [
    (r.value, REASON_LABELS.get(r.value, r.value.title())) for r in ADJUSTMENT_REASONS
]


class CorrectionForm(TypedDict, total=False):
    count: str
    reason: str
    note: str


def parse_count(raw: str) -> tuple[int | None, str]:
    """The counted units from the dialog, or None and why not."""
    text = (raw or "").strip().replace(",", "")
    if not text:
        return None, "Enter the number of units you counted (on hand)."
    try:
        value = int(text)
    except ValueError:
        return None, f"{raw.strip()!r} is not a whole number of units."
    if value < 0:
        return None, "A count can't be negative. Enter 0 or more: the units on the shelf."
    if value > 1_000_000_000:
        return None, "That count is implausibly large. Check the number and try again."
    return value, ""


class CorrectionDialog(rx.State, mixin=True):
    """The open correction: which balance, what the user saw, and the dialog's text."""

    edit_open: bool = False
    edit_title: str = ""
    edit_seen: str = ""
    edit_count: str = ""
    edit_error: str = ""
    edit_stale: bool = False
    saving: bool = False

    _edit_variant: int = 0
    _edit_warehouse: int = 0
    _edit_expected: int = 0
    _edit_sku: str = ""
    _edit_warehouse_code: str = ""

    @rx.event
    @requires("stock.correct")
    async def open_correction(
        self, variant_id: int, warehouse_id: int, seen_on_hand: int
    ) -> Events:
        """Open the dialog for one balance; `seen_on_hand` is what the user was shown,
        the value the save compares against."""
        found = self._find_balance(variant_id, warehouse_id)
        if found is None:
            return rx.toast.error("That row is not on this page any more. Refresh the grid.")
        sku, code = found
        self._close_edit()
        self._edit_variant, self._edit_warehouse = variant_id, warehouse_id
        self._edit_expected = max(0, int(seen_on_hand))
        self._edit_sku, self._edit_warehouse_code = sku, code
        self.edit_title = f"Correct {sku} at {code}"
        self.edit_seen = f"On hand now: {units(self._edit_expected)}."
        self.edit_count = str(self._edit_expected)
        self.edit_open = True
        return None

    def _find_balance(self, variant_id: int, warehouse_id: int) -> tuple[str, str] | None:
        """(SKU, warehouse code) of a balance shown on the grid or in the open drawer."""
        codes = {c.id: c.code for c in self.columns}  # type: ignore[attr-defined]
        for row in self.rows:  # type: ignore[attr-defined]
            if row.variant_id == variant_id and warehouse_id in codes:
                return row.sku, codes[warehouse_id]
        return self._drawer_balance(variant_id, warehouse_id)  # type: ignore[attr-defined]

    @rx.event
    @requires("stock.read")
    async def on_correction_change(self, open_: bool) -> Events:
        """Esc, Cancel or a click outside closes the dialog; nothing is saved."""
        if not open_:
            self._close_edit()
        return None

    def _close_edit(self) -> None:
        self.edit_open = self.saving = self.edit_stale = False
        self.edit_error = self.edit_title = self.edit_seen = self.edit_count = ""
        self._edit_variant = self._edit_warehouse = self._edit_expected = 0

    @rx.event
    @requires("stock.correct")
    async def save_correction(self, form: CorrectionForm) -> Events:
        """Compare-and-swap: set on hand from what the user saw to what they counted."""
        if not self.edit_open or not self._edit_variant:
            return None
        count, problem = parse_count(str(form.get("count") or ""))
        reason = str(form.get("reason") or "count")
        if count is not None and reason not in REASON_LABELS:
            problem = "Pick a reason from the list."
        if count is None or problem:
            self.edit_error = problem
            return None
        self.edit_count = str(count)
        note = " ".join(str(form.get("note") or "").split())[:1000] or None
        expected = self._edit_expected
        if count == expected:
            self.edit_error = f"The count is already {units(count)}; there is nothing to save."
            return None
        user = signed_in_user()
        self.saving = True
        try:
            await db_write(
                set_count,
                self._edit_variant,
                self._edit_warehouse,
                count,
                actor=user.email,
                expected_on_hand=expected,
                reason=reason,
                note=note,
                reference="stock grid",
            )
        except StaleCount as error:
            current = int(error.details.get("on_hand", expected))
            self.saving, self.edit_stale = False, True
            self._edit_expected = current
            self.edit_seen = f"On hand now: {units(current)} (it was {units(expected)})."
            self.edit_error = (
                f"Someone changed this count while you were editing: it is {units(current)} "
                f"on hand now, not {units(expected)}. Nothing was saved. Check the new "
                f"figure; save again to set it to {units(count)}."
            )
            await self._refresh_after_change(user)  # type: ignore[attr-defined]
            return None
        except DomainError as error:
            self.saving, self.edit_error = False, error.message
            return None
        except Exception:
            log.exception("stock grid: correcting %s failed", self._edit_sku)
            self.saving, self.edit_error = False, UNEXPECTED
            return None
        sku, code = self._edit_sku, self._edit_warehouse_code
        log.info(
            "%s set %s at %s from %s to %s (%s)", user.email, sku, code, expected, count, reason
        )
        message = (
            f"{sku} at {code}: on hand {units(expected)} → {units(count)} "
            f"({REASON_LABELS[reason].lower()})"
        )
        self._close_edit()
        await self._refresh_after_change(user)  # type: ignore[attr-defined]
        return rx.toast.success("Count saved", description=message)
