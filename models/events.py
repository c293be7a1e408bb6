"""The outbox: every change writes its event row in the same transaction as the change.

A rolled-back change leaves no event and a committed one always has its event, because
both are written by the same transaction (on PostgreSQL a balance change, its ledger row
and its `stock.changed` event are one statement: `models.stock`). The relay
(`jobs/events`) reads the table in id order and hands each event to the webhook
endpoints that want it, to RabbitMQ and to the alert engine.

Types: `stock.changed`, `reservation.created|committed|released|expired`,
`transfer.status_changed`, `alert.raised|resolved`, `import.applied`, `sync.finished`;
`docs/events.md` lists what each one's `data` holds. Every event names its brand.

**Order.** Events that share an `order_key` (a variant's `v:<id>`, `transfer:<id>`,
`alert:<id>`) reach each endpoint in id order. On PostgreSQL event ids come from the
ledger's own sequence and a `stock.changed` event takes its ledger row's id, so a
variant's events are in ledger order. Every event is written after the change it
describes, so its transaction holds a transaction id before it takes an event id: the
relay relies on that to tell a gap that is still being written from one left by a
rollback (`jobs/events/relay.py`).

**Live screens.** On PostgreSQL the relay sends `NOTIFY rackroom_live` with short
topics (`live_topics`) for the events it reads, coalesced per batch; each web worker
listens (`jobs/live.py`). A NOTIFY in every stock transaction would serialise commits on
PostgreSQL's notification queue lock: 16 clients reserving fell to 0.37× (measured).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Brand, Variant, Warehouse


class EventType(StrEnum):
    STOCK_CHANGED = "stock.changed"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_COMMITTED = "reservation.committed"
    RESERVATION_RELEASED = "reservation.released"
    RESERVATION_EXPIRED = "reservation.expired"
    TRANSFER_STATUS_CHANGED = "transfer.status_changed"
    ALERT_RAISED = "alert.raised"
    ALERT_RESOLVED = "alert.resolved"
    IMPORT_APPLIED = "import.applied"
    SYNC_FINISHED = "sync.finished"


EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
#: The PostgreSQL channel that carries "what changed" to the web workers.
LIVE_CHANNEL = "rackroom_live"
#: A NOTIFY payload is limited to 8000 bytes; past this many ids a bulk change says "*".
LIVE_MAX_IDS = 200


class Event(SQLModel, table=True):
    """One thing that happened, kept `RACKROOM_EVENT_RETENTION` (30 days) for the relay."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_occurred_at", "occurred_at"),
        # SQLite must never reuse an id (the relay's position would skip it).
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    type: str = Field(max_length=40)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    brand_id: int | None = Field(default=None)
    #: Events with the same key reach an endpoint in id order (None: no order needed).
    order_key: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EventCursor(SQLModel, table=True):
    """How far a reader of the outbox has got: `relay` (gap-free horizon), `amqp`, `alerts`."""

    __tablename__ = "event_cursor"

    name: str = Field(primary_key=True, max_length=32)
    position: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


_event = Event.__table__
_variant = Variant.__table__
_brand = Brand.__table__
_warehouse = Warehouse.__table__

# --- the switch (benchmarks only) --------------------------------------------------------

_writing = True


def writing_enabled() -> bool:
    return _writing


@contextmanager
def writing_off() -> Iterator[None]:
    """Write no events (and no notifications) in this process for the block.

    Only `bench/events.py` uses it, to measure what the outbox costs; the product never
    switches events off (a change without its event would be lost to every listener).
    """
    global _writing
    _writing = False
    try:
        yield
    finally:
        _writing = True


# --- matching ---------------------------------------------------------------------------


def check_patterns(patterns: Iterable[str]) -> list[str]:
    """Event type globs (`stock.changed`, `reservation.*`, `*`), cleaned; ValueError naming
    the first pattern that matches no event type."""
    cleaned: list[str] = []
    for raw in patterns:
        pattern = str(raw).strip()
        if not pattern:
            continue
        if len(pattern) > 64 or not any(fnmatchcase(t, pattern) for t in EVENT_TYPES):
            known = ", ".join(EVENT_TYPES)
            raise ValueError(f"{pattern!r} matches no event type (known: {known})")
        if pattern not in cleaned:
            cleaned.append(pattern)
    if not cleaned:
        raise ValueError("give at least one event type (e.g. stock.changed or reservation.*)")
    return cleaned


