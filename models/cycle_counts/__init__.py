"""Cycle counts: ABC classes per warehouse, a count plan, daily blind count sheets, and
variances applied by compare-and-swap or approved by a manager.

`tables` (the tables), `planning` (classes, plan, due list), `sheets` (count, submit,
decide). Import from here.
"""

from models.cycle_counts.planning import (
    DueItem,
    PlanRow,
    classify_abc,
    due_today,
    plan,
    set_plan,
    split_abc,
)
from models.cycle_counts.sheets import (
    BlindLine,
    BlindSheet,
    CountBoard,
    ScannedLine,
    SubmitResult,
    Variance,
    approve,
    blind_sheet,
    count_board,
    parse_counted,
    pending_variances,
    record_count,
    reject,
    scan_count,
    start_sheet,
    submit_sheet,
)
from models.cycle_counts.tables import (
    AbcClass,
    CountItem,
    CountLine,
    CountPlan,
    CountSheet,
    LineStatus,
    SheetStatus,
    VarianceDecision,
)

__all__ = [
    "AbcClass",
    "BlindLine",
    "BlindSheet",
    "CountBoard",
    "CountItem",
    "CountLine",
    "CountPlan",
    "CountSheet",
    "DueItem",
    "LineStatus",
    "PlanRow",
    "ScannedLine",
    "SheetStatus",
    "SubmitResult",
    "Variance",
    "VarianceDecision",
    "approve",
    "blind_sheet",
    "classify_abc",
    "count_board",
    "due_today",
    "parse_counted",
    "pending_variances",
    "plan",
    "record_count",
    "reject",
    "scan_count",
    "set_plan",
    "split_abc",
    "start_sheet",
    "submit_sheet",
]
