"""API keys for channels and brand systems: scoped, optionally bound to one brand,
each with its own rate limit (`models.rate_limits`).

The key is shown once at creation; only its SHA-256 is stored (keys are 256-bit
random, so a fast hash is safe and keeps per-request checks cheap).

OAuth2 (RFC 6749 §4.4, client credentials): a key's id and secret buy a bearer token
that lives 15 minutes and carries the key's scopes (or fewer) and brand. Tokens are
stored hashed too and checked together with their key on every request, so revoking
the key ends its tokens at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, Column, bindparam, delete, or_, select, update
from sqlmodel import Field, Session, SQLModel

from models.audit import SYSTEM, record
from models.base import UTCDateTime, utcnow
from models.catalog import Brand
from models.errors import AuthenticationFailed, Conflict, InvalidQuantity, NotFound
from models.rate_limits import DEFAULT_BURST, DEFAULT_RATE, check_burst, parse_rate
from models.users import ApiKey, hash_secret

KEY_PREFIX = "rr_"
TOKEN_PREFIX = "rrt_"  # noqa: S105 (a prefix, not a secret)
TOKEN_LIFETIME = timedelta(minutes=15)
#: last_used_at is refreshed at most this often, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Scope(StrEnum):
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    RESERVATIONS_WRITE = "reservations:write"
    POLLS_WRITE = "polls:write"
    WEBHOOKS_WRITE = "webhooks:write"


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """Who is calling, as the API needs to know it on every request."""

    id: int
    name: str
    scopes: frozenset[str]
    brand_id: int | None
    rate_per_second: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


def create_api_key(
    session: Session,
    name: str,
    scopes: list[str],
    *,
    brand_code: str | None = None,
    rate: str | float | None = None,
    burst: int | None = None,
    actor: str = SYSTEM,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the secret, which is never retrievable again.

    `rate` ("50/s", "600/m", or per second) and `burst` size its token bucket;
    unset, the defaults (20/s, burst 40)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidQuantity("A key needs a name of 1 to 100 characters.", field="name")
    if not scopes:
        raise InvalidQuantity("A key needs at least one scope.", field="scope")
    try:
        parsed = sorted({Scope(s).value for s in scopes})
    except ValueError:
        allowed = ", ".join(Scope)
        raise InvalidQuantity(f"Scopes must be among: {allowed}.", field="scope") from None
    rate_per_second = DEFAULT_RATE if rate in (None, "") else parse_rate(rate)
    burst = DEFAULT_BURST if burst is None else check_burst(burst)
    brand_id = None
    if brand_code:
        brand = session.scalar(select(Brand).where(Brand.code == brand_code.strip().upper()))
        if brand is None:
            raise NotFound(f"No brand with code {brand_code!r}.", brand=brand_code)
        brand_id = brand.id
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise Conflict(f"An API key named {name!r} already exists.", name=name)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=secret[:10],
        key_hash=hash_secret(secret),
        scopes=parsed,
        brand_id=brand_id,
        rate_per_second=rate_per_second,
        burst=burst,
    )
    session.add(key)
    session.flush()
    record(
        session,
        actor,
        "api_key.created",
        target_type="api_key",
        target_id=key.id,
        label=key.name,
        changes={
            "scopes": parsed,
            "brand": brand_code.strip().upper() if brand_code else None,
            "rate_per_second": rate_per_second,
            "burst": burst,
            "prefix": key.prefix,
        },
    )
    return key, secret


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(
    session: Session, name: str, *, now: datetime | None = None, actor: str = SYSTEM
) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound(f"No API key named {name!r}.", name=name)
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        session.add(key)
        session.flush()
        record(
            session,
            actor,
            "api_key.revoked",
            target_type="api_key",
            target_id=key.id,
            label=key.name,
            changes={"revoked_at": {"old": None, "new": key.revoked_at}},
        )
    return key


def key_holder(session: Session, secret: str, *, now: datetime | None = None) -> KeyHolder | None:
    """The live key behind `secret` (an API key or an OAuth2 access token), or None if it
    is unknown, expired or revoked (a token dies with its key)."""
    if len(secret) > 100:
        return None
    now = now or utcnow()
    if secret.startswith(TOKEN_PREFIX):
        row = session.connection().execute(_TOKEN_BY_HASH, {"token_hash": hash_secret(secret)})
        token = row.first()
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            return None
        return KeyHolder(
            token.key_id,
            token.name,
            frozenset(token.token_scopes),
            token.brand_id,
            token.rate_per_second,
            token.burst,
        )
    if not secret.startswith(KEY_PREFIX):
        return None
    key = session.connection().execute(_KEY_BY_HASH, {"key_hash": hash_secret(secret)}).first()
    if key is None or key.revoked_at is not None:
        return None
    note_use(session, key.id, key.last_used_at, now)
    return KeyHolder(
        key.id, key.name, frozenset(key.scopes), key.brand_id, key.rate_per_second, key.burst
    )


def note_use(
    session: Session, key_id: int, last_used_at: datetime | None, now: datetime | None = None
) -> None:
    """Record that the key was used now, if its last use is older than the resolution.

    Never waits: when another request is already stamping the key (its row is locked
    until that request commits), this one leaves it to that one. Otherwise every
    concurrent request of a busy key, all seeing the same stale stamp once a minute,
    would queue on the key's row lock until the first of them committed."""
    now = now or utcnow()
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        stale = (
            select(ApiKey.id)
            .where(ApiKey.id == key_id)
            .where(
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < now - LAST_USED_RESOLUTION,
                )
            )
            .with_for_update(skip_locked=True)  # SQLite: one writer at a time anyway
        )
        session.execute(update(ApiKey).where(ApiKey.id.in_(stale)).values(last_used_at=now))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scopes: frozenset[str]
    holder: KeyHolder


