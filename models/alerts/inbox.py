"""The alert inbox: acknowledge, snooze and reopen, the counts, and the listed alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlmodel import Session

from models.admin import PAGE_SIZE, Page
from models.alerts.tables import (
    BATCH_MAX,
    MAX_SNOOZE,
    Alert,
    AlertKind,
    AlertStatus,
    _alert,
    _archive,
    _b,
    _brand,
    _p,
    _v,
    _w,
)
from models.base import utcnow
from models.errors import InvalidQuantity, InvalidTransition, NotFound
from models.policy import actor_may
from models.users import User

# --- working the inbox ----------------------------------------------------------------------


def _as_aware(until: datetime | date) -> datetime:
    if isinstance(until, datetime):
        if until.tzinfo is None:
            raise InvalidQuantity("Snooze time must carry a time zone.", field="until")
        return until.astimezone(UTC)
    return datetime.combine(until, time.min, UTC)


#: The statuses an alert may be acknowledged / snoozed from (single and bulk alike).
ACKNOWLEDGE_FROM = (AlertStatus.OPEN, AlertStatus.SNOOZED)
SNOOZE_FROM = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED)


def acknowledge_values(user: User, now: datetime | None = None) -> dict[str, object]:
    """The columns an acknowledge by `user` writes: one place for one alert and for many."""
    return {
        "status": AlertStatus.ACKNOWLEDGED.value,
        "acknowledged_at": now or utcnow(),
        "acknowledged_by": user.email,
        "snoozed_until": None,
    }


def snooze_values(
    user: User, until: datetime | date, now: datetime | None = None
) -> dict[str, object]:
    """The columns a snooze until `until` writes, after checking `until` is sensible
    (in the future, within MAX_SNOOZE): shared by one alert and many."""
    now = now or utcnow()
    until = _as_aware(until)
    if until <= now:
        raise InvalidQuantity("Snooze until a time in the future.", field="until")
    if until > now + MAX_SNOOZE:
        raise InvalidQuantity("Snooze for at most a year.", field="until")
    return {"status": AlertStatus.SNOOZED.value, "snoozed_until": until, "snoozed_by": user.email}


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
        if session.scalar(select(_archive.c.id).where(_archive.c.id == alert_id)) is not None:
            raise InvalidTransition(
                f"Alert {alert_id} is resolved (archived); it cannot be {verb}.",
                alert_id=alert_id,
                status=AlertStatus.RESOLVED.value,
            )
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
    user = actor_may(session, actor_id, "alerts.work")
    return _change(
        session, alert_id, ACKNOWLEDGE_FROM, "acknowledged", **acknowledge_values(user, now)
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
    user = actor_may(session, actor_id, "alerts.work")
    return _change(session, alert_id, SNOOZE_FROM, "snoozed", **snooze_values(user, until, now))


def reopen_alert(session: Session, alert_id: int, *, actor_id: int) -> Alert:
    """Undo an acknowledge or a snooze."""
    actor_may(session, actor_id, "alerts.work")
    return _change(
        session,
        alert_id,
        (AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED),
        "reopened",
        status=AlertStatus.OPEN.value,
        snoozed_until=None,
    )


# --- reading --------------------------------------------------------------------------------


def _counts_as_open(now: datetime, a=_alert):
    return or_(
        a.c.status == AlertStatus.OPEN.value,
        and_(a.c.status == AlertStatus.SNOOZED.value, a.c.snoozed_until <= now),
    )


def _source(view: str):
    """What a view reads: `alert`, or for "resolved" also the archive (same columns)."""
    if view != "resolved":
        return _alert
    columns = [c.name for c in _alert.c]
    return union_all(
        select(*(_alert.c[c] for c in columns)).where(
            _alert.c.status == AlertStatus.RESOLVED.value
        ),
        select(*(_archive.c[c] for c in columns)),
    ).subquery("alerts")


def alert_marker(session: Session) -> str:
    """What moves whenever the inbox would look different: the newest alert id and the
    count in each status (an acknowledge, snooze, reopen or resolve moves a count, a new
    alert the id). An open inbox page re-reads only when it moved; one small indexed read."""
    newest = int(session.scalar(select(func.max(_alert.c.id))) or 0)
    counts = dict(
        session.execute(select(_alert.c.status, func.count()).group_by(_alert.c.status)).all()
    )
    return f"{newest}:" + ":".join(str(counts.get(s.value, 0)) for s in AlertStatus)


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
    group_by: str | None = None,
) -> Page[AlertRow]:
    """One page of the inbox, newest first. The "open" view includes snoozes that ran out
    and leaves out running ones; "snoozed" shows only running snoozes. With `group_by`
    ("style" or "warehouse") a group's alerts come together (groups by code, then newest
    first), so a page lists whole groups or the start or end of one; `group_totals`
    counts each group in the whole view for its header."""
    now = now or utcnow()
    if group_by not in (None, "style", "warehouse"):
        raise InvalidQuantity(f"Group by style or warehouse, not {group_by!r}.", field="group")
    a = _source(view) if view in VIEWS else _alert
    grouping = {
        None: (),
        "style": (_p.c.style_code, a.c.product_id),
        "warehouse": (_w.c.code, a.c.warehouse_id),
    }[group_by]
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    conditions = _view_conditions(view, kind, brand_id, warehouse_id, now, a)
    total = session.scalar(select(func.count()).select_from(a).where(*conditions)) or 0
    rows = session.execute(
        select(
            a.c.id,
            a.c.kind,
            a.c.status,
            _brand.c.code,
            a.c.product_id,
            _p.c.style_code,
            _p.c.name,
            a.c.colour,
            a.c.variant_id,
            func.coalesce(_v.c.sku, ""),
            func.coalesce(_v.c.size, ""),
            a.c.warehouse_id,
            _w.c.code,
            _b.c.on_hand - _b.c.reserved,
            a.c.threshold,
            a.c.raised_at,
            a.c.snoozed_until,
            a.c.acknowledged_by,
            a.c.resolved_at,
        )
        .select_from(a)
        .join(_brand, _brand.c.id == a.c.brand_id)
        .join(_p, _p.c.id == a.c.product_id)
        .join(_w, _w.c.id == a.c.warehouse_id)
        .outerjoin(_v, _v.c.id == a.c.variant_id)
        .outerjoin(
            _b,
            and_(_b.c.variant_id == a.c.variant_id, _b.c.warehouse_id == a.c.warehouse_id),
        )
        .where(*conditions)
        .order_by(*grouping, a.c.raised_at.desc(), a.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return Page(rows=[AlertRow(*r) for r in rows], total=int(total), offset=offset, limit=limit)


def group_totals(
    session: Session,
    group_by: str,
    keys: list[int] | tuple[int, ...],
    *,
    view: str = "open",
    kind: str | None = None,
    brand_id: int | None = None,
    warehouse_id: int | None = None,
    now: datetime | None = None,
) -> dict[int, int]:
    """Alerts in the view per group key (product id for "style", warehouse id for
    "warehouse"), for the groups in `keys`: the counts on a page's group headers."""
    a = _source(view) if view in VIEWS else _alert
    column = {"style": a.c.product_id, "warehouse": a.c.warehouse_id}.get(group_by)
    if column is None:
        raise InvalidQuantity(f"Group by style or warehouse, not {group_by!r}.", field="group")
    if not keys:
        return {}
    conditions = _view_conditions(view, kind, brand_id, warehouse_id, now or utcnow(), a)
    query = (
        select(column, func.count())
        .where(*conditions, column.in_(sorted(set(keys))))
        .group_by(column)
    )
    return {int(key): int(n) for key, n in session.execute(query)}


