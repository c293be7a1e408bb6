"""Security headers over real HTTP: no framing but for /embed/, nosniff, a referrer
policy everywhere, HSTS only over https (as the trusted proxy reports it)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from dashboard.observability import behind_proxy
from dashboard.security_headers import security_headers
from models.settings import reload_settings
from tests.api_support import serve_api


def _page(_request) -> PlainTextResponse:
    return PlainTextResponse("page")


@pytest.fixture
def site(monkeypatch):
    monkeypatch.setenv("RACKROOM_TRUSTED_PROXIES", "127.0.0.1")
    reload_settings()
    inner = Starlette(routes=[Route("/", _page), Route("/embed/{slug}", _page),
                              Route("/api/v1/x", _page)])
    with serve_api(app=behind_proxy(security_headers(inner))) as url:
        yield url
    monkeypatch.delenv("RACKROOM_TRUSTED_PROXIES")
    reload_settings()


def test_pages_and_api_refuse_framing_and_sniffing(site):
    for path in ("/", "/api/v1/x", "/nowhere"):
        headers = httpx.get(site + path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in headers  # plain http


def test_embed_paths_naming_no_poll_may_not_be_framed(site):
    # Which sites may frame a poll's page is the poll's own list (test_poll_frame_origins).
    headers = httpx.get(site + "/embed/abc").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_hsts_only_when_the_trusted_proxy_says_https(site):
    over_https = httpx.get(site + "/", headers={"x-forwarded-proto": "https"}).headers
    assert over_https["strict-transport-security"].startswith("max-age=")
