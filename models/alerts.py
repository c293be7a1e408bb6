"""Low-stock rules and the alert inbox: low stock, out of stock, broken size runs.

**Rules.** An `AlertRule` sets a low-stock threshold (and the reorder quantity, lead
time and target cover replenishment uses) for a brand, a product or a variant, in one
warehouse or in all of them. A balance is *watched* when some rule applies to it; the
most specific rule wins, whole: variant before product before brand, and at each level
a rule for that warehouse before a rule for all warehouses. Variants inherit by
having no rule of their own.

**Conditions**, evaluated per balance (variant × warehouse) that a rule watches:

- ``out_of_stock``: available (on hand − reserved) ≤ 0;
- ``low_stock``: 0 < available ≤ threshold;
- ``broken_size_run``: per style-colour and warehouse watched at brand or product
  level, at least one *core* size is out while some size of the run is in stock. The
  rule is the stock grid's (`models.grid.core_sizes` / `is_broken_size_run`: S/M/L
  for alpha runs, else the middle half of the run), written here as set-based SQL; a
  size with no balance row in that warehouse counts as out.

**Alerts.** At most one unresolved alert per (kind, subject) — a partial unique index
enforces it on both databases. An alert is open, acknowledged (someone is on it) or
snoozed until a time (after which it counts as open again); it resolves itself when
its condition clears, and a new alert is raised if the condition returns later.

Alerts are kept current two ways: `check_alerts_for` re-evaluates a few variants in a
few warehouses (cheap; call it after an operation that changed them, in the same
transaction), and `scan_alerts` re-evaluates everything in a handful of set-based
statements (the scheduler runs it). Both lock alert rows in id order and insert new
ones in (kind, subject) order; should `check_alerts_for` still lose a lock conflict,
it gives way (its savepoint rolls back, the caller's operation stands) and the next
scan catches up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    column,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    table,
    text,
    union_all,
    update,
)
from sqlalchemy import Index as SAIndex
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.ddl import CreateTableAs
from sqlmodel import Field, Session, SQLModel

from models.admin import PAGE_SIZE, Page
from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Brand, Product, Variant, Warehouse
from models.errors import InvalidQuantity, InvalidTransition, NotFound, PermissionDenied
from models.sizes import CORE_ALPHA, SizeSystem
from models.stock import StockBalance, require_quantity
from models.users import Role, User

log = logging.getLogger("rackroom.alerts")


class AlertKind(StrEnum):
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"
    BROKEN_SIZE_RUN = "broken_size_run"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class RuleLevel(StrEnum):
    BRAND = "brand"
    PRODUCT = "product"
    VARIANT = "variant"


_UNRESOLVED = text("status <> 'resolved'")


class AlertRule(SQLModel, table=True):
    """A low-stock rule for a brand, product or variant, in one warehouse or all (NULL)."""

    __tablename__ = "alert_rule"
    __table_args__ = (
        CheckConstraint("level IN ('brand', 'product', 'variant')", name="alert_rule_level"),
        CheckConstraint(
            "threshold >= 0 AND reorder_qty >= 0 AND lead_time_days >= 0 "
            "AND target_cover_days >= 0",
            name="alert_rule_not_negative",
        ),
        SAIndex(
            "uq_alert_rule_warehouse",
            "level",
            "subject_id",
            "warehouse_id",
            unique=True,
            postgresql_where=text("warehouse_id IS NOT NULL"),
            sqlite_where=text("warehouse_id IS NOT NULL"),
        ),
        SAIndex(
            "uq_alert_rule_everywhere",
            "level",
            "subject_id",
            unique=True,
            postgresql_where=text("warehouse_id IS NULL"),
            sqlite_where=text("warehouse_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    level: str = Field(max_length=16)
    #: The brand, product or variant id, per `level`.
    subject_id: int
    warehouse_id: int | None = Field(default=None, foreign_key="warehouse.id")
    #: Low stock when 0 < available ≤ threshold (0: only out-of-stock alerts).
    threshold: int = Field(default=0)
    #: Smallest quantity worth ordering (a case pack or the vendor's minimum).
    reorder_qty: int = Field(default=0)
    lead_time_days: int = Field(default=14)
    #: Days of sales an order should cover once it has arrived.
    target_cover_days: int = Field(default=28)
    updated_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Alert(SQLModel, table=True):
    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('low_stock', 'out_of_stock', 'broken_size_run')", name="alert_kind"
        ),
        CheckConstraint(
            "status IN ('open', 'acknowledged', 'snoozed', 'resolved')", name="alert_status"
        ),
        SAIndex(
            "uq_alert_unresolved_subject",
            "kind",
            "subject_key",
            unique=True,
            postgresql_where=_UNRESOLVED,
            sqlite_where=_UNRESOLVED,
        ),
        SAIndex("ix_alert_status_brand", "status", "brand_id"),
        SAIndex("ix_alert_warehouse_status", "warehouse_id", "status"),
        SAIndex("ix_alert_variant", "variant_id"),
        SAIndex("ix_alert_product_colour", "product_id", "colour"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    kind: str = Field(max_length=24)
    #: "w<warehouse>:v<variant>" or "w<warehouse>:p<product>:<colour>".
    subject_key: str = Field(max_length=120)
    status: str = Field(default=AlertStatus.OPEN.value, max_length=16)
    brand_id: int = Field(foreign_key="brand.id")
    product_id: int = Field(foreign_key="product.id")
    variant_id: int | None = Field(default=None, foreign_key="variant.id")
    colour: str = Field(default="", max_length=60)
    warehouse_id: int = Field(foreign_key="warehouse.id")
    #: The rule that applied when it was raised (rules may change later).
    rule_id: int | None = Field(default=None)
    #: Available units when raised (variant alerts).
    available: int | None = Field(default=None)
    threshold: int | None = Field(default=None)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


_rule = AlertRule.__table__
_alert = Alert.__table__
_b = StockBalance.__table__
_v = Variant.__table__
_p = Product.__table__
_w = Warehouse.__table__
_brand = Brand.__table__

#: Who may change rules and work the inbox.
_STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.MERCHANDISER})
MAX_SNOOZE = timedelta(days=365)


def _staff(session: Session, actor_id: int, what: str) -> User:
    user = session.get(User, actor_id)
    if user is None or not user.is_active:
        raise PermissionDenied("Sign in with an active account.")
    if Role(user.role) not in _STAFF:
        raise PermissionDenied(
            f"Only merchandisers, managers and admins may {what}; you are {user.role}.",
            role=user.role,
        )
    return user


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
    user = _staff(session, actor_id, "change alert rules")
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
    if existing is None:
        existing = AlertRule(
            level=level.value, subject_id=subject_id, warehouse_id=warehouse_id, created_at=now
        )
        session.add(existing)
    for name, value in values.items():
        setattr(existing, name, value)
    existing.updated_by = user.email
    existing.updated_at = now
    session.flush()
    return existing


def delete_rule(session: Session, rule_id: int, *, actor_id: int) -> None:
    """Remove a rule; its balances fall back to the next less specific rule (or none)."""
    _staff(session, actor_id, "change alert rules")
    deleted = session.execute(_rule.delete().where(_rule.c.id == rule_id)).rowcount
    if not deleted:
        raise NotFound(f"No alert rule with id {rule_id}.", rule_id=rule_id)


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


# --- conditions (set-based) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scope:
    variant_ids: tuple[int, ...]
    warehouse_ids: tuple[int, ...] | None


def _watched_balances(scope: _Scope | None):
    """Balances a rule watches that are at or below their threshold, one row each.

    The most specific rule is found with six LEFT JOINs to the (small) rule table,
    one per slot, and COALESCE in slot order. A balance above the highest threshold
    of any rule cannot be low, so it is filtered out before the joins.
    """
    available = (_b.c.on_hand - _b.c.reserved).label("available")
    joined = _b.join(_v, _v.c.id == _b.c.variant_id)
    slots = []
    for i, (level, per_warehouse) in enumerate(_SLOTS):
        r = _rule.alias(f"r{i}")
        subject = {
            RuleLevel.VARIANT: _v.c.id,
            RuleLevel.PRODUCT: _v.c.product_id,
            RuleLevel.BRAND: _v.c.brand_id,
        }[level]
        place = (
            r.c.warehouse_id == _b.c.warehouse_id if per_warehouse else r.c.warehouse_id.is_(None)
        )
        joined = joined.outerjoin(
            r, and_(r.c.level == level.value, r.c.subject_id == subject, place)
        )
        slots.append(r)
    threshold = func.coalesce(*(r.c.threshold for r in slots))
    rule_id = func.coalesce(*(r.c.id for r in slots))
    ceiling = select(func.max(_rule.c.threshold)).scalar_subquery()
    kind = case(
        (available <= 0, literal(AlertKind.OUT_OF_STOCK.value)),
        else_=literal(AlertKind.LOW_STOCK.value),
    )
    query = (
        select(
            kind.label("kind"),
            _v.c.brand_id,
            _v.c.product_id,
            _b.c.variant_id,
            _v.c.colour,
            _b.c.warehouse_id,
            rule_id.label("rule_id"),
            available,
            threshold.label("threshold"),
        )
        .select_from(joined)
        .where(
            _b.c.on_hand - _b.c.reserved <= ceiling,
            rule_id.is_not(None),
            _b.c.on_hand - _b.c.reserved <= threshold,
        )
    )
    if scope is not None:
        query = query.where(_b.c.variant_id.in_(scope.variant_ids))
        if scope.warehouse_ids is not None:
            query = query.where(_b.c.warehouse_id.in_(scope.warehouse_ids))
    return query


def _core_flags(scope: _Scope | None, dialect: str):
    """Variants with their run (`run_id`: the run's lowest variant id), `core` (1/0) and
    the run's number of core sizes (`core_total`).

    The rule of `models.grid.core_sizes`, in SQL: a run is a product's colour, its
    sizes ordered by (size rank, label). Runs of fewer than three sizes, or with a
    one-size variant, have no core; all-alpha runs that hold any of S/M/L have those
    as core; otherwise the size at 0-based position i of n is core when
    n ≤ 4i + 2 ≤ 3n (the middle half: floor((3n − 2)/4) − ceil((n − 2)/4) + 1 sizes).
    Every window shares one definition, so the database sorts the variants once.
    """
    run = (_v.c.product_id, _v.c.colour)
    # Python orders labels by code point: so do SQLite's BINARY and PostgreSQL's "C".
    label = _v.c.size.collate("C") if dialect == "postgresql" else _v.c.size
    whole = {"partition_by": run, "order_by": (_v.c.size_rank, label), "rows": (None, None)}

    def per_run(condition):
        return func.sum(case((condition, 1), else_=0)).over(**whole)

    ranked = select(
        _v.c.id,
        _v.c.size,
        func.min(_v.c.id).over(**whole).label("run_id"),
        func.row_number().over(**whole).label("rn"),
        func.count().over(**whole).label("cnt"),
        per_run(_v.c.size_system == SizeSystem.ALPHA.value).label("n_alpha"),
        per_run(_v.c.size_system == SizeSystem.ONE_SIZE.value).label("n_one"),
        per_run(_v.c.size.in_(CORE_ALPHA)).label("n_core_alpha"),
    )
    if scope is not None:
        mine = _v.alias("mine")
        ranked = ranked.where(
            exists().where(
                mine.c.id.in_(scope.variant_ids),
                mine.c.product_id == _v.c.product_id,
                mine.c.colour == _v.c.colour,
            )
        )
    r = ranked.subquery("ranked")
    slot = 4 * r.c.rn - 2  # 4i + 2 with i = rn - 1
    no_core = or_(r.c.cnt < 3, r.c.n_one > 0)
    alpha = and_(r.c.n_alpha == r.c.cnt, r.c.n_core_alpha > 0)
    core = case(
        (no_core, 0),
        (alpha, case((r.c.size.in_(CORE_ALPHA), 1), else_=0)),
        (and_(r.c.cnt <= slot, slot <= 3 * r.c.cnt), 1),
        else_=0,
    )
    core_total = case(
        (no_core, 0),
        (alpha, r.c.n_core_alpha),
        else_=(3 * r.c.cnt - 2) // 4 - (r.c.cnt + 1) // 4 + 1,
    )
    return select(r.c.id, r.c.run_id, core.label("core"), core_total.label("core_total")).subquery(
        "core_flags"
    )


def _broken_runs(scope: _Scope | None, dialect: str):
    """(style-colour, warehouse) runs watched at brand or product level whose core sizes
    are not all in stock while some size is."""
    cf = _core_flags(scope, dialect)
    # Only sizes in stock count towards either half of the rule (core sizes in stock,
    # and "some size remains"), so the others are left out before grouping: a run
    # with no group has nothing in stock and is not broken.
    runs = (
        select(cf.c.run_id, _b.c.warehouse_id)
        .select_from(cf.join(_b, _b.c.variant_id == cf.c.id))
        .where(cf.c.core_total > 0, _b.c.on_hand - _b.c.reserved > 0)
    )
    if scope is not None and scope.warehouse_ids is not None:
        runs = runs.where(_b.c.warehouse_id.in_(scope.warehouse_ids))
    runs = (
        runs.group_by(cf.c.run_id, _b.c.warehouse_id)
        .having(func.sum(cf.c.core) < func.max(cf.c.core_total))
        .subquery("runs")
    )
    first = _v.alias("run_variant")
    joined = runs.join(first, first.c.id == runs.c.run_id)
    slots = []
    for i, (level, per_warehouse) in enumerate(s for s in _SLOTS if s[0] != RuleLevel.VARIANT):
        r = _rule.alias(f"rr{i}")
        subject = first.c.product_id if level is RuleLevel.PRODUCT else first.c.brand_id
        place = (
            r.c.warehouse_id == runs.c.warehouse_id if per_warehouse else r.c.warehouse_id.is_(None)
        )
        joined = joined.outerjoin(
            r, and_(r.c.level == level.value, r.c.subject_id == subject, place)
        )
        slots.append(r)
    rule_id = func.coalesce(*(r.c.id for r in slots))
    return (
        select(
            literal(AlertKind.BROKEN_SIZE_RUN.value).label("kind"),
            first.c.brand_id,
            first.c.product_id,
            cast(null(), Integer).label("variant_id"),
            first.c.colour,
            runs.c.warehouse_id,
            rule_id.label("rule_id"),
            cast(null(), Integer).label("available"),
            cast(null(), Integer).label("threshold"),
        )
        .select_from(joined)
        .where(rule_id.is_not(None))
    )


#: What a condition row carries (the select functions above, in this order).
_FACTS = (
    "kind",
    "brand_id",
    "product_id",
    "variant_id",
    "colour",
    "warehouse_id",
    "rule_id",
    "available",
    "threshold",
)
#: What an alert is raised from: the facts and the subject key.
_CONDITION_COLUMNS = ("subject_key", *_FACTS)


def _subject_key(kind, warehouse_id, variant_id, product_id, colour):
    """The subject key: w<warehouse>:v<variant>, or w<warehouse>:p<product>:<colour> for a
    size run (the colour last, so the key cannot be ambiguous)."""
    place = literal("w") + cast(warehouse_id, String)
    return case(
        (
            kind == AlertKind.BROKEN_SIZE_RUN.value,
            place + literal(":p") + cast(product_id, String) + literal(":") + colour,
        ),
        else_=place + literal(":v") + cast(variant_id, String),
    )


def _keyed(source):
    """`source` (a select of _FACTS) with its subject key."""
    s = source.subquery("facts")
    key = _subject_key(s.c.kind, s.c.warehouse_id, s.c.variant_id, s.c.product_id, s.c.colour)
    return select(key.label("subject_key"), *(s.c[c] for c in _FACTS))


# --- keeping alerts current ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertChanges:
    raised: int = 0
    resolved: int = 0
    reopened: int = 0
    #: True when check_alerts_for gave way to a lock conflict (the scan catches up).
    skipped: bool = False


def _insert_new(session: Session, source, now: datetime) -> int:
    """INSERT conditions from `source` (a select of _CONDITION_COLUMNS) that have no
    unresolved alert yet, in (kind, subject) order; a concurrent twin is ignored."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    src = source.subquery("src")
    fresh = (
        select(
            *(src.c[name] for name in _CONDITION_COLUMNS),
            cast(literal(AlertStatus.OPEN.value), String),
            literal(now, UTCDateTime),
        )
        .where(
            ~exists().where(
                _alert.c.kind == src.c.kind,
                _alert.c.subject_key == src.c.subject_key,
                _alert.c.status != AlertStatus.RESOLVED.value,
            )
        )
        .order_by(src.c.kind, src.c.subject_key)
    )
    statement = (
        dialect.insert(_alert)
        .from_select([*_CONDITION_COLUMNS, "status", "raised_at"], fresh)
        .on_conflict_do_nothing(
            index_elements=["kind", "subject_key"], index_where=_alert.c.status != "resolved"
        )
    )
    # rowcount of INSERT … SELECT … ON CONFLICT is not reliable across drivers: count ids.
    return len(session.execute(statement.returning(_alert.c.id)).all())


def _resolve(session: Session, ids_query, now: datetime) -> int:
    """Resolve the alerts `ids_query` selects, locking them in id order first."""
    locked = ids_query.order_by(_alert.c.id).with_for_update()
    ids = list(session.scalars(locked))
    resolved = 0
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        resolved += (
            session.execute(
                update(_alert)
                .where(_alert.c.id.in_(chunk), _alert.c.status != AlertStatus.RESOLVED.value)
                .values(status=AlertStatus.RESOLVED.value, resolved_at=now)
            ).rowcount
            or 0
        )
    return resolved


def _reopen_snoozed(session: Session, now: datetime) -> int:
    return (
        session.execute(
            update(_alert)
            .where(_alert.c.status == AlertStatus.SNOOZED.value, _alert.c.snoozed_until <= now)
            .values(status=AlertStatus.OPEN.value, snoozed_until=None)
        ).rowcount
        or 0
    )


#: Variants per round of check_alerts_for.
CHECK_CHUNK = 500
#: Alerts raised + resolved by one scan beyond which it refreshes the table's statistics.
_REANALYZE_AFTER = 20_000

_scan_metadata = MetaData()
#: Where the full scan keeps the current conditions while it diffs them with alerts.
_scan_table = Table(
    "alert_scan",
    _scan_metadata,
    Column("kind", String(24), nullable=False),
    Column("subject_key", String(120), nullable=False),
    Column("brand_id", Integer, nullable=False),
    Column("product_id", Integer, nullable=False),
    Column("variant_id", Integer),
    Column("colour", String(60), nullable=False),
    Column("warehouse_id", Integer, nullable=False),
    Column("rule_id", Integer),
    Column("available", Integer),
    Column("threshold", Integer),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_DROP_SCAN = {
    "postgresql": text("DROP TABLE IF EXISTS pg_temp.alert_scan"),
    "sqlite": text("DROP TABLE IF EXISTS temp.alert_scan"),
}


def scan_alerts(session: Session, *, now: datetime | None = None) -> AlertChanges:
    """Re-evaluate every watched balance and run; raise, resolve and reopen alerts.

    Set-based: the current conditions (one pass over balances for low/out of stock,
    one grouped pass for size runs) are compared with the unresolved alerts; what no
    longer holds is resolved and what is new is raised. On PostgreSQL the comparison
    is one read-only CREATE TABLE AS (FULL JOINs on integer keys, parallel-capable)
    and the writes one statement; SQLite keeps the conditions in a temporary table for
    a few statements. Then one UPDATE reopens snoozes that ran out.
    """
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        raised, resolved = _sync_postgres(session, now)
        if raised + resolved > _REANALYZE_AFTER:
            # The planner sizes the next scan's joins from these statistics; after a bulk
            # change do now what autovacuum would do a while later.
            session.execute(text("ANALYZE alert"))
    else:
        raised, resolved = _sync_sqlite(session, now)
    reopened = _reopen_snoozed(session, now)
    if raised or resolved or reopened:
        log.info("alert scan: %d raised, %d resolved, %d reopened", raised, resolved, reopened)
    return AlertChanges(raised=raised, resolved=resolved, reopened=reopened)


def _sync_postgres(session: Session, now: datetime) -> tuple[int, int]:
    """Conditions FULL JOIN unresolved alerts on integer keys (variant and warehouse, or
    run and warehouse) into a temporary table of differences; then one statement
    resolves the gone and inserts the new."""
    a = _alert
    unresolved = a.c.status != AlertStatus.RESOLVED.value
    units = _watched_balances(None).cte("units")
    open_units = (
        select(a.c.id, a.c.kind, a.c.variant_id, a.c.warehouse_id)
        .where(unresolved, a.c.kind != AlertKind.BROKEN_SIZE_RUN.value)
        .cte("open_units")
    )
    runs = _broken_runs(None, "postgresql").cte("runs")
    open_runs = (
        select(a.c.id, a.c.product_id, a.c.colour, a.c.warehouse_id)
        .where(unresolved, a.c.kind == AlertKind.BROKEN_SIZE_RUN.value)
        .cte("open_runs")
    )
    unit_diff = (
        select(open_units.c.id.label("alert_id"), *(units.c[c] for c in _FACTS))
        .select_from(
            units.join(
                open_units,
                and_(
                    open_units.c.variant_id == units.c.variant_id,
                    open_units.c.warehouse_id == units.c.warehouse_id,
                    open_units.c.kind == units.c.kind,
                ),
                full=True,
            )
        )
        .where(or_(open_units.c.id.is_(None), units.c.kind.is_(None)))
    )
    run_diff = (
        select(open_runs.c.id.label("alert_id"), *(runs.c[c] for c in _FACTS))
        .select_from(
            runs.join(
                open_runs,
                and_(
                    open_runs.c.product_id == runs.c.product_id,
                    open_runs.c.colour == runs.c.colour,
                    open_runs.c.warehouse_id == runs.c.warehouse_id,
                ),
                full=True,
            )
        )
        .where(or_(open_runs.c.id.is_(None), runs.c.kind.is_(None)))
    )
    # Computing the difference is read-only, so as CREATE TABLE AS it may use parallel
    # workers (a statement that writes never does); what is left to write is small.
    connection = session.connection()
    connection.execute(text("DROP TABLE IF EXISTS pg_temp.alert_diff"))
    connection.execute(CreateTableAs(union_all(unit_diff, run_diff), "alert_diff", temporary=True))
    diff = table(
        "alert_diff",
        column("alert_id", BigInteger),
        *(column(name, _alert.c[name].type) for name in _FACTS),
    )
    locked = (
        select(a.c.id)
        .where(a.c.id.in_(select(diff.c.alert_id).where(diff.c.alert_id.is_not(None))))
        .order_by(a.c.id)
        .with_for_update()
        .cte("locked")
    )
    resolved = (
        update(a)
        .where(a.c.id == locked.c.id, unresolved)
        .values(status=AlertStatus.RESOLVED.value, resolved_at=now)
        .returning(a.c.id)
        .cte("resolved")
    )
    key = _subject_key(
        diff.c.kind, diff.c.warehouse_id, diff.c.variant_id, diff.c.product_id, diff.c.colour
    ).label("subject_key")
    fresh = (
        select(
            key,
            *(diff.c[c] for c in _FACTS),
            cast(literal(AlertStatus.OPEN.value), String),
            literal(now, UTCDateTime),
        )
        .where(diff.c.alert_id.is_(None))
        .order_by(diff.c.kind, key)
    )
    raised = (
        postgresql.insert(a)
        .from_select([*_CONDITION_COLUMNS, "status", "raised_at"], fresh)
        .on_conflict_do_nothing(
            index_elements=["kind", "subject_key"], index_where=a.c.status != "resolved"
        )
        .returning(a.c.id)
        .cte("raised")
    )
    counts = select(
        select(func.count()).select_from(raised).scalar_subquery(),
        select(func.count()).select_from(resolved).scalar_subquery(),
    )
    row = session.execute(counts).one()
    connection.execute(text("DROP TABLE pg_temp.alert_diff"))
    return int(row[0]), int(row[1])


def _sync_sqlite(session: Session, now: datetime) -> tuple[int, int]:
    connection = session.connection()
    drop = _DROP_SCAN[connection.dialect.name]
    # A failed scan leaves its table to the rollback; one left on the connection by a
    # caller that swallowed the error is dropped here.
    connection.execute(drop)
    _scan_table.create(connection)
    columns = list(_CONDITION_COLUMNS)
    for source in (_watched_balances(None), _broken_runs(None, connection.dialect.name)):
        connection.execute(insert(_scan_table).from_select(columns, _keyed(source)))
    s = _scan_table
    gone = select(_alert.c.id).where(
        _alert.c.status != AlertStatus.RESOLVED.value,
        ~exists().where(s.c.kind == _alert.c.kind, s.c.subject_key == _alert.c.subject_key),
    )
    resolved = _resolve(session, gone, now)
    raised = _insert_new(session, select(*(s.c[c] for c in columns)), now)
    connection.execute(drop)
    return raised, resolved


def check_alerts_for(
    session: Session,
    variant_ids: Iterable[int],
    warehouse_ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
) -> AlertChanges:
    """Re-evaluate alerts for `variant_ids` in `warehouse_ids` (all when None).

    Call it after an operation that changed those balances, in the same transaction:
    it raises and resolves their low/out-of-stock alerts and the size-run alerts of
    their style-colours. It runs in a savepoint; if it loses a lock conflict (e.g.
    with the scan job) it gives way, logs, and leaves the rest to the next scan
    rather than failing the caller's stock operation.
    """
    variants = tuple(sorted({int(v) for v in variant_ids}))
    if not variants:
        return AlertChanges()
    places = None if warehouse_ids is None else tuple(sorted({int(w) for w in warehouse_ids}))
    now = now or utcnow()
    raised = resolved = 0
    try:
        with session.begin_nested():
            # In chunks, so a bulk caller (an import) stays within bind-parameter limits.
            for start in range(0, len(variants), CHECK_CHUNK):
                chunk = _check(session, _Scope(variants[start : start + CHECK_CHUNK], places), now)
                raised, resolved = raised + chunk.raised, resolved + chunk.resolved
    except OperationalError as error:  # deadlock / lock timeout: the scan will catch up
        log.warning("check_alerts_for gave way to a lock conflict: %s", error)
        return AlertChanges(skipped=True)
    return AlertChanges(raised=raised, resolved=resolved)


def _check(session: Session, scope: _Scope, now: datetime) -> AlertChanges:
    conditions = _keyed(
        union_all(_watched_balances(scope), _broken_runs(scope, session.get_bind().dialect.name))
    )
    current = {(r.kind, r.subject_key) for r in session.execute(conditions).all()}
    runs = session.execute(
        select(_v.c.product_id, _v.c.colour).where(_v.c.id.in_(scope.variant_ids)).distinct()
    ).all()
    in_scope = and_(
        _alert.c.kind.in_([AlertKind.LOW_STOCK.value, AlertKind.OUT_OF_STOCK.value]),
        _alert.c.variant_id.in_(scope.variant_ids),
    )
    if runs:
        in_scope = or_(
            in_scope,
            and_(
                _alert.c.kind == AlertKind.BROKEN_SIZE_RUN.value,
                or_(*(and_(_alert.c.product_id == p, _alert.c.colour == c) for p, c in runs)),
            ),
        )
    existing = select(_alert.c.id, _alert.c.kind, _alert.c.subject_key).where(
        _alert.c.status != AlertStatus.RESOLVED.value, in_scope
    )
    if scope.warehouse_ids is not None:
        existing = existing.where(_alert.c.warehouse_id.in_(scope.warehouse_ids))
    stale = [
        row.id
        for row in session.execute(existing.order_by(_alert.c.id).with_for_update())
        if (row.kind, row.subject_key) not in current
    ]
    resolved = _resolve(session, select(_alert.c.id).where(_alert.c.id.in_(stale)), now)
    raised = _insert_new(session, conditions, now) if current else 0
    return AlertChanges(raised=raised, resolved=resolved)


# --- working the inbox ----------------------------------------------------------------------


def _as_aware(until: datetime | date) -> datetime:
    if isinstance(until, datetime):
        if until.tzinfo is None:
            raise InvalidQuantity("Snooze time must carry a time zone.", field="until")
        return until.astimezone(UTC)
    return datetime.combine(until, time.min, UTC)


def _change(
    session: Session,
    alert_id: int,
    allowed_from: tuple[AlertStatus, ...],
    verb: str,
    **values: object,
) -> Alert:
    changed = session.execute(
        update(_alert)
        .where(_alert.c.id == alert_id, _alert.c.status.in_([s.value for s in allowed_from]))
        .values(**values)
        .returning(_alert.c.id)
    ).one_or_none()
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"No alert with id {alert_id}.", alert_id=alert_id)
    session.refresh(alert)
    if changed is None:
        raise InvalidTransition(
            f"Alert {alert_id} is {alert.status}; it cannot be {verb}.",
            alert_id=alert_id,
            status=alert.status,
        )
    return alert


def acknowledge_alert(
    session: Session, alert_id: int, *, actor_id: int, now: datetime | None = None
) -> Alert:
    """Someone is on it: the alert leaves the open count but stays until it clears."""
    user = _staff(session, actor_id, "acknowledge alerts")
    return _change(
        session,
        alert_id,
        (AlertStatus.OPEN, AlertStatus.SNOOZED),
        "acknowledged",
        status=AlertStatus.ACKNOWLEDGED.value,
        acknowledged_at=now or utcnow(),
        acknowledged_by=user.email,
        snoozed_until=None,
    )


def snooze_alert(
    session: Session,
    alert_id: int,
    until: datetime | date,
    *,
    actor_id: int,
    now: datetime | None = None,
) -> Alert:
    """Hide the alert until `until` (a date means its midnight UTC); then it is open again."""
    user = _staff(session, actor_id, "snooze alerts")
    now = now or utcnow()
    until = _as_aware(until)
    if until <= now:
        raise InvalidQuantity("Snooze until a time in the future.", field="until")
    if until > now + MAX_SNOOZE:
        raise InvalidQuantity("Snooze for at most a year.", field="until")
    return _change(
        session,
        alert_id,
        (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED),
        "snoozed",
        status=AlertStatus.SNOOZED.value,
        snoozed_until=until,
        snoozed_by=user.email,
    )


def reopen_alert(session: Session, alert_id: int, *, actor_id: int) -> Alert:
    """Undo an acknowledge or a snooze."""
    _staff(session, actor_id, "reopen alerts")
    return _change(
        session,
        alert_id,
        (AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED),
        "reopened",
        status=AlertStatus.OPEN.value,
        snoozed_until=None,
    )


# --- reading --------------------------------------------------------------------------------


def _counts_as_open(now: datetime):
    return or_(
        _alert.c.status == AlertStatus.OPEN.value,
        and_(_alert.c.status == AlertStatus.SNOOZED.value, _alert.c.snoozed_until <= now),
    )


def open_alert_count(
    session: Session, *, brand_id: int | None = None, now: datetime | None = None
) -> int:
    """Alerts waiting for somebody (open, or snoozed past their time): the sidebar badge."""
    query = select(func.count()).select_from(_alert).where(_counts_as_open(now or utcnow()))
    if brand_id is not None:
        query = query.where(_alert.c.brand_id == brand_id)
    return int(session.scalar(query) or 0)


@dataclass(frozen=True, slots=True)
class AlertCounts:
    open: int
    acknowledged: int
    snoozed: int
    by_kind: dict[str, int]


def alert_counts(
    session: Session, *, brand_id: int | None = None, now: datetime | None = None
) -> AlertCounts:
    """Unresolved alerts by inbox state, and open ones by kind (for the page's tabs)."""
    now = now or utcnow()
    state = case(
        (_counts_as_open(now), literal("open")),
        else_=_alert.c.status,
    )
    query = (
        select(state, _alert.c.kind, func.count())
        .where(_alert.c.status != AlertStatus.RESOLVED.value)
        .group_by(state, _alert.c.kind)
    )
    if brand_id is not None:
        query = query.where(_alert.c.brand_id == brand_id)
    totals = {"open": 0, "acknowledged": 0, "snoozed": 0}
    by_kind = {k.value: 0 for k in AlertKind}
    for status, kind, n in session.execute(query):
        totals[status] = totals.get(status, 0) + int(n)
        if status == "open":
            by_kind[kind] += int(n)
    return AlertCounts(totals["open"], totals["acknowledged"], totals["snoozed"], by_kind)


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    kind: str
    status: str
    brand_code: str
    product_id: int
    style_code: str
    product: str
    colour: str
    variant_id: int | None
    sku: str
    size: str
    warehouse_id: int
    warehouse_code: str
    #: Available now (variant alerts), not when raised.
    available: int | None
    threshold: int | None
    raised_at: datetime
    snoozed_until: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None


#: Inbox views: which statuses each shows.
VIEWS = {
    "open": (AlertStatus.OPEN,),
    "acknowledged": (AlertStatus.ACKNOWLEDGED,),
    "snoozed": (AlertStatus.SNOOZED,),
    "active": (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED),
    "resolved": (AlertStatus.RESOLVED,),
}


def list_alerts(
    session: Session,
    *,
    view: str = "open",
    kind: str | None = None,
    brand_id: int | None = None,
    warehouse_id: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> Page[AlertRow]:
    """One page of the inbox, newest first. The "open" view includes snoozes that ran out
    and leaves out running ones; "snoozed" shows only running snoozes."""
    if view not in VIEWS:
        raise InvalidQuantity(f"Unknown view {view!r}.", field="view")
    if kind is not None:
        AlertKind(kind)
    now = now or utcnow()
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    if view == "open":
        condition = _counts_as_open(now)
    elif view == "snoozed":
        condition = and_(_alert.c.status == AlertStatus.SNOOZED.value, _alert.c.snoozed_until > now)
    else:
        condition = _alert.c.status.in_([s.value for s in VIEWS[view]])
    conditions = [condition]
    if kind is not None:
        conditions.append(_alert.c.kind == kind)
    if brand_id is not None:
        conditions.append(_alert.c.brand_id == brand_id)
    if warehouse_id is not None:
        conditions.append(_alert.c.warehouse_id == warehouse_id)
    total = session.scalar(select(func.count()).select_from(_alert).where(*conditions)) or 0
    rows = session.execute(
        select(
            _alert.c.id,
            _alert.c.kind,
            _alert.c.status,
            _brand.c.code,
            _alert.c.product_id,
            _p.c.style_code,
            _p.c.name,
            _alert.c.colour,
            _alert.c.variant_id,
            func.coalesce(_v.c.sku, ""),
            func.coalesce(_v.c.size, ""),
            _alert.c.warehouse_id,
            _w.c.code,
            _b.c.on_hand - _b.c.reserved,
            _alert.c.threshold,
            _alert.c.raised_at,
            _alert.c.snoozed_until,
            _alert.c.acknowledged_by,
            _alert.c.resolved_at,
        )
        .select_from(_alert)
        .join(_brand, _brand.c.id == _alert.c.brand_id)
        .join(_p, _p.c.id == _alert.c.product_id)
        .join(_w, _w.c.id == _alert.c.warehouse_id)
        .outerjoin(_v, _v.c.id == _alert.c.variant_id)
        .outerjoin(
            _b,
            and_(
                _b.c.variant_id == _alert.c.variant_id, _b.c.warehouse_id == _alert.c.warehouse_id
            ),
        )
        .where(*conditions)
        .order_by(_alert.c.raised_at.desc(), _alert.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return Page(rows=[AlertRow(*r) for r in rows], total=int(total), offset=offset, limit=limit)