def matches(patterns: Sequence[str], event_type: str) -> bool:
    return any(fnmatchcase(event_type, p) for p in patterns)


# --- writing: SQL building blocks ---------------------------------------------------------


def json_object(dialect: str, pairs: Sequence[tuple[str, ColumnElement]]) -> ColumnElement:
    """A JSON object built by the database from (key, expression) pairs."""
    args: list[Any] = []
    for key, value in pairs:
        args.extend((literal(key, String), value))
    if dialect == "postgresql":
        return func.json_build_object(*args, type_=JSON)
    return func.json_object(*args, type_=JSON)


def with_json_row(
    dialect: str, rows: Select, pairs: Sequence[tuple[str, ColumnElement]], *, of: Sequence[Any]
) -> tuple[Select, ColumnElement]:
    """`rows` ready to select the JSON object of (key, expression) pairs over `of` (the
    FROM items the expressions read), and that object.

    PostgreSQL builds it with row_to_json of a LATERAL row joined to `rows` (flattened
    into the join: no subquery per row): json_build_object looks up each argument's
    type on every row, a fifth of the first alert scan (45k events). SQLite uses
    json_object. Same keys, order and values; compact text on both."""
    if dialect != "postgresql":
        return rows, json_object(dialect, pairs)
    fields = select(*(value.label(key) for key, value in pairs)).correlate(*of).lateral("data")
    return rows.join(fields, true()), func.row_to_json(fields.table_valued(), type_=JSON)


def _text_param(name: str) -> ColumnElement:
    return cast(bindparam(name, type_=String), String)


def stock_event_rows(dialect: str, src, *, with_id: bool) -> Any:
    """SELECT the `stock.changed` rows for `src`, a selectable with ledger_id, variant_id,
    warehouse_id, on_hand, reserved, incoming (after the change), on_hand_delta,
    reserved_delta, incoming_delta, reason, reference. The time comes from the bind
    parameters `e_now` (datetime) and `e_at` (its ISO text). With `with_id` the event
    takes its ledger row's id (PostgreSQL: both come from one sequence)."""
    v, b, w = _variant, _brand, _warehouse
    pairs = [
        ("sku", v.c.sku),
        ("brand", b.c.code),
        ("warehouse", w.c.code),
        ("on_hand", src.c.on_hand),
        ("reserved", src.c.reserved),
        ("available", src.c.on_hand - src.c.reserved),
        ("incoming", src.c.incoming),
        ("on_hand_delta", src.c.on_hand_delta),
        ("reserved_delta", src.c.reserved_delta),
        ("incoming_delta", src.c.incoming_delta),
        ("reason", src.c.reason),
        ("reference", src.c.reference),
        ("ledger_id", src.c.ledger_id),
        ("at", _text_param("e_at")),
    ]
    joined = (
        select()
        .select_from(src)
        .join(v, v.c.id == src.c.variant_id)
        .join(b, b.c.id == v.c.brand_id)
        .join(w, w.c.id == src.c.warehouse_id)
    )
    rows, data = with_json_row(dialect, joined, pairs, of=(src, v, b, w))
    columns = [
        literal(EventType.STOCK_CHANGED.value, String),
        bindparam("e_now", type_=UTCDateTime),
        v.c.brand_id,
        literal("v:", String) + cast(src.c.variant_id, String),
        data,
    ]
    if with_id:
        columns.insert(0, src.c.ledger_id)
    return rows.with_only_columns(*columns, maintain_column_froms=False)


def extra_event_rows(dialect: str, src, more: Sequence[tuple[str, ColumnElement]] = ()) -> Any:
    """SELECT one event of type `x_type` beside a balance change in `src` (as above): its
    data is the JSON object `x_data` plus sku, brand, warehouse, ledger_id, at and the
    (key, expression) pairs `more` (values only the statement knows, such as a row id it
    inserts). No row when `x_type` is NULL."""
    v, b, w = _variant, _brand, _warehouse
    named = [
        ("sku", v.c.sku),
        ("brand", b.c.code),
        ("warehouse", w.c.code),
        ("ledger_id", src.c.ledger_id),
        ("at", _text_param("e_at")),
        *more,
    ]
    if dialect == "postgresql":
        args: list[Any] = []
        for key, value in named:
            args.extend((literal(key, String), value))
        data = cast(
            cast(bindparam("x_data", type_=String), postgresql.JSONB).op("||")(
                func.jsonb_build_object(*args)
            ),
            JSON,
        )
    else:
        data = func.json_patch(bindparam("x_data", type_=String), json_object(dialect, named))
    return (
        select(
            _text_param("x_type"),
            bindparam("e_now", type_=UTCDateTime),
            v.c.brand_id,
            literal("v:", String) + cast(src.c.variant_id, String),
            data,
        )
        .select_from(src)
        .join(v, v.c.id == src.c.variant_id)
        .join(b, b.c.id == v.c.brand_id)
        .join(w, w.c.id == src.c.warehouse_id)
        .where(bindparam("x_type", type_=String).is_not(None))
    )


