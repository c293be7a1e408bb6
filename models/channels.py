"""Sales channels (a storefront, marketplace or store) and the warehouses they sell from.

A channel has an ordered list of warehouses and an allocation strategy
(`models.allocation`). Reservations name their channel by code; a code with no channel
row is allocated as before channels existed (every active warehouse, by priority).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint, delete, func, select
from sqlmodel import Field, Session, SQLModel

from models.admin import PAGE_SIZE, WAREHOUSE_FIELDS, Page, record_warehouse_change
from models.audit import SYSTEM, diff, fields_of, record
from models.base import UTCDateTime, utcnow
from models.catalog import Warehouse, warehouse_by_code
from models.errors import Conflict, InvalidQuantity, NotFound
from models.geo import Place, place


class Strategy(StrEnum):
    PRIORITY = "priority"
    MOST_STOCK = "most-stock"
    NEAREST = "nearest"


class Channel(SQLModel, table=True):
    __tablename__ = "channel"
    __table_args__ = (
        CheckConstraint(
            "strategy IN ('priority', 'most-stock', 'nearest')", name="channel_strategy"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    strategy: str = Field(default=Strategy.PRIORITY.value, max_length=16)
    allow_split: bool = Field(default=False)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChannelWarehouse(SQLModel, table=True):
    """One warehouse in a channel's list; `position` 0 is the channel's first choice."""

    __tablename__ = "channel_warehouse"
    __table_args__ = (
        UniqueConstraint("channel_id", "position", name="uq_channel_warehouse_position"),
        CheckConstraint("position >= 0", name="channel_warehouse_position_not_negative"),
    )

    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouse.id", primary_key=True)
    position: int


_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FIELDS = ("code", "name", "strategy", "allow_split", "is_active")


@dataclass(frozen=True, slots=True)
class ChannelRow:
    id: int
    code: str
    name: str
    strategy: str
    allow_split: bool
    is_active: bool
    warehouses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    """What allocation needs of a channel: its strategy and its warehouses' ids in order."""

    code: str
    strategy: Strategy
    allow_split: bool
    warehouse_ids: tuple[int, ...]


def parse_strategy(value: str) -> Strategy:
    try:
        return Strategy(value.strip().lower())
    except ValueError:
        raise InvalidQuantity(
            f"strategy must be one of {', '.join(Strategy)}, not {value!r}.",
            field="strategy",
            value=value,
        ) from None


def parse_warehouse_codes(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """ "A,B,C" (or a list) as upper-cased codes; a code given twice is refused."""
    codes = value.split(",") if isinstance(value, str) else list(value)
    codes = [c.strip().upper() for c in codes if c.strip()]
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise InvalidQuantity(
                f"Warehouse {code} is listed twice.", field="warehouses", value=code
            )
        seen.add(code)
    return codes


def _warehouse_ids(session: Session, codes: list[str]) -> list[int]:
    """The ids of `codes` in order; an unknown or inactive one is refused by name."""
    found = {
        w.code: w for w in session.scalars(select(Warehouse).where(Warehouse.code.in_(codes))).all()
    }
    ids = []
    for code in codes:
        warehouse = found.get(code)
        if warehouse is None:
            raise NotFound(f"No warehouse with code {code!r}.", field="warehouses", warehouse=code)
        if not warehouse.is_active:
            raise Conflict(
                f"Warehouse {code} is inactive; a channel can only list active warehouses.",
                field="warehouses",
                warehouse=code,
            )
        ids.append(warehouse.id)
    return ids


def _set_warehouses(session: Session, channel: Channel, codes: list[str]) -> None:
    ids = _warehouse_ids(session, codes)
    session.execute(delete(ChannelWarehouse).where(ChannelWarehouse.channel_id == channel.id))
    session.flush()
    session.add_all(
        ChannelWarehouse(channel_id=channel.id, warehouse_id=wid, position=i)
        for i, wid in enumerate(ids)
    )
    session.flush()


def _state(session: Session, channel: Channel) -> dict[str, object]:
    return {name: getattr(channel, name) for name in _FIELDS} | {
        "warehouses": ",".join(_codes(session, channel.id))
    }


def _codes(session: Session, channel_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Warehouse.code)
            .join(ChannelWarehouse, ChannelWarehouse.warehouse_id == Warehouse.id)
            .where(ChannelWarehouse.channel_id == channel_id)
            .order_by(ChannelWarehouse.position)
        )
    )


