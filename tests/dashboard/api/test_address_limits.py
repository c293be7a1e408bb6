"""Per-address limits over real HTTP: /api/ requests get a 429 with Retry-After past the
address's bucket, new /_event websockets are refused; the address is the one
`behind_proxy` settled, so X-Forwarded-For from an untrusted peer changes nothing."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from dashboard.api import address_limits as limits_module
from dashboard.api import create_api, ratelimit
from dashboard.api.address_limits import Limit, MemoryBuckets, address_limits
from dashboard.observability import behind_proxy
from models.settings import ConfigError, reload_settings
from tests.conftest import IN_CI
from tests.dashboard.test_client_address import serving

BURST = 3


@pytest.fixture
def configure(monkeypatch) -> Iterator:
    """Set the limits (a burst of 3, a rate that refills nothing during a test) and the
    trusted proxies, then read the settings as a new process would."""

    def apply(trusted: str = "", redis_url: str = "") -> None:
        monkeypatch.setenv("RACKROOM_API_RATE_PER_ADDRESS", "1/h")
        monkeypatch.setenv("RACKROOM_API_BURST_PER_ADDRESS", str(BURST))
        monkeypatch.setenv("RACKROOM_WEBSOCKET_RATE_PER_ADDRESS", "1/h")
        monkeypatch.setenv("RACKROOM_WEBSOCKET_BURST_PER_ADDRESS", "2")
        monkeypatch.setenv("RACKROOM_TRUSTED_PROXIES", trusted)
        monkeypatch.setenv("REDIS_URL", redis_url)
        reload_settings()
        ratelimit.reset()

    limits_module.reset()
    yield apply
    monkeypatch.undo()
    reload_settings()
    ratelimit.reset()
    limits_module.reset()


def test_the_api_answers_429_with_retry_after_past_the_address_burst(configure):
    configure()
    with serving(behind_proxy(address_limits(create_api()))) as url:
        statuses = [httpx.get(f"{url}/api/v1/health").status_code for _ in range(BURST)]
        refused = httpx.get(f"{url}/api/v1/health")
        # A bad key is counted as well (the per-key limiter never sees it).
        bad_key = httpx.get(f"{url}/api/v1/stock", headers={"Authorization": "Bearer nope"})
    assert statuses == [200] * BURST
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["details"]["scope"] == "address"
    assert bad_key.status_code == 429


def test_a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape(configure):
    configure(trusted="10.9.9.9")  # a proxy, but not the peer these requests come from
    with serving(behind_proxy(address_limits(create_api()))) as url:
        statuses = [
            httpx.get(
                f"{url}/api/v1/health", headers={"X-Forwarded-For": f"198.51.100.{n}"}
            ).status_code
            for n in range(BURST + 2)
        ]
    assert statuses == [200] * BURST + [429, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(configure):
    configure(trusted="127.0.0.1")
    with serving(behind_proxy(address_limits(create_api()))) as url:

        def status(client: str) -> int:
            headers = {"X-Forwarded-For": client}
            return httpx.get(f"{url}/api/v1/health", headers=headers).status_code

        first = [status("203.0.113.7") for _ in range(BURST + 1)]
        other = status("203.0.113.8")
        # One IPv6 subscriber (a /64) is one address, whichever of its addresses it uses.
        six = [status(f"2001:db8:1:2::{n}") for n in range(1, BURST + 2)]
    assert first == [200] * BURST + [429]
    assert other == 200
    assert six == [200] * BURST + [429]


def test_pages_are_not_counted(configure):
    configure()
    with serving(behind_proxy(address_limits(create_api()))) as url:
        for _ in range(BURST + 2):
            # Not under /api/: the frontend's own paths never spend the API's tokens.
            assert httpx.get(f"{url}/not-api").status_code != 429
        assert httpx.get(f"{url}/api/v1/health").status_code == 200


async def _hello(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def handshake(url: str, forwarded: str | None = None) -> int:
    """Open a websocket to /_event/ and answer the HTTP status of its handshake."""
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /_event/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if forwarded:
        lines.append(f"X-Forwarded-For: {forwarded}")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(1024)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def test_new_websockets_past_the_address_burst_are_refused(configure):
    configure(trusted="10.9.9.9")
    app = Starlette(routes=[WebSocketRoute("/_event/", _hello)])
    with serving(behind_proxy(address_limits(app))) as url:
        opened = [handshake(url, forwarded=f"198.51.100.{n}") for n in range(3)]
    assert opened == [101, 101, 403]


def test_memory_buckets_refill_at_the_rate():
    buckets, limit = MemoryBuckets(), Limit("api", rate=2.0, burst=2)
    assert [buckets.take("a", limit, now=100.0).granted for _ in range(3)] == [True, True, False]
    refused = buckets.take("a", limit, now=100.0)
    assert refused.retry_after == 1
    assert buckets.take("a", limit, now=100.5).granted  # half a second: one token back
    assert not buckets.take("a", limit, now=100.5).granted


#: Not the per-key tests' index (12), the production tests' (13) nor the benchmarks' (14).
REDIS_URL = os.environ.get("TEST_ADDRESS_REDIS_URL", "redis://127.0.0.1:6379/11")


def test_with_redis_every_worker_counts_in_one_bucket(configure):
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"CI=true requires Redis at {REDIS_URL}: {error}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    client.flushdb()
    try:
        configure(trusted="127.0.0.1", redis_url=REDIS_URL)
        # Two apps, as two workers would be: one count between them, kept in Redis.
        with (
            serving(behind_proxy(address_limits(create_api()))) as one,
            serving(behind_proxy(address_limits(create_api()))) as two,
        ):
            headers = {"X-Forwarded-For": "192.0.2.44"}
            statuses = [
                httpx.get(f"{base}/api/v1/health", headers=headers).status_code
                for base in (one, two, one, two)
            ]
        assert statuses == [200] * BURST + [429]
        assert client.exists("rackroom:ratelimit:addr:api:192.0.2.44")
    finally:
        client.flushdb()
        client.close()


def test_memory_buckets_stay_bounded_under_a_flood_of_addresses(monkeypatch):
    monkeypatch.setattr(limits_module, "MAX_MEMORY_BUCKETS", 10)
    buckets, limit = MemoryBuckets(), Limit("api", rate=1.0, burst=5)
    for n in range(100):
        buckets.take(f"addr:api:192.0.2.{n}", limit, now=float(n) / 1000)
    assert len(buckets._buckets) <= 10
    # The newest addresses are remembered: the last one has spent its token.
    assert buckets._buckets["addr:api:192.0.2.99"][0] == 4


def test_the_limits_are_rates_as_people_write_them(monkeypatch):
    for name in ("API_RATE", "API_BURST", "WEBSOCKET_RATE", "WEBSOCKET_BURST"):
        monkeypatch.delenv(f"RACKROOM_{name}_PER_ADDRESS", raising=False)
    try:
        reload_settings()
        api, websocket = limits_module.limits()
        assert (api.rate, api.burst, websocket.rate, websocket.burst) == (100.0, 200, 5.0, 60)
        monkeypatch.setenv("RACKROOM_API_RATE_PER_ADDRESS", "600/m")
        monkeypatch.setenv("RACKROOM_WEBSOCKET_RATE_PER_ADDRESS", "2")
        reload_settings()
        api, websocket = limits_module.limits()
        assert (api.rate, websocket.rate) == (10.0, 2.0)
        monkeypatch.setenv("RACKROOM_API_RATE_PER_ADDRESS", "fast")
        with pytest.raises(ConfigError, match="RACKROOM_API_RATE_PER_ADDRESS='fast'"):
            reload_settings()
    finally:
        monkeypatch.undo()
        reload_settings()
