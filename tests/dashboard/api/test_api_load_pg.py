"""Through HTTP on PostgreSQL: a crowd of checkouts for a few units never oversells."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from models.db import read_session, set_default_engine, transaction
from models.stock import get_balance, receive, reconcile
from tests.api_support import UNLIMITED, client, make_key, serve_api
from tests.factories import make_world

pytestmark = pytest.mark.postgres
UNITS, ATTEMPTS, THREADS = 25, 240, 16
HOLD_SECONDS = 12


def test_concurrent_http_reservations_get_exactly_the_units_then_expire(pg_engine):
    set_default_engine(pg_engine)
    try:
        world = make_world(pg_engine, warehouses=(("WH1", 1),))
        with transaction(pg_engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], UNITS, actor="setup")
        key = make_key(
            pg_engine, "storefront", "reservations:write", "stock:read", **UNLIMITED
        )
        with serve_api(with_scheduler=True, expiry_seconds=0.5) as url:
            start = threading.Barrier(THREADS)

            def checkout(worker: int) -> list[int]:
                statuses = []
                with client(url, key) as api:
                    start.wait()
                    for i in range(worker, ATTEMPTS, THREADS):
                        statuses.append(
                            api.post(
                                "/reservations",
                                json={
                                    "sku": "NRD-TEE1-BLK-M",
                                    "qty": 1,
                                    "order_ref": f"order-{i}",
                                    "channel": "web",
                                    # Long enough that none expires while the crowd is
                                    # still checking out on a busy machine (an expired
                                    # hold frees its unit for a later request).
                                    "ttl_seconds": HOLD_SECONDS,
                                },
                            ).status_code
                        )
                return statuses

            with ThreadPoolExecutor(THREADS) as pool:
                statuses = Counter(s for batch in pool.map(checkout, range(THREADS)) for s in batch)

            assert statuses == {201: UNITS, 409: ATTEMPTS - UNITS}
            with read_session(pg_engine) as session:
                balance = get_balance(session, world.variants["M"], world.warehouses["WH1"])
                assert (balance.reserved, balance.available) == (UNITS, 0)
                assert reconcile(session) == []

            deadline = time.monotonic() + HOLD_SECONDS + 20
            while time.monotonic() < deadline:
                with read_session(pg_engine) as session:
                    balance = get_balance(session, world.variants["M"], world.warehouses["WH1"])
                if balance.reserved == 0:
                    break
                time.sleep(0.25)
            assert (balance.on_hand, balance.reserved, balance.available) == (UNITS, 0, UNITS)
            with read_session(pg_engine) as session:
                assert reconcile(session) == []
    finally:
        set_default_engine(None)