def issue_token(
    session: Session,
    client_id: str,
    client_secret: str,
    *,
    scope: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Client credentials → a short-lived access token (RFC 6749 §4.4).

    `client_id` is the key's id, `client_secret` the key itself; `scope` (space-separated)
    may ask for fewer scopes than the key holds, never more. Raises AuthenticationFailed
    for a wrong pair (one message whichever half is wrong) and InvalidQuantity with
    field "scope" for a scope the key lacks.
    """
    now = now or utcnow()
    holder = key_holder(session, client_secret, now=now) if client_secret else None
    if holder is None or not client_secret.startswith(KEY_PREFIX) or str(holder.id) != client_id:
        raise AuthenticationFailed("Unknown client, wrong secret, or a revoked key.")
    scopes = holder.scopes
    if scope is not None and scope.strip():
        wanted = frozenset(scope.split())
        if not wanted <= holder.scopes:
            missing = " ".join(sorted(wanted - holder.scopes))
            raise InvalidQuantity(
                f"This client may not have the scope(s): {missing}.", field="scope", scope=missing
            )
        scopes = wanted
    expired = (ApiToken.key_id == holder.id) & (ApiToken.expires_at <= now)
    session.execute(delete(ApiToken).where(expired))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            key_id=holder.id,
            token_hash=hash_secret(secret),
            scopes=sorted(scopes),
            created_at=now,
            expires_at=now + TOKEN_LIFETIME,
        )
    )
    session.flush()
    return IssuedToken(secret, int(TOKEN_LIFETIME.total_seconds()), scopes, holder)


@dataclass(frozen=True, slots=True)
class Limits:
    """What the rate limiter needs of a caller: whose bucket, and its size."""

    key_id: int
    rate_per_second: float
    burst: int


def limits_for(session: Session, secret: str) -> Limits | None:
    """The bucket behind `secret` (a key or a token), or None if it names no key.

    Read-only and unchecked for revocation: the route authenticates properly."""
    if len(secret) > 100:
        return None
    if secret.startswith(TOKEN_PREFIX):
        row = session.connection().execute(_TOKEN_BY_HASH, {"token_hash": hash_secret(secret)})
        found = row.first()
    elif secret.startswith(KEY_PREFIX):
        found = (
            session.connection().execute(_KEY_BY_HASH, {"key_hash": hash_secret(secret)}).first()
        )
    else:
        return None
    if found is None:
        return None
    key_id = found.key_id if secret.startswith(TOKEN_PREFIX) else found.id
    return Limits(key_id, found.rate_per_second, found.burst)


class ApiToken(SQLModel, table=True):
    """An OAuth2 access token (only its hash), valid until `expires_at` while its key lives."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    key_id: int = Field(foreign_key="api_key.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


_k = ApiKey.__table__
_KEY_BY_HASH = select(
    _k.c.id,
    _k.c.name,
    _k.c.scopes,
    _k.c.brand_id,
    _k.c.rate_per_second,
    _k.c.burst,
    _k.c.revoked_at,
    _k.c.last_used_at,
).where(_k.c.key_hash == bindparam("key_hash"))
_tk = ApiToken.__table__
_TOKEN_BY_HASH = (
    select(
        _tk.c.key_id,
        _tk.c.scopes.label("token_scopes"),
        _tk.c.expires_at,
        _k.c.name,
        _k.c.brand_id,
        _k.c.rate_per_second,
        _k.c.burst,
        _k.c.revoked_at,
    )
    .join(_k, _k.c.id == _tk.c.key_id)
    .where(_tk.c.token_hash == bindparam("token_hash"))
)
