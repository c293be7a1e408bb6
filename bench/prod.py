"""The production server against the dev server: throughput and a filter change's time.

Through `make prod`'s own start code (`python -m dashboard.serve`), in one run:

- trivial requests per second (`GET /api/v1/health`) and reservations per second
  (`POST /api/v1/reservations`, one unit each, spread over the best-stocked SKUs) with
  one web worker, then with Redis and two workers (the same load: 2 client processes
  × 16 connections, 10 s each);
- the browser time from a filter change (a search + Enter) to the new grid page,
  median of 10 in Chromium, on the production build and then on the dev server
  (`reflex run --env dev`, as `bench/grid_browser.py` measures it).

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/prod.py [--scale small]

The JSON line's "ratio" is the production filter-change time over the dev server's
(aim ≤ 0.5). Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/14, flushed before
and after). The run holds the browser tests' lock on the shared `.web` folder.
"""

from __future__ import annotations

import contextlib
import os
import statistics

import redis
from _common import bench_engine, emit, parse_args
from _server import WRK, hammer, log, production_server, wrk, wrk_post
from grid_browser import CHROMIUM, build_folder_lock, measure, prepare_database, running_app
from sqlalchemy import func, select

from models.api_keys import create_api_key
from models.catalog import Variant
from models.db import database_url, read_session, transaction
from models.stock import StockBalance

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECONDS = 10
#: Every request of the load comes from 127.0.0.1: its per-address limits (docs/security.md)
#: are lifted, as the API key's own limit is, so the benchmark measures the server.
UNLIMITED_ADDRESS = {
    "RACKROOM_API_RATE_PER_ADDRESS": "10000/s",
    "RACKROOM_API_BURST_PER_ADDRESS": "1000000",
}
#: wrk's Lua: one reservation body per request, a new order ref each (thread t, call n).
RESERVE_BODY_LUA = """
local skus = {SKUS}
make_body = function(t, n)
  local sku = skus[(t * 7919 + n) % #skus + 1]
  return '{"sku": "' .. sku .. '", "qty": 1, "order_ref": "bench-RUN-' .. t .. '-' .. n
    .. '", "channel": "bench", "ttl_seconds": 3600}'
end
"""


def stocked_skus(limit: int = 200) -> list[str]:
    engine = bench_engine(pool_size=2)
    try:
        with read_session(engine) as session:
            return list(
                session.scalars(
                    select(Variant.sku)
                    .join(StockBalance, StockBalance.variant_id == Variant.id)
                    .group_by(Variant.sku)
                    .order_by(func.sum(StockBalance.on_hand - StockBalance.reserved).desc())
                    .limit(limit)
                )
            )
    finally:
        engine.dispose()


def api_key() -> str:
    engine = bench_engine(pool_size=2)
    try:
        with transaction(engine) as session:
            return create_api_key(
                session,
                "bench-prod",
                ["reservations:write", "stock:read"],
                rate="10000/s",  # never reached: the benchmark measures the server
                burst=100_000,
            )[1]
    finally:
        engine.dispose()


def throughput(base: str, key: str, skus: list[str], run: str) -> dict[str, float]:
    """With wrk when installed (apt-get install wrk), else a Python client."""
    if WRK:
        health, health_bad = wrk(base + "/api/v1/health", seconds=SECONDS)
        lua = RESERVE_BODY_LUA.replace("SKUS", ", ".join(f'"{sku}"' for sku in skus))
        reservations, reserve_bad = wrk_post(
            base, "/api/v1/reservations", f"Bearer {key}", lua.replace("RUN", run),
            seconds=SECONDS,
        )
        log(f"{run} (wrk): {health:,.0f} health req/s ({health_bad} non-2xx); "
            f"{reservations:,.0f} reservations/s ({reserve_bad} non-2xx)")
        return {"health_rps": health, "reservations_ps": reservations,
                "non_2xx": health_bad + reserve_bad, "client": "wrk"}
    health, health_statuses = hammer(base, lambda _c, _i: ("GET", "/api/v1/health", None),
                                     seconds=SECONDS)

    def reserve(client: int, i: int) -> tuple[str, str, dict]:
        body = {
            "sku": skus[(client * 7919 + i) % len(skus)],
            "qty": 1,
            "order_ref": f"bench-{run}-{client}-{i}",
            "channel": "bench",
            "ttl_seconds": 3600,
        }
        return "POST", "/api/v1/reservations", body

    reservations, statuses = hammer(
        base, reserve, seconds=SECONDS, headers={"Authorization": f"Bearer {key}"}
    )
    bad = sum(n for s, n in {**health_statuses, **statuses}.items() if s >= 300)
    log(f"{run} (python client): {health:,.0f} health req/s; {reservations:,.0f} "
        f"reservations/s (statuses {statuses})")
    return {"health_rps": health, "reservations_ps": reservations, "non_2xx": bad,
            "client": "python"}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    url = database_url()
    bench_engine(pool_size=1).dispose()  # refuses without DATABASE_URL
    terms = prepare_database(url, args.scale, migrate=False)
    skus, key = stocked_skus(), api_key()
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    results: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(build_folder_lock())
        with production_server(url, workers=1, extra_env=UNLIMITED_ADDRESS) as server:
            results["one_worker"] = throughput(server.url, key, skus, "1w")
        with production_server(
            url, workers=2, redis_url=REDIS_URL, extra_env=UNLIMITED_ADDRESS
        ) as server:
            results["two_workers_redis"] = throughput(server.url, key, skus, "2w")
            prod_ms = measure(server.url, terms)
        with running_app(url) as front:
            dev_ms = measure(front, terms)
    cache.flushdb()
    prod_median, dev_median = statistics.median(prod_ms), statistics.median(dev_ms)
    one, two = results["one_worker"], results["two_workers_redis"]
    print(
        f"prod: health {one['health_rps']:,.0f} req/s with 1 worker, "
        f"{two['health_rps']:,.0f} with 2 workers + Redis; reservations "
        f"{one['reservations_ps']:,.0f}/s and {two['reservations_ps']:,.0f}/s; filter change "
        f"→ new grid page, median of {len(prod_ms)}: production {prod_median:.0f} ms, "
        f"dev server {dev_median:.0f} ms (--scale {args.scale})",
        flush=True,
    )
    emit(
        {
            "bench": "prod",
            "ratio": round(prod_median / dev_median, 3),
            "filter_change_prod_ms": round(prod_median, 1),
            "filter_change_dev_ms": round(dev_median, 1),
            "health_rps_1_worker": round(one["health_rps"]),
            "health_rps_2_workers_redis": round(two["health_rps"]),
            "reservations_ps_1_worker": round(one["reservations_ps"]),
            "reservations_ps_2_workers_redis": round(two["reservations_ps"]),
            "non_2xx": one["non_2xx"] + two["non_2xx"],
            "load_client": one["client"],
            "scale": args.scale,
        }
    )


if __name__ == "__main__":
    main()
