"""Stock balances and their append-only ledger, and the operations that change them.

Every change to a balance goes through `change_balance`: one guarded UPDATE whose
WHERE clause refuses any result that would break the invariants
(0 ≤ reserved ≤ on hand, incoming ≥ 0), followed by the ledger row in the same
transaction. There is no read-modify-write in Python, so concurrent callers cannot
oversell, on PostgreSQL (row locks, re-checked WHERE) or SQLite (one writer).

This module is the public face of stock; the code lives along its seams:
`stock_ledger` (the tables, one balance at a time: receive, adjust, set_count),
`stock_counts` (many counts at once: set_counts, set_count_rows), `stock_bulk` (the
grid's bulk edit: bulk_set_counts, partial, conflicts reported) and `stock_reconcile`
(balances against their ledger). Import from here.
"""

from __future__ import annotations

from models.stock_bulk import BulkCell, BulkResult, CellConflict, bulk_set_counts
from models.stock_counts import CountRow, CountTarget, set_count_rows, set_counts
from models.stock_ledger import (
    ADJUSTMENT_REASONS,
    COUNT_REASONS,
    Balance,
    LedgerEntry,
    LedgerReason,
    StockBalance,
    _balance,
    adjust,
    change_balance,
    ensure_balances,
    get_balance,
    receive,
    require_quantity,
    set_count,
)
from models.stock_reconcile import Drift, RunDrift, TotalsDrift, reconcile, reconcile_totals

__all__ = [
    "ADJUSTMENT_REASONS",
    "COUNT_REASONS",
    "Balance",
    "BulkCell",
    "BulkResult",
    "CellConflict",
    "CountRow",
    "CountTarget",
    "Drift",
    "LedgerEntry",
    "LedgerReason",
    "RunDrift",
    "StockBalance",
    "TotalsDrift",
    "_balance",
    "adjust",
    "bulk_set_counts",
    "change_balance",
    "ensure_balances",
    "get_balance",
    "receive",
    "reconcile",
    "reconcile_totals",
    "require_quantity",
    "set_count",
    "set_count_rows",
    "set_counts",
]