def create_channel(
    session: Session,
    code: str,
    name: str,
    *,
    strategy: str = Strategy.PRIORITY.value,
    warehouses: str | list[str] = (),
    allow_split: bool = False,
    actor: str = SYSTEM,
) -> Channel:
    """A new channel. Without warehouses it allocates from every active one, by priority."""
    code = code.strip()
    if not _CODE.match(code):
        raise InvalidQuantity(
            f"Channel code must be 1-64 letters, digits, '-', '_' or '.', not {code!r}.",
            field="code",
            value=code,
        )
    if session.scalar(select(Channel.id).where(Channel.code == code)) is not None:
        raise Conflict(f"Channel {code!r} already exists.", field="code", code=code)
    channel = Channel(
        code=code,
        name=name.strip() or code,
        strategy=parse_strategy(strategy).value,
        allow_split=allow_split,
    )
    session.add(channel)
    session.flush()
    _set_warehouses(session, channel, parse_warehouse_codes(warehouses))
    record(
        session,
        actor,
        "channel.created",
        target_type="channel",
        target_id=channel.id,
        label=channel.code,
        changes=_state(session, channel),
    )
    return channel


def channel_by_code(session: Session, code: str) -> Channel:
    channel = session.scalar(select(Channel).where(Channel.code == code.strip()))
    if channel is None:
        raise NotFound(f"No channel with code {code!r}.", channel=code)
    return channel


def update_channel(
    session: Session,
    code: str,
    *,
    name: str | None = None,
    strategy: str | None = None,
    warehouses: str | list[str] | None = None,
    allow_split: bool | None = None,
    active: bool | None = None,
    actor: str = SYSTEM,
) -> Channel:
    """Change what is given; everything is checked before anything is written."""
    channel = channel_by_code(session, code)
    before = _state(session, channel)
    parsed = parse_strategy(strategy) if strategy is not None else None
    codes = parse_warehouse_codes(warehouses) if warehouses is not None else None
    if codes is not None:
        _warehouse_ids(session, codes)  # refuse before changing anything
    if name is not None:
        channel.name = name.strip() or channel.code
    if parsed is not None:
        channel.strategy = parsed.value
    if allow_split is not None:
        channel.allow_split = allow_split
    if active is not None:
        channel.is_active = active
    session.add(channel)
    session.flush()
    if codes is not None:
        _set_warehouses(session, channel, codes)
    changes = diff(before, _state(session, channel))
    if changes:
        record(
            session,
            actor,
            "channel.updated",
            target_type="channel",
            target_id=channel.id,
            label=channel.code,
            changes=changes,
        )
    return channel


def _rows(session: Session, channels: Sequence[Channel]) -> list[ChannelRow]:
    return [
        ChannelRow(
            c.id,
            c.code,
            c.name,
            c.strategy,
            c.allow_split,
            c.is_active,
            tuple(_codes(session, c.id)),
        )
        for c in channels
    ]


def list_channels(session: Session) -> list[ChannelRow]:
    return _rows(session, session.scalars(select(Channel).order_by(Channel.code)).all())


def channel_page(session: Session, *, offset: int = 0, limit: int = PAGE_SIZE) -> Page[ChannelRow]:
    """A page of channels as the admin list shows them: active first, then by code."""
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    channels = session.scalars(
        select(Channel).order_by(Channel.is_active.desc(), Channel.code).offset(offset).limit(limit)
    ).all()
    total = int(session.scalar(select(func.count()).select_from(Channel)) or 0)
    return Page(rows=_rows(session, channels), total=total, offset=offset, limit=limit)


