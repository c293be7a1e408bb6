"""The alert scan: everything the first time (and once a day), then only what changed.

A full scan re-evaluates every watched balance and size run (`full.full_diff`). The
steady scan re-evaluates the variants that can have changed since the last scan:

- those whose balances or sizing changed. PostgreSQL: row versions of `stock_balance`
  and `variant` whose xmin is at or after the last scan's watermark (the xmin of its
  first snapshot: every transaction older than that had finished, so the last scan saw
  its writes). No trigger on the stock hot path; a row version's xmin is all it needs.
  SQLite (one writer at a time): triggers note them in `alert_dirty`;
- those under a rule that was added, changed or deleted: `alert_rule_seen` holds the
  rules as the last scan applied them, and each scan diffs the (small) rule table
  against it;
- the other sizes of a changed variant's run, before and after the change, whose
  persisted core flags (`variant_core`) are recomputed first.

It raises and resolves for those exactly what a full scan would (tests/models/
test_alert_scan.py holds it to that after random changes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.alerts.engine import (
    AlertChanges,
    _check,
    _core_flags,
    _Scope,
    reopen_snoozed,
)
from models.alerts.full import full_diff
from models.alerts.tables import _rule, _seen, _state, _v, _vc, alert_dirty
from models.base import utcnow

log = logging.getLogger("rackroom.alerts")

#: A full scan at least this often, whatever the watermark says (belt and braces).
FULL_SCAN_EVERY = timedelta(hours=24)
#: Beyond this share of all variants in scope, one full diff is cheaper than chunks.
FULL_SCAN_SHARE = 0.2
#: Variants per round of the steady scan.
SCAN_CHUNK = 2_000
#: A watermark further behind than this (in transactions) is not trusted: xmin is a
#: 32-bit counter compared with age(), which is only meaningful within 2^31.
_MAX_LAG = 1 << 30

#: What `alert_rule_seen` keeps of a rule, and where it comes from.
_SEEN = ("rule_id", "level", "subject_id", "warehouse_id", "threshold")
_RULE = (_rule.c.id, _rule.c.level, _rule.c.subject_id, _rule.c.warehouse_id, _rule.c.threshold)

# The watermark: no transaction older than it can still be running in this database, so
# every row version it wrote is visible to the scan that takes it. The snapshot's xmax
# bounds transactions yet to start; the xid locks (which every transaction and
# subtransaction holds on its own xid, visible to every role, unlike pg_stat_activity's
# backend_xid) name those running, of this database only: the snapshot's own xmin would
# wait for long transactions in other databases of the cluster too.
_MARK_PG = text(
    """
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
           ARRAY(SELECT l.transactionid::text::bigint
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                  WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock'
                    AND l.granted AND a.datname = current_database()
                    AND l.pid <> pg_backend_pid()
                 UNION ALL
                 SELECT transaction::text::bigint FROM pg_prepared_xacts
                  WHERE database = current_database())
    """
)
# age() of both sides from the same point: a row version is at or after the watermark
# when it is no older than the watermark.
_CHANGED_PG = (
    text(
        "SELECT DISTINCT variant_id FROM stock_balance"
        " WHERE age(xmin) <= age(CAST(CAST(:since AS text) AS xid))"
    ),
    text("SELECT id FROM variant WHERE age(xmin) <= age(CAST(CAST(:since AS text) AS xid))"),
)


def scan_alerts(
    session: Session, *, now: datetime | None = None, full: bool = False
) -> AlertChanges:
    """Bring every alert up to date: raise, resolve, and reopen snoozes that ran out.

    Incremental after the first scan (see the module); `full` forces a full scan.
    Scans serialise on the state row, so two schedulers cannot interleave.
    """
    now = now or utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    state = session.execute(select(_state).where(_state.c.id == 1).with_for_update()).first()
    mark = _mark(session) if postgres else 0
    if (
        full
        or state is None
        or state.full_scan_at <= now - FULL_SCAN_EVERY
        or (postgres and not 0 <= mark - state.watermark < _MAX_LAG)
    ):
        raised, resolved = _full(session, now)
        full_at = now
    else:
        raised, resolved = _steady(session, now, state.watermark, postgres)
        full_at = state.full_scan_at
    reopened = reopen_snoozed(session, now)
    _save_state(session, mark, now, full_at)
    if raised or resolved or reopened:
        log.info("alert scan: %d raised, %d resolved, %d reopened", raised, resolved, reopened)
    return AlertChanges(raised=raised, resolved=resolved, reopened=reopened)


def _mark(session: Session) -> int:
    """This scan's watermark (PostgreSQL; see _MARK_PG), a 64-bit transaction id."""
    xmax, running = session.execute(_MARK_PG).one()
    # Lock rows carry 32-bit xids, all older than xmax: widen them relative to it.
    return min([xmax, *(xmax - ((xmax - xid) & 0xFFFFFFFF) for xid in running)])


def _full(session: Session, now: datetime) -> tuple[int, int]:
    if session.get_bind().dialect.name != "postgresql":
        session.execute(delete(alert_dirty))
    _refresh_core(session, None)
    session.execute(delete(_seen))
    session.execute(insert(_seen).from_select(_SEEN, select(*_RULE)))
    return full_diff(session, now)


