"""A reservation on PostgreSQL in one statement: pick, hold, balance, ledger and events.

The common path of `models.reservations.reserve` used to be two statements (pick the
warehouse and insert the idempotency row; then the guarded balance update with its
ledger row and events), and the API added the key check, the SKU lookup and the
warehouse's code: seven round trips per request, each with its share of Python. Here one
data-modifying CTE does all of it, so a reservation is BEGIN, this statement, COMMIT:

1. (`keyed`) the API key by its hash, live and holding the scope, and the canonical SKU
   it may touch (its brand's, if the key is brand-bound);
2. the warehouse the allocation policy picks (active, by priority, then most available,
   whose available covers the request), or the named one; none when the request's
   channel is configured (`models.channels`: its strategy is applied in Python);
3. the reservation row (ON CONFLICT DO NOTHING on the idempotency key: a concurrent
   duplicate waits on the unique index and then inserts nothing);
4. the guarded balance UPDATE (re-checked on the newest row version under concurrency),
   its ledger row, its `stock.changed` event (the ledger row's id) and its
   `reservation.created` event.

Nothing here explains a refusal: a row without a reservation (a retry, an alias or
barcode, another brand's SKU, a revoked key, too little stock) or with a reservation but
no balance (a concurrent checkout took the units between pick and update) sends the
caller to the general path, which answers exactly as before.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    cast,
    exists,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from models.base import UTCDateTime, utcnow
from models.catalog import Variant, Warehouse
from models.channels import Channel
from models.events import (
    EventType,
    extra_event_rows,
    insert_events,
    stock_event_rows,
    time_params,
    writing_enabled,
)
from models.stock import LedgerReason, _balance
from models.stock_ledger import _ledger
from models.users import ApiKey

_w = Warehouse.__table__
_v = Variant.__table__
_k = ApiKey.__table__

#: What every variant of the statement returns (None where it did not get that far).
HOLD_COLUMNS = ("reservation_id", "warehouse_id", "on_hand", "reserved", "incoming")
#: What the keyed statement adds: the key (for the caller's identity) and the names the
#: answer needs.
KEY_COLUMNS = (
    "key_id",
    "key_name",
    "key_brand_id",
    "key_last_used_at",
    "variant_id",
    "sku",
    "warehouse_code",
)


def hold_params(params: dict[str, Any], *, events: bool) -> dict[str, Any]:
    """The statement's time and event parameters for the reservation `params` describe
    (r_qty, r_channel, r_order_ref, r_expires_at): the balance change is stamped now, as
    `change_balance` stamps it."""
    now = utcnow()
    stamped: dict[str, Any] = {"b_now": now}
    if events:
        data = {
            "qty": params["r_qty"],
            "channel": params["r_channel"],
            "order_ref": params["r_order_ref"],
            "status": "active",
            "expires_at": params["r_expires_at"].isoformat(),
        }
        stamped.update(time_params(now))
        stamped["x_type"] = EventType.RESERVATION_CREATED.value
        stamped["x_data"] = json.dumps(data)
    return stamped


def _param(name: str, type_: Any) -> Any:
    return cast(bindparam(name, type_=type_), type_)


def unconfigured_channel() -> Any:
    """True when no channel row has the request's code: a configured channel allocates by
    its own strategy (`models.allocation`), so these statements leave it alone."""
    channel = Channel.__table__
    return ~exists(
        select(channel.c.id).where(channel.c.code == bindparam("r_channel", type_=String))
    )


@cache
def reserve_statement(
    reservation: Table, *, keyed: bool, explicit_warehouse: bool, events: bool
) -> Any:
    """The one-statement reservation (see the module docstring), built once per shape.

    Parameters: r_qty, r_channel, r_order_ref, r_created_at, r_expires_at, b_now, and
    e_now, e_at, x_type, x_data (the event's data but its reservation_id) with `events`;
    unkeyed r_variant and r_actor; keyed key_hash, r_scope (a JSON list of the scope)
    and r_sku; with `explicit_warehouse` r_warehouse (unkeyed: its id) or
    r_warehouse_code (keyed).
    """
    qty = _param("r_qty", Integer)
    available = _balance.c.on_hand - _balance.c.reserved
    pick = select(_balance.c.variant_id, _balance.c.warehouse_id, _w.c.code.label("warehouse_code"))
    if keyed:
        key = (
            select(
                _k.c.id.label("key_id"),
                _k.c.name.label("key_name"),
                _k.c.brand_id.label("key_brand_id"),
                _k.c.last_used_at.label("key_last_used_at"),
                (literal("api:", String) + _k.c.name).label("actor"),
                (
                    _k.c.revoked_at.is_(None)
                    & cast(_k.c.scopes, postgresql.JSONB).contains(
                        bindparam("r_scope", type_=postgresql.JSONB)
                    )
                ).label("allowed"),
            )
            .where(_k.c.key_hash == bindparam("key_hash", type_=String))
            .cte("key")
        )
        variant = (
            select(_v.c.id, _v.c.sku)
            .join(key, key.c.allowed)
            .where(
                _v.c.sku == bindparam("r_sku", type_=String),
                or_(key.c.key_brand_id.is_(None), _v.c.brand_id == key.c.key_brand_id),
            )
            .cte("v")
        )
        pick = pick.select_from(variant).join(_balance, _balance.c.variant_id == variant.c.id)
        actor = key.c.actor
    else:
        pick = pick.where(_balance.c.variant_id == bindparam("r_variant", type_=Integer))
        actor = _param("r_actor", String)
    pick = (
        pick.join(_w, _w.c.id == _balance.c.warehouse_id)
        .where(available >= qty, _w.c.is_active.is_(True), unconfigured_channel())
        .order_by(_w.c.priority, available.desc(), _w.c.id)
        .limit(1)
    )
    if explicit_warehouse and keyed:
        pick = pick.where(_w.c.code == bindparam("r_warehouse_code", type_=String))
    elif explicit_warehouse:
        pick = pick.where(_balance.c.warehouse_id == bindparam("r_warehouse", type_=Integer))
    pick = pick.cte("pick")
    with_key = (lambda source: source.join(key, true())) if keyed else (lambda source: source)

    inserted = (
        postgresql.insert(reservation)
        .from_select(
            [
                "variant_id",
                "warehouse_id",
                "qty",
                "channel",
                "order_ref",
                "status",
                "actor",
                "created_at",
                "expires_at",
                "line",
            ],
            select(
                pick.c.variant_id,
                pick.c.warehouse_id,
                qty,
                _param("r_channel", String),
                _param("r_order_ref", String),
                literal("active", String),
                actor,
                bindparam("r_created_at", type_=UTCDateTime),
                bindparam("r_expires_at", type_=UTCDateTime),
                literal(0, Integer),
            ).select_from(with_key(pick)),
        )
        .on_conflict_do_nothing(index_elements=["channel", "order_ref", "variant_id", "line"])
        .returning(reservation.c.id, reservation.c.variant_id, reservation.c.warehouse_id)
        .cte("ins")
    )
    now = bindparam("b_now", type_=UTCDateTime)
    changed = (
        update(_balance)
        .where(
            _balance.c.variant_id == inserted.c.variant_id,
            _balance.c.warehouse_id == inserted.c.warehouse_id,
            _balance.c.on_hand - _balance.c.reserved >= qty,
        )
        .values(reserved=_balance.c.reserved + qty, updated_at=now)
        .returning(
            _balance.c.variant_id,
            _balance.c.warehouse_id,
            _balance.c.on_hand,
            _balance.c.reserved,
            _balance.c.incoming,
        )
        .cte("changed")
    )
    reference = literal("reservation:", String) + cast(inserted.c.id, String)
    zero = literal(0, Integer)
    reason = literal(LedgerReason.RESERVE.value, String)
    logged = (
        insert(_ledger)
        .from_select(
            [
                "variant_id",
                "warehouse_id",
                "on_hand_delta",
                "reserved_delta",
                "incoming_delta",
                "reason",
                "reference",
                "actor",
                "note",
                "created_at",
            ],
            select(
                changed.c.variant_id,
                changed.c.warehouse_id,
                zero,
                qty,
                zero,
                reason,
                reference,
                actor,
                null(),
                now,
            ).select_from(with_key(changed.join(inserted, true()))),
        )
        .returning(_ledger.c.id)
        .cte("logged")
    )
    ctes = [logged]
    if events:
        src = (
            select(
                logged.c.id.label("ledger_id"),
                changed.c.variant_id,
                changed.c.warehouse_id,
                changed.c.on_hand,
                changed.c.reserved,
                changed.c.incoming,
                zero.label("on_hand_delta"),
                qty.label("reserved_delta"),
                zero.label("incoming_delta"),
                reason.label("reason"),
                reference.label("reference"),
                inserted.c.id.label("reservation_id"),
            )
            .select_from(changed.join(logged, true()).join(inserted, true()))
            .cte("src")
        )
        stock_event = stock_event_rows("postgresql", src, with_id=True)
        reservation_event = extra_event_rows(
            "postgresql", src, more=[("reservation_id", src.c.reservation_id)]
        )
        ctes += [
            insert_events(stock_event, with_id=True).cte("evented"),
            insert_events(reservation_event).cte("extra"),
        ]
    hold = [
        inserted.c.id.label("reservation_id"),
        inserted.c.warehouse_id,
        changed.c.on_hand,
        changed.c.reserved,
        changed.c.incoming,
    ]
    if not keyed:
        return select(*hold).select_from(inserted.outerjoin(changed, true())).add_cte(*ctes)
    source = (
        key.outerjoin(variant, true())
        .outerjoin(pick, true())
        .outerjoin(inserted, true())
        .outerjoin(changed, true())
    )
    return (
        select(
            *hold,
            key.c.key_id,
            key.c.key_name,
            key.c.key_brand_id,
            key.c.key_last_used_at,
            variant.c.id.label("variant_id"),
            variant.c.sku,
            pick.c.warehouse_code,
        )
        .select_from(source)
        .add_cte(*ctes)
    )


@dataclass(frozen=True, slots=True)
class KeyedHold:
    """A reservation the API made in one statement, with who made it and its names."""

    reservation_id: int
    key_id: int
    key_name: str
    key_last_used_at: datetime | None
    variant_id: int
    sku: str
    warehouse_id: int
    warehouse_code: str
    channel: str
    order_ref: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A reserve statement compiled once to PostgreSQL's own `$n` placeholders."""

    sql: str
    query: bytes  # `sql` as sent: psycopg keys its prepared statements by these bytes
    names: tuple[str, ...]  # the request's parameter behind each $n
    bind: dict[str, Callable[[Any], Any]]  # bind processors (UTCDateTime, JSONB), by name
    row: type  # a named tuple of the statement's columns
    results: tuple[Callable[[Any], Any] | None, ...]  # result processors, by column


@cache
def _compiled(
    reservation: Table, *, keyed: bool, explicit_warehouse: bool, events: bool
) -> _Compiled:
    statement = reserve_statement(
        reservation, keyed=keyed, explicit_warehouse=explicit_warehouse, events=events
    )
    dialect = PGDialect_psycopg(paramstyle="numeric_dollar")
    compiled = statement.compile(dialect=dialect)
    positions = tuple(compiled.positiontup or ())
    constants: dict[str, str] = {}  # the statement's own values (JSON keys, reasons), as SQL
    bind: dict[str, Callable[[Any], Any]] = {}
    for parameter, name in compiled.bind_names.items():
        if not parameter.required:  # a value of the statement's own, not the request's
            render = parameter.type.dialect_impl(dialect).literal_processor(dialect)
            if render is None:
                raise TypeError(f"{name}: no SQL literal for {parameter.type!r}")
            constants[name] = "NULL" if parameter.value is None else render(parameter.value)
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind[name] = processor
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        # Constants go into the text (fewer values to adapt and send per call); the
        # request's values are renumbered in order.
        name = positions[int(match.group(1)) - 1]
        if name in constants:
            return constants[name]
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    sql = re.sub(r"\$(\d+)", placeholder, str(compiled))
    columns = statement.selected_columns
    return _Compiled(
        sql,
        sql.encode(),
        tuple(names),
        bind,
        namedtuple("HoldRow", [column.key for column in columns]),
        tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns),
    )


