"""The alert engine: each condition in set-based SQL, and keeping the alerts current
(`scan_alerts` over everything, `check_alerts_for` over a few variants)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from models.alerts.rules import _SLOTS
from models.alerts.tables import (
    _UNRESOLVED,
    AlertKind,
    AlertStatus,
    RuleLevel,
    _alert,
    _b,
    _brand,
    _p,
    _rule,
    _v,
    _vc,
    _w,
)
from models.base import UTCDateTime, utcnow
from models.events import (
    EventType,
    insert_events,
    time_params,
    with_json_row,
    writing_enabled,
)
from models.sizes import CORE_ALPHA, SizeSystem

log = logging.getLogger("rackroom.alerts")


# --- conditions (set-based) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scope:
    variant_ids: tuple[int, ...]
    warehouse_ids: tuple[int, ...] | None
    #: Every variant of the scope's runs, when read from the persisted core flags.
    run_members: tuple[int, ...] | None = None


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
        # On both tables, so the planner reaches variants by key rather than scanning.
        query = query.where(_b.c.variant_id.in_(scope.variant_ids), _v.c.id.in_(scope.variant_ids))
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


def _persisted_flags(scope: _Scope | None):
    """`_core_flags` as the scan persisted them in `variant_core` (current only within a
    scan, which refreshes them first)."""
    flags = select(_vc.c.variant_id.label("id"), _vc.c.run_id, _vc.c.core, _vc.c.core_total)
    if scope is not None:
        flags = flags.where(_vc.c.variant_id.in_(scope.run_members or ()))
    return flags.subquery("core_flags")


def _broken_runs(scope: _Scope | None, dialect: str, *, persisted: bool = False):
    """(style-colour, warehouse) runs watched at brand or product level whose core sizes
    are not all in stock while some size is."""
    cf = _persisted_flags(scope) if persisted else _core_flags(scope, dialect)
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
    if scope is not None and scope.run_members is not None:
        runs = runs.where(_b.c.variant_id.in_(scope.run_members))
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
    found = [rule_id.is_not(None)]
    if scope is not None and scope.run_members is not None:
        found.append(first.c.id.in_(scope.run_members))
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
        .where(*found)
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


# --- their events -------------------------------------------------------------------------


#: The alert columns an event is built from (`alert_event_rows`).
EVENT_SOURCE = (
    "id",
    "kind",
    "status",
    "brand_id",
    "product_id",
    "variant_id",
    "colour",
    "warehouse_id",
    "available",
    "threshold",
)


def alert_event_rows(dialect: str, event_type: EventType, src):
    """SELECT the `event_type` event rows (`insert_events` columns) of the alerts in `src`,
    a selectable with the EVENT_SOURCE columns (the table, or an INSERT/UPDATE's
    RETURNING), in alert id order. The time comes from `time_params`."""
    pairs = [
        ("alert_id", src.c.id),
        ("kind", src.c.kind),
        ("status", src.c.status),
        ("brand", _brand.c.code),
        ("style_code", _p.c.style_code),
        ("colour", src.c.colour),
        ("sku", _v.c.sku),
        ("size", _v.c.size),
        ("warehouse", _w.c.code),
        ("available", src.c.available),
        ("threshold", src.c.threshold),
        ("at", cast(bindparam("e_at", type_=String), String)),
    ]
    joined = (
        select()
        .select_from(src)
        .join(_brand, _brand.c.id == src.c.brand_id)
        .join(_p, _p.c.id == src.c.product_id)
        .join(_w, _w.c.id == src.c.warehouse_id)
        .outerjoin(_v, _v.c.id == src.c.variant_id)
    )
    rows, data = with_json_row(dialect, joined, pairs, of=(src, _brand, _p, _w, _v))
    return rows.with_only_columns(
        literal(event_type.value, String),
        bindparam("e_now", type_=UTCDateTime),
        src.c.brand_id,
        literal("alert:", String) + cast(src.c.id, String),
        data,
        maintain_column_froms=False,
    ).order_by(src.c.id)


def emit_alert_events(
    session: Session, event_type: EventType, alert_ids: list[int], now: datetime
) -> None:
    """`alert.raised` / `alert.resolved` for these alerts, in this transaction, set-based."""
    if not alert_ids or not writing_enabled():
        return
    dialect = session.get_bind().dialect.name
    ordered = sorted(alert_ids)
    # PostgreSQL takes the ids as one array (a list of 5,000 bind parameters costs more to
    # send and plan than the insert itself); SQLite as a list, within its parameter limit.
    size = 100_000 if dialect == "postgresql" else 5_000
    for start in range(0, len(ordered), size):
        chunk = ordered[start : start + size]
        wanted = (
            _alert.c.id == any_(bindparam("ids", chunk, type_=ARRAY(BigInteger)))
            if dialect == "postgresql"
            else _alert.c.id.in_(chunk)
        )
        rows = alert_event_rows(dialect, event_type, _alert).where(wanted)
        session.connection().execute(insert_events(rows), time_params(now))


# --- keeping alerts current ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertChanges:
    raised: int = 0
    resolved: int = 0
    reopened: int = 0
    #: True when check_alerts_for gave way to a lock conflict (the scan catches up).
    skipped: bool = False


def _resolve(session: Session, ids_query, now: datetime) -> int:
    """Resolve the alerts `ids_query` selects, locking them in id order first."""
    locked = ids_query.order_by(_alert.c.id).with_for_update()
    ids = list(session.scalars(locked))
    resolved: list[int] = []
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        resolved.extend(
            session.execute(
                update(_alert)
                .where(_alert.c.id.in_(chunk), _alert.c.status != AlertStatus.RESOLVED.value)
                .values(status=AlertStatus.RESOLVED.value, resolved_at=now)
                .returning(_alert.c.id)
            ).scalars()
        )
    emit_alert_events(session, EventType.ALERT_RESOLVED, resolved, now)
    return len(resolved)


def reopen_snoozed(session: Session, now: datetime) -> int:
    """Snoozed alerts whose time ran out count as open again."""
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


def _check(
    session: Session, scope: _Scope, now: datetime, *, persisted: bool = False
) -> AlertChanges:
    """Raise and resolve the alerts of `scope` (its balances, its variants' runs); with
    `persisted`, its runs' members are in scope.run_members (`scan._with_run_members`)."""
    dialect = session.get_bind().dialect.name
    conditions = _keyed(
        union_all(_watched_balances(scope), _broken_runs(scope, dialect, persisted=persisted))
    )
    current = {(r.kind, r.subject_key): r for r in session.execute(conditions)}
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
                tuple_(_alert.c.product_id, _alert.c.colour).in_([tuple(r) for r in runs]),
            ),
        )
    existing = select(_alert.c.id, _alert.c.kind, _alert.c.subject_key).where(
        _alert.c.status != AlertStatus.RESOLVED.value, in_scope
    )
    if scope.warehouse_ids is not None:
        existing = existing.where(_alert.c.warehouse_id.in_(scope.warehouse_ids))
    stale, held = [], set()
    for row in session.execute(existing.order_by(_alert.c.id).with_for_update()):
        if (row.kind, row.subject_key) in current:
            held.add((row.kind, row.subject_key))
        else:
            stale.append(row.id)
    resolved = _resolve(session, select(_alert.c.id).where(_alert.c.id.in_(stale)), now)
    # What holds and has no unresolved alert (all of those in scope are locked above): the
    # rows already read, not the conditions evaluated again.
    fresh = [current[key]._asdict() for key in sorted(current.keys() - held)]
    return AlertChanges(raised=_insert_rows(session, fresh, now), resolved=resolved)


def _insert_rows(session: Session, rows: list[dict], now: datetime) -> int:
    """INSERT these conditions (dicts of _CONDITION_COLUMNS) as open alerts, in the order
    given; a concurrent twin is ignored."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(_alert)
        .on_conflict_do_nothing(index_elements=["kind", "subject_key"], index_where=_UNRESOLVED)
        .returning(_alert.c.id)
    )
    opened = {"status": AlertStatus.OPEN.value, "raised_at": now}
    ids = list(session.execute(statement, [{**row, **opened} for row in rows]).scalars())
    emit_alert_events(session, EventType.ALERT_RAISED, ids, now)
    return len(ids)
