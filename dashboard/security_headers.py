"""Security headers on every HTTP answer (pages, uploads, API): an `api_transformer`.

- `Content-Security-Policy: frame-ancestors 'none'` — no other site may frame Rackroom
  (clickjacking) — except the public poll pages under `/embed/`, which exist to be
  framed. The policy restricts framing, plugins and `<base>` only: Reflex's compiled
  frontend needs inline scripts, so scripts are not restricted here.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`.
- `Strict-Transport-Security` when the request came over https (as seen through
  `behind_proxy`, so put this inside it).
A header the app already set is left as it is.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

EMBED_PREFIX = "/embed/"
_BASE = "object-src 'none'; base-uri 'self'"
CSP = f"frame-ancestors 'none'; {_BASE}".encode()
EMBED_CSP = f"frame-ancestors *; {_BASE}".encode()
HSTS = b"max-age=31536000; includeSubDomains"


def headers_for(path: str, scheme: str) -> list[tuple[bytes, bytes]]:
    """The security headers one answer gets."""
    embedded = path.startswith(EMBED_PREFIX) or path.rstrip("/") == "/embed"
    headers = [
        (b"content-security-policy", EMBED_CSP if embedded else CSP),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
    ]
    if not embedded:
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
        extra = headers_for(scope.get("path", ""), scope.get("scheme", "http"))

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
