"""Administration: accounts and roles, brands, warehouses and API keys as admins see them.

The operations behind the admin pages. Each takes a session and keeps the rules that
protect the system from its own administrators: Rackroom always keeps one active
admin, nobody changes their own role or locks themselves out, and deactivating a
user or resetting a password ends that user's sessions at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import delete, func, or_, select
from sqlmodel import Session

from models.api_keys import revoke_api_key
from models.audit import (
    SECRET_REPLACED,
    SECRET_SET,
    SYSTEM,
    diff,
    fields_of,
    record,
    record_update,
)
from models.catalog import (
    Brand,
    Product,
    Warehouse,
    WarehouseKind,
    create_brand,
    create_warehouse,
)
from models.errors import Conflict, InvalidQuantity, NotFound
from models.geo import Place, place
from models.signin import clear_account_throttle
from models.sizes import parse_size_hint
from models.users import ApiKey, LoginSession, Role, User, create_user, hash_password

T = TypeVar("T")

#: Rows per page of an admin list.
PAGE_SIZE = 25
#: Warehouse priority bounds (lower is allocated from first).
MIN_PRIORITY, MAX_PRIORITY = 0, 10_000
#: Length of a generated temporary password (URL-safe characters, ~72 bits).
TEMPORARY_PASSWORD_BYTES = 9


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and how many rows the whole list has."""

    rows: list[T]
    total: int
    offset: int
    limit: int


def _page_bounds(offset: int, limit: int) -> tuple[int, int]:
    return max(0, int(offset)), max(1, min(int(limit), 200))


# --- users ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    email: str
    name: str
    role: str
    brand_code: str
    brand_name: str
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime


def temporary_password() -> str:
    """A random password for the admin to hand over; shown once, never stored."""
    return secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)


def list_users(
    session: Session,
    *,
    search: str = "",
    role: str = "",
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[UserRow]:
    """Users by name then email; `search` matches name or email, `role` filters."""
    offset, limit = _page_bounds(offset, limit)
    query = select(User, Brand.code, Brand.name).outerjoin(Brand, Brand.id == User.brand_id)
    count = select(func.count()).select_from(User)
    conditions = []
    if search.strip():
        pattern = "%" + _escape_like(search.strip().lower()) + "%"
        conditions.append(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.name).like(pattern, escape="\\"),
            )
        )
    if role:
        conditions.append(User.role == _role(role).value)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = session.execute(
        query.order_by(func.lower(User.name), User.email, User.id).offset(offset).limit(limit)
    ).all()
    return Page(
        rows=[
            UserRow(
                id=user.id,
                email=user.email,
                name=user.name,
                role=user.role,
                brand_code=code or "",
                brand_name=name or "",
                is_active=user.is_active,
                last_login_at=user.last_login_at,
                created_at=user.created_at,
            )
            for user, code, name in rows
        ],
        total=int(session.scalar(count) or 0),
        offset=offset,
        limit=limit,
    )


def create_account(
    session: Session,
    email: str,
    role: str,
    *,
    name: str = "",
    brand_code: str = "",
    actor: str = SYSTEM,
) -> tuple[User, str]:
    """Create a user with a generated temporary password; returns both (shown once)."""
    role_ = _role(role)
    if role_ is Role.VENDOR and not brand_code:
        raise InvalidQuantity("Pick the brand this vendor belongs to.", field="brand")
    if len(name.strip()) > 200:
        raise InvalidQuantity("A name has at most 200 characters.", field="name")
    password = temporary_password()
    user = create_user(
        session,
        email,
        password,
        role_,
        brand_code=brand_code if role_ is Role.VENDOR else None,
        name=name.strip(),
    )
    user.must_change_password = True
    record(
        session,
        actor,
        "user.created",
        target_type="user",
        target_id=user.id,
        label=user.email,
        changes={
            "role": role_.value,
            "brand": _brand_code(session, user.brand_id),
            "password": SECRET_SET,
        },
    )
    return user, password