def _view_conditions(
    view: str,
    kind: str | None,
    brand_id: int | None,
    warehouse_id: int | None,
    now: datetime,
    a=_alert,
) -> list:
    """The WHERE of an inbox view with its filters (shared by the list, groups and bulk)."""
    if view not in VIEWS:
        raise InvalidQuantity(f"Unknown view {view!r}.", field="view")
    if kind is not None:
        try:
            AlertKind(kind)
        except ValueError:
            raise InvalidQuantity(f"Unknown alert kind {kind!r}.", field="kind") from None
    if view == "open":
        condition = _counts_as_open(now, a)
    elif view == "snoozed":
        condition = and_(a.c.status == AlertStatus.SNOOZED.value, a.c.snoozed_until > now)
    else:
        condition = a.c.status.in_([s.value for s in VIEWS[view]])
    conditions = [condition]
    if kind is not None:
        conditions.append(a.c.kind == kind)
    if brand_id is not None:
        conditions.append(a.c.brand_id == brand_id)
    if warehouse_id is not None:
        conditions.append(a.c.warehouse_id == warehouse_id)
    return conditions


# --- grouping -------------------------------------------------------------------------------

#: How the inbox can group: by style, by warehouse, or by style within a warehouse.
GROUPINGS = ("style", "warehouse", "style_warehouse")


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """Alerts of one style and/or warehouse in a view (the keys not grouped by are None)."""

    product_id: int | None
    style_code: str | None
    product: str | None
    brand_code: str | None
    warehouse_id: int | None
    warehouse_code: str | None
    total: int
    #: Alerts of the group by kind (low_stock, out_of_stock, broken_size_run).
    by_kind: dict[str, int]
    oldest: datetime
    newest: datetime


