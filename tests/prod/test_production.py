"""The production build served by `make prod`'s start code: two workers, Redis, PostgreSQL.

A worker is killed mid-session and the user carries on; metrics add up across
workers; `reflex run --env prod --backend-only` starts too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from models.api_keys import create_api_key
from models.catalog import Variant, Warehouse
from models.db import create_db_engine, read_session, transaction
from models.stock import LedgerEntry, get_balance, receive, reconcile
from models.users import User
from tests.prod.conftest import ROOT, VENV_BIN, ProdServer, free_port

SKU, WAREHOUSE = "NORTH-NW-STRAIGHT-32", "LDN"


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")
    expect(page).not_to_have_url(re.compile(r"/login"))


def correct(page: Page, new_count: int, *, clicks: int = 1) -> None:
    """Open the correction dialog from the grid cell, type the count, Enter saves.

    `clicks` > 1: open it again if it closed (a reconnected tab's hydration can run the
    page's load once more, and a load closes an open dialog, as it would for a user)."""
    dialog = page.get_by_test_id("correction-dialog")
    count = dialog.get_by_label("New on-hand count")
    for click in range(1, clicks + 1):
        page.get_by_role("button", name=f"Correct {SKU} at {WAREHOUSE}").click()
        try:
            expect(count).to_be_focused(timeout=5_000 if click < clicks else None)
            break
        except AssertionError:
            if click == clicks:
                raise
    count.fill(str(new_count))
    count.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("button", name=f"Correct {SKU} at {WAREHOUSE}")).to_have_text(
        f"{new_count:,}"
    )


def event_entries(prod: ProdServer, user_id: int) -> list[dict]:
    """The log entries of this user's Reflex events, oldest first."""
    entries = []
    for line in prod.lines():
        if '"rackroom.events"' in line:
            entry = json.loads(line)
            if entry.get("user_id") == user_id:
                entries.append(entry)
    return entries


def event_pids(prod: ProdServer, user_id: int) -> list[int]:
    """Worker pids that handled this user's Reflex events, oldest first."""
    return [entry["pid"] for entry in event_entries(prod, user_id)]


@pytest.fixture(scope="module")
def ids(prod: ProdServer):
    engine = create_db_engine(prod.database_url, pool_size=2)
    with read_session(engine) as session:
        variant = session.scalars(select(Variant.id).where(Variant.sku == SKU)).one()
        warehouse = session.scalars(select(Warehouse.id).where(Warehouse.code == WAREHOUSE)).one()
        merch = session.scalars(
            select(User.id).where(User.email == prod.seeded.merchandiser.email)
        ).one()
    yield engine, variant, warehouse, merch
    engine.dispose()


def test_a_user_keeps_working_when_their_worker_is_killed(prod: ProdServer, tab: Page, ids) -> None:
    page = tab
    engine, variant, warehouse, merch = ids
    sockets: list = []
    page.on("websocket", lambda socket: sockets.append(socket))
    sign_in(page, prod.seeded.merchandiser.email, prod.seeded.merchandiser.password)
    page.goto(f"/stock?q={SKU}")
    cell = page.get_by_role("button", name=f"Correct {SKU} at {WAREHOUSE}")
    expect(cell).to_be_visible()
    with read_session(engine) as session:
        start = get_balance(session, variant, warehouse).on_hand
    correct(page, start - 5)
    prod.secrets_used.update(c["value"] for c in page.context.cookies())

    workers = prod.web_workers()
    assert len(workers) == 2, workers
    serving = event_pids(prod, merch)[-1]  # the worker holding this tab's websocket
    assert serving in workers
    socket_before = sockets[-1]
    os.kill(serving, signal.SIGKILL)

    # The tab notices, reconnects (to the other worker, or the respawned one) ...
    page.wait_for_event("websocket", timeout=30_000)
    assert sockets[-1] is not socket_before
    # ... and hydrates again, which reloads the grid (a load closes an open dialog): wait
    # for that load on a live worker before opening the dialog.
    deadline = time.monotonic() + 30
    while not any(
        entry.get("pid") != serving and str(entry.get("event", "")).endswith(".load")
        for entry in event_entries(prod, merch)
    ):
        assert time.monotonic() < deadline, "the reconnected tab never reloaded the grid"
        time.sleep(0.2)
    # ... and is still signed in: the next correction goes through.
    expect(page.get_by_text(prod.seeded.merchandiser.name)).to_be_visible()
    correct(page, start - 9, clicks=3)
    assert event_pids(prod, merch)[-1] != serving

    with read_session(engine) as session:
        corrections = session.scalars(
            select(LedgerEntry.on_hand_delta)
            .where(LedgerEntry.variant_id == variant, LedgerEntry.warehouse_id == warehouse)
            .where(LedgerEntry.actor == prod.seeded.merchandiser.email)
            .order_by(LedgerEntry.id)
        ).all()
        assert corrections == [-5, -4]  # each exactly once
        assert get_balance(session, variant, warehouse).on_hand == start - 9
        assert reconcile(session) == []

    # Live refresh (a background event) runs on the new worker: a receipt elsewhere shows.
    with transaction(engine) as session:
        receive(session, variant, warehouse, 7, actor="goods-in")
    expect(cell).to_have_text(f"{start - 2:,}", timeout=15_000)

    # Granian replaced the killed worker; the server is ready again.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = prod.web_workers()
        if len(now) == 2 and serving not in now:
            break
        time.sleep(0.5)
    assert len(prod.web_workers()) == 2 and serving not in prod.web_workers()
    assert httpx.get(f"{prod.url}/api/v1/ready", timeout=10).status_code == 200