def set_role(
    session: Session,
    user_id: int,
    role: str,
    *,
    brand_code: str = "",
    actor_id: int | None = None,
    actor: str = SYSTEM,
) -> User:
    """Give a user another role (and, for vendors, their brand)."""
    user = _user(session, user_id)
    role_ = _role(role)
    if actor_id is not None and actor_id == user.id and role_.value != user.role:
        raise Conflict("You can't change your own role; ask another admin.", user_id=user_id)
    brand_id = None
    if role_ is Role.VENDOR:
        if not brand_code:
            raise InvalidQuantity("Pick the brand this vendor belongs to.", field="brand")
        brand_id = _brand(session, brand_code).id
    if user.role == Role.ADMIN and role_ is not Role.ADMIN and user.is_active:
        _keep_another_admin(session, user, "change their role")
    before = {"role": user.role, "brand": _brand_code(session, user.brand_id)}
    user.role = role_.value
    user.brand_id = brand_id
    session.add(user)
    session.flush()
    changes = diff(before, {"role": user.role, "brand": _brand_code(session, brand_id)})
    if changes:
        record(
            session,
            actor,
            "user.role_changed",
            target_type="user",
            target_id=user.id,
            label=user.email,
            changes=changes,
        )
    return user


def set_user_active(
    session: Session,
    user_id: int,
    active: bool,
    *,
    actor_id: int | None = None,
    actor: str = SYSTEM,
) -> User:
    """Deactivate (ends their sessions at once) or reactivate a user."""
    user = _user(session, user_id)
    if active == user.is_active:
        return user
    if not active:
        if actor_id is not None and actor_id == user.id:
            raise Conflict("You can't deactivate your own account.", user_id=user_id)
        if user.role == Role.ADMIN:
            _keep_another_admin(session, user, "deactivate them")
        _end_sessions(session, user.id)
    else:
        user.failed_logins = 0
        user.locked_until = None
        clear_account_throttle(session, user.email)
    user.is_active = active
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.reactivated" if active else "user.deactivated",
        target_type="user",
        target_id=user.id,
        label=user.email,
        changes={"is_active": {"old": not active, "new": active}},
    )
    return user


def reset_password(session: Session, user_id: int, *, actor: str = SYSTEM) -> tuple[User, str]:
    """Replace a user's password with a generated one and end their sessions."""
    user = _user(session, user_id)
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    clear_account_throttle(session, user.email)
    _end_sessions(session, user.id)
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.password_reset",
        target_type="user",
        target_id=user.id,
        label=user.email,
        changes={"password": SECRET_REPLACED},
    )
    return user, password


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.", user_id=user_id)
    return user


def _brand_code(session: Session, brand_id: int | None) -> str | None:
    return (
        None if brand_id is None else session.scalar(select(Brand.code).where(Brand.id == brand_id))
    )


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidQuantity(
            f"Role {role!r} is not one of: {', '.join(Role)}.", field="role"
        ) from None


def _brand(session: Session, code: str) -> Brand:
    brand = session.scalar(select(Brand).where(Brand.code == code.strip().upper()))
    if brand is None:
        raise NotFound(f"No brand with code {code!r}.", brand=code)
    return brand


def _keep_another_admin(session: Session, user: User, what: str) -> None:
    """Refuse to leave Rackroom without an active admin.

    The active admins' rows are locked first (PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers), so two admins demoting each other at the same
    moment cannot both succeed.
    """
    admins = session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    if not [admin_id for admin_id in admins if admin_id != user.id]:
        raise Conflict(
            f"{user.email} is the only active admin. Make someone else admin before you {what}.",
            user_id=user.id,
        )


def _end_sessions(session: Session, user_id: int | None) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- brands -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrandRow:
    id: int
    code: str
    name: str
    products: int
    vendors: int
    created_at: datetime
    size_system_hint: str | None = None


