"""People and machines that use Rackroom: users with roles, login sessions, API keys.

Passwords are argon2 hashes. Login session tokens and API keys are long random
secrets, so a SHA-256 of them is enough at rest (and cheap to check per request);
the secret itself is shown once and never stored.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import JSON, CheckConstraint, Column, Engine, func, or_, select, update
from sqlmodel import Field, Session, SQLModel

from models.base import UTCDateTime, utcnow
from models.catalog import Brand
from models.db import transaction
from models.errors import Conflict, InvalidQuantity, NotFound
from models.settings import settings


class Role(StrEnum):
    ADMIN = "admin"
    MERCHANDISER = "merchandiser"
    MANAGER = "manager"
    VENDOR = "vendor"


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'merchandiser', 'manager', 'vendor')", name="user_role"),
        CheckConstraint("role <> 'vendor' OR brand_id IS NOT NULL", name="vendor_has_brand"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16)
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Set by an admin's create or reset (a temporary password): the next sign-in must
    #: choose a new password before anything else (models/accounts.py).
    must_change_password: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    #: Last use (refreshed at most once a `TOUCH_EVERY`); idle longer than
    #: RACKROOM_SESSION_IDLE_TIMEOUT and the session has ended.
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Hash of the one sign-in hand-off code not yet redeemed (models/session_codes.py).
    handoff_hash: str | None = Field(default=None, max_length=64, index=True)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    #: The first characters of the key, shown in lists so people can tell keys apart.
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    #: Token bucket (models/rate_limits.py): refilled at `rate_per_second`, holding at
    #: most `burst` requests.
    rate_per_second: float = Field(default=20.0, sa_column_kwargs={"server_default": "20"})
    burst: int = Field(default=40, sa_column_kwargs={"server_default": "40"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


SESSION_LIFETIME = timedelta(hours=12)
#: A session's last use is written at most this often (not on every event).
TOUCH_EVERY = timedelta(minutes=1)

@functools.cache
def password_hasher() -> PasswordHasher:
    """argon2id with the cost RACKROOM_PASSWORD_HASHING names (a hash keeps its own
    parameters, so verifying works whatever made it)."""
    if settings().password_hashing == "cheap":  # noqa: S105 (a cost, not a password)
        return PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    return PasswordHasher()


@functools.cache
def dummy_hash() -> str:
    """Verified against for unknown emails: "no such user" as slow as "wrong password"."""
    return password_hasher().hash("rackroom-dummy-password")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidQuantity("A password needs at least 8 characters.", field="password")
    return password_hasher().hash(password)


def create_user(
    session: Session,
    email: str,
    password: str,
    role: Role | str,
    *,
    brand_code: str | None = None,
    name: str = "",
) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidQuantity(f"{email!r} is not an email address.", field="email")
    try:
        role = Role(role)
    except ValueError:
        raise InvalidQuantity(
            f"Role {role!r} is not one of: {', '.join(Role)}.", field="role"
        ) from None
    brand_id = None
    if role is Role.VENDOR and not brand_code:
        raise InvalidQuantity("A vendor must belong to a brand (--brand CODE).", field="brand")
    if brand_code:
        brand = session.scalar(select(Brand).where(Brand.code == brand_code.upper()))
        if brand is None:
            raise NotFound(f"No brand with code {brand_code!r}.", brand=brand_code)
        brand_id = brand.id
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"A user with email {email} already exists.", email=email)
    user = User(
        email=email,
        name=name or email.split("@")[0].title(),
        password_hash=hash_password(password),
        role=role.value,
        brand_id=brand_id if role is Role.VENDOR else None,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    email: str,
    password: str,
    *,
    client_ip: str = "",
    engine: Engine | None = None,
    now: datetime | None = None,
) -> User:
    """The active user with these credentials, or AuthenticationFailed.

    The throttled, lock-free sign-in of `models.signin.sign_in` (see there).
    """
    from models.signin import sign_in  # it builds on this module

    return sign_in(email, password, client_ip=client_ip, engine=engine, now=now)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash` (argon2; slow on purpose)."""
    return _verify(password_hash, password)


def start_login_session(session: Session, user: User, *, now: datetime | None = None) -> str:
    """Open a login session for `user`; returns the token the browser keeps."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=hash_secret(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user behind a live session token, else None.

    Live means before its absolute end and used within the idle timeout
    (RACKROOM_SESSION_IDLE_TIMEOUT); `touch_login_session` records use.
    """
    if not token:
        return None
    now = now or utcnow()
    idle_since = now - settings().session_idle_timeout
    row = session.execute(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == hash_secret(token),
            LoginSession.expires_at > now,
            or_(LoginSession.last_seen_at.is_(None), LoginSession.last_seen_at > idle_since),
            User.is_active.is_(True),
        )
    ).scalar_one_or_none()
    return row


def touch_login_session(token: str, *, engine: Engine | None = None,
                        now: datetime | None = None) -> None:
    """Record that the session was used now — one short UPDATE, and only when the last
    record is older than `TOUCH_EVERY` (so a busy page does not write on every event)."""
    if not token:
        return
    now = now or utcnow()
    with transaction(engine) as session:
        session.execute(
            update(LoginSession)
            .where(
                LoginSession.token_hash == hash_secret(token),
                or_(LoginSession.last_seen_at.is_(None),
                    LoginSession.last_seen_at < now - TOUCH_EVERY),
            )
            .values(last_seen_at=now)
        )


def session_needs_touch(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Whether `touch_login_session` would write (read-only check)."""
    now = now or utcnow()
    seen = session.scalar(
        select(LoginSession.last_seen_at).where(LoginSession.token_hash == hash_secret(token))
    )
    return seen is None or seen < now - TOUCH_EVERY


def end_login_session(session: Session, token: str) -> None:
    login = session.scalar(
        select(LoginSession).where(LoginSession.token_hash == hash_secret(token))
    )
    if login is not None:
        session.delete(login)
        session.flush()


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)
