"""GraphQL vs REST for the same data: 100 variants with their facts and stock levels.

Builds a catalogue (small: 2,000 variants, large: 20,000) with balances in three
warehouses, serves the API under Granian (one worker, as `make prod` runs it) against
DATABASE_URL, then for random sets of 100 SKUs times:

- GraphQL: one `variants(skus: [...]) { ... inventoryLevels { ... } }` query;
- REST: the 100 `GET /api/v1/stock/{sku}` calls that return the same facts and levels,
  made as fast as a client can: over 8 keep-alive connections at once (and, for the
  record, one after another on one connection).

"ratio" = GraphQL time / REST time (8 connections); below 1 GraphQL is faster.

(Not bench/graphql.py: the folder of the running benchmark comes first on sys.path, and
a module of that name hid the graphql package from every benchmark importing the API.)

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/api_graphql.py [--scale small]
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _common import bench_engine, emit, insert_variants, parse_args
from sqlalchemy import insert, text

from models.api_keys import create_api_key
from models.catalog import Product, create_brand, create_warehouse
from models.db import transaction
from models.stock import StockBalance

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
CONNECTIONS = 8
QUERY = """query($skus: [String!]!) { variants(skus: $skus) {
  sku colour size barcode brand { code } product { styleCode name }
  inventoryLevels { warehouse { code } onHand reserved available incoming updatedAt } } }"""


def build(engine, variants: int) -> list[str]:
    with transaction(engine) as session:
        brand = create_brand(session, "GQL", "GraphQL bench")
        warehouses = [
            create_warehouse(session, f"G{n}", f"Warehouse {n}", priority=n).id for n in range(3)
        ]
        products = []
        for n in range(variants // 10):
            product = Product(brand_id=brand.id, style_code=f"S{n:05d}", name=f"Style {n}")
            session.add(product)
            products.append(product)
        session.flush()
        insert_variants(session, brand.id, [f"GQL-{i:06d}" for i in range(variants)],
                        lambda n: products[n // 10].id, brand.created_at)
        ids = list(session.scalars(text("SELECT id FROM variant ORDER BY id")))
        session.execute(
            insert(StockBalance.__table__),
            [
                {"variant_id": v, "warehouse_id": w, "on_hand": (v * 7 + w) % 50,
                 "reserved": 0, "incoming": 0, "updated_at": brand.created_at}
                for v in ids
                for w in warehouses[: 1 + v % 3]
            ],
        )
    return [f"GQL-{i:06d}" for i in range(variants)]


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "granian"), "--interface", "asgi", "--factory",
         "--workers", "1", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "dashboard.api:create_api"],
        cwd=ROOT,
        env=os.environ | {"REDIS_URL": "", "RACKROOM_SCHEDULER": "off"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/v1/health", timeout=1)
            return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    sys.exit("the API server did not start")


def graphql_time(api: httpx.Client, skus: list[str]) -> float:
    began = time.perf_counter()
    response = api.post("/api/v1/graphql", json={"query": QUERY, "variables": {"skus": skus}})
    elapsed = time.perf_counter() - began
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    assert len(body["data"]["variants"]) == len(skus)
    return elapsed


def rest_time(clients: list[httpx.Client], pool: ThreadPoolExecutor, skus: list[str]) -> float:
    def fetch(n: int) -> None:
        response = clients[n % len(clients)].get(f"/api/v1/stock/{skus[n]}")
        assert response.status_code == 200, response.text

    began = time.perf_counter()
    if len(clients) == 1:
        for n in range(len(skus)):
            fetch(n)
    else:
        list(pool.map(fetch, range(len(skus))))
    return time.perf_counter() - began


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    small = args.scale == "small"
    rounds = 15 if small else 40
    engine = bench_engine(pool_size=4)
    skus = build(engine, 2_000 if small else 20_000)
    with transaction(engine) as session:
        # A limit the benchmark never reaches: it measures the API (limiter included).
        _key, secret = create_api_key(session, "bench-graphql", ["stock:read"],
                                      rate="10000/s", burst=100_000)
    engine.dispose()
    server, url = start_server()
    headers = {"Authorization": f"Bearer {secret}"}
    clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for _ in range(CONNECTIONS)]
    rng = random.Random(14)
    try:
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            warm = rng.sample(skus, BATCH)
            graphql_time(clients[0], warm)
            rest_time(clients, pool, warm)
            gql, rest, serial = [], [], []
            for _ in range(rounds):
                batch = rng.sample(skus, BATCH)
                gql.append(graphql_time(clients[0], batch))
                rest.append(rest_time(clients, pool, batch))
                serial.append(rest_time(clients[:1], pool, batch))
    finally:
        for client in clients:
            client.close()
        server.terminate()
        server.wait(timeout=30)
    g, r, s = (statistics.median(x) * 1000 for x in (gql, rest, serial))
    print(f"100 variants with levels, median of {rounds}:")
    print(f"  GraphQL, one query:                {g:8.1f} ms")
    print(f"  REST, 100 calls on {CONNECTIONS} connections:  {r:8.1f} ms")
    print(f"  REST, 100 calls one after another: {s:8.1f} ms")
    emit({"bench": "api_graphql", "ratio": round(g / r, 3), "graphql_ms": round(g, 1),
          "rest_ms": round(r, 1), "rest_serial_ms": round(s, 1), "variants": len(skus),
          "rounds": rounds})


if __name__ == "__main__":
    main()
