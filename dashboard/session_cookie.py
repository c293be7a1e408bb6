"""The HttpOnly session cookie on the websocket: read it, hide it from Reflex.

The browser sends its cookies with the websocket handshake (`/_event`). Reflex would
copy the Cookie header into every state's `router.headers`, which is pickled into the
state files (or Redis). So `session_cookie`, an ASGI middleware, takes `rackroom_session`
out of the Cookie header before Reflex sees the handshake and leaves the token in the
ASGI scope under a key of its own (`SCOPE_KEY`: no header, so Reflex copies it nowhere).
`watch_connections` wraps Reflex's socket namespace so that on connect the token is kept
in this process's memory under the connection's socket id — the `router.session.
session_id` of every event it brings — until it disconnects. Keyed by socket id, not by
the tab's client token: Reflex may hand a tab a new client token mid-connection (a
reconnect its old worker never saw close looks like a duplicate tab).

`dashboard.states.auth.session_token(state)` asks `connection_token`; events of a
connection are handled by the worker holding it, so memory is enough there. Elsewhere
(an upload reaching another worker) the state's sealed copy answers.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

#: The cookie holding the browser's opaque session token (HttpOnly, set by /auth/session).
SESSION_COOKIE = "rackroom_session"
EVENT_PATH = "/_event"
#: Where the middleware leaves the handshake's token in the ASGI scope.
SCOPE_KEY = "rackroom.session_token"

# socket id -> the session token its handshake brought ("" when none)
_connections: dict[str, str] = {}


def connection_token(socket_id: str) -> str | None:
    """The session token the open websocket `socket_id` brought ("" when it came
    without one); None when no such connection is open in this process."""
    return _connections.get(socket_id) if socket_id else None


def forget_connection_token(socket_id: str) -> None:
    """After sign-out: that open connection no longer counts as signed in."""
    if socket_id in _connections:
        _connections[socket_id] = ""


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


def _strip_session_cookie(scope: Scope) -> Scope:
    token, headers = "", []
    for name, value in scope.get("headers") or []:
        if name.lower() == b"cookie":
            found, rest = split_cookie_header(value.decode("latin-1"))
            token = found or token
            if rest:
                headers.append((name, rest.encode("latin-1")))
            continue
        headers.append((name, value))
    return {**scope, "headers": headers, SCOPE_KEY: token}


def session_cookie(app: ASGIApp) -> ASGIApp:
    """ASGI middleware (an `api_transformer`): on `/_event` the session cookie is taken
    out of the request's headers and left in the scope (`SCOPE_KEY`)."""

    async def hidden(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("path", "").startswith(
            EVENT_PATH
        ):
            scope = _strip_session_cookie(scope)
        await app(scope, receive, send)

    return hidden


def watch_connections(namespace: Any) -> None:
    """Wrap Reflex's socket namespace: remember each connection's session token from
    its handshake (before Reflex handles the connect, which may run the first event),
    forget it on disconnect. Idempotent."""
    if getattr(namespace, "_rackroom_watched", False):
        return
    connect: Callable[..., Any] = namespace.on_connect
    disconnect: Callable[..., Any] = namespace.on_disconnect

    async def on_connect(sid: str, environ: dict, auth: Any = None) -> Any:
        _connections[sid] = str((environ.get("asgi.scope") or {}).get(SCOPE_KEY) or "")
        try:
            return await connect(sid, environ, auth)
        except BaseException:
            _connections.pop(sid, None)
            raise

    def on_disconnect(sid: str, *reason: Any) -> Any:
        _connections.pop(sid, None)
        return disconnect(sid)

    namespace.on_connect = on_connect
    namespace.on_disconnect = on_disconnect
    namespace._rackroom_watched = True


def watch_session_cookies(app: Any) -> None:
    """Lifespan task (`app.register_lifespan_task`): `watch_connections` on the app's
    socket namespace, which exists once the app is set up."""
    if app.event_namespace is not None:
        watch_connections(app.event_namespace)