def channel_plan(session: Session, code: str) -> ChannelPlan | None:
    """How `code`'s reservations are allocated, or None when no channel is configured.

    An inactive channel, or one listing a warehouse that has since been deactivated or
    removed, is refused: its reservations would otherwise come from places nobody chose.
    """
    channel = session.scalar(select(Channel).where(Channel.code == code))
    if channel is None:
        return None
    if not channel.is_active:
        raise Conflict(
            f"Channel {code!r} is inactive; it cannot reserve stock.", field="channel", channel=code
        )
    rows = session.execute(
        select(Warehouse.id, Warehouse.code, Warehouse.is_active)
        .join(ChannelWarehouse, ChannelWarehouse.warehouse_id == Warehouse.id)
        .where(ChannelWarehouse.channel_id == channel.id)
        .order_by(ChannelWarehouse.position)
    ).all()
    inactive = [row.code for row in rows if not row.is_active]
    if inactive:
        raise Conflict(
            f"Channel {code!r} lists inactive warehouse(s) {', '.join(inactive)}; "
            "update the channel's warehouses.",
            field="channel",
            channel=code,
            warehouses=inactive,
        )
    if not rows:  # no list: every active warehouse, in priority order
        ids = session.scalars(
            select(Warehouse.id)
            .where(Warehouse.is_active.is_(True))
            .order_by(Warehouse.priority, Warehouse.id)
        ).all()
    else:
        ids = [row.id for row in rows]
    return ChannelPlan(channel.code, Strategy(channel.strategy), channel.allow_split, tuple(ids))


#: Passed as country to clear a warehouse's place (country and coordinates).
CLEAR = "-"


def change_warehouse(
    session: Session,
    code: str,
    *,
    name: str | None = None,
    priority: int | None = None,
    country: str | None = None,
    latitude: object = None,
    longitude: object = None,
    active: bool | None = None,
    actor: str = SYSTEM,
) -> Warehouse:
    """Change what is given of a warehouse, by code: name, priority, active, and its
    place (country; coordinates both or neither; country `CLEAR` forgets the place).
    Everything is checked before anything changes."""
    warehouse = warehouse_by_code(session, code.strip().upper())
    before = fields_of(warehouse, *WAREHOUSE_FIELDS)
    if country == CLEAR:
        if latitude is not None or longitude is not None:
            raise InvalidQuantity("Clearing the place clears the coordinates too.", field="lat")
        where = Place()
    elif country is not None or latitude is not None or longitude is not None:
        where = place(country if country is not None else warehouse.country, latitude, longitude)
        if where.country is None:
            raise InvalidQuantity(
                f"Warehouse {warehouse.code} has no country; give --country with coordinates.",
                field="country",
            )
        if latitude is None:  # a new country alone keeps the point, if any
            where = Place(where.country, warehouse.latitude, warehouse.longitude)
    else:
        where = Place(warehouse.country, warehouse.latitude, warehouse.longitude)
    if priority is not None and not 0 <= priority <= 1_000_000:
        raise InvalidQuantity("priority must be between 0 and 1,000,000.", field="priority")
    if active is False:
        users = session.scalars(
            select(Channel.code)
            .join(ChannelWarehouse, ChannelWarehouse.channel_id == Channel.id)
            .where(ChannelWarehouse.warehouse_id == warehouse.id, Channel.is_active.is_(True))
        ).all()
        if users:
            raise Conflict(
                f"Warehouse {warehouse.code} is listed by channel(s) {', '.join(users)}; "
                "take it off their lists first.",
                field="active",
                channels=list(users),
            )
    if name is not None:
        warehouse.name = name.strip() or warehouse.code
    if priority is not None:
        warehouse.priority = priority
    if active is not None:
        warehouse.is_active = active
    warehouse.country, warehouse.latitude, warehouse.longitude = where.country, where.lat, where.lon
    session.add(warehouse)
    session.flush()
    record_warehouse_change(session, actor, warehouse, before)
    return warehouse
