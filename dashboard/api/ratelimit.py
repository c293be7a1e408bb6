"""Per-key rate limits: a token bucket per API key, shared by every worker.

With REDIS_URL set the bucket lives in Redis (one Lua script per take, timed by the
Redis server's clock); without it, in the database (`models.rate_limits`, one UPSERT).
Keys allowed thousands of requests a second are counted in leases (`Leases`): a worker
takes a twentieth of a second's tokens at once and spends them locally.
A REST request takes one token; a GraphQL query takes its cost in tokens
(`dashboard.api.graphql.cost`). Over the limit: 429 with `Retry-After`. Every answer
to a request made with a key carries the IETF `RateLimit-Limit`, `RateLimit-Remaining`
and `RateLimit-Reset` headers (`RateLimitHeaders` adds them, also to error answers).

The public poll endpoints take no key and keep their own limits (`models.polls`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import redis
from sqlalchemy import Engine, create_engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.api.errors import ApiError
from models.api_keys import Limits, limits_for
from models.db import get_engine, is_sqlite, read_session
from models.rate_limits import BucketState, Leases, state_of, take_tokens
from models.settings import settings
from models.users import hash_secret

log = logging.getLogger("rackroom.api.ratelimit")

#: A key's rate and burst are re-read at most this often (the route itself always
#: authenticates against the database, so a revoked key is refused at once anyway).
LIMITS_TTL = 5.0
_STATE_KEY = "rackroom_rate_limit"
_REDIS_PREFIX = "rackroom:ratelimit:"

# KEYS[1] bucket; ARGV rate, burst, cost. Returns {granted, tokens left}.
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(held[1])
local stamp = tonumber(held[2])
if tokens == nil or stamp == nil then
  tokens = burst
  stamp = now
end
if now > stamp then
  tokens = math.min(burst, tokens + (now - stamp) * rate)
  stamp = now
end
local granted = 0
if tokens >= cost then
  tokens = tokens - cost
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(stamp))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {granted, tostring(tokens)}
"""


class _Backends:
    """The process's Redis client and cache of key limits (rebuilt after a fork)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.limits: dict[str, tuple[float, Limits | None]] = {}
        self.leases = Leases()
        url = settings().redis_url
        self.redis = (
            redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) if url else None
        )
        self.script = self.redis.register_script(_BUCKET_LUA) if self.redis else None


_backends: _Backends | None = None


def _current() -> _Backends:
    global _backends
    if _backends is None or _backends.pid != os.getpid():
        _backends = _Backends()
    return _backends


def reset() -> None:
    """Forget the Redis client and cached limits (tests that change REDIS_URL)."""
    global _backends
    _backends = None


#: `_cached_limits` of a secret this process has not looked up lately.
_NOT_CACHED = object()


def _cached_limits(backends: _Backends, secret: str) -> Limits | object | None:
    cached = backends.limits.get(hash_secret(secret))
    return cached[1] if cached is not None and cached[0] > time.monotonic() else _NOT_CACHED


def _limits(backends: _Backends, secret: str) -> Limits | None:
    cached = _cached_limits(backends, secret)
    if cached is not _NOT_CACHED:
        return cached
    now, digest = time.monotonic(), hash_secret(secret)
    with read_session() as session:
        found = limits_for(session, secret)
    with backends.lock:
        if len(backends.limits) > 10_000:
            backends.limits.clear()
        backends.limits[digest] = (now + LIMITS_TTL, found)
    return found


def _take(backends: _Backends, limits: Limits, cost: int) -> BucketState | None:
    rate, burst = limits.rate_per_second, limits.burst
    if cost > burst:
        return state_of(granted=False, tokens=float(burst), burst=burst, rate=rate, cost=cost)
    if backends.script is not None:
        return take_in_redis(str(limits.key_id), rate=rate, burst=burst, cost=cost)
    with Session(_counting_engine(get_engine())) as session:
        state = take_tokens(session, limits.key_id, rate=rate, burst=burst, cost=cost)
        session.commit()
    return state


def redis_configured() -> bool:
    """Whether buckets are counted in Redis (REDIS_URL is set)."""
    return _current().script is not None


def take_in_redis(bucket: str, *, rate: float, burst: int, cost: int = 1) -> BucketState | None:
    """Take `cost` tokens from the Redis bucket named `bucket` (shared by every worker);
    None when Redis is not configured or does not answer (the request is not counted)."""
    script = _current().script
    if script is None:
        return None
    try:
        granted, tokens = script(keys=[f"{_REDIS_PREFIX}{bucket}"], args=[rate, burst, cost])
    except redis.RedisError as error:
        # Redis down: /api/v1/ready says so; serving unlimited beats failing every call.
        log.warning("rate limiter: Redis unavailable (%s); request not counted", error)
        return None
    return state_of(granted=bool(granted), tokens=float(tokens), burst=burst, rate=rate, cost=cost)


_counting: tuple[Engine, Engine] | None = None
_counting_lock = threading.Lock()


def _counting_engine(engine: Engine) -> Engine:
    """Where the database counts: on PostgreSQL its own small pool in autocommit with
    synchronous_commit off — the one UPSERT holds the key's row for a statement, not a
    transaction, and never waits for a disk flush (a count lost in a crash only refills a
    bucket early). SQLite has one writer whatever the engine: the app's own."""
    global _counting
    if is_sqlite(engine):
        return engine
    with _counting_lock:
        if _counting is None or _counting[0] is not engine:
            if _counting is not None:  # the process was pointed at another database
                _counting[1].dispose()
            counting = create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_size=4,
                max_overflow=16,
                pool_recycle=1800,
                connect_args={
                    "application_name": "rackroom-ratelimit",
                    "options": "-c synchronous_commit=off",
                },
            )
            _counting = (engine, counting)
        return _counting[1]


