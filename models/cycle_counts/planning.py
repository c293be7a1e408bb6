"""ABC classes from units sold, the count plan, and the daily count list."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from models.audit import record
from models.base import utcnow
from models.catalog import Variant, Warehouse
from models.cycle_counts.tables import (
    DEFAULT_INTERVAL_DAYS,
    DEFAULT_TOLERANCE,
    AbcClass,
    CountItem,
    CountPlan,
)
from models.errors import InvalidQuantity, NotFound
from models.policy import actor_may
from models.reservations import SaleLine
from models.stock import StockBalance

_sale = SaleLine.__table__
_balance = StockBalance.__table__
_item = CountItem.__table__
#: A: the items selling the first 80% of units; B: the next 15%; C: the rest.
A_SHARE, B_SHARE = 80, 95
SALES_WINDOW_DAYS = 365


@dataclass(frozen=True, slots=True)
class PlanRow:
    abc_class: str
    interval_days: int
    tolerance: int
    items: int


@dataclass(frozen=True, slots=True)
class DueItem:
    variant_id: int
    sku: str
    abc_class: str
    last_counted_on: date | None


def require_warehouse(session: Session, warehouse_id: int) -> Warehouse:
    warehouse = session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(f"No warehouse with id {warehouse_id}.", field="warehouse")
    return warehouse


def split_abc(units: dict[int, int]) -> dict[int, AbcClass]:
    """Each variant's class from its units sold (fastest first, ties by variant id).

    A variant is A while the units before it are under 80% of the total, B under 95%,
    else C; nothing sold is C.
    """
    total = sum(max(u, 0) for u in units.values())
    classes: dict[int, AbcClass] = {}
    before = 0
    for variant_id, sold in sorted(units.items(), key=lambda kv: (-kv[1], kv[0])):
        if sold <= 0 or total == 0:
            classes[variant_id] = AbcClass.C
        elif before * 100 < A_SHARE * total:
            classes[variant_id] = AbcClass.A
        elif before * 100 < B_SHARE * total:
            classes[variant_id] = AbcClass.B
        else:
            classes[variant_id] = AbcClass.C
        before += max(sold, 0)
    return classes


def classify_abc(
    session: Session,
    warehouse_id: int,
    *,
    now: datetime | None = None,
    days: int = SALES_WINDOW_DAYS,
) -> dict[str, int]:
    """(Re)class every variant held or sold at the warehouse from its net units sold over
    the last `days`; keeps each one's last count date. Returns the items per class."""
    require_warehouse(session, warehouse_id)
    now = now or utcnow()
    sold = session.execute(
        select(_sale.c.variant_id, func.sum(_sale.c.qty))
        .where(_sale.c.warehouse_id == warehouse_id, _sale.c.sold_at >= now - timedelta(days))
        .group_by(_sale.c.variant_id)
    ).all()
    units = {int(v): int(q or 0) for v, q in sold}
    held = session.scalars(
        select(_balance.c.variant_id).where(_balance.c.warehouse_id == warehouse_id)
    )
    for variant_id in held:
        units.setdefault(int(variant_id), 0)
    classes = split_abc(units)
    existing = {
        item.variant_id: item
        for item in session.scalars(select(CountItem).where(CountItem.warehouse_id == warehouse_id))
    }
    for variant_id, abc in classes.items():
        item = existing.pop(variant_id, None)
        if item is None:
            item = CountItem(warehouse_id=warehouse_id, variant_id=variant_id)
            session.add(item)
        item.abc_class, item.units_sold, item.classified_at = abc.value, units[variant_id], now
    if existing:
        session.execute(
            delete(_item).where(
                _item.c.warehouse_id == warehouse_id, _item.c.variant_id.in_(list(existing))
            )
        )
    session.flush()
    counts = {abc.value: 0 for abc in AbcClass}
    for abc in classes.values():
        counts[abc.value] += 1
    return counts


