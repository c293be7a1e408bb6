"""The demo brand API on a real 127.0.0.1 port for sync tests, and small helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import uvicorn

from jobs.demo_brand_api import DemoBrand, DemoBrandApi, DemoItem
from jobs.syncs.fetch import FetchLimits
from tests.api_support import free_port

#: Short timeouts and backoff so failure paths finish in a second or two.
FAST = FetchLimits(
    connect_timeout=2.0,
    read_timeout=1.0,
    max_attempts=3,
    backoff_base=0.05,
    backoff_cap=0.2,
    max_retry_after=5.0,
    max_run_seconds=20.0,
)


def at(text: str) -> datetime:
    """A hand-made UTC timestamp: at("2026-11-01 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@contextmanager
def serve_demo(api: DemoBrandApi) -> Iterator[str]:
    """Run the demo brand API under uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(api.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo brand API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


__all__ = ["FAST", "DemoBrand", "DemoBrandApi", "DemoItem", "at", "serve_demo"]
