"""Soak: the production server (Redis, two workers) under mixed load for 10 minutes.

At once, for `--minutes` (default 10):

- 20 browser sessions (Chromium tabs, each its own user) sign in, then keep filtering
  the stock grid (a search + Enter), paging it and saving corrections, a few seconds
  apart;
- API clients reserve one unit at a steady rate (half on one hot SKU whose stock is
  known, so overselling would show), then commit or release each hold;
- the scheduler syncs the demo brands from the demo brand API every minute, and a
  vendor's Shopify inventory CSV is imported every two minutes.

It prints p50/p95 per kind of request, errors, and each web worker's memory after the
warm-up (every session signed in, plus 30 s) and at the end. A run passes with no 5xx
answer, no oversold unit, an empty `reconcile`, and no worker growing 10 % or more; its JSON line is
`{"bench": "soak", "ratio": <worst worker memory end/start>, "errors_5xx": …,
"oversold": …}` and it exits 1 when the run fails.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/soak.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import redis
from _common import bench_engine, emit
from _server import VENV_BIN, free_port, log, production_server, rss_mib
from grid_browser import CHROMIUM, build_folder_lock
from sqlalchemy import func, select

from jobs.seed import seed_database
from models.api_keys import create_api_key
from models.catalog import Brand, Product, Variant, Warehouse, create_brand
from models.db import database_url, read_session, transaction
from models.reservations import Reservation
from models.sizes import normalise_size, size_rank
from models.stock import StockBalance, receive, reconcile
from models.users import create_user

SESSIONS = 20
PASSWORD = "soak-password-1"
HOT_UNITS = 400
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


class Tally:
    """Latencies by kind of request, and failures, from every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.status_5xx = 0

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds * 1000)

    def error(self, kind: str, *, server: bool = False) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.status_5xx += int(server)


# --- data ---------------------------------------------------------------------------------


