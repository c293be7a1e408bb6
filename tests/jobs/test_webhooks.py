"""Webhook delivery against real receivers on 127.0.0.1 (Standard Webhooks signatures
checked with the reference library)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from jobs.cli import main as cli
from jobs.events.delivery import LEASE, deliver_due
from jobs.events.relay import Relay
from jobs.outbound import guarded_client, parse_allow
from jobs.webhooks import create_webhook
from models.base import utcnow
from models.db import PROJECT_ROOT, read_session, set_default_engine, transaction
from models.errors import InvalidQuantity, NotFound
from models.events import Event
from models.stock import receive
from models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    list_deliveries,
    resend_delivery,
    rotate_secret,
)
from tests.events_support import hang, huge, receiver, redirect
from tests.factories import make_world


def subscribe(engine, url: str, events: str = "stock.changed", **kw) -> tuple[int, str]:
    with transaction(engine) as session:
        endpoint, secret = create_webhook(session, url, events, **kw)
        return endpoint.id, secret


def relay_all(engine) -> None:
    relay = Relay(engine)
    for _ in range(20):
        relay.run_once()
        with read_session(engine) as session:
            last = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
            done = session.scalar(
                select(Event.id).where(Event.id > (relay_position(session))).limit(1)
            )
        if last is None or done is None:
            return
    raise AssertionError("the relay did not catch up")


def relay_position(session) -> int:
    from jobs.events.cursors import RELAY, position

    return position(session, RELAY) or 0


def deliveries(engine) -> list[WebhookDelivery]:
    with read_session(engine) as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_receiver_failing_three_times_gets_the_same_signed_message_four_times(engine):
    world = make_world(engine)
    with receiver(script=[500, 500, 500]) as hook:
        endpoint_id, secret = subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        t0 = utcnow()
        assert deliver_due(engine, now=t0) == 1
        (first,) = deliveries(engine)
        assert first.status == "pending" and first.last_status_code == 500
        assert first.next_attempt_at - t0 <= timedelta(seconds=10)  # first retry within 10 s
        assert deliver_due(engine, now=t0) == 0  # not before its time
        now = t0
        for _ in range(3):
            (pending,) = deliveries(engine)
            now = pending.next_attempt_at
            assert deliver_due(engine, now=now) == 1
        (done,) = deliveries(engine)
        assert (done.status, done.attempts, done.last_status_code) == ("delivered", 4, 200)
        assert len(hook.received) == 4
        assert len(set(hook.ids())) == 1
        for item in hook.received:
            payload = hook.verify(secret, item)
            assert payload["type"] == "stock.changed"
            assert payload["data"]["on_hand"] == 5
        with read_session(engine) as session:
            codes = list(
                session.scalars(select(WebhookAttempt.status_code).order_by(WebhookAttempt.id))
            )
            page = list_deliveries(session, endpoint_id)
        assert codes == [500, 500, 500, 200]
        assert page.rows[0].status == "delivered"


def test_a_receiver_that_never_recovers_is_given_up_after_three_days(engine):
    world = make_world(engine)
    with receiver(default=503) as hook:
        subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        now = utcnow()
        start = now
        for _ in range(60):
            if deliver_due(engine, now=now) == 0:
                break
            (delivery,) = deliveries(engine)
            if delivery.status == "failed":
                break
            assert delivery.next_attempt_at > now  # backing off
            now = delivery.next_attempt_at
        (delivery,) = deliveries(engine)
        assert delivery.status == "failed"
        assert delivery.last_attempt_at - start <= timedelta(days=3)
        assert delivery.last_error.startswith("503")
        assert "rr_secret" not in delivery.last_error  # redacted excerpt
        assert len(hook.received) == delivery.attempts > 8


def test_a_410_disables_the_endpoint_and_later_events_are_not_queued(engine):
    world = make_world(engine)
    with receiver(default=410) as hook:
        endpoint_id, _ = subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        deliver_due(engine, now=utcnow())
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
    with read_session(engine) as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert [d.status for d in deliveries(engine)] == ["failed"]


def test_a_variants_later_event_waits_while_an_earlier_one_is_retried(engine):
    world = make_world(engine)
    m, s, wh = world.variants["M"], world.variants["S"], world.warehouses["WH1"]
    with receiver(script=[500]) as hook:
        subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, m, wh, 1, actor="t")
        with transaction(engine) as session:
            receive(session, m, wh, 1, actor="t")
            receive(session, s, wh, 1, actor="t")
        relay_all(engine)
        now = utcnow()
        deliver_due(engine, now=now)  # M#1 fails; M#2 waits; S goes
        sent = [json.loads(r.body)["data"] for r in hook.received]
        assert [(d["sku"][-1], d["on_hand"]) for d in sent] == [("M", 1), ("S", 1)] or [
            (d["sku"][-1], d["on_hand"]) for d in sent
        ] == [("S", 1), ("M", 1)]
        later = max(d.next_attempt_at for d in deliveries(engine) if d.status == "pending")
        deliver_due(engine, now=later)
        deliver_due(engine, now=later)
        m_sent = [
            json.loads(r.body)["data"]["on_hand"]
            for r in hook.received
            if json.loads(r.body)["data"]["sku"].endswith("-M")
        ]
        assert m_sent == [1, 1, 2]  # the retry of the first, then the second
        assert {d.status for d in deliveries(engine)} == {"delivered"}


def test_after_a_rotation_both_secrets_sign_for_a_day(engine):
    world = make_world(engine)
    with receiver() as hook:
        endpoint_id, old = subscribe(engine, hook.url)
        with transaction(engine) as session:
            _, new = rotate_secret(session, endpoint_id)
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        deliver_due(engine, now=utcnow())
        (item,) = hook.received
        assert len(item.headers["webhook-signature"].split()) == 2
        assert hook.verify(old, item)["type"] == hook.verify(new, item)["type"] == "stock.changed"
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 1, actor="t")
        relay_all(engine)
        deliver_due(engine, now=utcnow() + timedelta(hours=25))
        second = hook.received[1]
        assert len(second.headers["webhook-signature"].split()) == 1
        assert hook.verify(new, second)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [(hang(5), "no answer within 1 s"), (redirect, "302 Found (redirect"), (huge, "500")],
)
def test_bad_receivers_are_recorded_failed_attempts(engine, behaviour, expected):
    world = make_world(engine)
    with receiver(behaviour=behaviour) as hook:
        subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        assert deliver_due(engine, now=utcnow(), timeout=1.0) == 1
    (delivery,) = deliveries(engine)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error.startswith(expected) or expected in delivery.last_error
    assert len(delivery.last_error) <= 300


def test_a_receiver_address_refused_at_delivery_time_is_a_failed_attempt(engine):
    world = make_world(engine)
    with receiver() as hook:
        subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        strict = guarded_client(timeout=2, allow=parse_allow(""))
        deliver_due(engine, now=utcnow(), client=strict)
        assert hook.received == []
    (delivery,) = deliveries(engine)
    assert delivery.last_error.startswith("refused: 127.0.0.1 is a loopback address")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://10.1.2.3/hook", "private address"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:8080/", "loopback"),
        ("http://100.100.100.200/", "not a public address"),
        ("http://0.0.0.0/", "not a public address"),
        ("http://[::ffff:10.0.0.1]/", "private address"),
        ("https://user:pw@example.com/", "user:password"),
        ("http:///nohost", "no host"),
    ],
)
def test_webhook_urls_that_are_not_http_or_point_inside_are_refused(engine, url, problem):
    make_world(engine)
    with pytest.raises(InvalidQuantity) as refused, transaction(engine) as session:
        create_webhook(session, url, "stock.changed")
    assert problem in refused.value.message
    assert refused.value.details["field"] == "url"


def test_unknown_event_types_and_brands_are_refused(engine):
    make_world(engine)
    with (
        pytest.raises(InvalidQuantity, match=r"'stok\.changed' matches no event type"),
        transaction(engine) as session,
    ):
        create_webhook(session, "http://127.0.0.1:9/h", "stok.changed")
    with (
        pytest.raises(NotFound, match="No brand with code 'XYZ'"),
        transaction(engine) as session,
    ):
        create_webhook(session, "http://127.0.0.1:9/h", "stock.*", brand_code="xyz")


def test_a_sender_killed_between_sending_and_recording_sends_again_never_skips(engine):
    world = make_world(engine)
    with receiver() as hook:
        subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        script = (
            "import os\n"
            "from jobs.events.delivery import claim, send\n"
            "from jobs.outbound import guarded_client\n"
            "from models.base import utcnow\n"
            "from models.db import create_db_engine\n"
            "engine = create_db_engine(os.environ['DATABASE_URL'])\n"
            "(item,) = claim(engine, now=utcnow())\n"
            "send(guarded_client(timeout=5), item)\n"
            "os._exit(9)  # killed before recording\n"
        )
        url = engine.url.render_as_string(hide_password=False)
        env = os.environ | {"DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, check=False, timeout=60
        )
        assert done.returncode == 9
        assert len(hook.received) == 1
        (stuck,) = deliveries(engine)
        assert stuck.status == "sending"
        assert deliver_due(engine, now=utcnow()) == 0  # its lease still holds
        assert deliver_due(engine, now=utcnow() + LEASE + timedelta(seconds=1)) == 1
        assert hook.ids() == [hook.ids()[0]] * 2  # a duplicate, same webhook-id
    (done_delivery,) = deliveries(engine)
    assert done_delivery.status == "delivered"


def test_resend_sends_a_delivered_message_again(engine):
    world = make_world(engine)
    with receiver() as hook:
        subscribe(engine, hook.url)
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
        relay_all(engine)
        deliver_due(engine, now=utcnow())
        (delivery,) = deliveries(engine)
        with transaction(engine) as session:
            resend_delivery(session, delivery.id)
        deliver_due(engine, now=utcnow())
        assert len(hook.received) == 2 and len(set(hook.ids())) == 1


def test_brand_bound_endpoints_get_only_their_brands_events(engine):
    world = make_world(engine)
    other = make_world(engine, brand="OTH", warehouses=())
    with receiver() as hook:
        subscribe(engine, hook.url, "stock.*", brand_code="OTH")
        with transaction(engine) as session:
            receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="t")
            receive(session, other.variants["M"], world.warehouses["WH1"], 2, actor="t")
        relay_all(engine)
        deliver_due(engine, now=utcnow())
    assert [json.loads(r.body)["data"]["brand"] for r in hook.received] == ["OTH"]


def test_the_cli_creates_lists_disables_rotates_and_deletes(engine):
    set_default_engine(engine)
    try:
        make_world(engine)
        runner = CliRunner()
        made = runner.invoke(
            cli,
            [
                "webhook",
                "create",
                "http://127.0.0.1:9/h",
                "--events",
                "stock.changed,reservation.*",
            ],
        )
        assert made.exit_code == 0, made.output
        endpoint_id, secret = made.stdout.split()
        assert secret.startswith("whsec_")
        listed = runner.invoke(cli, ["webhook", "list"])
        assert "reservation.*" in listed.stdout and secret not in listed.stdout
        assert runner.invoke(cli, ["webhook", "disable", endpoint_id]).exit_code == 0
        assert "disabled" in runner.invoke(cli, ["webhook", "list"]).stdout
        assert runner.invoke(cli, ["webhook", "enable", endpoint_id]).exit_code == 0
        rotated = runner.invoke(cli, ["webhook", "rotate-secret", endpoint_id])
        assert rotated.exit_code == 0 and rotated.stdout.strip() != secret
        assert runner.invoke(cli, ["webhook", "delete", endpoint_id]).exit_code == 0
        gone = runner.invoke(cli, ["webhook", "delete", endpoint_id])
        assert gone.exit_code == 1 and f"No webhook with id {endpoint_id}" in gone.stderr
        bad = runner.invoke(cli, ["webhook", "create", "http://10.0.0.1/", "--events", "x.y"])
        assert bad.exit_code == 1 and "error: url:" in bad.stderr
    finally:
        set_default_engine(None)
