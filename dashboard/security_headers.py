"""Security headers on every HTTP answer (pages, uploads, API): an `api_transformer`.

- `Content-Security-Policy: frame-ancestors 'none'` — no other site may frame Rackroom
  (clickjacking) — except a poll's public page, `/embed/poll/{slug}`, which the sites
  the poll lists may frame (`frame-ancestors https://shop.example.com …`, read from
  the database per request, so a change applies at once); a poll listing none, an
  unknown slug and any other `/embed/` path get `'none'` too. The policy restricts
  framing, plugins and `<base>` only: Reflex's compiled frontend needs inline scripts,
  so scripts are not restricted here.
- `X-Frame-Options: DENY` wherever no site may frame the answer (older browsers).
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`.
- `Strict-Transport-Security` when the request came over https (as seen through
  `behind_proxy`, so put this inside it).
A header the app already set is left as it is.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.db import read_session
from models.polls.frames import frame_ancestors, frame_origins_of
from models.polls.manage import SLUG_PATTERN

log = logging.getLogger("rackroom.security_headers")

EMBED_PREFIX = "/embed/"
EMBED_POLL_PREFIX = "/embed/poll/"
_BASE = "object-src 'none'; base-uri 'self'"
CSP = f"frame-ancestors 'none'; {_BASE}".encode()
HSTS = b"max-age=31536000; includeSubDomains"


def embed_slug(path: str) -> str | None:
    """The poll slug of an embed page's path (`/embed/poll/{slug}`), if it is one."""
    if not path.startswith(EMBED_POLL_PREFIX):
        return None
    slug = path.removeprefix(EMBED_POLL_PREFIX).rstrip("/")
    return slug if SLUG_PATTERN.fullmatch(slug) else None


def frame_origins_for(path: str) -> list[str]:
    """The origins that may frame the answer to `path` (a database read for a poll's
    embed page; [] for everything else, and when the database cannot say)."""
    slug = embed_slug(path)
    if slug is None:
        return []
    try:
        with read_session() as session:
            return frame_origins_of(session, slug)
    except Exception:
        log.exception("frame origins of poll %s unreadable: framing refused", slug)
        return []


def headers_for(
    path: str, scheme: str, frame_origins: list[str] | None = None
) -> list[tuple[bytes, bytes]]:
    """The security headers one answer gets (`frame_origins`: who may frame it)."""
    csp = CSP
    if frame_origins:
        csp = f"frame-ancestors {frame_ancestors(frame_origins)}; {_BASE}".encode()
    headers = [
        (b"content-security-policy", csp),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
    ]
    if not frame_origins:
        headers.append((b"x-frame-options", b"DENY"))
    if scheme == "https":
        headers.append((b"strict-transport-security", HSTS))
    return headers


def security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware adding `headers_for` to every HTTP response."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope.get("path", "")
        origins = await run_in_threadpool(frame_origins_for, path) if embed_slug(path) else []
        extra = headers_for(path, scope.get("scheme", "http"), origins)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((n, v) for n, v in extra if n not in present),
                ]
            await send(message)

        await app(scope, receive, send_with_headers)

    return guarded
