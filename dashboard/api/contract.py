"""The API's contract at its edges: every non-2xx answer under /api/v1 is the JSON error
body, OpenAPI lists those bodies, and deprecated operations say so in headers.

- `fallback`: the last routes under /api/v1, so an unknown or encoded path
  (`/api/v1/stock/%2e%2e%2fetc`) is a JSON 404 and a wrong method on a known path a
  JSON 405 with `Allow`, instead of falling through to the web app's HTML pages.
- `ERROR_RESPONSES` / `errors_for`: the error statuses each operation can answer, with
  the `ErrorBody` schema and the rate-limit headers, for `responses=`.
- `DeprecationHeaders`: an operation declared `deprecated=True` answers with
  `Deprecation` (RFC 9745), `Sunset` (RFC 8594) when its end is set, and a `Link` to the
  policy (docs/api.md "Versioning and deprecation").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.api.errors import error_response
from dashboard.api.schemas import ErrorBody

PREFIX = "/api/v1"
#: Where a deprecation is explained to people: the interactive docs mark deprecated
#: operations (the policy itself is docs/api.md "Versioning and deprecation").
POLICY_URL = PREFIX + "/docs"

_RATE_HEADERS = {
    "RateLimit-Limit": {
        "description": "The key's bucket size (burst)",
        "schema": {"type": "integer"},
    },
    "RateLimit-Remaining": {
        "description": "Tokens left in the key's bucket",
        "schema": {"type": "integer"},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the bucket is full again",
        "schema": {"type": "integer"},
    },
}

_DESCRIPTIONS = {
    400: "malformed_json: the body is not JSON; or a malformed request",
    401: "unauthorized: no key, or an unknown, expired or revoked one",
    403: "forbidden: the key lacks the scope (another brand's SKU is a 404, like an unknown one)",
    404: "not_found: the SKU, warehouse or reservation does not exist",
    405: "method_not_allowed",
    409: "insufficient_stock, stale_count, invalid_transition or conflict",
    413: "body_too_large: request bodies are limited to 64 KiB",
    414: "The address is longer than the HTTP server takes (its own answer, without a body)",
    422: "validation_error (naming the field) or invalid_quantity",
    429: "rate_limited: wait Retry-After seconds",
    500: "internal_error: logged on our side",
}


def errors_for(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these statuses: the error body, and on 429 Retry-After."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        if status == 414:
            entry = {"description": _DESCRIPTIONS[status]}
        if status == 429:
            entry["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
                **_RATE_HEADERS,
            }
        out[status] = entry
    return out


#: What any operation taking a key can answer besides its own successes.
KEYED_ERRORS = errors_for(400, 401, 403, 404, 405, 409, 413, 414, 422, 429, 500)


async def _fallback(request: Request) -> JSONResponse:
    """No route of the API matched: 405 if the path exists with other methods, else 404."""
    allowed: set[str] = set()
    for method in _METHODS:
        scope = dict(request.scope) | {"method": method}
        for route in request.app.router.routes:
            # Not the fallback itself, nor the web app Reflex mounts at "" (any path).
            if getattr(route, "endpoint", None) is _fallback_app or isinstance(route, Mount):
                continue
            if route.matches(scope)[0] is Match.FULL:
                allowed.add(method)
                break
    if allowed and request.method not in allowed:
        methods = ", ".join(sorted(allowed))
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {methods}.",
            {"allowed": sorted(allowed)},
            headers={"Allow": methods},
        )
    return error_response(
        404,
        "not_found",
        "No such API endpoint. The endpoints are listed at /api/v1/openapi.json.",
        {"path": request.url.path[:200]},
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


class _FallbackApp:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await _fallback(Request(scope, receive))
        await response(scope, receive, send)


_fallback_app = _FallbackApp()


def add_fallback(app: FastAPI) -> None:
    """The last routes: any method (QUERY, PROPFIND…) on any path under /api/v1. (An ASGI
    app, not a function: for those Starlette matches every method.)"""
    for path in (PREFIX, PREFIX + "/{rest:path}"):
        app.router.routes.append(Route(path, _fallback_app, include_in_schema=False))


def deprecation_headers(route: Any) -> list[tuple[bytes, bytes]]:
    if not getattr(route, "deprecated", False):
        return []
    extra = getattr(route, "openapi_extra", None) or {}
    since = extra.get("x-deprecated-since")
    stamp = int(datetime.fromisoformat(since).replace(tzinfo=UTC).timestamp()) if since else None
    headers = [
        (b"deprecation", f"@{stamp}".encode() if stamp is not None else b"@0"),
        (b"link", f'<{POLICY_URL}>; rel="deprecation"'.encode()),
    ]
    if sunset := extra.get("x-sunset"):
        when = datetime.fromisoformat(sunset).replace(tzinfo=UTC)
        headers.append((b"sunset", when.strftime("%a, %d %b %Y %H:%M:%S GMT").encode()))
    return headers


class DeprecationHeaders:
    """ASGI middleware: deprecation headers on every answer of a deprecated operation."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = deprecation_headers(scope.get("route"))
                extra += scope.get("state", {}).get("rackroom_deprecation", [])
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, marked)
