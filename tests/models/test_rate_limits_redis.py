"""Rate limits shared by every worker: the API under Granian with two worker processes,
counting in Redis (a database index of its own, flushed before and after), on
PostgreSQL. One key pushed past its limit gets 429s with Retry-After; a second key at the
same time gets none; nothing is refused while under the limit."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
import redis

from models.db import create_db_engine, transaction
from models.stock import receive
from tests.api_support import make_key, serve_granian, serving_pids
from tests.conftest import IN_CI
from tests.factories import make_world

pytestmark = pytest.mark.postgres
#: Not the production tests' index (13) nor the benchmarks' (14).
REDIS_URL = os.environ.get("TEST_RATE_REDIS_URL", "redis://127.0.0.1:6379/12")
WORKERS = 2


@pytest.fixture(scope="module")
def shared_redis():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"CI=true requires Redis at {REDIS_URL}: {error}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def two_workers(shared_redis, pg_databases, tmp_path_factory):
    from tests.conftest import migrate

    url = pg_databases.create("rackroom_ratelimit")
    migrate(url)
    engine = create_db_engine(url)
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="setup")
    keys = {
        # 1 token a minute: nothing refills while the test runs.
        "pushed": make_key(engine, "pushed", "stock:read", rate="1/m", burst=12),
        "calm": make_key(engine, "calm", "stock:read", rate="1/m", burst=12),
    }
    log = Path(tmp_path_factory.mktemp("granian")) / "granian.log"
    with serve_granian(url, workers=WORKERS, redis_url=REDIS_URL, log=log) as base:
        yield base, keys, engine, log
    engine.dispose()


def test_two_workers_share_one_count_per_key(two_workers, shared_redis):
    base, keys, _engine, log = two_workers
    start = threading.Barrier(8)
    results: dict[str, list[httpx.Response]] = {"pushed": [], "calm": []}
    lock = threading.Lock()

    def caller(name: str, count: int) -> None:
        # A new connection for every call (no keep-alive), so each may go to either
        # worker rather than all of one thread's calls to the worker that took it first.
        headers = {"Authorization": f"Bearer {keys[name]}", "Connection": "close"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
            start.wait()
            for _ in range(count):
                response = api.get("/api/v1/stock/NRD-TEE1-BLK-M")
                with lock:
                    results[name].append(response)

    # Six threads push one key 36 times (three times its burst), while two others make
    # 10 calls with another key (under its burst of 12) at the same moment.
    threads = [threading.Thread(target=caller, args=("pushed", 6)) for _ in range(6)]
    threads += [threading.Thread(target=caller, args=("calm", 5)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    pushed = Counter(r.status_code for r in results["pushed"])
    # Counted per worker, each of the two would have let 12 through: shared, 12 in all.
    assert pushed == {200: 12, 429: 24}, pushed
    for refused in (r for r in results["pushed"] if r.status_code == 429):
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"] == "rate_limited"
        assert refused.headers["ratelimit-remaining"] == "0"
    calm = [r.status_code for r in results["calm"]]
    assert calm == [200] * 10
    remaining = sorted(int(r.headers["ratelimit-remaining"]) for r in results["calm"])
    assert remaining == list(range(2, 12))  # each call took one token from one shared count
    assert {k.decode() for k in shared_redis.keys("rackroom:ratelimit:*")} == {
        f"rackroom:ratelimit:{n}" for n in (1, 2)}
    # ... and that one count was kept by two processes: Granian's access log names the
    # worker of every request.
    pids = serving_pids(log, "/api/v1/stock/NRD-TEE1-BLK-M")
    assert len(pids) == WORKERS, pids
