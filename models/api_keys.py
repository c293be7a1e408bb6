"""API keys for channels and brand systems: scoped, optionally bound to one brand.

The key is shown once at creation; only its SHA-256 is stored (keys are 256-bit
random, so a fast hash is safe and keeps per-request checks cheap).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from models.base import utcnow
from models.catalog import Brand
from models.errors import Conflict, InvalidQuantity, NotFound
from models.users import ApiKey, hash_secret

KEY_PREFIX = "rr_"
#: last_used_at is refreshed at most this often, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Scope(StrEnum):
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    RESERVATIONS_WRITE = "reservations:write"
    POLLS_WRITE = "polls:write"


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """Who is calling, as the API needs to know it on every request."""

    id: int
    name: str
    scopes: frozenset[str]
    brand_id: int | None

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


def create_api_key(
    session: Session, name: str, scopes: list[str], *, brand_code: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the secret, which is never retrievable again."""
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
    )
    session.add(key)
    session.flush()
    return key, secret


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(session: Session, name: str, *, now: datetime | None = None) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound(f"No API key named {name!r}.", name=name)
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        session.add(key)
        session.flush()
    return key


def key_holder(session: Session, secret: str, *, now: datetime | None = None) -> KeyHolder | None:
    """The live key behind `secret`, or None if it is unknown or revoked."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 100:
        return None
    key = session.connection().execute(_KEY_BY_HASH, {"key_hash": hash_secret(secret)}).first()
    if key is None or key.revoked_at is not None:
        return None
    now = now or utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return KeyHolder(key.id, key.name, frozenset(key.scopes), key.brand_id)


_k = ApiKey.__table__
_KEY_BY_HASH = select(
    _k.c.id, _k.c.name, _k.c.scopes, _k.c.brand_id, _k.c.revoked_at, _k.c.last_used_at
).where(_k.c.key_hash == bindparam("key_hash"))