def scrape(prod: ProdServer) -> str:
    response = httpx.get(
        f"{prod.url}/metrics",
        headers={"Authorization": f"Bearer {prod.metrics_token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.text


def sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_every_worker_and_move_after_a_reservation(prod: ProdServer, ids) -> None:
    engine, *_ = ids
    assert httpx.get(f"{prod.url}/metrics", timeout=10).status_code == 401
    with transaction(engine) as session:
        _, key = create_api_key(session, "prod-storefront", ["reservations:write"])
    prod.secrets_used.add(key)
    before = scrape(prod)
    for _ in range(20):  # spread over both workers
        assert httpx.get(f"{prod.url}/api/v1/health", timeout=10).status_code == 200
    with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {key}"}) as api:
        made = api.post(
            "/api/v1/reservations",
            json={"sku": SKU, "qty": 1, "order_ref": "PROD-1", "channel": "web"},
        )
        assert made.status_code == 201, made.text
        again = api.post(
            "/api/v1/reservations",
            json={"sku": SKU, "qty": 1, "order_ref": "PROD-1", "channel": "web"},
        )
        assert again.status_code == 200
    after = scrape(prod)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    health = {"route": "/api/v1/health", "method": "GET", "status": "200"}
    assert moved("rackroom_http_requests_total", **health) == 20
    assert moved("rackroom_reservations_total", outcome="created") == 1
    assert moved("rackroom_reservations_total", outcome="replayed") == 1
    assert sample(after, "rackroom_ledger_rows_total", reason="reserve") >= 1
    assert sample(after, "rackroom_scheduler_leader") == 1  # the jobs process leads
    assert sample(after, "rackroom_job_runs_total", job="expire_reservations") >= 1
    assert sample(after, "rackroom_events_total") > 0  # the browser test's events
    assert sample(after, "rackroom_database_up") == 1


def test_the_api_gateway_on_the_production_server(prod: ProdServer, ids) -> None:
    """Every /api/v1 failure is JSON even with the web app mounted behind the API (the
    issue's own example path included); GraphQL answers; limits are counted in Redis."""
    import redis

    from tests.prod.conftest import REDIS_URL

    engine, *_ = ids
    for method, path, status in (
        ("GET", "/api/v1/stock/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 404),
        ("GET", "/api/v1/nope", 404),
        ("DELETE", "/api/v1/stock", 405),
        ("PROPFIND", "/api/v1/reservations", 405),
    ):
        response = httpx.request(method, prod.url + path, timeout=10)
        assert response.status_code == status, (method, path, response.text[:200])
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()) >= {"error", "message", "details"}
    with transaction(engine) as session:
        _, key = create_api_key(session, "prod-graphql", ["stock:read"])
    prod.secrets_used.add(key)
    query = f'{{ variant(sku: "{SKU}") {{ sku inventoryLevels {{ warehouse {{ code }} }} }} }}'
    answer = httpx.post(
        f"{prod.url}/api/v1/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["data"]["variant"]["sku"] == SKU
    assert answer.headers["ratelimit-limit"] == "40"
    assert redis.Redis.from_url(REDIS_URL).keys("rackroom:ratelimit:*")


def test_backend_only_production_mode_starts(prod: ProdServer) -> None:
    """`reflex run --env prod --backend-only` works: no port is pinned in rxconfig."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RACKROOM_", "REDIS_"))}
    env |= {
        "DATABASE_URL": prod.database_url,
        "RACKROOM_SCHEDULER": "off",
        "RACKROOM_SECRET_KEY": os.environ["RACKROOM_SECRET_KEY"],
        "REFLEX_TELEMETRY_ENABLED": "false",
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
    }
    process = subprocess.Popen(
        [
            str(VENV_BIN / "reflex"),
            "run",
            "--env",
            "prod",
            "--backend-only",
            "--backend-port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read().decode(errors="replace")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).is_success:
                    break
            assert time.monotonic() < deadline, "the backend did not start"
            time.sleep(1)
        stock = httpx.get(f"http://127.0.0.1:{port}/api/v1/stock/{SKU}", timeout=10)
        assert stock.status_code == 401  # the API is there, and still wants a key
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_second_browser_signs_in_on_any_worker(prod: ProdServer, chromium: Browser) -> None:
    """Sessions are shared: five fresh tabs, whichever worker each lands on, sign in."""
    for _ in range(5):
        context = chromium.new_context(base_url=prod.url)
        page = context.new_page()
        sign_in(page, prod.seeded.admin.email, prod.seeded.admin.password)
        page.goto("/stock")
        expect(page.get_by_test_id("grid-summary")).not_to_have_text("")
        prod.secrets_used.update(c["value"] for c in context.cookies())
        context.close()