#: Columns of an event INSERT … SELECT (without / with an explicit id).
EVENT_COLUMNS = ["type", "occurred_at", "brand_id", "order_key", "data"]
EVENT_COLUMNS_WITH_ID = ["id", *EVENT_COLUMNS]


def insert_events(rows_select, *, with_id: bool = False):
    """INSERT INTO event … from a select of EVENT_COLUMNS(_WITH_ID)."""
    return insert(_event).from_select(
        EVENT_COLUMNS_WITH_ID if with_id else EVENT_COLUMNS, rows_select
    )


def time_params(now: datetime) -> dict[str, Any]:
    """The bind parameters every event INSERT takes for its time."""
    return {"e_now": now, "e_at": now.isoformat()}


# --- writing: from Python -----------------------------------------------------------------


def emit(
    session: Session,
    event_type: EventType | str,
    data: dict[str, Any],
    *,
    brand_id: int | None,
    order_key: str | None = None,
    now: datetime | None = None,
) -> None:
    """Write one event in the session's transaction (call it after the change itself)."""
    emit_many(session, [(str(event_type), data, brand_id, order_key)], now=now)


def emit_many(
    session: Session,
    events: Sequence[tuple[str, dict[str, Any], int | None, str | None]],
    *,
    now: datetime | None = None,
) -> None:
    """Write several events (type, data, brand id, order key) in one statement."""
    if not events or not _writing:
        return
    now = now or utcnow()
    rows = [
        {
            "type": event_type,
            "occurred_at": now,
            "brand_id": brand_id,
            "order_key": order_key,
            "data": {**data, "at": data.get("at") or now.isoformat()},
        }
        for event_type, data, brand_id, order_key in events
    ]
    session.connection().execute(insert(_event), rows)


def emit_stock_changes(session: Session, ledger_ids: Sequence[int], now: datetime) -> int:
    """`stock.changed` for ledger rows this transaction just wrote (the bulk writers).

    Each event carries its balance as it was right after its row: the balance now, less
    the later rows of the same balance among `ledger_ids` (this transaction holds those
    balances, so nobody else moved them in between).
    """
    if not ledger_ids or not _writing:
        return 0
    connection = session.connection()
    dialect = connection.dialect.name
    from models.stock import LedgerEntry, StockBalance  # models.stock imports this module

    ledger, balance = LedgerEntry.__table__, StockBalance.__table__
    later = {"partition_by": (ledger.c.variant_id, ledger.c.warehouse_id), "order_by": ledger.c.id}

    def after(current, delta):
        return current - func.coalesce(
            func.sum(delta).over(**later, rows=(1, None)), literal(0, Integer)
        )

    def rows_for(condition):
        src = (
            select(
                ledger.c.id.label("ledger_id"),
                ledger.c.variant_id,
                ledger.c.warehouse_id,
                after(balance.c.on_hand, ledger.c.on_hand_delta).label("on_hand"),
                after(balance.c.reserved, ledger.c.reserved_delta).label("reserved"),
                after(balance.c.incoming, ledger.c.incoming_delta).label("incoming"),
                ledger.c.on_hand_delta,
                ledger.c.reserved_delta,
                ledger.c.incoming_delta,
                ledger.c.reason,
                ledger.c.reference,
            )
            .join(
                balance,
                and_(
                    balance.c.variant_id == ledger.c.variant_id,
                    balance.c.warehouse_id == ledger.c.warehouse_id,
                ),
            )
            .where(condition)
            .subquery("src")
        )
        return stock_event_rows(dialect, src, with_id=dialect == "postgresql")

    params = time_params(now)
    ids = sorted(int(i) for i in ledger_ids)
    if dialect == "postgresql":
        condition = ledger.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger)))
        connection.execute(insert_events(rows_for(condition), with_id=True), {**params, "ids": ids})
    elif ids[-1] - ids[0] + 1 == len(ids):  # one writer: one bulk INSERT's ids are contiguous
        condition = ledger.c.id.between(ids[0], ids[-1])
        connection.execute(insert_events(rows_for(condition)), params)
    else:  # chunks keep within SQLite's bind-parameter limit (callers pass each balance once)
        for start in range(0, len(ids), 500):
            condition = ledger.c.id.in_(ids[start : start + 500])
            connection.execute(insert_events(rows_for(condition)), params)
    return len(ids)