def plan(session: Session, warehouse_id: int) -> list[PlanRow]:
    """The warehouse's plan for A, B and C (defaults where it has none) and items per class."""
    require_warehouse(session, warehouse_id)
    rows = {
        p.abc_class: p
        for p in session.scalars(select(CountPlan).where(CountPlan.warehouse_id == warehouse_id))
    }
    items = dict(
        session.execute(
            select(_item.c.abc_class, func.count())
            .where(_item.c.warehouse_id == warehouse_id)
            .group_by(_item.c.abc_class)
        ).all()
    )
    return [
        PlanRow(
            abc.value,
            rows[abc].interval_days if abc in rows else DEFAULT_INTERVAL_DAYS[abc],
            rows[abc].tolerance if abc in rows else DEFAULT_TOLERANCE,
            int(items.get(abc.value, 0)),
        )
        for abc in AbcClass
    ]


def _bounded(value: object, field: str, low: int, high: int) -> int:
    """A whole number in [low, high] (digits typed in a form count), else InvalidQuantity."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidQuantity(
            f"{field} must be a whole number from {low} to {high}, got {value!r}.", field=field
        )
    return value


def set_plan(
    session: Session,
    warehouse_id: int,
    abc_class: str,
    *,
    actor_id: int | None,
    interval_days: int | str | None = None,
    tolerance: int | str | None = None,
) -> PlanRow:
    """Change how often a class is counted and/or its tolerance (managers and admins)."""
    user = actor_may(session, actor_id, "cycle_counts.plan")
    try:
        abc = AbcClass(str(abc_class).strip().upper())
    except ValueError:
        raise InvalidQuantity(
            f"abc_class must be A, B or C, got {abc_class!r}.", field="abc_class"
        ) from None
    current = {row.abc_class: row for row in plan(session, warehouse_id)}[abc.value]
    interval = current.interval_days if interval_days is None else interval_days
    interval = _bounded(interval, "interval_days", 1, 3650)
    tol = _bounded(current.tolerance if tolerance is None else tolerance, "tolerance", 0, 100_000)
    row = session.get(CountPlan, (warehouse_id, abc.value))
    if row is None:
        row = CountPlan(warehouse_id=warehouse_id, abc_class=abc.value, interval_days=interval)
        session.add(row)
    row.interval_days, row.tolerance, row.updated_at = interval, tol, utcnow()
    record(
        session,
        user.email,
        "cycle_counts.plan",
        target_type="warehouse",
        target_id=warehouse_id,
        label=f"class {abc.value}",
        changes={"interval_days": interval, "tolerance": tol},
    )
    session.flush()
    return PlanRow(abc.value, interval, tol, current.items)


def due_today(session: Session, warehouse_id: int, today: date) -> list[DueItem]:
    """Today's count list: per class, the items due (never counted, or last counted at
    least the class's interval ago), most overdue first, at most the class's daily share
    (items in the class / interval days, rounded up, less those counted today) so each
    class is counted once per interval, spread evenly over its days."""
    rows = session.execute(
        select(_item.c.variant_id, Variant.sku, _item.c.abc_class, _item.c.last_counted_on)
        .join(Variant, Variant.id == _item.c.variant_id)
        .where(_item.c.warehouse_id == warehouse_id)
        .order_by(
            _item.c.last_counted_on.is_not(None),
            _item.c.last_counted_on,
            _item.c.units_sold.desc(),
            _item.c.variant_id,
        )
    ).all()
    due: list[DueItem] = []
    for row in plan(session, warehouse_id):
        share = math.ceil(row.items / row.interval_days)
        cutoff = today - timedelta(days=row.interval_days)
        in_class = [(int(v), sku, last) for v, sku, abc, last in rows if abc == row.abc_class]
        counted_today = sum(1 for _v, _sku, last in in_class if last == today)
        picked = [
            DueItem(v, sku, row.abc_class, last)
            for v, sku, last in in_class
            if last is None or last <= cutoff
        ]
        due.extend(picked[: max(share - counted_today, 0)])
    return due
