"""What the web process tells operators: a log scope and metrics per request and event.

- `behind_proxy` believes X-Forwarded-For/-Proto from the configured reverse proxy.
- `observe_http` wraps the whole ASGI app (pages, `/_event`, `/_upload`, `/api/v1`):
  a request id (the caller's `X-Request-ID` when it is sane, else a new one, echoed
  back), one log line per API request, and `rackroom_http_*` metrics labelled by the
  route *template* (`/api/v1/reservations/{reservation_id}`), never the raw path.
- `ObservedApp` is `rx.App` with an event processor that opens a log scope per Reflex
  event (`event`, then `user_id` once the handler checked the session) and records
  `rackroom_events_*` by handler. Reflex documents `_execute_event` as the method
  subclasses override; `_setup_event_processor` is where the app creates it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator

import reflex as rx
from granian.utils.proxies import wrap_asgi_with_proxy_headers
from reflex_base.event.processor.base_state_processor import BaseStateEventProcessor
from reflex_base.event.processor.event_processor import EventQueueEntry
from reflex_base.registry import RegisteredEventHandler
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobs import metrics
from jobs.logs import bound
from models.settings import ConfigError, settings

log = logging.getLogger("rackroom.http")
event_log = logging.getLogger("rackroom.events")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
#: Requests under these prefixes get an access-log line (pages and assets do not).
_LOGGED_PREFIXES = ("/api/", "/metrics", "/_upload")


def route_label(scope: Scope) -> str:
    """The matched route's template, or a fixed name: metrics labels stay bounded."""
    path = scope.get("path", "")
    if path.startswith("/_event"):
        return "/_event"
    route = scope.get("route")
    if isinstance(route, Mount):
        return "frontend"
    template, pattern = getattr(route, "path", None), getattr(route, "path_regex", None)
    if not template:
        return "unmatched"
    if pattern is not None and not pattern.match(path):
        # A route of an included router knows only its own part ("/reservations");
        # put back the prefix the request path had before it ("/api/v1").
        for start in range(1, len(path)):
            if path[start] == "/" and pattern.match(path[start:]):
                return path[:start] + template
    return template


def behind_proxy(app: ASGIApp) -> ASGIApp:
    """Client address and scheme from X-Forwarded-For/-Proto, when the request (HTTP or
    websocket) comes from a proxy in RACKROOM_TRUSTED_PROXIES; otherwise `app` as is.

    RACKROOM_TRUSTED_PROXY_HOPS 0: the rightmost address that is not a trusted proxy
    (Granian's own helper); N: the N-th entry from the right. Reflex's own
    `trusted_proxy_hops` stays 0 (rxconfig), so its websocket sessions take the address
    settled here and never believe the header from a client that connected directly.
    """
    configured = settings()
    if not configured.trusted_proxies:
        return app
    if not configured.trusted_proxy_hops:
        return wrap_asgi_with_proxy_headers(app, trusted_hosts=configured.trusted_proxies)
    trusted = _networks(configured.trusted_proxies)
    hops = configured.trusted_proxy_hops

    async def forwarded(scope: Scope, receive: Receive, send: Send) -> None:
        peer = (scope.get("client") or ("",))[0]
        if scope["type"] in ("http", "websocket") and _is_in(peer, trusted):
            headers = scope.get("headers") or []
            entries = [
                entry.strip()
                for name, value in headers
                if name == b"x-forwarded-for"
                for entry in value.decode("latin-1").split(",")
                if entry.strip()
            ]
            if len(entries) >= hops:
                scope["client"] = (entries[-hops], 0)
                proto = dict(headers).get(b"x-forwarded-proto", b"").decode("latin-1").strip()
                if proto in ("http", "https"):
                    is_ws = scope["type"] == "websocket"
                    scope["scheme"] = proto.replace("http", "ws") if is_ws else proto
        await app(scope, receive, send)

    return forwarded


def _networks(listed: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [
            ipaddress.ip_network(item.strip(), strict=False)
            for item in listed.split(",")
            if item.strip()
        ]
    except ValueError as error:
        raise ConfigError(f"RACKROOM_TRUSTED_PROXIES={listed!r}: {error}") from None


def _is_in(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def observe_http(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: request id, access log, HTTP metrics (an `api_transformer`)."""

    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        with bound(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route, method = route_label(scope), scope.get("method", "GET")
                metrics.HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
                metrics.HTTP_LATENCY.labels(route=route, method=method).observe(elapsed)
                if scope.get("path", "").startswith(_LOGGED_PREFIXES):
                    log.info(
                        "%s %s %s %.1f ms",
                        method,
                        route,
                        status,
                        elapsed * 1000,
                        extra={
                            "fields": {
                                "client": (scope.get("client") or ("?",))[0],
                                "method": method,
                                "route": route,
                                "status": status,
                                "ms": round(elapsed * 1000, 1),
                            }
                        },
                    )

    return observed


class ObservedEventProcessor(BaseStateEventProcessor):
    """Reflex's event processor, with a log scope and metrics around each handler."""

    async def _execute_event(
        self, *, entry: EventQueueEntry, registered_handler: RegisteredEventHandler
    ) -> None:
        handler = registered_handler.handler.fn.__qualname__
        started = time.perf_counter()
        outcome = "error"
        with bound(event=handler):
            try:
                await super()._execute_event(entry=entry, registered_handler=registered_handler)
                outcome = "ok"
            except asyncio.CancelledError:
                # A live page's loop is cancelled when its tab closes: not a failure.
                outcome = "cancelled"
                raise
            finally:
                elapsed = time.perf_counter() - started
                metrics.EVENTS.labels(handler=handler, outcome=outcome).inc()
                metrics.EVENT_LATENCY.labels(handler=handler).observe(elapsed)
                event_log.info(
                    "%s %s %.1f ms",
                    handler,
                    outcome,
                    elapsed * 1000,
                    extra={"fields": {"outcome": outcome, "ms": round(elapsed * 1000, 1)}},
                )


class ObservedApp(rx.App):
    """`rx.App` whose events go through `ObservedEventProcessor`."""

    @contextlib.asynccontextmanager
    async def _setup_event_processor(self) -> AsyncIterator[None]:
        event_namespace = self.event_namespace
        if event_namespace is not None:
            # As rx.App does: the app may have been imported before workers forked.
            event_namespace._token_manager._reset_instance_id()
        self._event_processor = ObservedEventProcessor(
            middleware=self, backend_exception_handler=self.backend_exception_handler
        )
        async with self._event_processor.configure(
            state_manager=self.state_manager, event_namespace=event_namespace
        ):
            yield
