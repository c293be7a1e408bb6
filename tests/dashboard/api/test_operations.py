"""Operations over real HTTP: liveness, readiness and Prometheus metrics, on both databases."""

from __future__ import annotations

import re

import httpx
import pytest

from jobs import metrics
from models.base import utcnow
from models.db import create_db_engine, set_default_engine, transaction
from models.scheduling import beat_as_leader
from models.settings import reload_settings
from models.stock import receive
from tests.api_support import client, make_key, serve_api
from tests.factories import make_world


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def world(engine):
    set_default_engine(engine)
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 3, actor="setup")
    yield world
    set_default_engine(None)


def scrape(api_url: str, **headers: str) -> dict[tuple[str, str], float]:
    """/metrics as {(name, labels): value}."""
    response = httpx.get(api_url + "/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        match = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if match:
            samples[(match.group(1), match.group(2) or "")] = float(match.group(3))
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    return sum(
        v
        for (n, text), v in samples.items()
        if n == name and wanted <= set(text.strip("{}").split(","))
    )


def test_health_answers_without_the_database(api_url):
    set_default_engine(create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"))
    try:
        response = httpx.get(api_url + "/api/v1/health", timeout=10)
    finally:
        set_default_engine(None)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_needs_a_recent_scheduler_leader(engine, world, api_url):
    response = httpx.get(api_url + "/api/v1/ready", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "not_ready" and body["details"]["failing"] == ["scheduler"]
    assert "python -m jobs" in body["message"]
    assert body["details"]["checks"]["database"] == "ok"
    assert body["details"]["checks"]["migrations"] == "ok"

    with transaction(engine) as session:
        beat_as_leader(session, "test:1", utcnow())
    response = httpx.get(api_url + "/api/v1/ready", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "scheduler": "ok",
            "redis": "not configured",
        },
    }


def test_ready_answers_503_naming_the_database_when_it_is_unreachable(api_url):
    set_default_engine(create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"))
    try:
        response = httpx.get(api_url + "/api/v1/ready", timeout=20)
    finally:
        set_default_engine(None)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["details"]["failing"] == ["database"]
    assert body["message"].startswith("Not ready — database: unreachable")
    assert body["details"]["checks"]["migrations"] == "not checked"


def test_ready_names_redis_when_it_is_configured_and_down(engine, world, api_url, monkeypatch):
    with transaction(engine) as session:
        beat_as_leader(session, "test:1", utcnow())
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reload_settings()
    try:
        response = httpx.get(api_url + "/api/v1/ready", timeout=20)
    finally:
        monkeypatch.delenv("REDIS_URL")
        reload_settings()
    assert response.status_code == 503
    assert response.json()["details"]["failing"] == ["redis"]


def test_metrics_move_after_reservations_through_the_api(engine, world, api_url, monkeypatch):
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 0.0)
    key = make_key(engine, "storefront", "reservations:write")
    before = scrape(api_url)
    with client(api_url, key) as api:
        made = api.post(
            "/reservations",
            json={"sku": "NRD-TEE1-BLK-M", "qty": 2, "order_ref": "A-1", "channel": "web"},
        )
        assert made.status_code == 201, made.text
        refused = api.post(
            "/reservations",
            json={"sku": "NRD-TEE1-BLK-M", "qty": 5, "order_ref": "A-2", "channel": "web"},
        )
        assert refused.status_code == 409
    after = scrape(api_url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("rackroom_reservations_total", outcome="created") == 1
    assert moved("rackroom_reservations_total", outcome="refused", reason="insufficient_stock") == 1
    assert moved("rackroom_ledger_rows_total", reason="reserve") == 1
    assert value(after, "rackroom_ledger_rows_total", reason="receipt") == 1
    assert (
        moved(
            "rackroom_http_requests_total",
            route="/api/v1/reservations",
            method="POST",
            status="409",
        )
        == 1
    )
    assert value(after, "rackroom_database_up") == 1
    # A pool counts checkouts as they happen; nothing is left checked out between requests.
    assert value(after, "rackroom_db_pool_connections_in_use") >= 0


def test_metrics_need_the_token_when_one_is_set(api_url, world, monkeypatch):
    monkeypatch.setenv("RACKROOM_METRICS_TOKEN", "s3cret-metrics-token")
    reload_settings()
    try:
        assert httpx.get(api_url + "/metrics", timeout=10).status_code == 401
        wrong = httpx.get(api_url + "/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
        assert scrape(api_url, Authorization="Bearer s3cret-metrics-token")
    finally:
        monkeypatch.delenv("RACKROOM_METRICS_TOKEN")
        reload_settings()


def test_every_response_carries_a_request_id_and_keeps_a_sane_one(api_url):
    response = httpx.get(api_url + "/api/v1/health", headers={"X-Request-ID": "abc-123-def"})
    assert response.headers["x-request-id"] == "abc-123-def"
    forged = httpx.get(api_url + "/api/v1/health", headers={"X-Request-ID": "<script>x</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])


def test_the_grafana_dashboard_charts_only_metrics_that_exist(api_url, world):
    """deploy/grafana-dashboard.json cannot drift from what /metrics serves."""
    import json
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).parents[3] / "deploy" / "grafana-dashboard.json").read_text()
    )
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    charted = {m for e in exprs for m in re.findall(r"\brackroom_[a-z_]+", e)}
    served = set(
        re.findall(r"^# HELP (rackroom_[a-z_]+)", httpx.get(api_url + "/metrics").text, re.M)
    )
    for name in charted:
        base = re.sub(r"_(total|bucket|sum|count)$", "", name)
        assert name in served or base in served, f"{name} is charted but not served"
    assert len(charted) >= 15
