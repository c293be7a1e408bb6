"""Reconciliation: every balance against the sum of its ledger rows, every variant's
totals (`variant_stock`) against the sum of its balances, and every style-colour's
(`run_stock`) against the sum of its variants' balances."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, literal, select, union_all
from sqlmodel import Session

from models.catalog import Variant
from models.stock_ledger import _balance, _ledger
from models.stock_totals import RunStock, VariantStock

_totals = VariantStock.__table__
_runs = RunStock.__table__
_variant = Variant.__table__
#: The stacked columns of `reconcile_totals`: whether a totals row exists, its values,
#: and the balances' sums.
_STACK_COLUMNS = ("has_row", "t_on", "t_res", "t_inc", "b_on", "b_res", "b_inc")


@dataclass(frozen=True, slots=True)
class Drift:
    """A balance that differs from the sum of its ledger rows."""

    variant_id: int
    warehouse_id: int
    balance: tuple[int, int, int]
    ledger: tuple[int, int, int]

    def describe(self) -> str:
        names = ("on_hand", "reserved", "incoming")
        parts = [
            f"{name} {held} but ledger says {logged}"
            for name, held, logged in zip(names, self.balance, self.ledger, strict=True)
            if held != logged
        ]
        return f"variant {self.variant_id} @ warehouse {self.warehouse_id}: " + ", ".join(parts)


def reconcile(session: Session) -> list[Drift]:
    """Every balance whose quantities differ from the sum of its ledger, in key order.

    Balances and ledger rows are stacked (UNION ALL) and summed per key in one pass,
    which both databases do in linear time; a FULL JOIN against the grouped ledger
    was quadratic on SQLite.
    """
    zero = literal(0)
    stacked = union_all(
        select(
            _balance.c.variant_id,
            _balance.c.warehouse_id,
            _balance.c.on_hand.label("b_on"),
            _balance.c.reserved.label("b_res"),
            _balance.c.incoming.label("b_inc"),
            zero.label("l_on"),
            zero.label("l_res"),
            zero.label("l_inc"),
        ),
        select(
            _ledger.c.variant_id,
            _ledger.c.warehouse_id,
            zero,
            zero,
            zero,
            _ledger.c.on_hand_delta,
            _ledger.c.reserved_delta,
            _ledger.c.incoming_delta,
        ),
    ).subquery()
    sums = [
        func.sum(stacked.c[name]) for name in ("b_on", "b_res", "b_inc", "l_on", "l_res", "l_inc")
    ]
    query = (
        select(stacked.c.variant_id, stacked.c.warehouse_id, *sums)
        .group_by(stacked.c.variant_id, stacked.c.warehouse_id)
        .having((sums[0] != sums[3]) | (sums[1] != sums[4]) | (sums[2] != sums[5]))
        .order_by(stacked.c.variant_id, stacked.c.warehouse_id)
    )
    return [
        Drift(
            int(r[0]),
            int(r[1]),
            (int(r[2]), int(r[3]), int(r[4])),
            (int(r[5]), int(r[6]), int(r[7])),
        )
        for r in session.execute(query)
    ]


def _totals_text(subject: str, scope: str, drift: TotalsDrift | RunDrift) -> str:
    """A totals drift in words: the missing row, or each figure that differs."""
    if drift.totals is None:
        return f"{subject}: no totals row (balances say {drift.balances})"
    names = ("on_hand", "reserved", "incoming")
    parts = [
        f"{name} total {held} but balances say {summed}"
        for name, held, summed in zip(names, drift.totals, drift.balances, strict=True)
        if held != summed
    ]
    return f"{subject} ({scope}): " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class TotalsDrift:
    """A variant whose totals row (`variant_stock`) differs from the sum of its balances,
    or that has no totals row at all (`totals` is None)."""

    variant_id: int
    totals: tuple[int, int, int] | None
    balances: tuple[int, int, int]

    def describe(self) -> str:
        return _totals_text(f"variant {self.variant_id}", "all warehouses", self)

    def detail(self) -> dict[str, object]:
        return {
            "variant_id": self.variant_id,
            "totals": list(self.totals) if self.totals else None,
            "balances": list(self.balances),
        }


@dataclass(frozen=True, slots=True)
class RunDrift:
    """A style-colour whose totals row (`run_stock`) differs from the sum of its variants'
    balances, or that has no totals row at all (`totals` is None)."""

    product_id: int
    colour: str
    totals: tuple[int, int, int] | None
    balances: tuple[int, int, int]

    def describe(self) -> str:
        run = f"product {self.product_id} colour {self.colour!r}"
        return _totals_text(run, "all sizes and warehouses", self)

    def detail(self) -> dict[str, object]:
        return {
            "product_id": self.product_id,
            "colour": self.colour,
            "totals": list(self.totals) if self.totals else None,
            "balances": list(self.balances),
        }


def reconcile_totals(session: Session) -> list[TotalsDrift | RunDrift]:
    """Every variant whose totals disagree with its balances, in variant order, then
    every style-colour whose totals disagree with its variants' balances.

    Variants, totals and balances are stacked and summed per variant in one pass, as in
    `reconcile`; a variant without a totals row is a drift too (the grid joins on it).
    """
    return [*_variant_drifts(session), *_run_drifts(session)]


def _variant_drifts(session: Session) -> list[TotalsDrift]:
    t, v = _totals, _variant
    zero = literal(0)
    stacked = union_all(
        select(v.c.id.label("variant_id"), *(zero.label(n) for n in _STACK_COLUMNS)),
        select(
            t.c.variant_id, literal(1), t.c.on_hand, t.c.reserved, t.c.incoming, zero, zero, zero
        ),
        select(
            _balance.c.variant_id,
            zero,
            zero,
            zero,
            zero,
            _balance.c.on_hand,
            _balance.c.reserved,
            _balance.c.incoming,
        ),
    ).subquery()
    sums = [func.sum(stacked.c[name]) for name in _STACK_COLUMNS]
    query = (
        select(stacked.c.variant_id, *sums)
        .group_by(stacked.c.variant_id)
        .having((sums[0] != 1) | (sums[1] != sums[4]) | (sums[2] != sums[5]) | (sums[3] != sums[6]))
        .order_by(stacked.c.variant_id)
    )
    return [
        TotalsDrift(
            int(r[0]),
            (int(r[2]), int(r[3]), int(r[4])) if r[1] else None,
            (int(r[5]), int(r[6]), int(r[7])),
        )
        for r in session.execute(query)
    ]


def _run_drifts(session: Session) -> list[RunDrift]:
    """`reconcile_totals` per style-colour: runs (from the variants), their totals rows
    and their variants' balances stacked and summed per (product, colour)."""
    r, v = _runs, _variant
    zero = literal(0)
    stacked = union_all(
        select(v.c.product_id, v.c.colour, *(zero.label(n) for n in _STACK_COLUMNS)),
        select(
            r.c.product_id, r.c.colour, literal(1), r.c.on_hand, r.c.reserved, r.c.incoming,
            zero, zero, zero,
        ),
        select(
            v.c.product_id, v.c.colour, zero, zero, zero, zero,
            _balance.c.on_hand, _balance.c.reserved, _balance.c.incoming,
        ).join_from(_balance, v, _balance.c.variant_id == v.c.id),
    ).subquery()
    sums = [func.sum(stacked.c[name]) for name in _STACK_COLUMNS]
    query = (
        select(stacked.c.product_id, stacked.c.colour, *sums)
        .group_by(stacked.c.product_id, stacked.c.colour)
        .having((sums[0] != 1) | (sums[1] != sums[4]) | (sums[2] != sums[5]) | (sums[3] != sums[6]))
        .order_by(stacked.c.product_id, stacked.c.colour)
    )
    return [
        RunDrift(
            int(row[0]),
            str(row[1]),
            (int(row[3]), int(row[4]), int(row[5])) if row[2] else None,
            (int(row[6]), int(row[7]), int(row[8])),
        )
        for row in session.execute(query)
    ]