def prepare(scale: str) -> dict:
    """Demo data, the session users, an API key, and the hot SKU: a brand of its own (no
    connector, no import touches it) holding exactly HOT_UNITS in one warehouse."""
    engine = bench_engine(pool_size=4)
    try:
        seed_database(engine, scale="demo" if scale == "small" else "large", seed=5,
                      if_empty=True, progress=False)
        with transaction(engine) as session:
            for n in range(SESSIONS):
                create_user(session, f"soak{n:02}@rackroom.test", PASSWORD, "merchandiser",
                            name=f"Soak {n:02}")
            _, key = create_api_key(
                session, "soak-storefront", ["reservations:write"], rate="10000/s", burst=100_000
            )
            hot_brand = create_brand(session, "SOAKHOT", "Soak Hot")
            product = Product(brand_id=hot_brand.id, style_code="HOT1", name="Hot Tee")
            session.add(product)
            session.flush()
            system, size = normalise_size("M")
            hot = Variant(product_id=product.id, brand_id=hot_brand.id, sku="SOAKHOT-HOT1-M",
                          colour="Black", size=size, size_system=system.value,
                          size_rank=size_rank(system, size))
            session.add(hot)
            session.flush()
            warehouse = session.scalars(select(Warehouse.id).order_by(Warehouse.id)).first()
            receive(session, hot.id, warehouse, HOT_UNITS, actor="soak")
            rows = session.execute(
                select(Variant.sku, Warehouse.code, Brand.code)
                .join(StockBalance, StockBalance.variant_id == Variant.id)
                .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
                .join(Brand, Brand.id == Variant.brand_id)
                .where(StockBalance.on_hand - StockBalance.reserved > 5, Variant.id != hot.id)
                .order_by(Variant.id, Warehouse.id)
                .limit(600)
            ).all()
            styles = list(session.scalars(select(Product.style_code).order_by(Product.id)))
    finally:
        engine.dispose()
    return {
        "key": key,
        "hot": (hot.id, hot.sku),
        "cold": [(r[0], r[1], r[2]) for r in rows],
        "styles": styles[:: max(1, len(styles) // 60)],
        "import_brand": rows[0][2],
    }


# --- load: the API ------------------------------------------------------------------------


def api_load(base: str, data: dict, tally: Tally, stop: threading.Event, rate: float) -> None:
    """Reserve at `rate` per second (half on the hot SKU), then commit or release each."""
    headers = {"Authorization": f"Bearer {data['key']}"}
    cold = [sku for sku, *_ in data["cold"]]
    n = 0
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        next_at = time.monotonic()
        while not stop.is_set():
            n += 1
            sku = data["hot"][1] if n % 2 else random.choice(cold)
            body = {"sku": sku, "qty": 1, "order_ref": f"soak-{n}", "channel": "soak"}
            ok = _call(client, tally, "api reserve", "POST", "/api/v1/reservations", body,
                       expected=(201, 409))
            if ok is not None and ok.status_code == 201:
                outcome = "commit" if n % 4 in (1, 2) else "release"
                _call(client, tally, f"api {outcome}", "POST",
                      f"/api/v1/reservations/{ok.json()['id']}/{outcome}", None, expected=(200,))
            next_at += 1 / rate
            stop.wait(max(0.0, next_at - time.monotonic()))


def _call(client, tally, kind, method, path, body, *, expected) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = client.request(method, path, json=body)
    except httpx.HTTPError:
        tally.error(kind)
        return None
    tally.record(kind, time.perf_counter() - started)
    if response.status_code >= 500:
        tally.error(kind, server=True)
    elif response.status_code not in expected:
        tally.error(kind)
    return response


def periodic_imports(data: dict, tally: Tally, stop: threading.Event) -> None:
    """A Shopify inventory CSV for a handful of cold SKUs, applied every two minutes."""
    brand = data["import_brand"]
    env = os.environ | {"RACKROOM_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory(prefix="rackroom-soak-") as work:
        path = Path(work) / "inventory.csv"
        while not stop.wait(30):
            rows = [r for r in data["cold"] if r[2] == brand][:40]
            with path.open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["Handle", "Title", "SKU", "Location", "On hand"])
                for sku, warehouse, _ in rows:
                    writer.writerow([sku.lower(), sku, sku, warehouse, random.randint(20, 60)])
            started = time.perf_counter()
            done = subprocess.run(
                [str(VENV_BIN / "rackroom"), "import", str(path), "--brand", brand,
                 "--format", "shopify-inventory", "--skip-invalid", "--actor", "soak-vendor"],
                env=env, capture_output=True, text=True, check=False,
            )
            tally.record("import", time.perf_counter() - started)
            if done.returncode not in (0, 1):
                tally.error("import")
                log(f"import failed: {done.stderr[-500:]}")
            stop.wait(90)


# --- load: the browser --------------------------------------------------------------------


async def session_loop(browser, base: str, n: int, data: dict, tally: Tally,
                       deadline: float, signed_in: list[int]) -> None:
    from playwright.async_api import expect

    await asyncio.sleep(n * 3)  # people arrive over a minute, not in the same second
    context = await browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(60_000)
    rng = random.Random(n)
    mine = [r for i, r in enumerate(data["cold"]) if i % SESSIONS == n]
    try:
        started = time.perf_counter()
        await page.goto("/login")
        await page.get_by_label("Email").fill(f"soak{n:02}@rackroom.test")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Password").press("Enter")
        await page.wait_for_url(lambda url: "/login" not in url)
        await page.goto("/stock")
        await page.wait_for_selector('[data-testid="balance-row"]')
        tally.record("ui sign in + stock", time.perf_counter() - started)
        signed_in.append(n)
        while time.monotonic() < deadline:
            action = rng.choice(("filter", "filter", "page", "correct"))
            started = time.perf_counter()
            try:
                if action == "filter":
                    term = rng.choice(data["styles"])
                    search = page.get_by_label("Search stock")
                    await search.fill(term)
                    await search.press("Enter")
                    await page.wait_for_function(
                        """t => { const rows = document.querySelectorAll(
                            '[data-testid="balance-row"]'); return rows.length > 0
                            && [...rows].every(r => r.dataset.sku.includes(t)); }""",
                        arg=term,
                    )
                elif action == "page":
                    label = page.get_by_test_id("page-label")
                    before = await label.inner_text()
                    await page.goto("/stock")
                    await page.wait_for_selector('[data-testid="balance-row"]')
                    await page.get_by_role("navigation", name="Pages").get_by_role(
                        "link", name="Next").click()
                    await expect(label).not_to_have_text(before)
                else:
                    sku, warehouse, *_ = rng.choice(mine)
                    await page.goto(f"/stock?q={sku}")
                    cell = page.get_by_role("button", name=f"Correct {sku} at {warehouse}")
                    current = int((await cell.inner_text()).replace(",", ""))
                    await cell.click()
                    count = page.get_by_test_id("correction-dialog").get_by_label(
                        "New on-hand count")
                    await count.fill(str(current + rng.choice((1, 2))))
                    await count.press("Enter")
                    await expect(page.get_by_test_id("correction-dialog")).to_have_count(0)
                tally.record(f"ui {action}", time.perf_counter() - started)
            except Exception as error:  # a timeout or a refused action: an error, go on
                tally.error(f"ui {action}")
                log(f"session {n}: {action} failed: {type(error).__name__}: {str(error)[:200]}")
            await asyncio.sleep(rng.uniform(3.0, 8.0))
    finally:
        await context.close()


async def browser_load(base: str, data: dict, tally: Tally, deadline: float,
                       warmed: threading.Event) -> None:
    """All sessions at once; `warmed` is set 30 s after the last one signed in."""
    from playwright.async_api import async_playwright

    signed_in: list[int] = []

    async def watch_warm_up() -> None:
        while len(signed_in) < SESSIONS and time.monotonic() < deadline:
            await asyncio.sleep(1)
        await asyncio.sleep(30)
        warmed.set()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                   args=CHROMIUM_ARGS)
        sessions = [session_loop(browser, base, n, data, tally, deadline, signed_in)
                    for n in range(SESSIONS)]
        await asyncio.gather(watch_warm_up(), *sessions, return_exceptions=True)
        await browser.close()


# --- the run ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["small", "large"], default="large")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--api-rate", type=float, default=8.0, help="reservations per second")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    url = database_url()
    data = prepare(args.scale)
    tally = Tally()
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    brand_api_port = free_port()
    with contextlib.ExitStack() as stack:
        brand_api = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "jobs.demo_brand_api", "--port",
             str(brand_api_port), "--drift", "20"],
            env=os.environ | {"DATABASE_URL": url}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(brand_api.terminate)
        subprocess.run(
            [str(VENV_BIN / "rackroom"), "connector", "demo", "--base-url",
             f"http://127.0.0.1:{brand_api_port}", "--every", "1m"],
            env=os.environ | {"DATABASE_URL": url}, check=True, capture_output=True,
        )
        stack.enter_context(build_folder_lock())
        server = stack.enter_context(production_server(url, workers=2, redis_url=REDIS_URL))
        workers = server.web_workers()
        stop = threading.Event()
        threads = [
            threading.Thread(target=api_load, args=(server.url, data, tally, stop, args.api_rate)),
            threading.Thread(target=periodic_imports, args=(data, tally, stop)),
        ]
        for thread in threads:
            thread.start()
        seconds = args.minutes * 60
        deadline = time.monotonic() + seconds
        memory: dict[int, list[float]] = {}
        warmed = threading.Event()

        def sample_memory(which: int) -> None:
            for pid in workers:
                with contextlib.suppress(FileNotFoundError):
                    memory.setdefault(pid, [0.0, 0.0])[which] = rss_mib(pid)

        def warm_sample() -> None:
            warmed.wait()
            sample_memory(0)

        sampler = threading.Thread(target=warm_sample, daemon=True)
        sampler.start()
        log(f"soaking for {args.minutes:g} min: {SESSIONS} browser sessions, "
            f"{args.api_rate:g} reservations/s, syncs every minute, an import every 2 min")
        asyncio.run(browser_load(server.url, data, tally, deadline, warmed))
        stop.set()
        for thread in threads:
            thread.join()
        sample_memory(1)
        restarted = set(workers) - set(server.web_workers())
        server_5xx = sum(
            1 for line in server.log_path.read_text(errors="replace").splitlines()
            if line.startswith("{") and json.loads(line).get("status", 0) >= 500
        )
    cache.flushdb()

    engine = bench_engine(pool_size=2)
    try:
        with read_session(engine) as session:
            hot_id, hot_sku = data["hot"]
            held = session.scalar(
                select(func.coalesce(func.sum(Reservation.qty), 0)).where(
                    Reservation.variant_id == hot_id,
                    Reservation.status.in_(("active", "committed")),
                )
            )
            drift = reconcile(session)
    finally:
        engine.dispose()
    oversold = max(0, held - HOT_UNITS)  # units held or sold beyond what there was
    growth = max((end / start for start, end in memory.values() if start), default=0.0)

    print(f"soak: {args.minutes:g} min; per kind of request (ms):", flush=True)
    for kind, values in sorted(tally.latencies.items()):
        values.sort()
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"  {kind:22} n={len(values):6}  p50={statistics.median(values):8.1f}  "
              f"p95={p95:8.1f}  errors={tally.errors.get(kind, 0)}", flush=True)
    for pid, (start, end) in memory.items():
        print(f"  worker {pid}: {start:.0f} MiB after warm-up → {end:.0f} MiB at the end")
    errors_5xx = tally.status_5xx + server_5xx
    print(f"  5xx: {errors_5xx}; oversold units of {hot_sku}: {oversold} (held {held}); "
          f"reconcile: {len(drift)} drifting balance(s); restarted workers: {len(restarted)}")
    failed = errors_5xx > 0 or oversold > 0 or drift or growth >= 1.10 or restarted
    emit({
        "bench": "soak",
        "ratio": round(growth, 3),
        "errors_5xx": errors_5xx,
        "oversold": oversold,
        "reconcile_drift": len(drift),
        "errors": sum(tally.errors.values()),
        "restarted_workers": len(restarted),
        "minutes": args.minutes,
        "p95_ms": {k: round(sorted(v)[min(len(v) - 1, int(len(v) * 0.95))], 1)
                   for k, v in tally.latencies.items()},
        "passed": not failed,
    })
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
