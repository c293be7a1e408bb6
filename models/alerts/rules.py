"""Low-stock rules: setting and deleting them, and the one rule each balance inherits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    and_,
    case,
    func,
    literal,
    select,
)
from sqlmodel import Session

from models.admin import PAGE_SIZE, Page
from models.alerts.tables import AlertRule, RuleLevel, _brand, _p, _rule, _v, _w
from models.audit import diff, fields_of, record
from models.base import utcnow
from models.catalog import Variant, Warehouse
from models.errors import InvalidQuantity, NotFound
from models.policy import actor_may
from models.stock import require_quantity

# --- rules ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectiveRule:
    rule_id: int
    level: str
    subject_id: int
    #: None: the rule is for every warehouse.
    warehouse_id: int | None
    threshold: int
    reorder_qty: int
    lead_time_days: int
    target_cover_days: int

    @property
    def source(self) -> str:
        where = "this warehouse" if self.warehouse_id is not None else "all warehouses"
        return f"{self.level} rule, {where}"


def _subject_exists(session: Session, level: RuleLevel, subject_id: int) -> bool:
    table = {RuleLevel.BRAND: _brand, RuleLevel.PRODUCT: _p, RuleLevel.VARIANT: _v}[level]
    return session.scalar(select(table.c.id).where(table.c.id == subject_id)) is not None


def set_rule(
    session: Session,
    *,
    level: RuleLevel | str,
    subject_id: int,
    warehouse_id: int | None,
    threshold: int,
    reorder_qty: int = 0,
    lead_time_days: int = 14,
    target_cover_days: int = 28,
    actor_id: int,
    now: datetime | None = None,
) -> AlertRule:
    """Create or replace the rule for (level, subject, warehouse or all warehouses)."""
    now = now or utcnow()
    user = actor_may(session, actor_id, "alerts.rules")
    try:
        level = RuleLevel(level)
    except ValueError:
        raise InvalidQuantity(
            f"Rule level {level!r} is not one of: brand, product, variant.", field="level"
        ) from None
    values = {
        "threshold": require_quantity(threshold, field="threshold", allow_zero=True),
        "reorder_qty": require_quantity(reorder_qty, field="reorder_qty", allow_zero=True),
        "lead_time_days": require_quantity(lead_time_days, field="lead_time_days", allow_zero=True),
        "target_cover_days": require_quantity(
            target_cover_days, field="target_cover_days", allow_zero=True
        ),
    }
    if not _subject_exists(session, level, subject_id):
        raise NotFound(f"No {level.value} with id {subject_id}.", subject_id=subject_id)
    if warehouse_id is not None and session.get(Warehouse, warehouse_id) is None:
        raise NotFound(f"No warehouse with id {warehouse_id}.", warehouse_id=warehouse_id)
    same_place = (
        _rule.c.warehouse_id.is_(None)
        if warehouse_id is None
        else _rule.c.warehouse_id == warehouse_id
    )
    existing = session.scalar(
        select(AlertRule).where(
            AlertRule.level == level.value, AlertRule.subject_id == subject_id, same_place
        )
    )
    creating = existing is None
    if existing is None:
        existing = AlertRule(
            level=level.value, subject_id=subject_id, warehouse_id=warehouse_id, created_at=now
        )
        session.add(existing)
    before = {} if creating else fields_of(existing, *values)
    for name, value in values.items():
        setattr(existing, name, value)
    existing.updated_by = user.email
    existing.updated_at = now
    session.flush()
    changes = diff(before, fields_of(existing, *values))
    if changes:
        _audit(
            session,
            user.email,
            "alert_rule.created" if creating else "alert_rule.updated",
            existing,
            changes,
        )
    return existing


def _audit(
    session: Session, actor: str, action: str, rule: AlertRule, changes: dict[str, object]
) -> None:
    where = "all warehouses" if rule.warehouse_id is None else f"warehouse #{rule.warehouse_id}"
    record(
        session,
        actor,
        action,
        target_type="alert_rule",
        target_id=rule.id,
        label=f"{rule.level} #{rule.subject_id}, {where}",
        changes=changes,
    )


def delete_rule(session: Session, rule_id: int, *, actor_id: int) -> None:
    """Remove a rule; its balances fall back to the next less specific rule (or none)."""
    user = actor_may(session, actor_id, "alerts.rules")
    rule = session.get(AlertRule, rule_id)
    deleted = session.execute(_rule.delete().where(_rule.c.id == rule_id)).rowcount
    if not deleted or rule is None:
        raise NotFound(f"No alert rule with id {rule_id}.", rule_id=rule_id)
    _audit(session, user.email, "alert_rule.deleted", rule, {"threshold": rule.threshold})


#: Rule slots from most to least specific: (level, per-warehouse?).
_SLOTS = (
    (RuleLevel.VARIANT, True),
    (RuleLevel.VARIANT, False),
    (RuleLevel.PRODUCT, True),
    (RuleLevel.PRODUCT, False),
    (RuleLevel.BRAND, True),
    (RuleLevel.BRAND, False),
)


def _as_effective(rule: AlertRule) -> EffectiveRule:
    return EffectiveRule(
        rule.id,
        rule.level,
        rule.subject_id,
        rule.warehouse_id,
        rule.threshold,
        rule.reorder_qty,
        rule.lead_time_days,
        rule.target_cover_days,
    )


def effective_rules(
    session: Session, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], EffectiveRule]:
    """The governing rule of each (variant, warehouse) in `pairs` that some rule watches.

    One query for the variants' subjects and one for every rule that could apply to
    them; the most specific is picked per pair in Python (the scan does the same in SQL).
    """
    pairs = sorted(set(pairs))
    variants = sorted({v for v, _ in pairs})
    subjects: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(variants), 5_000):
        chunk = variants[start : start + 5_000]
        for vid, pid, bid in session.execute(
            select(_v.c.id, _v.c.product_id, _v.c.brand_id).where(_v.c.id.in_(chunk))
        ):
            subjects[vid] = (vid, pid, bid)
    if not subjects:
        return {}
    levels = (RuleLevel.VARIANT, RuleLevel.PRODUCT, RuleLevel.BRAND)
    ids = [sorted({s[i] for s in subjects.values()}) for i in range(3)]
    rules: dict[tuple[str, int, int | None], AlertRule] = {}
    for level, level_ids in zip(levels, ids, strict=True):
        for start in range(0, len(level_ids), 5_000):
            chunk = level_ids[start : start + 5_000]
            for rule in session.scalars(
                select(AlertRule).where(
                    AlertRule.level == level.value, AlertRule.subject_id.in_(chunk)
                )
            ):
                rules[rule.level, rule.subject_id, rule.warehouse_id] = rule
    found = {}
    for variant_id, warehouse_id in pairs:
        subject = subjects.get(variant_id)
        if subject is None:
            continue
        for level, per_warehouse in _SLOTS:
            subject_id = subject[levels.index(level)]
            rule = rules.get((level.value, subject_id, warehouse_id if per_warehouse else None))
            if rule is not None:
                found[variant_id, warehouse_id] = _as_effective(rule)
                break
    return found


def effective_rule(session: Session, variant_id: int, warehouse_id: int) -> EffectiveRule | None:
    """The rule that governs one balance, or None when nothing watches it."""
    if session.get(Variant, variant_id) is None:
        raise NotFound(f"No variant with id {variant_id}.", variant_id=variant_id)
    return effective_rules(session, [(variant_id, warehouse_id)]).get((variant_id, warehouse_id))


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: int
    level: str
    subject_id: int
    subject: str
    brand_code: str
    warehouse_code: str
    threshold: int
    reorder_qty: int
    lead_time_days: int
    target_cover_days: int
    updated_by: str
    updated_at: datetime


def list_rules(
    session: Session,
    *,
    brand_id: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[RuleRow]:
    """Rules, brand level first, then products and variants; `brand_id` narrows to one brand."""
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    v, p = _v.alias("rv"), _p.alias("rp")
    brand_of = case(
        (_rule.c.level == RuleLevel.BRAND.value, _rule.c.subject_id),
        (_rule.c.level == RuleLevel.PRODUCT.value, p.c.brand_id),
        else_=v.c.brand_id,
    )
    subject = case(
        (_rule.c.level == RuleLevel.VARIANT.value, v.c.sku),
        (_rule.c.level == RuleLevel.PRODUCT.value, p.c.style_code + literal(" ") + p.c.name),
        else_=_brand.c.name,
    )
    order = case(
        (_rule.c.level == RuleLevel.BRAND.value, 0),
        (_rule.c.level == RuleLevel.PRODUCT.value, 1),
        else_=2,
    )
    base = (
        select(
            _rule.c.id,
            _rule.c.level,
            _rule.c.subject_id,
            subject,
            _brand.c.code,
            func.coalesce(_w.c.code, ""),
            _rule.c.threshold,
            _rule.c.reorder_qty,
            _rule.c.lead_time_days,
            _rule.c.target_cover_days,
            _rule.c.updated_by,
            _rule.c.updated_at,
        )
        .select_from(_rule)
        .outerjoin(v, and_(_rule.c.level == RuleLevel.VARIANT.value, v.c.id == _rule.c.subject_id))
        .outerjoin(p, and_(_rule.c.level == RuleLevel.PRODUCT.value, p.c.id == _rule.c.subject_id))
        .join(_brand, _brand.c.id == brand_of)
        .outerjoin(_w, _w.c.id == _rule.c.warehouse_id)
    )
    if brand_id is not None:
        base = base.where(_brand.c.id == brand_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.order_by(order, _brand.c.code, subject, _w.c.code.nulls_first(), _rule.c.id)
        .offset(offset)
        .limit(limit)
    )
    return Page(rows=[RuleRow(*r) for r in rows], total=int(total), offset=offset, limit=limit)
