"""The full alert diff: every watched balance and size run against the unresolved alerts.

The scan runs it the first time and once a day (`models.alerts.scan`). The first one
raises an alert for a large share of all balances at once, so on PostgreSQL the writes
are set-based end to end: one statement resolves what no longer holds and writes the
`alert.resolved` events from its RETURNING, one inserts what is new and writes the
`alert.raised` events from its RETURNING (nothing is read back), each in this
transaction. With no unresolved alert (the first scan) there is nothing to diff: one
statement computes the conditions, inserts them and writes their events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    column,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.ddl import CreateTableAs
from sqlmodel import Session

from models.alerts.engine import (
    _CONDITION_COLUMNS,
    _FACTS,
    EVENT_SOURCE,
    _broken_runs,
    _keyed,
    _resolve,
    _subject_key,
    _watched_balances,
    alert_event_rows,
    emit_alert_events,
)
from models.alerts.tables import AlertKind, AlertStatus, _alert
from models.base import UTCDateTime
from models.events import EventType, insert_events, time_params, writing_enabled

#: Alerts raised + resolved by one scan beyond which it refreshes the table's statistics
#: (from a small sample).
_REANALYZE_AFTER = 20_000
#: Memory the full diff's sorts and hashes may use (PostgreSQL, this transaction only):
#: the default 4 MB spills the first scan's half a million rows to disk several times.
_WORK_MEM = "256MB"
_RAISED = EventType.ALERT_RAISED
_UNIQUE_VIOLATION = "23505"

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


def full_diff(session: Session, now: datetime) -> tuple[int, int]:
    """Re-evaluate every watched balance and run; (raised, resolved).

    Set-based: the current conditions (one pass over balances for low/out of stock,
    one grouped pass for size runs over the persisted core flags, which the caller has
    refreshed) are compared with the unresolved alerts; what no longer holds is
    resolved and what is new is raised. On PostgreSQL the comparison is one read-only
    CREATE TABLE AS (FULL JOINs on integer keys, parallel-capable) and the writes two
    statements with their events, or, when no alert is unresolved, one INSERT … SELECT
    of the conditions with their events; SQLite keeps the conditions in a temporary
    table.
    """
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        work_mem = connection.scalar(text("SELECT current_setting('work_mem')"))
        connection.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": _WORK_MEM})
        try:
            if _inbox_empty(session):
                raised, resolved = _raise_all(session, now), 0
            else:
                raised, resolved = _sync_postgres(session, now)
        finally:
            connection.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": work_mem})
        if raised + resolved > _REANALYZE_AFTER:
            # The planner sizes the next scan's joins from these statistics; after a bulk
            # change do now what autovacuum would do a while later. Sizes and the status
            # mix need no big sample: 3,000 rows (statistics target 10) instead of 30,000
            # cost a fraction (autovacuum's own ANALYZE refines them later).
            target = connection.scalar(text("SELECT current_setting('default_statistics_target')"))
            connection.execute(text("SELECT set_config('default_statistics_target', '10', true)"))
            connection.execute(text("ANALYZE alert"))
            connection.execute(
                text("SELECT set_config('default_statistics_target', :v, true)"), {"v": target}
            )
        return raised, resolved
    return _sync_sqlite(session, now)


def _with_events(session: Session, changed, event_type: EventType, now: datetime) -> int:
    """Run `changed` (an INSERT/UPDATE of alerts RETURNING EVENT_SOURCE, as a CTE) and
    write its rows' events in the same statement; the number of alerts changed."""
    statement = select(func.count()).select_from(changed)
    if writing_enabled():
        events = insert_events(alert_event_rows("postgresql", event_type, changed)).cte("events")
        statement = statement.add_cte(events)
    return session.execute(statement, time_params(now)).scalar_one()


def _inbox_empty(session: Session) -> bool:
    """No unresolved alert (the first scan, or every alert resolved since)."""
    unresolved = select(_alert.c.id).where(_alert.c.status != AlertStatus.RESOLVED.value)
    return not session.execute(select(exists(unresolved))).scalar_one()


