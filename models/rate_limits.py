"""Per-API-key token buckets, counted in the database (the web layer uses Redis instead
when REDIS_URL is set; both implement the same bucket, docs/api.md "Rate limits").

A bucket holds at most `burst` tokens and refills at `rate` tokens per second; a
request takes `cost` tokens (1 for REST, a GraphQL query its cost in tokens) or is
refused, taking nothing. The whole read-refill-take is one UPSERT, so every worker
and process sharing the database shares one count without a lock held in Python.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Boolean, Float, Integer, bindparam, case, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from models.errors import InvalidQuantity


class ApiRateBucket(SQLModel, table=True):
    """What is left in one key's bucket, as of `stamp` (seconds since the epoch)."""

    __tablename__ = "api_rate_bucket"

    key_id: int = Field(foreign_key="api_key.id", primary_key=True, ondelete="CASCADE")
    tokens: float
    stamp: float
    #: Whether the last request was let through (the UPSERT's answer to its caller).
    granted: bool


DEFAULT_RATE = 20.0
DEFAULT_BURST = 40
MAX_RATE = 10_000.0
MAX_BURST = 100_000
_UNITS = {"s": 1, "m": 60, "h": 3600}
_RATE = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)(?:/(s|sec|second|m|min|minute|h|hour))?")


@dataclass(frozen=True, slots=True)
class BucketState:
    """The answer for one request: let through or not, and what the headers say."""

    granted: bool
    limit: int
    remaining: int
    #: Seconds until the bucket is full again.
    reset: int
    #: Seconds until `cost` tokens are there (0 when granted).
    retry_after: int


def state_of(*, granted: bool, tokens: float, burst: int, rate: float, cost: int) -> BucketState:
    """Headers' figures from the bucket's level after this request."""
    missing = max(0.0, cost - tokens)
    return BucketState(
        granted=granted,
        limit=burst,
        remaining=max(0, math.floor(tokens)),
        reset=max(0, math.ceil((burst - tokens) / rate)),
        retry_after=0 if granted else max(1, math.ceil(missing / rate)),
    )


def parse_rate(text: str | float | int) -> float:
    """'50/s', '600/m', '3600/h' or a bare number (per second) → tokens per second."""
    match = _RATE.fullmatch(str(text).strip().lower().replace(" ", ""))
    if match is None:
        raise InvalidQuantity(
            f"Rate {text!r} is not a rate: write e.g. 50/s, 600/m or 3600/h.", field="rate"
        )
    rate = float(match[1]) / _UNITS[(match[2] or "s")[0]]
    if not 0 < rate <= MAX_RATE:
        raise InvalidQuantity(
            f"Rate {text!r} must be more than 0 and at most {MAX_RATE:.0f}/s.", field="rate"
        )
    return rate


def format_rate(per_second: float) -> str:
    """20.0 → '20/s'; 0.5 → '30/m'; a rate as people write it."""
    for unit, seconds in (("s", 1), ("m", 60), ("h", 3600)):
        amount = per_second * seconds
        if amount >= 1 and abs(amount - round(amount)) < 1e-9:
            return f"{round(amount)}/{unit}"
    return f"{per_second:g}/s"


def check_burst(burst: object) -> int:
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MAX_BURST:
        raise InvalidQuantity(
            f"Burst must be a whole number from 1 to {MAX_BURST}, got {burst!r}.", field="burst"
        )
    return burst


_t = ApiRateBucket.__table__
_now = bindparam("now", type_=Float)
_rate = bindparam("rate", type_=Float)
_burst = bindparam("burst", type_=Float)
_cost = bindparam("cost", type_=Float)


def _take_statement(dialect: str):
    """INSERT a full bucket minus `cost`, or refill the existing one and take `cost` if
    it is there — one statement, row-locked on PostgreSQL, write-locked on SQLite."""
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    elapsed = case((_now > _t.c.stamp, _now - _t.c.stamp), else_=literal(0.0))
    raw = _t.c.tokens + elapsed * _rate
    refilled = case((raw > _burst, _burst), else_=raw)
    fits = refilled >= _cost
    statement = make_insert(_t).values(
        key_id=bindparam("key_id", type_=Integer),
        tokens=_burst - _cost,
        stamp=_now,
        granted=literal(True, Boolean),
    )
    return statement.on_conflict_do_update(
        index_elements=["key_id"],
        set_={
            "tokens": case((fits, refilled - _cost), else_=refilled),
            "stamp": case((_now > _t.c.stamp, _now), else_=_t.c.stamp),
            "granted": fits,
        },
    ).returning(_t.c.tokens, _t.c.granted)


