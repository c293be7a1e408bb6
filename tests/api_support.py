"""A real HTTP server on 127.0.0.1 serving the API, and helpers to talk to it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from sqlalchemy import Engine

from dashboard.api import create_api
from jobs.scheduler import build_scheduler
from models.api_keys import create_api_key
from models.db import transaction


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_api(*, with_scheduler: bool = False, expiry_seconds: float = 0.5) -> Iterator[str]:
    """Run the API under uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_api(), host="127.0.0.1", port=port, log_level="warning", limit_concurrency=None
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    scheduler = build_scheduler(expiry_seconds=expiry_seconds) if with_scheduler else None
    if scheduler:
        scheduler.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if scheduler:
            scheduler.shutdown(wait=True)
        server.should_exit = True
        thread.join(timeout=10)


def make_key(engine: Engine, name: str, *scopes: str, brand: str | None = None) -> str:
    with transaction(engine) as session:
        return create_api_key(session, name, list(scopes), brand_code=brand)[1]


def client(base_url: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base_url + "/api/v1", headers=headers, timeout=30)