def _raise_all(session: Session, now: datetime) -> int:
    """With no unresolved alert there is nothing to resolve and nothing to diff against:
    one statement computes the conditions and inserts them with their events (no
    temporary table to write and analyse).

    A plain INSERT, in a savepoint: ON CONFLICT's speculative insertion (a probe and a
    confirmation record per row) cost ~12% of the insert. A twin raised meanwhile by a
    stock operation's check fails it; the statement then runs again ignoring twins, as
    `_sync_postgres` does."""
    try:
        with session.begin_nested():
            return _with_events(session, _raise_all_cte(now, twins=False), _RAISED, now)
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
    return _with_events(session, _raise_all_cte(now, twins=True), _RAISED, now)


def _raise_all_cte(now: datetime, *, twins: bool):
    """INSERT every current condition as an open alert RETURNING EVENT_SOURCE, as a CTE;
    with `twins`, one whose twin is unresolved is left out."""
    a = _alert
    facts = union_all(
        _watched_balances(None), _broken_runs(None, "postgresql", persisted=True)
    ).subquery("facts")
    # Sorted byte-wise ("C"): a locale's comparison per pair was 2.4 s of the large
    # first scan's sort of 500k keys (the ids come out in (kind, subject) order either way).
    key = (
        _subject_key(
            facts.c.kind,
            facts.c.warehouse_id,
            facts.c.variant_id,
            facts.c.product_id,
            facts.c.colour,
        )
        .collate("C")
        .label("subject_key")
    )
    fresh = select(
        key,
        *(facts.c[c] for c in _FACTS),
        cast(literal(AlertStatus.OPEN.value), String),
        literal(now, UTCDateTime),
    ).order_by(facts.c.kind.collate("C"), key)
    raised = postgresql.insert(a).from_select([*_CONDITION_COLUMNS, "status", "raised_at"], fresh)
    if twins:
        raised = raised.on_conflict_do_nothing(
            index_elements=["kind", "subject_key"], index_where=a.c.status != "resolved"
        )
    return raised.returning(*(a.c[name] for name in EVENT_SOURCE)).cte("raised")


def _sync_postgres(session: Session, now: datetime) -> tuple[int, int]:
    """Conditions FULL JOIN unresolved alerts on integer keys (variant and warehouse, or
    run and warehouse) into a temporary table of differences; then one statement
    resolves the gone and one inserts the new, each with its events."""
    a = _alert
    unresolved = a.c.status != AlertStatus.RESOLVED.value
    units = _watched_balances(None).cte("units")
    open_units = (
        select(a.c.id, a.c.kind, a.c.variant_id, a.c.warehouse_id)
        .where(unresolved, a.c.kind != AlertKind.BROKEN_SIZE_RUN.value)
        .cte("open_units")
    )
    runs = _broken_runs(None, "postgresql", persisted=True).cte("runs")
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
    # A temporary table has no statistics until analysed: the writes below join it.
    connection.execute(text("ANALYZE pg_temp.alert_diff"))
    diff = table(
        "alert_diff",
        column("alert_id", BigInteger),
        *(column(name, _alert.c[name].type) for name in _FACTS),
    )
    returned = [a.c[name] for name in EVENT_SOURCE]
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
        .returning(*returned)
        .cte("resolved")
    )
    resolved_count = _with_events(session, resolved, EventType.ALERT_RESOLVED, now)
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
        .returning(*returned)
        .cte("raised")
    )
    raised_count = _with_events(session, raised, EventType.ALERT_RAISED, now)
    connection.execute(text("DROP TABLE pg_temp.alert_diff"))
    return raised_count, resolved_count


def _sync_sqlite(session: Session, now: datetime) -> tuple[int, int]:
    connection = session.connection()
    drop = _DROP_SCAN[connection.dialect.name]
    # A failed scan leaves its table to the rollback; one left on the connection by a
    # caller that swallowed the error is dropped here.
    connection.execute(drop)
    _scan_table.create(connection)
    columns = list(_CONDITION_COLUMNS)
    dialect = connection.dialect.name
    for source in (_watched_balances(None), _broken_runs(None, dialect, persisted=True)):
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
    ids = list(session.execute(statement.returning(_alert.c.id)).scalars())
    emit_alert_events(session, EventType.ALERT_RAISED, ids, now)
    return len(ids)
