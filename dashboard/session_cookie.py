"""The HttpOnly session cookie on the websocket: read it, hide it from Reflex.

The browser sends its cookies with the websocket handshake (`/_event`). Reflex would
copy the Cookie header into every state's `router.headers`, which is pickled into the
state files (or Redis). So this ASGI middleware, before Reflex sees the handshake, takes
`rackroom_session` out of the Cookie header and keeps the token in this process's memory,
keyed by the tab's Reflex client token (`?token=` of the handshake), while the
connection lasts. `dashboard.states.auth.session_token(state)` asks `connection_token`;
events of a connection are handled by the worker holding it, so memory is enough there.
Elsewhere (an upload reaching another worker) the state's sealed copy answers.
"""

from __future__ import annotations

import itertools
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

#: The cookie holding the browser's opaque session token (HttpOnly, set by /auth/session).
SESSION_COOKIE = "rackroom_session"
EVENT_PATH = "/_event"
#: Reflex's client tokens are UUIDs; anything much longer is not one.
MAX_CLIENT_TOKEN = 64

# client token -> (connection number, session token or "" when the handshake had none)
_connections: dict[str, tuple[int, str]] = {}
_numbers = itertools.count(1)


def connection_token(client_token: str) -> str | None:
    """The session token the open websocket of tab `client_token` brought ("" when it
    came without one); None when that tab has no websocket open in this process."""
    held = _connections.get(client_token) if client_token else None
    return None if held is None else held[1]


def forget_connection_token(client_token: str) -> None:
    """After sign-out: this tab's open connection no longer counts as signed in."""
    held = _connections.get(client_token)
    if held is not None:
        _connections[client_token] = (held[0], "")


def split_cookie_header(header: str) -> tuple[str, str]:
    """(the session token, the Cookie header without it). Tolerant of odd cookies."""
    token, kept = "", []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep and not name:
            continue
        if name == SESSION_COOKIE:
            try:
                parsed = SimpleCookie(f"{name}={value}")
                token = parsed[name].value if name in parsed else value
            except CookieError:
                token = value
            continue
        kept.append(part.strip())
    return token.strip(), "; ".join(kept)


def _strip_session_cookie(scope: Scope) -> tuple[Scope, str]:
    token, headers = "", []
    for name, value in scope.get("headers") or []:
        if name.lower() == b"cookie":
            found, rest = split_cookie_header(value.decode("latin-1"))
            token = found or token
            if rest:
                headers.append((name, rest.encode("latin-1")))
            continue
        headers.append((name, value))
    return {**scope, "headers": headers}, token


def session_cookie(app: ASGIApp) -> ASGIApp:
    """ASGI middleware (an `api_transformer`): on `/_event`, the session cookie is taken
    out of the request and, for a websocket, kept for its client token while it lasts."""

    async def hidden(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope.get(
            "path", ""
        ).startswith(EVENT_PATH):
            await app(scope, receive, send)
            return
        scope, token = _strip_session_cookie(scope)
        if scope["type"] != "websocket":
            await app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        client = (query.get("token") or [""])[0]
        if not client or len(client) > MAX_CLIENT_TOKEN:
            await app(scope, receive, send)
            return
        number = next(_numbers)
        _connections[client] = (number, token)
        try:
            await app(scope, receive, send)
        finally:
            if _connections.get(client, (0, ""))[0] == number:
                del _connections[client]

    return hidden