# --- retention ------------------------------------------------------------------------------

#: Readers whose position bounds what may be purged (the broker's only when it is set).
_READERS = ("relay", "alerts")


def purge_events(session: Session, *, older_than: datetime, batch: int = 10_000) -> int:
    """Delete up to `batch` events written before `older_than` that every reader has passed
    (their webhook deliveries and attempts go with them); returns how many."""
    from models.settings import settings

    cursor = EventCursor.__table__
    readers = [*_READERS, "amqp"] if settings().amqp_url else list(_READERS)
    positions = list(session.scalars(select(cursor.c.position).where(cursor.c.name.in_(readers))))
    if len(positions) < len(readers):
        return 0  # a reader has not started yet: keep everything for it
    bound = min(positions)
    ids = list(
        session.scalars(
            select(_event.c.id)
            .where(_event.c.occurred_at < older_than, _event.c.id <= bound)
            .order_by(_event.c.id)
            .limit(batch)
        )
    )
    if not ids:
        return 0
    from models.webhooks import WebhookAttempt, WebhookDelivery

    delivery, attempt = WebhookDelivery.__table__, WebhookAttempt.__table__
    deliveries = select(delivery.c.id).where(delivery.c.event_id.in_(ids))
    session.execute(attempt.delete().where(attempt.c.delivery_id.in_(deliveries)))
    session.execute(delivery.delete().where(delivery.c.event_id.in_(ids)))
    session.execute(_event.delete().where(_event.c.id.in_(ids)))
    return len(ids)


# --- live notifications -------------------------------------------------------------------


def live_topics(events: Iterable[tuple[str, str | None, dict[str, Any]]]) -> list[str]:
    """What changed, for open screens, from (type, order key, data) of events: one topic
    per kind, `stock:<variant ids>` (or `stock:*` for many), `transfer:<ids>` (or
    `transfer:*` for many), `alert`, `import`, `sync`. The relay NOTIFYs them
    (`jobs/events/relay.py`)."""
    variants: set[int] = set()
    transfers: set[int] = set()
    kinds: set[str] = set()
    many = False
    for event_type, order_key, data in events:
        if order_key and order_key.startswith("v:"):
            variants.add(int(order_key[2:]))
            many = many or len(variants) > LIVE_MAX_IDS
        elif event_type == EventType.TRANSFER_STATUS_CHANGED:
            transfers.add(int(data.get("transfer_id") or 0))
        elif event_type.startswith("alert."):
            kinds.add("alert")
        elif event_type == EventType.IMPORT_APPLIED:
            kinds.add("import")
        elif event_type == EventType.SYNC_FINISHED:
            kinds.add("sync")
    topics = sorted(kinds)
    if variants:
        topics.append("stock:*" if many else "stock:" + ",".join(map(str, sorted(variants))))
    transfers.discard(0)
    if transfers:  # past LIVE_MAX_IDS, "any": a page must never miss its own transfer
        if len(transfers) > LIVE_MAX_IDS:
            topics.append("transfer:*")
        else:
            topics.append("transfer:" + ",".join(map(str, sorted(transfers))))
    return topics


__all__ = [
    "EVENT_COLUMNS",
    "EVENT_TYPES",
    "LIVE_CHANNEL",
    "Event",
    "EventCursor",
    "EventType",
    "check_patterns",
    "emit",
    "emit_many",
    "emit_stock_changes",
    "extra_event_rows",
    "insert_events",
    "live_topics",
    "matches",
    "purge_events",
    "stock_event_rows",
    "time_params",
    "writing_enabled",
    "writing_off",
]
