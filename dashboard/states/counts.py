"""/counts: today's count list per warehouse, the blind count sheet, and (for managers)
the variances waiting for approval. Every handler checks its permission on the server;
a counter's state never holds an expected number (`models.cycle_counts` leaves it out
of the blind sheet, and variances are read only for `cycle_counts.approve`)."""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from dashboard import routes
from dashboard.formatting import plural
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.listing import Choice, db_read, db_write, query_param
from dashboard.states.scanning import ScanBox
from dashboard.states.transfers_common import warehouse_choices
from models import cycle_counts as cc
from models.errors import DomainError
from models.policy import allows

log = logging.getLogger(__name__)

ROUTE = routes.COUNTS
GONE = "That variance was already decided. Refresh."


@dataclasses.dataclass
class DueRow:
    sku: str
    abc_class: str
    last_counted: str


@dataclasses.dataclass
class LineRow:
    id: int
    sku: str
    label: str
    abc_class: str
    counted: str
    status: str
    error: str


@dataclasses.dataclass
class PlanItem:
    abc_class: str
    every: str
    tolerance: str
    skus: str


@dataclasses.dataclass
class VarianceRow:
    id: int
    warehouse: str
    sku: str
    expected: str
    counted: str
    difference: str
    counted_by: str


class CountsState(RoleGuard, TargetDialog, ScanBox, rx.State):
    warehouses: list[Choice] = []
    warehouse: str = ""
    due: list[DueRow] = []
    plan: list[PlanItem] = []
    sheet_id: int = 0
    sheet_lines: list[LineRow] = []
    #: The warehouse's SKUs have been classed A/B/C (its first count did that).
    classified: bool = False
    variances: list[VarianceRow] = []
    can_approve: bool = False
    can_plan: bool = False
    #: The plan dialog's class ("A", "B", "C") and its fields as typed.
    plan_class: str = ""
    form_every: str = ""
    form_tolerance: str = ""
    loaded: bool = False
    load_error: str = ""

    @rx.var
    def counted_summary(self) -> str:
        done = sum(1 for line in self.sheet_lines if line.counted != "")
        return f"{done} of {plural(len(self.sheet_lines), 'line')} counted"

    @rx.event
    @requires("cycle_counts.count")
    async def load(self):
        self._close_dialog()
        self._scan_reset()
        self.sheet_id, self.sheet_lines = 0, []
        choices = await db_read(warehouse_choices)
        self.warehouses = [Choice(value, label) for value, label in choices]
        wanted = query_param(self.router.url.query_parameters, "warehouse")
        values = [c.value for c in self.warehouses]
        self.warehouse = wanted if wanted in values else (values[0] if values else "")
        self.can_approve = allows(signed_in_user().role, "cycle_counts.approve")
        self.can_plan = allows(signed_in_user().role, "cycle_counts.plan")
        await self._refetch()
        return None

    async def _refetch(self) -> None:
        user = signed_in_user()
        try:
            if self.warehouse:
                board = await db_read(cc.count_board, int(self.warehouse), actor_id=user.id)
                self._show_board(board)
            if self.can_approve:
                found = await db_read(cc.pending_variances, actor_id=user.id)
                self.variances = [_variance_row(v) for v in found]
        except Exception:
            log.exception("CountsState: reading the counts failed")
            self.load_error = "The counts could not be read. Refresh to try again."
            return
        self.load_error, self.loaded = "", True

    def _show_board(self, board: cc.CountBoard) -> None:
        self.due = [
            DueRow(d.sku, d.abc_class, str(d.last_counted_on or "never")) for d in board.due
        ]
        self.plan = [
            PlanItem(p.abc_class, f"{p.interval_days} days", str(p.tolerance), f"{p.items:,}")
            for p in board.plan
        ]
        self.classified = any(p.items for p in board.plan)
        sheet = board.sheet
        self.sheet_id = sheet.id if sheet else 0
        self.sheet_lines = [
            LineRow(
                line.id,
                line.sku,
                line.label,
                line.abc_class,
                "" if line.counted is None else str(line.counted),
                line.status,
                "",
            )
            for line in (sheet.lines if sheet else [])
        ]

    @rx.event
    @requires("cycle_counts.count")
    async def pick_warehouse(self, value: str):
        """Show another warehouse's list (the choice is in the URL). Changes no data."""
        if value not in {c.value for c in self.warehouses}:
            return None
        return rx.redirect(f"{ROUTE}?warehouse={value}")

    @rx.event
    @requires("cycle_counts.count")
    async def start_sheet(self):
        if not self.warehouse:
            return None
        try:
            await db_write(cc.start_sheet, int(self.warehouse), actor_id=signed_in_user().id)
        except DomainError as error:
            return rx.toast.error(error.message)
        await self._refetch()
        return None

    @rx.event
    @requires("cycle_counts.count")
    async def record(self, line_id: int, value: str):
        """Save one line's count (when its input loses the focus)."""
        line = row_by_id(self.sheet_lines, line_id)
        if line is None or (value.strip() == line.counted and not line.error):
            return None
        try:
            saved = await db_write(cc.record_count, line_id, value, actor_id=signed_in_user().id)
        except DomainError as error:
            line.error = error.message
        else:
            line.counted, line.error = str(saved.counted), ""
        self.sheet_lines = list(self.sheet_lines)
        return None

    @rx.event
    @requires("cycle_counts.count")
    async def scan(self, form: dict[str, str]):
        """A scanner's code + Enter: the line it names counts one more unit."""
        if not self.sheet_id:
            return None
        return await self._scan(form, self._count_one)

    async def _count_one(self, code: str) -> tuple[str, str]:
        user = signed_in_user()
        done = await db_write(
            cc.scan_count, self.sheet_id, code, actor_id=user.id, brand_id=user.brand_scope
        )
        line = row_by_id(self.sheet_lines, done.line_id)
        if line is None:  # the sheet changed under this page: show it as it is
            await self._refetch()
        else:
            line.counted, line.error = str(done.counted), ""
            self.sheet_lines = list(self.sheet_lines)
        return str(done.line_id), f"Counted {done.match.label}: {done.counted} so far"

    @rx.event
    @requires("cycle_counts.count")
    async def submit_sheet(self):
        if not self.sheet_id:
            return None
        if any(line.error for line in self.sheet_lines):
            return rx.toast.error("Correct the lines marked in red first.")
        try:
            result = await db_write(cc.submit_sheet, self.sheet_id, actor_id=signed_in_user().id)
        except DomainError as error:
            return rx.toast.error(error.message)
        self._scan_reset()
        await self._refetch()
        said = f"Applied {result.applied}; {result.pending} waiting for a manager"
        if result.conflicts:
            moved = ", ".join(result.conflicts)
            return rx.toast.warning(
                said, description=f"Moved since the sheet started, count again: {moved}"
            )
        return rx.toast.success(said)

    @rx.event
    @requires("cycle_counts.approve")
    async def confirm_decision(self, line_id: int, decision: str):
        target = row_by_id(self.variances, line_id)
        if target is None or decision not in ("approve", "reject"):
            return rx.toast.error(GONE)
        self._open_target(decision, target.id, f"{target.sku} at {target.warehouse}")
        return None

    @rx.event
    @requires("cycle_counts.approve")
    async def decide(self):
        if self.dialog not in ("approve", "reject"):
            return None
        decision = cc.approve if self.dialog == "approve" else cc.reject
        return await self._attempt(
            db_write(decision, self.target_id, actor_id=signed_in_user().id),
            done=_decided,
        )

    @rx.event
    @requires("cycle_counts.plan")
    async def open_plan(self, abc_class: str):
        row = next((p for p in self.plan if p.abc_class == abc_class), None)
        if row is None or not self.warehouse:
            return None
        self._open_dialog("plan")
        self.plan_class = row.abc_class
        self.form_every, self.form_tolerance = row.every.split()[0], row.tolerance
        return None

    @rx.event
    @requires("cycle_counts.plan")
    async def save_plan(self, form: dict[str, str]):
        if self.dialog != "plan" or not self.warehouse:
            return None
        return await self._attempt(
            db_write(
                cc.set_plan,
                int(self.warehouse),
                self.plan_class,
                actor_id=signed_in_user().id,
                interval_days=str(form.get("every") or ""),
                tolerance=str(form.get("tolerance") or ""),
            ),
            done=lambda row: (
                f"Class {row.abc_class}: counted every {row.interval_days} days, "
                f"tolerance {row.tolerance}"
            ),
        )


def _decided(outcome: str) -> str:
    return {
        "applied": "Count applied",
        "rejected": "Variance rejected; the SKU is due for counting again",
        "conflict": "Not applied: the stock moved since the count; it is due again",
    }.get(outcome, outcome)


def _variance_row(v: cc.Variance) -> VarianceRow:
    diff = v.counted - v.expected
    return VarianceRow(
        v.line_id,
        v.warehouse,
        v.sku,
        str(v.expected),
        str(v.counted),
        f"{diff:+d}",
        v.counted_by,
    )
