"""Brand syncs through the outbound guard: addresses inside the network (by number or by
a name that resolves there) are refused before any request; an allowed receiver's error
body is kept only as a short redacted excerpt."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs.outbound import configured_allow
from jobs.syncs.run import run_sync
from models.db import transaction
from models.settings import reload_settings
from models.syncs import set_connector
from tests.factories import make_world

SECRET = "rr_" + "k" * 30


@contextmanager
def brand_api(status: int, body: bytes) -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def nothing_allowed(monkeypatch):
    monkeypatch.setenv("RACKROOM_OUTBOUND_ALLOW", "")
    reload_settings()
    configured_allow.cache_clear()
    yield
    monkeypatch.setenv("RACKROOM_OUTBOUND_ALLOW", "127.0.0.1")
    reload_settings()
    configured_allow.cache_clear()


def _sync_to(engine, url: str):
    with transaction(engine) as session:
        set_connector(session, "NRD", style="json", url=url, every="1h")
    return run_sync("NRD", engine=engine, trigger="manual")


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),  # a name resolving to 127.0.0.1
        ("10.0.0.1", "private"),
        ("169.254.169.254", "link-local"),
    ],
)
def test_a_connector_pointing_inside_is_refused_unless_allowed(
    sqlite_engine, nothing_allowed, host, reason
):
    make_world(sqlite_engine)
    with brand_api(200, b'{"items": []}') as (port, hits):
        run = _sync_to(sqlite_engine, f"http://{host}:{port}/api/v1/stock")
    assert run.status == "failed"
    assert reason in run.message and "RACKROOM_OUTBOUND_ALLOW" in run.message
    assert hits == []  # refused before any request left


def test_an_error_body_is_kept_only_as_a_short_redacted_excerpt(sqlite_engine):
    make_world(sqlite_engine)
    body = json.dumps({"error": f"token={SECRET}", "dump": "x" * 5000}).encode()
    with brand_api(403, body) as (port, hits):
        run = _sync_to(sqlite_engine, f"http://127.0.0.1:{port}/inventory")
    assert hits and run.status == "failed"
    stored = json.dumps([run.message, run.errors], default=str)
    assert "[redacted]" in stored  # the excerpt is there, its secret is not
    assert SECRET not in stored and "k" * 30 not in stored
    assert "x" * 200 not in stored
