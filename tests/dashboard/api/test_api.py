"""The channel REST API over real HTTP (uvicorn on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from models.catalog import SkuAlias
from models.db import read_session, set_default_engine, transaction
from models.stock import LedgerEntry, StockBalance, receive, reconcile
from tests.api_support import client, make_key, serve_api
from tests.factories import make_world


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def shop(engine, api_url):
    """A brand with stock in three warehouses, a second brand, and keys of every kind."""
    set_default_engine(engine)
    world = make_world(engine)
    other = make_world(engine, brand="OTH", warehouses=())
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="setup")
        receive(session, world.variants["M"], world.warehouses["WH2"], 3, actor="setup")
        receive(session, world.variants["S"], world.warehouses["WH1"], 1, actor="setup")
        receive(session, other.variants["M"], world.warehouses["WH1"], 4, actor="setup")
        session.add(
            SkuAlias(
                variant_id=world.variants["M"],
                brand_id=world.brand_id,
                kind="shopify",
                code="SHOP-123",
            )
        )
    keys = {
        "all": make_key(engine, "storefront", "stock:read", "stock:write", "reservations:write"),
        "read": make_key(engine, "reader", "stock:read"),
        "brand": make_key(
            engine, "nrd-system", "stock:read", "stock:write", "reservations:write", brand="NRD"
        ),
    }
    yield world, keys, {name: client(api_url, key) for name, key in keys.items()}
    set_default_engine(None)


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and body["message"]
    return body


def test_get_stock_by_canonical_sku_or_alias_with_totals(shop):
    _world, _keys, api = shop
    for sku in ("NRD-TEE1-BLK-M", "SHOP-123"):
        response = api["read"].get(f"/stock/{sku}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["sku"], body["brand"], body["size"]) == ("NRD-TEE1-BLK-M", "NRD", "M")
        by_code = {w["warehouse"]: w for w in body["warehouses"]}
        assert by_code["WH1"]["available"] == 5 and by_code["WH2"]["on_hand"] == 3
        assert by_code["ST1"]["on_hand"] == 0
        assert body["totals"] == {"on_hand": 8, "reserved": 0, "available": 8, "incoming": 0}


def test_authentication_and_scopes(shop, api_url):
    _world, _keys, api = shop
    error(client(api_url, None).get("/stock/NRD-TEE1-BLK-M"), 401, "unauthorized")
    error(client(api_url, "rr_not-a-real-key").get("/stock/NRD-TEE1-BLK-M"), 401, "unauthorized")
    forbidden = error(
        api["read"].post("/stock/NRD-TEE1-BLK-M/WH1/receipts", json={"qty": 1, "reference": "PO"}),
        403,
        "forbidden",
    )
    assert "stock:write" in forbidden["message"]


def test_a_revoked_key_is_refused(shop, engine):
    from models.api_keys import revoke_api_key

    _world, _keys, api = shop
    assert api["read"].get("/stock/NRD-TEE1-BLK-M").status_code == 200
    with transaction(engine) as session:
        revoke_api_key(session, "reader")
    error(api["read"].get("/stock/NRD-TEE1-BLK-M"), 401, "unauthorized")


def test_unknown_sku_and_warehouse_are_404_naming_which(shop):
    _world, _keys, api = shop
    body = error(api["all"].get("/stock/NOPE-1"), 404, "not_found")
    assert "NOPE-1" in body["message"]
    body = error(
        api["all"].post(
            "/stock/NRD-TEE1-BLK-M/MARS/receipts", json={"qty": 1, "reference": "PO-1"}
        ),
        404,
        "not_found",
    )
    assert "MARS" in body["message"]


def test_brand_bound_key_only_touches_its_own_brand(shop):
    _world, _keys, api = shop
    assert api["brand"].get("/stock/NRD-TEE1-BLK-M").status_code == 200
    # Another brand's SKU answers exactly like an unknown one (404): nothing is learnt.
    theirs = error(api["brand"].get("/stock/OTH-TEE1-BLK-M"), 404, "not_found")
    unknown = error(api["brand"].get("/stock/OTH-TEE1-BLK-Q"), 404, "not_found")
    assert theirs["message"].replace("OTH-TEE1-BLK-M", "?") == unknown["message"].replace(
        "OTH-TEE1-BLK-Q", "?"
    )
    error(
        api["brand"].put("/stock/OTH-TEE1-BLK-M/WH1", json={"on_hand": 0, "reason": "count"}),
        404,
        "not_found",
    )
    error(
        api["brand"].post(
            "/reservations",
            json={"sku": "OTH-TEE1-BLK-M", "qty": 1, "order_ref": "x", "channel": "web"},
        ),
        404,
        "not_found",
    )
    error(api["brand"].get("/stock", params={"brand": "OTH"}), 403, "forbidden")
    listed = api["brand"].get("/stock", params={"limit": 1000}).json()["items"]
    assert listed and all(item["sku"].startswith("NRD-") for item in listed)


def test_stock_listing_pages_with_a_stable_cursor(shop):
    _world, _keys, api = shop
    everything = api["read"].get("/stock", params={"limit": 1000}).json()
    assert everything["next_cursor"] is None
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api["read"].get("/stock", params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything["items"] and len(seen) == 4
    only_wh2 = api["read"].get("/stock", params={"warehouse": "WH2"}).json()["items"]
    assert [(i["sku"], i["on_hand"]) for i in only_wh2] == [("NRD-TEE1-BLK-M", 3)]
    only_oth = api["read"].get("/stock", params={"brand": "oth"}).json()["items"]
    assert [i["sku"] for i in only_oth] == ["OTH-TEE1-BLK-M"]
    future = api["read"].get("/stock", params={"updated_since": "2999-01-01T00:00:00Z"}).json()
    assert future["items"] == []


def test_stock_listing_narrows_to_the_skus_asked_for(shop):
    _world, _keys, api = shop
    one = api["read"].get("/stock", params={"sku": "OTH-TEE1-BLK-M"}).json()["items"]
    assert [i["sku"] for i in one] == ["OTH-TEE1-BLK-M"]
    both = api["read"].get("/stock", params=[("sku", "NRD-TEE1-BLK-M"), ("sku", "OTH-TEE1-BLK-M")])
    assert {(i["sku"], i["warehouse"]) for i in both.json()["items"]} == {
        ("NRD-TEE1-BLK-M", "WH1"), ("NRD-TEE1-BLK-M", "WH2"), ("OTH-TEE1-BLK-M", "WH1")
    }
    alias = api["read"].get("/stock", params={"sku": "SHOP-123"}).json()["items"]
    assert {i["sku"] for i in alias} == {"NRD-TEE1-BLK-M"} and len(alias) == 2
    wh2 = api["read"].get("/stock", params={"sku": "NRD-TEE1-BLK-M", "warehouse": "WH2"})
    assert [(i["sku"], i["on_hand"]) for i in wh2.json()["items"]] == [("NRD-TEE1-BLK-M", 3)]
    body = error(api["read"].get("/stock", params={"sku": "NOPE-1"}), 404, "not_found")
    assert "NOPE-1" in body["message"]
    # A brand-bound key learns nothing of another brand's SKU: the same 404.
    error(api["brand"].get("/stock", params={"sku": "OTH-TEE1-BLK-M"}), 404, "not_found")
    too_many = [("sku", f"S{n}") for n in range(101)]
    assert "sku" in error(api["read"].get("/stock", params=too_many), 422, "validation_error")[
        "message"
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 100000},
        {"limit": 0},
        {"limit": "lots"},
        {"cursor": "%%%not-base64"},
        {"updated_since": "yesterday"},
        {"updated_since": "2024-01-01T00:00:00"},
        {"sku": "   "},
        {"sku": "X" * 65},
    ],
)
def test_bad_listing_parameters_are_422(shop, params):
    _world, _keys, api = shop
    body = error(api["read"].get("/stock", params=params), 422, "validation_error")
    assert next(iter(params)) in body["message"]


def test_put_count_is_compare_and_swap_and_logged_with_the_key_as_actor(shop, engine):
    _world, _keys, api = shop
    ok = api["all"].put(
        "/stock/NRD-TEE1-BLK-M/WH1",
        json={
            "on_hand": 4,
            "expected_on_hand": 5,
            "reason": "damaged",
            "note": "torn seam",
            "reference": "COUNT-7",
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() | {} == {
        "warehouse": "WH1",
        "on_hand": 4,
        "reserved": 0,
        "available": 4,
        "incoming": 0,
        "updated_at": None,
    }
    stale = error(
        api["all"].put(
            "/stock/NRD-TEE1-BLK-M/WH1",
            json={"on_hand": 2, "expected_on_hand": 5, "reason": "count"},
        ),
        409,
        "stale_count",
    )
    assert stale["details"] == {"expected_on_hand": 5, "on_hand": 4}
    with read_session(engine) as session:
        last = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id.desc())).first()
    assert (last.on_hand_delta, last.reason, last.actor, last.reference, last.note) == (
        -1,
        "damaged",
        "api:storefront",
        "COUNT-7",
        "torn seam",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"on_hand": -1, "reason": "count"}, "on_hand"),
        ({"on_hand": "5", "reason": "count"}, "on_hand"),
        ({"on_hand": 5.5, "reason": "count"}, "on_hand"),
        ({"on_hand": 5}, "reason"),
        ({"on_hand": 5, "reason": "count", "colour": "red"}, "colour"),
        ({"on_hand": 5, "reason": "because"}, "reason"),
    ],
)
def test_bad_count_bodies_are_422_naming_the_field_and_change_nothing(shop, engine, body, field):
    _world, _keys, api = shop
    with read_session(engine) as session:
        before = session.scalar(select(func.count()).select_from(LedgerEntry))
    refused = error(api["all"].put("/stock/NRD-TEE1-BLK-M/WH1", json=body), 422, "validation_error")
    assert field in refused["message"]
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before


def test_receipts(shop):
    _world, _keys, api = shop
    made = api["all"].post("/stock/SHOP-123/st1/receipts", json={"qty": 7, "reference": "PO-9"})
    assert made.status_code == 201 and made.json()["on_hand"] == 7
    error(
        api["all"].post("/stock/SHOP-123/ST1/receipts", json={"qty": 0, "reference": "PO"}),
        422,
        "validation_error",
    )
    error(api["all"].post("/stock/SHOP-123/ST1/receipts", json={"qty": 1}), 422, "validation_error")


def test_reservation_lifecycle_and_idempotent_retry(shop, engine):
    _world, _keys, api = shop
    order = {"sku": "NRD-TEE1-BLK-M", "qty": 2, "order_ref": "ORD-1", "channel": "web"}
    first = api["all"].post("/reservations", json=order)
    assert first.status_code == 201, first.text
    held = first.json()
    assert (held["warehouse"], held["status"], held["qty"]) == ("WH1", "active", 2)
    retry = api["all"].post("/reservations", json=order)
    assert retry.status_code == 200 and retry.json()["id"] == held["id"]
    error(api["all"].post("/reservations", json=order | {"qty": 3}), 409, "conflict")
    assert api["all"].get("/stock/NRD-TEE1-BLK-M").json()["totals"]["reserved"] == 2

    committed = api["all"].post(f"/reservations/{held['id']}/commit")
    assert committed.status_code == 200 and committed.json()["status"] == "committed"
    error(api["all"].post(f"/reservations/{held['id']}/commit"), 409, "invalid_transition")
    error(api["all"].post(f"/reservations/{held['id']}/release"), 409, "invalid_transition")
    assert api["all"].get(f"/reservations/{held['id']}").json()["status"] == "committed"
    error(api["all"].get("/reservations/999999"), 404, "not_found")
    stock = api["all"].get("/stock/NRD-TEE1-BLK-M").json()["totals"]
    assert (stock["on_hand"], stock["reserved"]) == (6, 0)

    returned = api["all"].post(
        "/sales/returns",
        json={"sku": "NRD-TEE1-BLK-M", "warehouse": "WH2", "qty": 1, "order_ref": "ORD-1"},
    )
    assert returned.status_code == 201 and returned.json()["balance"]["on_hand"] == 4
    error(
        api["all"].post(
            "/sales/returns",
            json={"sku": "NRD-TEE1-BLK-M", "warehouse": "WH2", "qty": 2, "order_ref": "ORD-1"},
        ),
        422,
        "invalid_quantity",
    )
    with read_session(engine) as session:
        assert reconcile(session) == []


def test_insufficient_stock_says_what_is_available(shop):
    _world, _keys, api = shop
    body = error(
        api["all"].post(
            "/reservations",
            json={"sku": "NRD-TEE1-BLK-S", "qty": 2, "order_ref": "O", "channel": "web"},
        ),
        409,
        "insufficient_stock",
    )
    assert body["details"] == {"available": 1, "requested": 2}


def test_release_and_expiry(shop):
    _world, _keys, api = shop
    held = (
        api["all"]
        .post(
            "/reservations",
            json={
                "sku": "NRD-TEE1-BLK-M",
                "qty": 1,
                "order_ref": "A",
                "channel": "web",
                "warehouse": "WH2",
            },
        )
        .json()
    )
    released = api["all"].post(f"/reservations/{held['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    short = (
        api["all"]
        .post(
            "/reservations",
            json={
                "sku": "NRD-TEE1-BLK-M",
                "qty": 1,
                "order_ref": "B",
                "channel": "web",
                "ttl_seconds": 1,
            },
        )
        .json()
    )
    time.sleep(1.2)
    body = error(api["all"].post(f"/reservations/{short['id']}/commit"), 409, "invalid_transition")
    assert "expired" in body["message"]


def test_malformed_oversized_and_hostile_bodies(shop, engine):
    _world, _keys, api = shop
    error(
        api["all"].post(
            "/reservations", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        400,
        "malformed_json",
    )
    error(
        api["all"].post(
            "/reservations", content=b"[" * 100_000, headers={"Content-Type": "application/json"}
        ),
        413,
        "body_too_large",
    )
    hostile = "'; DROP TABLE stock_balance; --<script>alert(1)</script>"
    made = api["all"].post(
        "/reservations",
        json={"sku": "NRD-TEE1-BLK-M", "qty": 1, "order_ref": hostile, "channel": "web"},
    )
    assert made.status_code == 201 and made.json()["order_ref"] == hostile
    error(api["all"].get("/stock/' OR 1=1 --"), 404, "not_found")
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(StockBalance)) == 4


def test_openapi_and_docs_are_served(shop, api_url):
    import httpx

    spec = httpx.get(f"{api_url}/api/v1/openapi.json").json()
    assert "/api/v1/reservations" in spec["paths"]
    assert httpx.get(f"{api_url}/api/v1/docs").status_code == 200
