"""Last of the production tests (files run in name order): what the whole run logged,
then a clean stop."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest

from tests.prod.conftest import ProdServer


def test_every_log_line_is_json_and_holds_no_secret(prod: ProdServer) -> None:
    # A failed sign-in and a refused key, so their secrets had a chance to be logged.
    bad_key = "rr_" + "x" * 43
    httpx.get(f"{prod.url}/api/v1/stock/ANY", headers={"Authorization": f"Bearer {bad_key}"})
    prod.secrets_used.add(bad_key)
    time.sleep(1)
    lines = prod.lines()
    assert len(lines) > 50, "the run logged almost nothing"
    kinds = set()
    for number, line in enumerate(lines, 1):
        entry = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message", "process", "pid"} <= entry.keys(), line
        kinds.add(entry["process"])
        for secret in prod.secrets_used:
            assert secret not in line, f"line {number} holds a secret: {line[:200]}"
    assert {"serve", "web", "jobs"} <= kinds
    events = [json.loads(line) for line in lines if '"rackroom.events"' in line]
    assert events and all("event" in e for e in events)
    assert any("user_id" in e for e in events)
    requests = [json.loads(line) for line in lines if '"rackroom.http"' in line]
    assert any(e.get("api_key_name") == "prod-storefront" for e in requests)


def test_sigterm_stops_the_web_server_and_the_scheduler(prod: ProdServer) -> None:
    if prod.process.poll() is not None:
        pytest.fail("the server had already stopped")
    children = prod.children(prod.process.pid)
    workers = prod.web_workers()
    assert len(children) == 2 and len(workers) == 2
    prod.process.send_signal(signal.SIGTERM)
    assert prod.process.wait(timeout=60) == 0
    time.sleep(0.5)
    for pid in [*children, *workers]:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                state = stat.read().split()[2]
        except FileNotFoundError:
            continue
        assert state == "Z", f"process {pid} still runs after the server stopped"