def _run(connection: Connection, compiled: _Compiled, params: dict[str, Any]) -> Any:
    """Execute `compiled` on the session's own connection (inside its transaction) and
    return its row as a named tuple, or None.

    Why not `connection.execute`: the statement is ~5 KB with ~70 parameters, past what
    psycopg caches of its query parsing (4 KB, 50 parameters), so every call re-parsed it
    in Python (~0.5 ms of CPU), and SQLAlchemy's per-execution work came on top: together
    more CPU than the whole raw baseline transaction, under the GIL. Compiled once to
    `$n` SQL and sent through psycopg's RawCursor, nothing is parsed per call. The
    engine's cursor events still fire (statement counters, tracing) when any are
    listened for, as `execute` fires them, and errors come wrapped as SQLAlchemy's.

    Prepared on a connection's first call (`prepare=True`), not after psycopg's five
    unprepared ones: each of those made the server parse and plan the whole statement
    (~0.7 ms), on every new pooled connection, as the server's own first five custom
    plans of a prepared statement do anyway."""
    bind = compiled.bind
    values = [
        value if (processor := bind.get(name)) is None or value is None else processor(value)
        for name in compiled.names
        for value in (params[name],)
    ]
    sql = compiled.sql
    cursor = psycopg.RawCursor(connection.connection.driver_connection)
    # As `Connection._execute_context` checks: with no listener, no dispatch at all.
    events = connection._has_events or connection.engine._has_events
    if events:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
    try:
        # The same bytes object every call: no encoding, and its hash (the key of the
        # connection's prepared statement) computed once.
        cursor.execute(compiled.query, values, prepare=True)
        row = cursor.fetchone()
    except psycopg.Error as error:
        raise DBAPIError.instance(sql, values, error, psycopg.Error) from error
    finally:
        cursor.close()
    if events:
        connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
    if row is None:
        return None
    processed = (
        value if processor is None else processor(value)
        for processor, value in zip(compiled.results, row, strict=True)
    )
    return compiled.row(*processed)


