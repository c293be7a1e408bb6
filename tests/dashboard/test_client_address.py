"""The client address the throttles count (sign-in, public poll votes), over real HTTP:
X-Forwarded-For is read only from a trusted proxy, as RACKROOM_TRUSTED_PROXY_HOPS says."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from dashboard.observability import behind_proxy
from models.settings import ConfigError, reload_settings
from tests.api_support import free_port


def _who(request: Request) -> PlainTextResponse:
    host = request.client.host if request.client else "?"
    return PlainTextResponse(f"{host} {request.url.scheme}")


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """uvicorn with its own X-Forwarded-For handling off (Granian, in production, has
    none): what the app sees is what `behind_proxy` made of the request."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                          log_level="warning", proxy_headers=False,
                                          interface="asgi3"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _seen(monkeypatch, trusted: str, hops: int, forwarded: str | None) -> str:
    monkeypatch.setenv("RACKROOM_TRUSTED_PROXIES", trusted)
    monkeypatch.setenv("RACKROOM_TRUSTED_PROXY_HOPS", str(hops))
    reload_settings()
    try:
        with serving(behind_proxy(Starlette(routes=[Route("/", _who)]))) as url:
            headers = {"x-forwarded-proto": "https"}
            if forwarded is not None:
                headers["x-forwarded-for"] = forwarded
            return httpx.get(url + "/", headers=headers).text
    finally:
        monkeypatch.delenv("RACKROOM_TRUSTED_PROXIES")
        monkeypatch.delenv("RACKROOM_TRUSTED_PROXY_HOPS")
        reload_settings()


CHAIN = "198.51.100.1, 203.0.113.9, 10.0.0.5"  # forged by the client, CDN saw, nginx saw


@pytest.mark.parametrize(
    ("trusted", "hops", "forwarded", "seen"),
    [
        # 0: the rightmost address that is not a listed proxy.
        ("127.0.0.1", 0, "203.0.113.9", "203.0.113.9 https"),
        ("127.0.0.1,10.0.0.0/8", 0, CHAIN, "203.0.113.9 https"),
        # N: the N-th entry from the right (a CDN whose addresses cannot be listed).
        ("127.0.0.1", 2, CHAIN, "203.0.113.9 https"),
        ("127.0.0.1", 1, CHAIN, "10.0.0.5 https"),
        # Fewer entries than hops, or none: the connection's own address.
        ("127.0.0.1", 3, "203.0.113.9", "127.0.0.1 http"),
        ("127.0.0.1", 2, None, "127.0.0.1 http"),
        # Not from a trusted proxy: the header is not believed at all.
        ("192.0.2.10", 1, CHAIN, "127.0.0.1 http"),
        ("192.0.2.10", 0, CHAIN, "127.0.0.1 http"),
    ],
)
def test_forwarded_for_is_read_only_from_a_trusted_proxy(monkeypatch, trusted, hops, forwarded,
                                                         seen):
    assert _seen(monkeypatch, trusted, hops, forwarded) == seen


def test_a_bad_proxy_setting_names_itself(monkeypatch):
    monkeypatch.setenv("RACKROOM_TRUSTED_PROXIES", "proxy.example")
    monkeypatch.setenv("RACKROOM_TRUSTED_PROXY_HOPS", "1")
    reload_settings()
    try:
        with pytest.raises(ConfigError, match="RACKROOM_TRUSTED_PROXIES"):
            behind_proxy(Starlette())
    finally:
        monkeypatch.delenv("RACKROOM_TRUSTED_PROXIES")
        monkeypatch.delenv("RACKROOM_TRUSTED_PROXY_HOPS")
        reload_settings()
