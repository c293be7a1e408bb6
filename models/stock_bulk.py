"""A bulk edit of on-hand counts (the stock grid's bulk-edit mode): many cells, one
reason, saved as one compare-and-swap batch that applies what still holds the value the
person saw and reports the rest as conflicts.

Unlike `set_counts` (all or nothing, for imports and syncs), a bulk edit is partial by
design: a cell changed by someone else meanwhile must not be overwritten, and must not
hold back the cells that did not change. Bad input (a negative or non-integer count, an
unknown variant or warehouse, another brand's variant for a brand-bound caller, the same
cell twice) refuses the whole batch before anything is written, naming each cell.

The balances are read FOR UPDATE in (variant, warehouse) order (SQLite's writer lock
does the same), split into those still at `expected` and the conflicts, and the former
written by `set_counts`: one ledger row and one event per cell, as every balance change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, tuple_
from sqlmodel import Session

from models.catalog import Variant, Warehouse
from models.errors import InvalidQuantity, PermissionDenied, StaleCount
from models.stock_counts import CountTarget, set_counts
from models.stock_ledger import (
    ADJUSTMENT_REASONS,
    LedgerReason,
    _adjustment_reason,
    _balance,
    require_quantity,
)

#: At most this many cells in one batch (a grid page holds far fewer).
BULK_MAX = 2000
#: Cells a refusal names in its message (`details["cells"]` has them all).
SHOWN = 10
CHANGED = "changed"
RESERVED = "reserved"


@dataclass(frozen=True, slots=True)
class BulkCell:
    """One edited cell: set on hand of a variant in a warehouse from `expected` (what
    the person saw) to `on_hand` (what they typed)."""

    variant_id: int
    warehouse_id: int
    expected: int
    on_hand: int


@dataclass(frozen=True, slots=True)
class CellConflict:
    """A cell not saved: its on hand is `current`, not the `expected` the person saw
    (`why` CHANGED), or the new count is below what is `reserved` (`why` RESERVED)."""

    variant_id: int
    warehouse_id: int
    expected: int
    on_hand: int
    current: int
    reserved: int
    why: str


@dataclass(slots=True)
class BulkResult:
    saved: list[BulkCell] = field(default_factory=list)
    conflicts: list[CellConflict] = field(default_factory=list)


def _check(session: Session, cells: list[object], brand_scope: int | None) -> list[BulkCell]:
    """The batch as BulkCells, or InvalidQuantity / PermissionDenied naming every bad cell."""
    if not cells:
        raise InvalidQuantity("There are no changed cells to save.", field="cells")
    if len(cells) > BULK_MAX:
        raise InvalidQuantity(
            f"At most {BULK_MAX} cells at once; {len(cells)} given.", field="cells"
        )
    problems: list[str] = []
    checked: list[BulkCell] = []
    seen: set[tuple[int, int]] = set()
    for number, cell in enumerate(cells, start=1):
        where = f"cell {number}"
        try:
            variant_id = require_quantity(getattr(cell, "variant_id", None), field="variant_id")
            warehouse_id = require_quantity(
                getattr(cell, "warehouse_id", None), field="warehouse_id"
            )
            where = f"cell {number} (variant {variant_id} at warehouse {warehouse_id})"
            expected = require_quantity(
                getattr(cell, "expected", None), field="expected", allow_zero=True
            )
            on_hand = require_quantity(
                getattr(cell, "on_hand", None), field="on_hand", allow_zero=True
            )
        except InvalidQuantity as error:
            problems.append(f"{where}: {error.message}")
            continue
        if (variant_id, warehouse_id) in seen:
            problems.append(f"{where}: the same cell is in the batch twice")
            continue
        seen.add((variant_id, warehouse_id))
        checked.append(BulkCell(variant_id, warehouse_id, expected, on_hand))
    foreign = 0
    if not problems:
        problems, foreign = _unknown(session, checked, brand_scope)
    if problems:
        shown = "; ".join(problems[:SHOWN])
        more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        # Only other brands' variants: a refusal of what the caller may touch.
        error = PermissionDenied if foreign == len(problems) else InvalidQuantity
        raise error(
            f"Nothing was saved: {len(problems)} of the {len(cells)} cells cannot be "
            f"({shown}{more}).",
            cells=problems,
        )
    return checked


def _unknown(
    session: Session, cells: list[BulkCell], brand_scope: int | None
) -> tuple[list[str], int]:
    """Cells naming a variant or warehouse that does not exist, an inactive warehouse, or
    (for a brand-bound caller) another brand's variant; and how many are the last kind."""
    variants = {
        vid: (sku, brand_id)
        for vid, sku, brand_id in session.execute(
            select(Variant.id, Variant.sku, Variant.brand_id).where(
                Variant.id.in_({c.variant_id for c in cells})
            )
        )
    }
    warehouses = {
        wid: (code, active)
        for wid, code, active in session.execute(
            select(Warehouse.id, Warehouse.code, Warehouse.is_active).where(
                Warehouse.id.in_({c.warehouse_id for c in cells})
            )
        )
    }
    problems, foreign = [], 0
    for number, c in enumerate(cells, start=1):
        variant, warehouse = variants.get(c.variant_id), warehouses.get(c.warehouse_id)
        if variant is None:
            problems.append(f"cell {number}: no variant with id {c.variant_id}")
        elif warehouse is None:
            problems.append(f"cell {number}: no warehouse with id {c.warehouse_id}")
        elif brand_scope is not None and variant[1] != brand_scope:
            problems.append(f"cell {number}: {variant[0]} is another brand's variant")
            foreign += 1
        elif not warehouse[1]:
            problems.append(f"cell {number}: warehouse {warehouse[0]} is inactive")
    return problems, foreign