def list_brands(session: Session, *, offset: int = 0, limit: int = PAGE_SIZE) -> Page[BrandRow]:
    """Brands by name, with how many products and vendor logins each has."""
    offset, limit = _page_bounds(offset, limit)
    products = (
        select(func.count())
        .select_from(Product)
        .where(Product.brand_id == Brand.id)
        .scalar_subquery()
    )
    vendors = (
        select(func.count())
        .select_from(User)
        .where(User.brand_id == Brand.id, User.role == Role.VENDOR.value)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Brand, products, vendors)
        .order_by(func.lower(Brand.name), Brand.code)
        .offset(offset)
        .limit(limit)
    ).all()
    total = int(session.scalar(select(func.count()).select_from(Brand)) or 0)
    return Page(
        rows=[
            BrandRow(b.id, b.code, b.name, int(p), int(v), b.created_at, b.size_system_hint)
            for b, p, v in rows
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


#: A brand's fields its audit rows name.
BRAND_FIELDS = ("code", "name", "size_system_hint")


def add_brand(
    session: Session, code: str, name: str, *, size_hint: str = "", actor: str = SYSTEM
) -> Brand:
    """Create a brand from form input (lengths and size system hint checked, then
    `create_brand`)."""
    _code_and_name(code, name, "brand")
    hint = parse_size_hint(size_hint)
    brand = create_brand(session, code, name)
    brand.size_system_hint = hint.value if hint else None
    session.add(brand)
    session.flush()
    record(
        session,
        actor,
        "brand.created",
        target_type="brand",
        target_id=brand.id,
        label=brand.code,
        changes=fields_of(brand, *BRAND_FIELDS),
    )
    return brand


def _code_and_name(code: str, name: str, what: str) -> None:
    if not code.strip():
        raise InvalidQuantity(f"Give the {what} a code, e.g. NORTH.", field="code")
    if len(code.strip()) > 32:
        raise InvalidQuantity("A code has at most 32 characters.", field="code")
    if not name.strip():
        raise InvalidQuantity(f"Give the {what} a name.", field="name")
    if len(name.strip()) > 200:
        raise InvalidQuantity("A name has at most 200 characters.", field="name")


def brand_choices(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every brand, by name: the options of a brand picker."""
    return [
        (code, name)
        for code, name in session.execute(
            select(Brand.code, Brand.name).order_by(func.lower(Brand.name), Brand.code)
        )
    ]


# --- warehouses -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarehouseRow:
    id: int
    code: str
    name: str
    kind: str
    priority: int
    is_active: bool
    created_at: datetime
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def list_warehouses(
    session: Session, *, offset: int = 0, limit: int = PAGE_SIZE
) -> Page[WarehouseRow]:
    """Warehouses in allocation order: active first, then by priority and code."""
    offset, limit = _page_bounds(offset, limit)
    rows = session.scalars(
        select(Warehouse)
        .order_by(Warehouse.is_active.desc(), Warehouse.priority, Warehouse.code)
        .offset(offset)
        .limit(limit)
    ).all()
    total = int(session.scalar(select(func.count()).select_from(Warehouse)) or 0)
    return Page(
        rows=[
            WarehouseRow(
                w.id,
                w.code,
                w.name,
                w.kind,
                w.priority,
                w.is_active,
                w.created_at,
                w.country,
                w.latitude,
                w.longitude,
            )
            for w in rows
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


def parse_priority(value: str | int) -> int:
    """A priority as typed into a form: a whole number within bounds."""
    try:
        priority = int(str(value).strip())
    except ValueError:
        raise InvalidQuantity(
            f"Priority must be a whole number, not {value!r}.", field="priority"
        ) from None
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidQuantity(
            f"Priority must be between {MIN_PRIORITY} and {MAX_PRIORITY:,}.", field="priority"
        )
    return priority


def _kind(kind: str) -> WarehouseKind:
    try:
        return WarehouseKind(kind)
    except ValueError:
        raise InvalidQuantity(
            f"Kind must be one of: {', '.join(WarehouseKind)}.", field="kind"
        ) from None


def form_place(country: str = "", lat: str = "", lon: str = "") -> Place:
    """A place as typed into a form: blanks are "not known"; the rest is checked."""
    country, lat, lon = (str(v or "").strip() for v in (country, lat, lon))
    if (lat or lon) and not country:
        raise InvalidQuantity("Give the country with the coordinates.", field="country")
    return place(country or None, lat or None, lon or None)


def add_warehouse(
    session: Session,
    code: str,
    name: str,
    *,
    kind: str,
    priority: str | int,
    country: str = "",
    lat: str = "",
    lon: str = "",
    actor: str = SYSTEM,
) -> Warehouse:
    """Create a warehouse or store from form input (validated, then `create_warehouse`)."""
    _code_and_name(code, name, "warehouse")
    where = form_place(country, lat, lon)
    warehouse = create_warehouse(
        session,
        code,
        name,
        kind=_kind(kind),
        priority=parse_priority(priority),
        country=where.country,
        latitude=where.lat,
        longitude=where.lon,
    )
    record(
        session,
        actor,
        "warehouse.created",
        target_type="warehouse",
        target_id=warehouse.id,
        label=warehouse.code,
        changes=fields_of(warehouse, *WAREHOUSE_FIELDS),
    )
    return warehouse


WAREHOUSE_FIELDS = (
    "code",
    "name",
    "kind",
    "priority",
    "is_active",
    "country",
    "latitude",
    "longitude",
)


def update_warehouse(
    session: Session,
    warehouse_id: int,
    *,
    name: str,
    kind: str,
    priority: str | int,
    country: str | None = None,
    lat: str = "",
    lon: str = "",
    actor: str = SYSTEM,
) -> Warehouse:
    """Rename a warehouse, change its kind, allocation priority or place (country None
    keeps it; blanks clear it). The code stays."""
    warehouse = _warehouse(session, warehouse_id)
    _code_and_name(warehouse.code, name, "warehouse")
    kind_, priority_ = _kind(kind), parse_priority(priority)
    where = (
        Place(warehouse.country, warehouse.latitude, warehouse.longitude)
        if country is None
        else form_place(country, lat, lon)
    )
    before = fields_of(warehouse, *WAREHOUSE_FIELDS)
    warehouse.name = name.strip()
    warehouse.kind = kind_.value
    warehouse.priority = priority_
    warehouse.country, warehouse.latitude, warehouse.longitude = where.country, where.lat, where.lon
    session.add(warehouse)
    session.flush()
    record_warehouse_change(session, actor, warehouse, before)
    return warehouse


def set_warehouse_active(
    session: Session, warehouse_id: int, active: bool, *, actor: str = SYSTEM
) -> Warehouse:
    """An inactive warehouse keeps its stock records but is no longer allocated from."""
    warehouse = _warehouse(session, warehouse_id)
    before = fields_of(warehouse, *WAREHOUSE_FIELDS)
    warehouse.is_active = active
    session.add(warehouse)
    session.flush()
    record_warehouse_change(session, actor, warehouse, before)
    return warehouse


def record_warehouse_change(
    session: Session, actor: str, warehouse: Warehouse, before: dict[str, object]
) -> None:
    """The audit row of a warehouse change: what differs from `before` (its
    `fields_of(warehouse, *WAREHOUSE_FIELDS)` when the change began), if anything."""
    record_update(session, actor, warehouse, before, WAREHOUSE_FIELDS)


def _warehouse(session: Session, warehouse_id: int) -> Warehouse:
    warehouse = session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(f"No warehouse with id {warehouse_id}.", warehouse_id=warehouse_id)
    return warehouse


# --- API keys ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    brand_code: str
    brand_name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    rate_per_second: float = 20.0
    burst: int = 40


def list_api_key_rows(
    session: Session, *, offset: int = 0, limit: int = PAGE_SIZE
) -> Page[ApiKeyRow]:
    """Keys live first, newest first; never their secret (only its first characters)."""
    offset, limit = _page_bounds(offset, limit)
    rows = session.execute(
        select(ApiKey, Brand.code, Brand.name)
        .outerjoin(Brand, Brand.id == ApiKey.brand_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = int(session.scalar(select(func.count()).select_from(ApiKey)) or 0)
    return Page(
        rows=[
            ApiKeyRow(
                id=key.id,
                name=key.name,
                prefix=key.prefix,
                scopes=list(key.scopes),
                brand_code=code or "",
                brand_name=name or "",
                created_at=key.created_at,
                last_used_at=key.last_used_at,
                revoked_at=key.revoked_at,
                rate_per_second=key.rate_per_second,
                burst=key.burst,
            )
            for key, code, name in rows
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


def revoke_key(session: Session, key_id: int, *, actor: str = SYSTEM) -> ApiKey:
    """Revoke a key by id (the list's handle); revoking twice changes nothing."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.", key_id=key_id)
    return revoke_api_key(session, key.name, actor=actor)
