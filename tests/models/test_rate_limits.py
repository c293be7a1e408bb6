"""Per-key rate limits: the token bucket in the database (SQLite and PostgreSQL), over HTTP
with its headers, and GraphQL spending its cost from the same bucket."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from models.api_keys import create_api_key
from models.db import set_default_engine, transaction
from models.errors import InvalidQuantity
from models.rate_limits import (
    LEASE_TTL,
    Leases,
    format_rate,
    lease_size,
    parse_rate,
    take_tokens,
)
from models.stock import receive
from tests.api_support import client, make_key, serve_api
from tests.factories import make_world


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("50/s", 50.0), ("600/m", 10.0), ("3600/h", 1.0), ("20", 20.0), ("1.5/sec", 1.5),
     (" 30 / min ", 0.5), (7, 7.0)],
)
def test_rates_are_read_as_people_write_them(text, per_second):
    assert parse_rate(text) == per_second


@pytest.mark.parametrize("text", ["", "fast", "0/s", "-5/s", "50/d", "1e9/s", "50/s/s", "nan"])
def test_nonsense_rates_are_refused_naming_the_field(text):
    with pytest.raises(InvalidQuantity) as refused:
        parse_rate(text)
    assert refused.value.details["field"] == "rate"


def test_rates_are_written_back_as_people_write_them():
    assert [format_rate(r) for r in (20.0, 0.5, 1 / 3600, 2.5)] == ["20/s", "30/m", "1/h", "150/m"]


def test_keys_carry_their_limits_and_refuse_bad_ones(engine):
    with transaction(engine) as session:
        make_world(engine)
        key, _ = create_api_key(session, "fast", ["stock:read"], rate="50/s", burst=100)
        default, _ = create_api_key(session, "plain", ["stock:read"])
        assert (key.rate_per_second, key.burst) == (50.0, 100)
        assert (default.rate_per_second, default.burst) == (20.0, 40)
        for bad in ({"burst": 0}, {"burst": 10**9}, {"rate": "lots"}):
            with pytest.raises(InvalidQuantity):
                create_api_key(session, f"bad-{bad}", ["stock:read"], **bad)


def test_the_bucket_takes_refills_and_refuses(engine):
    with transaction(engine) as session:
        key, _ = create_api_key(session, "k", ["stock:read"])
    t0 = 1_000_000.0

    def take(at: float, cost: int = 1):
        with transaction(engine) as session:
            return take_tokens(session, key.id, rate=2.0, burst=3, cost=cost, now=t0 + at)

    states = [take(0) for _ in range(3)]
    assert [s.granted for s in states] == [True, True, True]
    assert [s.remaining for s in states] == [2, 1, 0]
    refused = take(0)
    assert (refused.granted, refused.remaining, refused.retry_after) == (False, 0, 1)
    assert take(0.5).granted  # half a second at 2/s refilled one token
    assert not take(0.5).granted
    full = take(100)  # a long pause refills to the burst, never beyond
    assert full.granted and full.remaining == 2 and full.limit == 3
    assert not take(100, cost=3).granted  # 2 left: a 3-token request waits, takes nothing
    assert take(100, cost=2).granted
    assert not take(100, cost=4).granted  # more than the bucket can ever hold
    assert not take(99).granted  # a clock going backwards adds nothing


@pytest.mark.postgres
def test_sixteen_threads_share_one_bucket_exactly(pg_engine):
    with transaction(pg_engine) as session:
        key, _ = create_api_key(session, "hot", ["stock:read"])
    start = threading.Barrier(16)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        start.wait()
        for _ in range(10):
            with transaction(pg_engine) as session:
                state = take_tokens(session, key.id, rate=0.001, burst=40, now=5_000_000.0)
            with lock:
                outcomes.append(state.granted)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {True: 40, False: 120}


def _shared_bucket(engine, key_id: int, *, rate: float, burst: int, takes: list[int]):
    """A `take_shared` on the key's real bucket, its clock stopped (nothing refills)."""

    def take_shared(tokens: int):
        takes.append(tokens)
        with transaction(engine) as session:
            return take_tokens(session, key_id, rate=rate, burst=burst, cost=tokens, now=9e6)

    return take_shared


def test_workers_spend_a_fast_keys_bucket_in_leases_and_never_beyond_it(engine):
    with transaction(engine) as session:
        key, _ = create_api_key(session, "fast", ["stock:read"], rate="1000/s", burst=1000)
    assert lease_size(1000.0, 1000) == 50
    takes: list[int] = []
    shared = _shared_bucket(engine, key.id, rate=1000.0, burst=1000, takes=takes)
    workers = [Leases(clock=lambda: 0.0), Leases(clock=lambda: 0.0)]
    states = [
        workers[n % 2].take(key.id, rate=1000.0, burst=1000, cost=1, take_shared=shared)
        for n in range(1_200)
    ]
    assert sum(s.granted for s in states) == 1000  # every token, and not one more
    assert all(s.granted for s in states[:1000]) and not any(s.granted for s in states[1000:])
    # Twenty leases, then each worker finds the bucket too low for one and counts exactly.
    assert takes.count(50) == 22 and len(takes) == 22 + 200
    assert states[-1].retry_after >= 1
    # RateLimit-Remaining: what the bucket held after the lease, plus the lease left.
    assert [s.remaining for s in states[0:6:2]] == [999, 998, 997]


