"""Per-address rate limits: REST API requests and new dashboard websockets, per client.

The per-key limits (`dashboard.api.ratelimit`) count only requests made with a valid
key; this counts every request to `/api/` (bad keys, the public poll endpoints, OAuth
token requests included) and every new websocket connection to Reflex's `/_event`,
by the client's address as `dashboard.observability.behind_proxy` settled it (so an
X-Forwarded-For header is believed only from RACKROOM_TRUSTED_PROXIES). An IPv6 client
counts by its /64 (`models.polls.embed.address_key`).

Buckets are the same token buckets as the per-key ones: in Redis (the same Lua script,
shared by every worker) when REDIS_URL is set; otherwise in this process's memory, as
without Redis there is exactly one web worker (`Settings.workers`). Over the limit an API
request gets a JSON 429 with `Retry-After`; a websocket handshake is refused (closed
before it is accepted: HTTP 403). Limits: `RACKROOM_API_RATE_PER_ADDRESS`,
`RACKROOM_API_BURST_PER_ADDRESS`, `RACKROOM_WEBSOCKET_RATE_PER_ADDRESS`,
`RACKROOM_WEBSOCKET_BURST_PER_ADDRESS`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.api import ratelimit
from dashboard.api.errors import error_response
from models.polls.embed import address_key
from models.rate_limits import BucketState, state_of
from models.settings import settings

log = logging.getLogger("rackroom.api.address_limits")

API_PREFIX = "/api/"
WEBSOCKET_PREFIX = "/_event"
#: Memory buckets kept before full ones are forgotten (a full bucket is a fresh one).
MAX_MEMORY_BUCKETS = 50_000


@dataclass(frozen=True, slots=True)
class Limit:
    """One kind of bucket: its name in Redis and its rate (tokens a second) and burst."""

    kind: str
    rate: float
    burst: int


def limits() -> tuple[Limit, Limit]:
    """The API's and the websocket's limit, from the settings."""
    configured = settings()
    return (
        Limit("api", configured.api_rate_per_address, configured.api_burst_per_address),
        Limit("ws", configured.websocket_rate_per_address, configured.websocket_burst_per_address),
    )


class MemoryBuckets:
    """Token buckets in this process (the one web worker there is without Redis)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, name: str, limit: Limit, now: float | None = None) -> BucketState:
        """Take one token from bucket `name` if it is there."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, stamp = self._buckets.get(name, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + max(0.0, now - stamp) * limit.rate)
            granted = tokens >= 1
            if granted:
                tokens -= 1
            if len(self._buckets) >= MAX_MEMORY_BUCKETS and name not in self._buckets:
                self._forget_full(now, limit)
            self._buckets[name] = (tokens, now)
        return state_of(
            granted=granted, tokens=tokens, burst=limit.burst, rate=limit.rate, cost=1
        )

    def _forget_full(self, now: float, limit: Limit) -> None:
        """Forget buckets full again by now; if that is not enough (a flood from many
        addresses), the least recently used half, so pruning stays rare."""
        full_after = limit.burst / limit.rate
        kept = [(stamp, name, tokens) for name, (tokens, stamp) in self._buckets.items()
                if now - stamp < full_after]
        if len(kept) >= MAX_MEMORY_BUCKETS // 2:
            kept = sorted(kept)[-(MAX_MEMORY_BUCKETS // 2):]
        self._buckets = {name: (tokens, stamp) for stamp, name, tokens in kept}

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


#: One set of buckets per kind: each forgets its own full ones by its own rate.
_memory = {"api": MemoryBuckets(), "ws": MemoryBuckets()}


def reset() -> None:
    """Forget the memory buckets (tests)."""
    for buckets in _memory.values():
        buckets.clear()


async def take(address: str, limit: Limit) -> BucketState | None:
    """One token from `address`'s bucket of `limit.kind`; None when it was not counted
    (Redis configured but down: serving beats refusing everyone)."""
    name = f"addr:{limit.kind}:{address_key(address)}"
    if ratelimit.redis_configured():
        return await run_in_threadpool(
            ratelimit.take_in_redis, name, rate=limit.rate, burst=limit.burst
        )
    return _memory[limit.kind].take(name, limit)


def address_limits(app: ASGIApp) -> ASGIApp:
    """ASGI middleware (an `api_transformer`, inside `behind_proxy`): per-address limits
    on `/api/` requests and new `/_event` websocket connections."""
    api_limit, websocket_limit = limits()

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        kind, path = scope["type"], scope.get("path", "")
        if kind == "http" and path.startswith(API_PREFIX):
            address = (scope.get("client") or ("unknown",))[0]
            state = await take(address, api_limit)
            if state is not None and not state.granted:
                response = error_response(
                    429,
                    "rate_limited",
                    f"Too many requests from this address; try again in {state.retry_after} s.",
                    {"retry_after": state.retry_after, "limit": state.limit, "scope": "address"},
                    headers={"Retry-After": str(state.retry_after)},
                )
                await response(scope, receive, send)
                return
        elif kind == "websocket" and path.startswith(WEBSOCKET_PREFIX):
            address = (scope.get("client") or ("unknown",))[0]
            state = await take(address, websocket_limit)
            if state is not None and not state.granted:
                log.info("websocket refused: %s over its connection limit", address_key(address))
                await send({"type": "websocket.close", "code": 1008})
                return
        await app(scope, receive, send)

    return limited