def hold(
    session: Session, reservation: Table, params: dict[str, Any]
) -> tuple[int | None, int | None]:
    """Reserve as `models.reservations.reserve` asks, in one statement (retrying a lost
    race twice). Returns (reservation id, warehouse id), or (None, None) when nothing
    was reserved."""
    events = writing_enabled()
    explicit = params["r_warehouse"] is not None
    compiled = _compiled(reservation, keyed=False, explicit_warehouse=explicit, events=events)
    params = {**params, **hold_params(params, events=events)}
    connection = session.connection()
    for _attempt in range(3):
        row = _run(connection, compiled, params)
        if row is None:
            break  # a retry of this order, an unknown variant, or nothing available
        if row.on_hand is not None:
            return row.reservation_id, row.warehouse_id
        _lost_race(connection, reservation, row.reservation_id)
    return None, None


def keyed_hold(session: Session, reservation: Table, params: dict[str, Any]) -> KeyedHold | None:
    """Run the keyed statement; None when it reserved nothing (and left nothing written)."""
    events = writing_enabled()
    explicit = params.get("r_warehouse_code") is not None
    compiled = _compiled(reservation, keyed=True, explicit_warehouse=explicit, events=events)
    connection = session.connection()
    row = _run(connection, compiled, {**params, **hold_params(params, events=events)})
    if row is None or row.reservation_id is None:
        return None
    if row.on_hand is None:
        _lost_race(connection, reservation, row.reservation_id)
        return None
    return KeyedHold(
        row.reservation_id,
        row.key_id,
        row.key_name,
        row.key_last_used_at,
        row.variant_id,
        row.sku,
        row.warehouse_id,
        row.warehouse_code,
        params["r_channel"],
        params["r_order_ref"],
        params["r_created_at"],
        params["r_expires_at"],
    )


def _lost_race(connection: Connection, reservation: Table, reservation_id: int) -> None:
    """Another checkout took the units between the pick and the guarded update: the
    reservation row goes (nothing else was written)."""
    connection.execute(reservation.delete().where(reservation.c.id == reservation_id))