def _current(session: Session, cells: list[BulkCell]) -> dict[tuple[int, int], tuple[int, int]]:
    """(on hand, reserved) of each cell's balance, locked in key order (none: 0, 0)."""
    query = (
        select(
            _balance.c.variant_id, _balance.c.warehouse_id, _balance.c.on_hand, _balance.c.reserved
        )
        .where(
            tuple_(_balance.c.variant_id, _balance.c.warehouse_id).in_(
                [(c.variant_id, c.warehouse_id) for c in cells]
            )
        )
        .order_by(_balance.c.variant_id, _balance.c.warehouse_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {(v, w): (on_hand, reserved) for v, w, on_hand, reserved in session.execute(query)}


def bulk_set_counts(
    session: Session,
    cells: list[BulkCell],
    *,
    reason: LedgerReason | str,
    actor: str = "system",
    note: str | None = None,
    reference: str | None = "stock grid bulk edit",
    brand_scope: int | None = None,
) -> BulkResult:
    """Save a bulk edit: every cell still at its `expected` count is set (one ledger row
    and event each, with `reason` and `note`); the others come back as conflicts with
    their current figures. Cells whose count does not change are left out of both.

    `reason` is one a person may give (`ADJUSTMENT_REASONS`). `brand_scope` (a vendor's
    brand) refuses the batch if any cell is another brand's.
    """
    reason = _adjustment_reason(reason, ADJUSTMENT_REASONS)
    note = " ".join((note or "").split())[:1000] or None
    checked = [c for c in _check(session, list(cells), brand_scope) if c.on_hand != c.expected]
    result = BulkResult()
    if not checked:
        return result
    for _attempt in range(3):
        current = _current(session, checked)
        result = BulkResult()
        for c in sorted(checked, key=lambda c: (c.variant_id, c.warehouse_id)):
            now, reserved = current.get((c.variant_id, c.warehouse_id), (0, 0))
            if now != c.expected or c.on_hand < reserved:
                why = CHANGED if now != c.expected else RESERVED
                result.conflicts.append(
                    CellConflict(
                        c.variant_id, c.warehouse_id, c.expected, c.on_hand, now, reserved, why
                    )
                )
            else:
                result.saved.append(c)
        targets = [
            CountTarget(c.variant_id, c.warehouse_id, c.expected, c.on_hand, note)
            for c in result.saved
        ]
        # Locked (PostgreSQL) or under the writer lock (SQLite), nothing should move; a
        # balance created meanwhile is the one gap: retry from a fresh read.
        savepoint = session.begin_nested()
        try:
            set_counts(session, targets, reason=reason, actor=actor, reference=reference)
        except StaleCount:
            savepoint.rollback()
            continue
        savepoint.commit()
        return result
    raise StaleCount("The counts keep changing underneath; try again.")
