"""`/api/v1/webhooks` over real HTTP: scope, brand-bound keys, JSON errors, the secret once."""

from __future__ import annotations

import pytest

from jobs.events.delivery import deliver_due
from jobs.events.relay import Relay
from models.base import utcnow
from models.db import set_default_engine, transaction
from models.stock import receive
from tests.api_support import client, make_key, serve_api
from tests.events_support import receiver
from tests.factories import make_world


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def keys(engine, api_url):
    set_default_engine(engine)
    world = make_world(engine)
    make_world(engine, brand="OTH", warehouses=())
    yield {
        "world": world,
        "admin": make_key(engine, "hooks", "webhooks:write"),
        "vendor": make_key(engine, "nrd-hooks", "webhooks:write", brand="NRD"),
        "reader": make_key(engine, "reader", "stock:read"),
    }
    set_default_engine(None)


def test_create_list_deliveries_resend_and_delete(engine, api_url, keys):
    with receiver() as hook, client(api_url, keys["admin"]) as api:
        made = api.post("/webhooks", json={"url": hook.url, "events": ["stock.*"], "name": "shop"})
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["secret"].startswith("whsec_") and body["events"] == ["stock.*"]
        listed = api.get("/webhooks").json()
        assert [w["id"] for w in listed] == [body["id"]]
        assert "secret" not in listed[0]
        with transaction(engine) as session:
            receive(
                session, keys["world"].variants["M"], keys["world"].warehouses["WH1"], 2, actor="t"
            )
        Relay(engine).run_once()
        deliver_due(engine, now=utcnow())
        page = api.get(f"/webhooks/{body['id']}/deliveries").json()
        assert page["total"] == 1
        delivery = page["items"][0]
        assert (delivery["status"], delivery["response_code"], delivery["attempts"]) == (
            "delivered",
            200,
            1,
        )
        assert delivery["webhook_id"] == hook.received[0].headers["webhook-id"]
        resent = api.post(f"/webhooks/{body['id']}/deliveries/{delivery['id']}/resend")
        assert resent.status_code == 202
        deliver_due(engine, now=utcnow())
        assert len(hook.received) == 2
        rotated = api.post(f"/webhooks/{body['id']}/rotate-secret").json()
        assert rotated["secret"] != body["secret"] and rotated["previous_valid_until"]
        assert api.delete(f"/webhooks/{body['id']}").status_code == 204
        gone = api.delete(f"/webhooks/{body['id']}")
        assert gone.status_code == 404 and gone.json()["error"] == "not_found"


def test_scope_and_brand_bound_keys(engine, api_url, keys):
    with client(api_url, keys["reader"]) as api:
        refused = api.get("/webhooks")
        assert refused.status_code == 403 and "webhooks:write" in refused.json()["message"]
    with client(api_url, keys["admin"]) as admin:
        theirs = admin.post(
            "/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["stock.changed"]}
        ).json()
    with client(api_url, keys["vendor"]) as vendor:
        own = vendor.post(
            "/webhooks", json={"url": "http://127.0.0.1:9/y", "events": ["reservation.*"]}
        )
        assert own.status_code == 201 and own.json()["brand"] == "NRD"
        other = vendor.post(
            "/webhooks",
            json={"url": "http://127.0.0.1:9/y", "events": ["stock.changed"], "brand": "OTH"},
        )
        assert other.status_code == 403 and other.json()["error"] == "permission_denied"
        assert [w["id"] for w in vendor.get("/webhooks").json()] == [own.json()["id"]]
        for answer in (
            vendor.get(f"/webhooks/{theirs['id']}"),
            vendor.delete(f"/webhooks/{theirs['id']}"),
            vendor.get(f"/webhooks/{theirs['id']}/deliveries"),
        ):
            assert answer.status_code == 404


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"url": "gopher://x/", "events": ["stock.changed"]}, "url", "only http and https"),
        ({"url": "http://192.168.1.1/", "events": ["stock.changed"]}, "url", "private address"),
        ({"url": "http://127.0.0.1:9/", "events": ["nope.*"]}, "events", "matches no event type"),
        ({"url": "http://127.0.0.1:9/", "events": []}, "events", "at least 1"),
        ({"events": ["stock.changed"]}, "url", "Field required"),
    ],
)
def test_bad_input_is_a_json_error_naming_the_field(api_url, keys, payload, field, words):
    with client(api_url, keys["admin"]) as api:
        answer = api.post("/webhooks", json=payload)
    assert answer.status_code == 422
    body = answer.json()
    assert set(body) == {"error", "message", "details"}
    assert words in body["message"]
    assert field in body["message"] or body["details"].get("field") == field
