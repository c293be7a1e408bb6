"""POST /api/v1/reservations with channels: `ship_to`, `allocations`, splits and bad
input, over real HTTP on SQLite and PostgreSQL (warehouses: tests/channel_support.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models.catalog import Warehouse
from models.channels import create_channel
from models.db import read_session, set_default_engine, transaction
from models.reservations import Reservation
from models.stock import StockBalance, reconcile
from tests.api_support import client, make_key, serve_api
from tests.channel_support import make_europe, stock
from tests.factories import make_world

SKU = "NRD-TEE1-BLK-M"
LONDON = {"country": "GB", "lat": 51.5074, "lon": -0.1278}


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def eu(engine, api_url):
    set_default_engine(engine)
    world = make_europe(engine)
    other = make_world(engine, brand="OTH", warehouses=())
    stock(engine, world, LON=3, MAN=2, MAD=4, CPH=1)
    with transaction(engine) as session:
        create_channel(
            session,
            "eu",
            "Europe",
            strategy="nearest",
            warehouses="LON,MAN,MAD,CPH",
            allow_split=True,
        )
    other.warehouses = world.warehouses
    stock(engine, other, LON=4, MAD=4)  # another brand's SKU in the same places
    keys = {
        "all": make_key(engine, "storefront", "stock:read", "reservations:write"),
        "brand": make_key(engine, "nrd-shop", "reservations:write", brand="NRD"),
    }
    yield world, {name: client(api_url, key) for name, key in keys.items()}
    set_default_engine(None)


def body(qty=1, order="o1", channel="eu", **extra):
    return {"sku": SKU, "qty": qty, "order_ref": order, "channel": channel, **extra}


def refused(response, status, code, *words):
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"] == code
    for word in words:
        assert word in answer["message"], answer["message"]
    return answer


def reserved(engine) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.coalesce(func.sum(StockBalance.reserved), 0))))


def test_nearest_answers_with_its_one_allocation(eu):
    _world, api = eu
    barcelona = {"country": "es", "lat": 41.3874, "lon": 2.1686}
    response = api["all"].post("/reservations", json=body(2, ship_to=barcelona))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["allocations"] == [{"warehouse": "MAD", "qty": 2}]
    assert (answer["warehouse"], answer["qty"]) == ("MAD", 2)


def test_a_split_answers_every_allocation_and_a_retry_the_same(engine, eu):
    _world, api = eu
    first = api["all"].post("/reservations", json=body(6, ship_to=LONDON))
    assert first.status_code == 201, first.text
    expected = [{"warehouse": "LON", "qty": 3}, {"warehouse": "MAD", "qty": 3}]
    assert first.json()["allocations"] == expected and first.json()["qty"] == 6
    again = api["all"].post("/reservations", json=body(6, ship_to={"country": "DK"}))
    assert again.status_code == 200, again.text
    assert again.json()["allocations"] == expected and again.json()["id"] == first.json()["id"]
    assert api["all"].get(f"/reservations/{first.json()['id']}").json()["allocations"] == expected
    committed = api["all"].post(f"/reservations/{first.json()['id']}/commit")
    assert committed.status_code == 200, committed.text
    assert committed.json()["status"] == "committed"
    assert committed.json()["allocations"] == expected
    with read_session(engine) as session:
        assert set(session.scalars(select(Reservation.status))) == {"committed"}
        assert reconcile(session) == []
    assert reserved(engine) == 0


def test_a_short_split_is_a_409_and_holds_nothing(engine, eu):
    _world, api = eu
    answer = refused(
        api["all"].post("/reservations", json=body(11, ship_to=LONDON)),
        409,
        "insufficient_stock",
        "Only 10 available in total",
    )
    assert answer["details"] == {"available": 10, "requested": 11}
    assert reserved(engine) == 0
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_an_unconfigured_channel_still_answers_with_one_allocation(eu):
    _world, api = eu
    response = api["all"].post("/reservations", json=body(2, channel="web", ship_to=LONDON))
    assert response.status_code == 201, response.text
    assert response.json()["allocations"] == [{"warehouse": "LON", "qty": 2}]  # priority


@pytest.mark.parametrize(
    ("ship_to", "words"),
    [
        ({"country": "XX"}, ["ISO 3166-1 alpha-2", "'XX'"]),
        ({"country": "United Kingdom"}, ["ISO 3166-1 alpha-2"]),
        ({"country": "GB", "lat": 91, "lon": 0}, ["ship_to.lat"]),
        ({"country": "GB", "lat": 0, "lon": 181}, ["ship_to.lon"]),
        ({"country": "GB", "lat": 51.5}, ["lat and lon go together"]),
        ({"lat": 1, "lon": 1}, ["ship_to.country"]),
        ({"country": "GB", "planet": "Earth"}, ["ship_to.planet"]),
    ],
)
def test_bad_addresses_are_422s_naming_the_field(engine, eu, ship_to, words):
    _world, api = eu
    response = api["all"].post("/reservations", json=body(1, ship_to=ship_to))
    assert response.status_code == 422, response.text
    text = response.text
    for word in words:
        assert word in text, text
    assert reserved(engine) == 0


def test_a_channel_naming_an_inactive_warehouse_or_an_outside_one_is_refused(engine, eu):
    _world, api = eu
    outside = api["all"].post("/reservations", json=body(1, channel="eu", warehouse="XYZ"))
    refused(outside, 404, "not_found", "XYZ")
    with transaction(engine) as session:
        create_channel(session, "uk", "UK", warehouses="LON,MAN")
        session.get(Warehouse, _world.warehouses["MAN"]).is_active = False
    refused(
        api["all"].post("/reservations", json=body(1, channel="uk")),
        409,
        "conflict",
        "lists inactive warehouse(s) MAN",
    )
    with transaction(engine) as session:
        create_channel(session, "es", "Spain", warehouses="MAD")
    refused(
        api["all"].post("/reservations", json=body(1, channel="es", warehouse="LON")),
        422,
        "invalid_quantity",
        "not one of channel es",
    )
    assert reserved(engine) == 0


def test_a_brand_bound_key_splits_its_own_brand_only(engine, eu):
    _world, api = eu
    mine = api["brand"].post("/reservations", json=body(6, ship_to=LONDON))
    assert mine.status_code == 201, mine.text
    assert len(mine.json()["allocations"]) == 2
    theirs = api["brand"].post(
        "/reservations", json=body(6, order="o2", ship_to=LONDON) | {"sku": "OTH-TEE1-BLK-M"}
    )
    refused(theirs, 404, "not_found", "OTH-TEE1-BLK-M")
    assert reserved(engine) == 6


# --- the same over GraphQL -------------------------------------------------------------------

RESERVE = """mutation($input: ReserveInput!) { reserve(input: $input) { __typename
    ... on Reservation { id qty status warehouse { code } allocations { warehouse { code } qty } }
    ... on InsufficientStock { code available requested }
    ... on Error { code message } ... on InvalidInput { field } } }"""


def gql_reserve(api, qty=1, order="g1", channel="eu", **extra) -> dict:
    from tests.dashboard.api.test_graphql import gql

    given = {"sku": SKU, "qty": qty, "orderRef": order, "channel": channel, **extra}
    return gql(api, RESERVE, {"input": given})["data"]["reserve"]


def test_graphql_nearest_and_a_split_answer_allocations_like_rest(engine, eu):
    _world, api = eu
    barcelona = {"country": "ES", "lat": 41.3874, "lon": 2.1686}
    near = gql_reserve(api["all"], 2, order="g-near", shipTo=barcelona)
    assert near["__typename"] == "Reservation", near
    assert near["allocations"] == [{"warehouse": {"code": "MAD"}, "qty": 2}]
    # MAD has 2 left; 6 towards London fit in no pair: three warehouses, the nearest ones.
    split = gql_reserve(
        api["all"], 6, order="g-split", shipTo={"country": "GB", "lat": 51.5, "lon": -0.12}
    )
    assert split["__typename"] == "Reservation", split
    assert (split["qty"], split["warehouse"]) == (6, {"code": "LON"})
    assert split["allocations"] == [
        {"warehouse": {"code": "LON"}, "qty": 3},
        {"warehouse": {"code": "MAN"}, "qty": 2},
        {"warehouse": {"code": "CPH"}, "qty": 1},
    ]
    rest = api["all"].get(f"/reservations/{split['id']}").json()["allocations"]
    assert [
        {"warehouse": a["warehouse"]["code"], "qty": a["qty"]} for a in split["allocations"]
    ] == rest
    # A retry (even towards another place) answers the same hold and allocations.
    again = gql_reserve(api["all"], 6, order="g-split", shipTo={"country": "DK"})
    assert again == split
    assert reserved(engine) == 8
    read = """query($id: ID!) { reservation(id: $id) { qty allocations { warehouse { code } qty }
        } }"""
    from tests.dashboard.api.test_graphql import gql

    assert gql(api["all"], read, {"id": split["id"]})["data"]["reservation"] == {
        "qty": 6,
        "allocations": split["allocations"],
    }
    released = gql(
        api["all"],
        """mutation($id: ID!) { releaseReservation(id: $id) {
        ... on Reservation { status allocations { qty } } } }""",
        {"id": split["id"]},
    )
    assert released["data"]["releaseReservation"] == {
        "status": "released",
        "allocations": [{"qty": a["qty"]} for a in split["allocations"]],
    }
    assert reserved(engine) == 2
    with read_session(engine) as session:
        assert reconcile(session) == []


def test_graphql_short_split_and_bad_addresses_hold_nothing(engine, eu):
    _world, api = eu
    short = gql_reserve(api["all"], 11, shipTo={"country": "GB"})
    assert short == {
        "__typename": "InsufficientStock",
        "code": "insufficient_stock",
        "message": short["message"],
        "available": 10,
        "requested": 11,
    }
    unknown = gql_reserve(api["all"], 1, order="g2", shipTo={"country": "XX"})
    assert unknown["__typename"] == "InvalidInput" and "ISO 3166-1 alpha-2" in unknown["message"]
    far = gql_reserve(api["all"], 1, order="g3", shipTo={"country": "GB", "lat": 91, "lon": 0})
    assert (far["__typename"], far["field"]) == ("InvalidInput", "ship_to.lat")
    half = gql_reserve(api["all"], 1, order="g4", shipTo={"country": "GB", "lat": 51.5})
    assert half["__typename"] == "InvalidInput" and "lat and lon go together" in half["message"]
    assert reserved(engine) == 0