def test_small_keys_are_counted_exactly_and_an_unspent_lease_lapses(engine):
    with transaction(engine) as session:
        key, _ = create_api_key(session, "k", ["stock:read"], rate="1000/s", burst=1000)
    assert lease_size(20.0, 40) == 1  # the default limits: no leases
    takes: list[int] = []
    small = Leases(clock=lambda: 0.0)
    for _ in range(3):
        small.take(7, rate=20.0, burst=40, cost=1, take_shared=lambda n: takes.append(n))
    assert takes == [1, 1, 1]

    clock = [0.0]
    shared = _shared_bucket(engine, key.id, rate=1000.0, burst=1000, takes=takes)
    leases = Leases(clock=lambda: clock[0])
    takes.clear()
    leases.take(key.id, rate=1000.0, burst=1000, cost=1, take_shared=shared)
    leases.take(key.id, rate=1000.0, burst=1000, cost=60, take_shared=shared)  # > a lease
    clock[0] = LEASE_TTL + 0.01
    leases.take(key.id, rate=1000.0, burst=1000, cost=1, take_shared=shared)
    assert takes == [50, 60, 50]  # the first lease's 49 tokens lapsed unspent


@pytest.mark.postgres
def test_concurrent_workers_leasing_one_bucket_never_exceed_it(pg_engine):
    with transaction(pg_engine) as session:
        key, _ = create_api_key(session, "busy", ["stock:read"], rate="1000/s", burst=1000)
    takes: list[int] = []
    shared = _shared_bucket(pg_engine, key.id, rate=1000.0, burst=1000, takes=takes)
    start = threading.Barrier(8)
    granted = Counter()

    def worker(n: int) -> None:
        leases = Leases(clock=lambda: 0.0)  # a process of its own
        start.wait()
        for _ in range(200):
            state = leases.take(key.id, rate=1000.0, burst=1000, cost=1, take_shared=shared)
            granted[n] += state.granted

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Never more than the bucket held; at most one lease per worker left unspent.
    let_through = sum(granted.values())
    assert 1000 - 8 * 50 <= let_through <= 1000
    # At most twenty leases granted and one refused per worker; after that, exact takes.
    assert takes.count(50) <= 20 + 8
    assert len(takes) - takes.count(50) <= 8 * 200 - let_through


def test_threads_of_one_worker_share_one_lease(engine):
    with transaction(engine) as session:
        key, _ = create_api_key(session, "busy", ["stock:read"], rate="1000/s", burst=1000)
    takes: list[int] = []
    shared = _shared_bucket(engine, key.id, rate=1000.0, burst=1000, takes=takes)
    leases, start = Leases(clock=lambda: 0.0), threading.Barrier(8)

    def request() -> None:
        start.wait()  # eight requests find the process without a lease at once
        leases.take(key.id, rate=1000.0, burst=1000, cost=1, take_shared=shared)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert takes == [50]  # one lease taken for all eight, not one each


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def limited(engine, api_url):
    set_default_engine(engine)
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="setup")
    keys = {
        "small": make_key(engine, "small", "stock:read", rate="1/m", burst=3),
        "other": make_key(engine, "other", "stock:read", rate="1/m", burst=3),
        "gql": make_key(engine, "gql", "stock:read", rate="1/m", burst=10),
    }
    yield {name: client(api_url, key) for name, key in keys.items()}
    set_default_engine(None)


def test_over_the_limit_answers_429_with_retry_after_and_headers_everywhere(limited):
    small, other = limited["small"], limited["other"]
    answers = [
        small.get("/stock/NRD-TEE1-BLK-M"),
        small.get("/stock/NOPE"),  # a 404 still counts, and says so
        small.get("/stock", params={"limit": 0}),  # so does a 422
    ]
    assert [a.status_code for a in answers] == [200, 404, 422]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
    assert all(int(a.headers["ratelimit-reset"]) > 0 for a in answers)
    refused = small.get("/stock/NRD-TEE1-BLK-M")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limited" and body["message"] and body["details"]["retry_after"]
    assert 55 <= int(refused.headers["retry-after"]) <= 60  # one token at 1/min
    assert refused.headers["ratelimit-remaining"] == "0"
    # Another key is not touched by the first one's exhaustion.
    assert [other.get("/stock/NRD-TEE1-BLK-M").status_code for _ in range(3)] == [200] * 3


def test_graphql_spends_its_cost_from_the_same_bucket(limited):
    gql = limited["gql"]
    first = gql.post("/graphql", json={"query": "{ inventoryLevels(first: 100) { nodes { "
                                                "warehouse { code } } } }"})
    assert first.status_code == 200, first.text
    cost = first.json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 202 and cost["tokensTaken"] == 9  # ⌈202 / 25⌉
    assert first.headers["ratelimit-remaining"] == "1"
    assert cost["throttleStatus"]["currentlyAvailable"] == 1
    refused = gql.post("/graphql", json={"query": "{ brands { code } warehouses { code } "
                                                  "inventoryLevels(first: 30) { nodes { sku } } }"})
    assert refused.status_code == 429 and refused.headers["retry-after"]
    body = refused.json()
    assert body["error"] == "rate_limited" and body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert gql.get("/stock/NRD-TEE1-BLK-M").status_code == 200  # the last token, by REST
    assert gql.get("/stock/NRD-TEE1-BLK-M").status_code == 429


def test_a_query_bigger_than_the_key_bucket_is_refused_unrun(limited):
    gql = limited["gql"]  # burst 10: at most 250 points
    body = gql.post("/graphql", json={"query": "{ inventoryLevels(first: 200) { nodes { "
                                               "warehouse { code } } } }"}).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "for this key" in body["errors"][0]["message"]
    assert body["extensions"]["cost"]["maximumQueryCost"] == 250


def test_unknown_keys_are_not_counted_and_public_polls_keep_their_own_limits(limited, api_url):
    anonymous = client(api_url, "rr_nobody")
    for _ in range(5):
        response = anonymous.get("/stock/NRD-TEE1-BLK-M")
        assert response.status_code == 401 and "ratelimit-limit" not in response.headers
    assert "ratelimit-limit" not in client(api_url, None).get("/health").headers