_TAKE = {name: _take_statement(name) for name in ("postgresql", "sqlite")}


def take_tokens(
    session: Session,
    key_id: int,
    *,
    rate: float,
    burst: int,
    cost: int = 1,
    now: float | None = None,
) -> BucketState:
    """Take `cost` tokens from the key's bucket if they are there; one statement.

    The caller commits (a refused request changes only the refill stamp). A cost above
    `burst` can never be granted: callers refuse such requests before asking.
    """
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    params = {
        "key_id": key_id,
        "now": time.time() if now is None else now,
        "rate": float(rate),
        "burst": float(burst),
        "cost": float(cost),
    }
    if cost > burst:
        return state_of(granted=False, tokens=0.0, burst=burst, rate=rate, cost=cost)
    tokens, granted = session.connection().execute(_TAKE[dialect], params).one()
    return state_of(granted=bool(granted), tokens=float(tokens), burst=burst, rate=rate, cost=cost)


#: A lease is at most this many seconds of a key's refill…
LEASE_SECONDS = 0.05
#: …and at most this share of its burst; below 2 tokens a key is counted request by request.
LEASE_SHARE = 0.05
#: Tokens of a lease not spent within this many seconds are dropped (already counted).
LEASE_TTL = 1.0


def lease_size(rate: float, burst: int) -> int:
    """How many tokens a worker takes from a key's shared bucket at once (1: no lease)."""
    return max(1, int(min(rate * LEASE_SECONDS, burst * LEASE_SHARE)))


@dataclass(slots=True)
class _Lease:
    tokens: int
    #: What the shared bucket held just after this lease was taken (for the headers).
    shared: int
    expires: float


class Leases:
    """One process's leases on fast keys' shared buckets.

    Taking a token from the shared bucket (a database UPSERT or a Redis script) for every
    request of a key allowed thousands a second costs more than the request's own work.
    For such a key a worker takes a lease — `lease_size` tokens in one shared take — and
    spends it locally. Every token let through was taken from the shared bucket first, so
    all workers together never exceed the limit; the price is that tokens leased by one
    worker and not yet spent can make another refuse early (at most one lease each, about
    a twentieth of a second's rate). Keys with small limits (every default) get leases of
    one token: counted exactly, request by request.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[int, _Lease] = {}
        #: Keys whose bucket refused a lease, until when they are counted exactly.
        self._low: dict[int, float] = {}
        self._fetching: dict[int, threading.Lock] = {}

    def take(
        self,
        key_id: int,
        *,
        rate: float,
        burst: int,
        cost: int,
        take_shared: Callable[[int], BucketState | None],
    ) -> BucketState | None:
        """Let `cost` tokens through from a lease if one holds them, else from the shared
        bucket through `take_shared(tokens)` (None: not counted)."""
        size = lease_size(rate, burst)
        if size < 2 or cost > size:
            return take_shared(cost)
        held = self.spend(key_id, rate=rate, burst=burst, cost=cost)
        if held is not None:
            return held
        with self._lock:
            if len(self._held) > 10_000:
                self._held.clear()
                self._low.clear()
                self._fetching.clear()
            fetching = self._fetching.setdefault(key_id, threading.Lock())
        with fetching:  # one lease at a time per key: the others wait for it and share it
            held = self.spend(key_id, rate=rate, burst=burst, cost=cost)
            if held is not None:
                return held
            now = self._clock()
            if self._low.get(key_id, 0.0) > now:
                return take_shared(cost)
            shared = take_shared(size)
            if shared is None or not shared.granted:
                # Nearly out: spend what is left exactly, request by request, until the
                # bucket has had time to refill a lease.
                self._low[key_id] = now + size / rate
                return take_shared(cost)
            lease = _Lease(tokens=size - cost, shared=shared.remaining, expires=now + LEASE_TTL)
            with self._lock:
                self._held[key_id] = lease
            return self._state(lease, burst=burst, rate=rate, cost=cost)

    def spend(self, key_id: int, *, rate: float, burst: int, cost: int) -> BucketState | None:
        """Let `cost` tokens through from this process's lease on the key, if it holds
        them (no I/O); None when the shared bucket must be asked."""
        with self._lock:
            lease = self._held.get(key_id)
            if lease is None or lease.expires <= self._clock() or lease.tokens < cost:
                return None
            lease.tokens -= cost
            return self._state(lease, burst=burst, rate=rate, cost=cost)

    @staticmethod
    def _state(lease: _Lease, *, burst: int, rate: float, cost: int) -> BucketState:
        tokens = min(burst, lease.shared + lease.tokens)
        return state_of(granted=True, tokens=tokens, burst=burst, rate=rate, cost=cost)