def charge(request: Request, secret: str, cost: int = 1) -> BucketState | None:
    """Take `cost` tokens from the bucket of the key behind `secret`; 429 if they are not
    there. Unknown secrets are not counted (the route refuses them with a 401)."""
    backends = _current()
    limits = _limits(backends, secret)
    if limits is None:
        return None
    state = backends.leases.take(
        limits.key_id,
        rate=limits.rate_per_second,
        burst=limits.burst,
        cost=cost,
        take_shared=lambda tokens: _take(backends, limits, tokens),
    )
    return _settle(request, state, cost)


def charge_held(request: Request, secret: str, cost: int = 1) -> bool:
    """`charge` from what this process holds already — the key's cached limits and a
    lease on its bucket — without I/O, so on the event loop; False when `charge` must
    ask the database or Redis."""
    backends = _current()
    limits = _cached_limits(backends, secret)
    if limits is _NOT_CACHED:
        return False
    if limits is None:
        return True  # an unknown secret: not counted
    state = backends.leases.spend(
        limits.key_id, rate=limits.rate_per_second, burst=limits.burst, cost=cost
    )
    if state is None:
        return False
    _settle(request, state, cost)
    return True


def _settle(request: Request, state: BucketState | None, cost: int) -> BucketState | None:
    """Note a counted request's bucket for the headers; 429 if it was refused."""
    if state is None:
        return None
    request.scope.setdefault("state", {})[_STATE_KEY] = state
    if not state.granted:
        if cost > state.limit:
            raise ApiError(
                429,
                "rate_limited",
                f"This request costs {cost} tokens; this key's bucket holds at most "
                f"{state.limit}.",
                cost=cost,
                limit=state.limit,
            )
        raise ApiError(
            429,
            "rate_limited",
            f"Rate limit reached for this API key; try again in {state.retry_after} s.",
            retry_after=state.retry_after,
            limit=state.limit,
            cost=cost,
        )
    return state


def headers_for(state: BucketState) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"ratelimit-limit", str(state.limit).encode()),
        (b"ratelimit-remaining", str(state.remaining).encode()),
        (b"ratelimit-reset", str(state.reset).encode()),
    ]
    if not state.granted:
        headers.append((b"retry-after", str(state.retry_after).encode()))
    return headers


class RateLimitHeaders:
    """ASGI middleware: the RateLimit-* headers (and Retry-After on a 429) on every answer
    to a request that was counted, whatever produced the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def with_headers(message: Message) -> None:
            bucket = state.get(_STATE_KEY)
            if message["type"] == "http.response.start" and bucket is not None:
                names = {name for name, _ in headers_for(bucket)}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + headers_for(bucket)
            await send(message)

        await self.app(scope, receive, with_headers)
