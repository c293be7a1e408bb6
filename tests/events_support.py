"""Webhook receivers on 127.0.0.1 for the event tests: real HTTP servers that record
what arrives and answer as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    #: Status codes to answer, in turn; then `default`.
    script: list[int] = field(default_factory=list)
    default: int = 200
    #: Answer with this instead (e.g. hang, redirect, a huge body).
    behaviour: Callable[[BaseHTTPRequestHandler], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, secret: str, item: Received) -> dict:
        """The payload if the Standard Webhooks reference library accepts the signature."""
        return Webhook(secret).verify(item.body, item.headers)

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received]


@contextmanager
def receiver(**options) -> Iterator[Receiver]:
    state = Receiver(url="", **options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                state.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = state.script.pop(0) if state.script else state.default
            if state.behaviour is not None:
                state.behaviour(self)
                return
            self.send_response(status)
            payload = b"nope: token=rr_secretsecretsecret" if status >= 300 else b"ok"
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def hang(seconds: float) -> Callable[[BaseHTTPRequestHandler], None]:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)

    return behave


def redirect(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    handler.send_header("location", "http://127.0.0.1:1/elsewhere")
    handler.send_header("content-length", "0")
    handler.end_headers()


def huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(500)
    handler.send_header("content-length", str(200 * 1024 * 1024))
    handler.end_headers()
    chunk = b"x" * 65536
    try:
        for _ in range(200 * 16):
            handler.wfile.write(chunk)
    except OSError:
        pass  # the client stopped reading, as it should
