"""Events under concurrency on PostgreSQL, and RabbitMQ (the local broker, a vhost of
our own), against real servers on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pika
import pytest
from sqlalchemy import func, select

from jobs.events.amqp import EXCHANGE, Publisher
from jobs.events.relay import Relay
from jobs.events.service import EventService
from jobs.webhooks import create_webhook
from models.db import read_session, set_default_engine, transaction
from models.events import Event
from models.stock import LedgerEntry, receive
from models.webhooks import WebhookDelivery
from tests.api_support import UNLIMITED, client, make_key, serve_api
from tests.conftest import IN_CI
from tests.events_support import receiver
from tests.factories import make_world

pytestmark = pytest.mark.postgres
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def test_1000_changes_from_16_api_clients_reach_each_endpoint_once_in_ledger_order(pg_engine):
    set_default_engine(pg_engine)
    world = make_world(pg_engine, sizes=("XS", "S", "M", "L", "XL"))
    key = make_key(pg_engine, "wms", "stock:write", **UNLIMITED)  # 16 clients share one key
    skus = [f"NRD-TEE1-BLK-{s}" for s in ("XS", "S", "M", "L", "XL")]
    places = ["WH1", "WH2"]
    service = None
    try:
        with receiver() as one, receiver() as two, serve_api() as url:
            with transaction(pg_engine) as session:
                create_webhook(session, one.url, "stock.changed")
                create_webhook(session, two.url, "stock.*", brand_code="NRD")
            service = EventService(pg_engine, idle_seconds=0.05).start()

            def work(worker: int) -> None:
                with client(url, key) as api:
                    for n in range(worker, 1000, 16):  # 1,000 receipts among 16 clients
                        sku, place = skus[n % 5], places[(n // 5) % 2]
                        answer = api.post(
                            f"/stock/{sku}/{place}/receipts", json={"qty": 1, "reference": f"r{n}"}
                        )
                        assert answer.status_code == 201, answer.text

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(work, range(16)))
            with read_session(pg_engine) as session:
                assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1000
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                with read_session(pg_engine) as session:
                    done = session.scalar(
                        select(func.count())
                        .select_from(WebhookDelivery)
                        .where(WebhookDelivery.status == "delivered")
                    )
                if done == 2000:
                    break
                time.sleep(0.2)
            for hook in (one, two):
                bodies = [json.loads(r.body) for r in hook.received]
                ids = {r.headers["webhook-id"] for r in hook.received}
                assert len(ids) == 1000
                per_variant: dict[str, list[int]] = {}
                for body in bodies:
                    per_variant.setdefault(body["data"]["sku"], []).append(
                        body["data"]["ledger_id"]
                    )
                for sku, ledger_ids in per_variant.items():
                    assert ledger_ids == sorted(ledger_ids), sku
    finally:
        if service is not None:
            service.stop()
        set_default_engine(None)
    del world


@pytest.fixture
def vhost():
    """A RabbitMQ vhost of this test's own, deleted afterwards."""
    name = f"rackroom_test_{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, timeout=60)
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as error:
        if IN_CI:
            pytest.fail(f"CI=true requires RabbitMQ: {error}")
        pytest.skip(f"RabbitMQ unavailable: {error}")
    yield f"{AMQP}{quote(name, safe='')}"
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False, timeout=60)


def _consumer(url: str, binding: str):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, EXCHANGE, routing_key=binding)
    return connection, channel, queue


def _drain(channel, queue) -> list[tuple[str, dict]]:
    got = []
    while True:
        method, _properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return got
        got.append((method.routing_key, json.loads(body)))


def test_every_event_reaches_a_consumer_bound_to_stock_changed_even_after_an_outage(
    pg_engine, vhost
):
    world = make_world(pg_engine)
    connection, channel, queue = _consumer(vhost, "stock.changed.#")
    try:
        relay = Relay(pg_engine)
        down = Publisher(pg_engine, "amqp://guest:guest@127.0.0.1:1/")  # nobody listens
        down.publish_once()  # its cursor starts at the relay's (empty) horizon
        with transaction(pg_engine) as session:
            for _ in range(5):
                receive(session, world.variants["M"], world.warehouses["WH1"], 1, actor="t")
        relay.run_once()
        with pytest.raises(Exception):
            down.publish_once()  # the broker is unreachable: nothing moves, nothing lost
        down.close()
        up = Publisher(pg_engine, vhost)
        with transaction(pg_engine) as session:
            for _ in range(3):
                receive(session, world.variants["S"], world.warehouses["WH2"], 1, actor="t")
        relay.run_once()
        while up.publish_once():
            pass
        up.close()
        time.sleep(0.2)  # let the broker route the confirmed messages to our queue
        got = _drain(channel, queue)
        with read_session(pg_engine) as session:
            ids = list(session.scalars(select(Event.id).order_by(Event.id)))
        assert [body["id"] for _key, body in got] == [f"evt_{i}" for i in ids]
        assert {key for key, _body in got} == {"stock.changed.NRD"}
        assert [body["data"]["on_hand"] for _key, body in got] == [1, 2, 3, 4, 5, 1, 2, 3]
    finally:
        connection.close()


def test_two_jobs_processes_share_the_deliveries_and_send_each_once(pg_engine):
    import os
    import sys

    from models.db import PROJECT_ROOT

    world = make_world(pg_engine, sizes=("XS", "S", "M", "L", "XL"))
    url = pg_engine.url.render_as_string(hide_password=False)
    env = os.environ | {"DATABASE_URL": url, "RACKROOM_LOG_LEVEL": "WARNING"}
    with receiver() as hook:
        with transaction(pg_engine) as session:
            create_webhook(session, hook.url, "stock.changed")
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "jobs", "--poll", "0.3"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            for n in range(200):
                size = ("XS", "S", "M", "L", "XL")[n % 5]
                place = ("WH1", "WH2")[n % 2]
                with transaction(pg_engine) as session:
                    receive(session, world.variants[size], world.warehouses[place], 1, actor="t")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(hook.received) < 200:
                time.sleep(0.2)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
    ids = hook.ids()
    assert len(ids) == 200 and len(set(ids)) == 200  # every event once, none twice
    per_variant: dict[str, list[int]] = {}
    for item in hook.received:
        data = json.loads(item.body)["data"]
        per_variant.setdefault(data["sku"], []).append(data["ledger_id"])
    assert all(ids == sorted(ids) for ids in per_variant.values())