def _steady(session: Session, now: datetime, watermark: int, postgres: bool) -> tuple[int, int]:
    if postgres:
        since = str(watermark & 0xFFFFFFFF)
        stock, catalogue = (set(session.scalars(query, {"since": since})) for query in _CHANGED_PG)
    else:
        stock = set(session.scalars(delete(alert_dirty).returning(alert_dirty.c.variant_id)))
        catalogue = stock
    scope = stock | catalogue | _refresh_core(session, catalogue) | _rule_scope(session)
    if not scope:
        return 0, 0
    total = session.scalar(select(func.count()).select_from(_vc)) or 0
    if len(scope) > FULL_SCAN_SHARE * total:
        return full_diff(session, now)
    raised = resolved = 0
    variants = sorted(scope)
    for start in range(0, len(variants), SCAN_CHUNK):
        chunk = _Scope(tuple(variants[start : start + SCAN_CHUNK]), None)
        changes = _check(session, _with_run_members(session, chunk), now, persisted=True)
        raised, resolved = raised + changes.raised, resolved + changes.resolved
    return raised, resolved


def _with_run_members(session: Session, scope: _Scope) -> _Scope:
    """`scope` with the members of its runs (from `variant_core`), so the size-run query
    reaches balances and variants by key: the planner does not push a subquery through."""
    mine = _vc.alias("mine")
    runs = select(mine.c.run_id).where(mine.c.variant_id.in_(scope.variant_ids))
    members = session.scalars(select(_vc.c.variant_id).where(_vc.c.run_id.in_(runs)))
    return _Scope(scope.variant_ids, scope.warehouse_ids, tuple(sorted(members)))


def _refresh_core(session: Session, variant_ids: Iterable[int] | None) -> set[int]:
    """Recompute the persisted core flags of these variants' runs (all when None), the
    runs they were in included; returns the variants of the runs they left."""
    dialect = session.get_bind().dialect.name
    columns = ["variant_id", "run_id", "core", "core_total"]
    if variant_ids is None:
        session.execute(delete(_vc))
        flags = _core_flags(None, dialect)
        session.execute(insert(_vc).from_select(columns, select(*flags.c)))
        return set()
    left: set[int] = set()
    ids = sorted(variant_ids)
    for start in range(0, len(ids), SCAN_CHUNK):
        chunk = ids[start : start + SCAN_CHUNK]
        mine = _vc.alias("mine")
        before = select(mine.c.run_id).where(mine.c.variant_id.in_(chunk))
        left.update(session.scalars(select(_vc.c.variant_id).where(_vc.c.run_id.in_(before))))
        flags = _core_flags(_Scope(tuple(sorted(left.union(chunk))), None), dialect)
        rows = [tuple(r) for r in session.execute(select(*flags.c))]
        session.execute(delete(_vc).where(_vc.c.variant_id.in_([r[0] for r in rows] + chunk)))
        if rows:
            session.execute(insert(_vc), [dict(zip(columns, r, strict=True)) for r in rows])
    return left


def _rule_scope(session: Session) -> set[int]:
    """Variants under a rule that changed since the last scan (either version of it);
    `alert_rule_seen` then holds the rules as this scan applies them."""
    rules = {r[0]: tuple(r[1:]) for r in session.execute(select(*_RULE))}
    seen = {r[0]: tuple(r[1:]) for r in session.execute(select(*(_seen.c[c] for c in _SEEN)))}
    changed = sorted(i for i in rules.keys() | seen.keys() if rules.get(i) != seen.get(i))
    if not changed:
        return set()
    subjects: dict[str, set[int]] = {"variant": set(), "product": set(), "brand": set()}
    for rule_id in changed:
        for version in (rules.get(rule_id), seen.get(rule_id)):
            if version is not None:
                subjects[version[0]].add(version[1])
    for start in range(0, len(changed), SCAN_CHUNK):
        chunk = changed[start : start + SCAN_CHUNK]
        session.execute(delete(_seen).where(_seen.c.rule_id.in_(chunk)))
        rows = [dict(zip(_SEEN, (i, *rules[i]), strict=True)) for i in chunk if i in rules]
        if rows:
            session.execute(insert(_seen), rows)
    scope: set[int] = set()
    for column, ids in (
        (_v.c.id, subjects["variant"]),
        (_v.c.product_id, subjects["product"]),
        (_v.c.brand_id, subjects["brand"]),
    ):
        ordered = sorted(ids)
        for start in range(0, len(ordered), SCAN_CHUNK):
            chunk = ordered[start : start + SCAN_CHUNK]
            scope.update(session.scalars(select(_v.c.id).where(column.in_(chunk))))
    return scope


def _save_state(session: Session, mark: int, now: datetime, full_at: datetime) -> None:
    values = {"id": 1, "watermark": mark, "scanned_at": now, "full_scan_at": full_at}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_state).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"],
            set_={k: statement.excluded[k] for k in ("watermark", "scanned_at", "full_scan_at")},
        )
    )
