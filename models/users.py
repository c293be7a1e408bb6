"""People and machines that use Rackroom: users with roles, login sessions, API keys.

Passwords are argon2 hashes. Login session tokens and API keys are long random
secrets, so a SHA-256 of them is enough at rest (and cheap to check per request);
the secret itself is shown once and never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import JSON, CheckConstraint, Column, Engine, func, select
from sqlmodel import Field, Session, SQLModel

from models.base import UTCDateTime, utcnow
from models.catalog import Brand
from models.db import transaction
from models.errors import AuthenticationFailed, Conflict, InvalidQuantity, NotFound


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
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    #: The first characters of the key, shown in lists so people can tell keys apart.
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


SESSION_LIFETIME = timedelta(hours=12)
#: Failed logins allowed before each further attempt has to wait (doubling each time).
FREE_LOGIN_ATTEMPTS = 3
MAX_LOGIN_DELAY = timedelta(minutes=15)

_hasher = PasswordHasher()
# Verifying against a dummy hash keeps "no such user" as slow as "wrong password".
_DUMMY_HASH = _hasher.hash("rackroom-dummy-password")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidQuantity("A password needs at least 8 characters.", field="password")
    return _hasher.hash(password)


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
    email: str, password: str, *, engine: Engine | None = None, now: datetime | None = None
) -> User:
    """The active user with these credentials, or AuthenticationFailed.

    A login attempt is its own unit of work: a failure is counted and committed
    before the error is raised. After a few failures in a row each further attempt
    must wait twice as long as the last (up to 15 minutes), which makes guessing
    passwords impractically slow.
    """
    now = now or utcnow()
    failure: AuthenticationFailed | None = None
    with transaction(engine) as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or not user.is_active:
            _verify(_DUMMY_HASH, password)
            raise AuthenticationFailed("Wrong email or password.")
        if user.locked_until is not None and user.locked_until > now:
            wait = int((user.locked_until - now).total_seconds()) + 1
            raise AuthenticationFailed(
                f"Too many failed attempts. Try again in {wait} seconds.", retry_after=wait
            )
        if _verify(user.password_hash, password):
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
        else:
            user.failed_logins += 1
            if user.failed_logins >= FREE_LOGIN_ATTEMPTS:
                delay = timedelta(seconds=2 ** (user.failed_logins - FREE_LOGIN_ATTEMPTS + 1))
                user.locked_until = now + min(delay, MAX_LOGIN_DELAY)
            failure = AuthenticationFailed("Wrong email or password.")
    if failure is not None:
        raise failure
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
        )
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user behind a live session token, else None."""
    if not token:
        return None
    now = now or utcnow()
    row = session.execute(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == hash_secret(token),
            LoginSession.expires_at > now,
            User.is_active.is_(True),
        )
    ).scalar_one_or_none()
    return row


def end_login_session(session: Session, token: str) -> None:
    login = session.scalar(
        select(LoginSession).where(LoginSession.token_hash == hash_secret(token))
    )
    if login is not None:
        session.delete(login)
        session.flush()


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)