def alert_groups(
    session: Session,
    *,
    group_by: str = "style_warehouse",
    view: str = "open",
    kind: str | None = None,
    brand_id: int | None = None,
    warehouse_id: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> Page[AlertGroup]:
    """One page of a view's alerts grouped by style, warehouse or both: the groups with
    the most alerts first (then the oldest). `group_alert_ids` lists a group's alerts."""
    if group_by not in GROUPINGS:
        raise InvalidQuantity(
            f"Group by one of {', '.join(GROUPINGS)}, not {group_by!r}.", field="group_by"
        )
    now = now or utcnow()
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    a = _source(view) if view in VIEWS else _alert
    conditions = _view_conditions(view, kind, brand_id, warehouse_id, now, a)
    by_style = group_by in ("style", "style_warehouse")
    by_place = group_by in ("warehouse", "style_warehouse")
    style_keys = (
        a.c.product_id,
        _p.c.style_code,
        _p.c.name.label("product"),
        _brand.c.code.label("brand_code"),
    )
    place_keys = (a.c.warehouse_id, _w.c.code.label("warehouse_code"))
    keys = [*(style_keys if by_style else ()), *(place_keys if by_place else ())]
    counts = [func.sum(case((a.c.kind == k.value, 1), else_=0)).label(k.value) for k in AlertKind]
    grouped = (
        select(
            *keys,
            func.count().label("total"),
            *counts,
            func.min(a.c.raised_at).label("oldest"),
            func.max(a.c.raised_at).label("newest"),
        )
        .select_from(a)
        .join(_brand, _brand.c.id == a.c.brand_id)
        .join(_p, _p.c.id == a.c.product_id)
        .join(_w, _w.c.id == a.c.warehouse_id)
        .where(*conditions)
        .group_by(*(k.element if hasattr(k, "element") else k for k in keys))
    )
    total = session.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    rows = session.execute(
        grouped.order_by(
            func.count().desc(),
            func.min(a.c.raised_at),
            *(k.element if hasattr(k, "element") else k for k in keys),
        )
        .offset(offset)
        .limit(limit)
    ).mappings()
    groups = [
        AlertGroup(
            product_id=row.get("product_id"),
            style_code=row.get("style_code"),
            product=row.get("product"),
            brand_code=row.get("brand_code"),
            warehouse_id=row.get("warehouse_id"),
            warehouse_code=row.get("warehouse_code"),
            total=int(row["total"]),
            by_kind={k.value: int(row[k.value] or 0) for k in AlertKind},
            oldest=row["oldest"],
            newest=row["newest"],
        )
        for row in rows
    ]
    return Page(rows=groups, total=int(total), offset=offset, limit=limit)


def group_alert_ids(
    session: Session,
    *,
    view: str = "open",
    product_id: int | None = None,
    warehouse_id: int | None = None,
    kind: str | None = None,
    brand_id: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """The ids of a group's alerts in a view (at most BATCH_MAX), for a bulk action."""
    conditions = _view_conditions(view, kind, brand_id, warehouse_id, now or utcnow())
    if product_id is not None:
        conditions.append(_alert.c.product_id == product_id)
    return list(
        session.scalars(
            select(_alert.c.id).where(*conditions).order_by(_alert.c.id).limit(BATCH_MAX)
        )
    )
