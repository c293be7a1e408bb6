"""The GraphQL API over real HTTP (uvicorn on 127.0.0.1), on SQLite and PostgreSQL: the
same answers as REST, brand isolation, batching, limits, bad input and mutations."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import event, func, select

from models.brands import update_brand
from models.catalog import SkuAlias
from models.db import read_session, set_default_engine, transaction
from models.reservations import Reservation
from models.stock import StockBalance, receive, reconcile
from tests.api_support import UNLIMITED, client, is_gateway_bookkeeping, make_key, serve_api
from tests.factories import make_world

VARIANT_FIELDS = """
  sku colour size barcode aliases
  brand { code name }
  product { styleCode name attributes }
  inventoryLevels { warehouse { code name } onHand reserved available incoming updatedAt }
"""


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def shop(engine, api_url):
    """Two brands sharing warehouses, an alias, and keys: all brands, NRD-bound, read-only."""
    set_default_engine(engine)
    world = make_world(engine)
    other = make_world(engine, brand="OTH", warehouses=())
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="setup")
        receive(session, world.variants["M"], world.warehouses["WH2"], 3, actor="setup")
        receive(session, world.variants["S"], world.warehouses["WH1"], 1, actor="setup")
        receive(session, other.variants["M"], world.warehouses["WH1"], 4, actor="setup")
        session.add_all(
            [
                SkuAlias(variant_id=world.variants["M"], brand_id=world.brand_id, kind="shopify",
                         code="SHOP-123"),
                # The same code is another brand's alias too: a bound key sees only its own.
                SkuAlias(variant_id=other.variants["M"], brand_id=other.brand_id, kind="shopify",
                         code="OTH-ONLY"),
            ]
        )
    keys = {
        "all": make_key(engine, "storefront", "stock:read", "stock:write", "reservations:write",
                        **UNLIMITED),
        "read": make_key(engine, "reader", "stock:read", **UNLIMITED),
        "brand": make_key(engine, "nrd-system", "stock:read", "stock:write",
                          "reservations:write", brand="NRD", **UNLIMITED),
    }
    clients = {name: client(api_url, key) for name, key in keys.items()}
    yield world, other, clients
    for c in clients.values():
        c.close()
    set_default_engine(None)


def gql(api, query: str, variables: dict | None = None, status: int = 200) -> dict:
    response = api.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == status, response.text
    body = response.json()
    assert "cost" in body["extensions"], body
    return body


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def test_variant_fields_match_the_rest_answer(shop):
    _world, _other, api = shop
    for sku in ("NRD-TEE1-BLK-M", "SHOP-123", "NRD-TEE1-BLK-L"):
        rest = api["read"].get(f"/stock/{sku}").json()
        body = gql(api["read"], f"query($s: String!) {{ variant(sku: $s) {{ {VARIANT_FIELDS} }} }}",
                   {"s": sku})
        assert "errors" not in body, body
        got = body["data"]["variant"]
        assert (got["sku"], got["brand"]["code"], got["product"]["styleCode"]) == (
            rest["sku"], rest["brand"], rest["style_code"])
        assert (got["product"]["name"], got["colour"], got["size"], got["barcode"]) == (
            rest["product"], rest["colour"], rest["size"], rest["barcode"])
        assert got["brand"]["name"] == "Nrd" and got["product"]["attributes"] == {}
        assert got["aliases"] == (["SHOP-123"] if sku != "NRD-TEE1-BLK-L" else [])
        levels = [
            {"warehouse": lv["warehouse"]["code"], "on_hand": lv["onHand"],
             "reserved": lv["reserved"], "available": lv["available"],
             "incoming": lv["incoming"], "updated_at": lv["updatedAt"]}
            for lv in got["inventoryLevels"]
        ]
        assert levels == rest["warehouses"]


def test_the_inventory_connection_pages_like_the_rest_listing(shop):
    _world, _other, api = shop
    rest = [  # a level reaches its product's attributes through variant { product }
        {k: v for k, v in row.items() if k != "attributes"}
        for row in api["read"].get("/stock", params={"limit": 1000}).json()["items"]
    ]
    query = """query($after: String) { inventoryLevels(first: 2, after: $after) {
        edges { cursor node { sku warehouse { code } onHand reserved available incoming
                              updatedAt } }
        pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    while True:
        page = gql(api["read"], query, {"after": after})["data"]["inventoryLevels"]
        seen += [
            {"sku": e["node"]["sku"], "warehouse": e["node"]["warehouse"]["code"],
             "on_hand": e["node"]["onHand"], "reserved": e["node"]["reserved"],
             "available": e["node"]["available"], "incoming": e["node"]["incoming"],
             "updated_at": e["node"]["updatedAt"]}
            for e in page["edges"]
        ]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == rest and len(seen) == 4
    filtered = gql(api["read"], """{ inventoryLevels(brand: "oth", first: 10) {
        nodes { sku } } wh2: inventoryLevels(warehouse: "WH2", skus: ["SHOP-123"]) {
        nodes { sku onHand } } }""")["data"]
    assert filtered["inventoryLevels"]["nodes"] == [{"sku": "OTH-TEE1-BLK-M"}]
    assert filtered["wh2"]["nodes"] == [{"sku": "NRD-TEE1-BLK-M", "onHand": 3}]
    future = gql(api["read"], '{ inventoryLevels(updatedSince: "2999-01-01T00:00:00Z") '
                 "{ edges { cursor } pageInfo { hasNextPage endCursor } } }")
    assert future["data"]["inventoryLevels"] == {
        "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


def test_brands_warehouses_and_reservation(shop):
    _world, _other, api = shop
    data = gql(api["all"], "{ brands { code name } warehouses { code name kind priority } }")
    assert [b["code"] for b in data["data"]["brands"]] == ["NRD", "OTH"]
    assert [w["code"] for w in data["data"]["warehouses"]] == ["WH1", "WH2", "ST1"]
    held = api["all"].post("/reservations", json={"sku": "SHOP-123", "qty": 2, "order_ref": "O-1",
                                                   "channel": "web"}).json()
    got = gql(api["all"], f"""{{ reservation(id: "{held['id']}") {{ id sku qty channel orderRef
        status createdAt expiresAt closedAt warehouse {{ code }} }} }}""")["data"]["reservation"]
    rest = api["all"].get(f"/reservations/{held['id']}").json()
    assert (got["id"], got["sku"], got["qty"], got["orderRef"], got["status"]) == (
        str(rest["id"]), rest["sku"], rest["qty"], rest["order_ref"], rest["status"])
    assert got["warehouse"]["code"] == rest["warehouse"] and got["closedAt"] is None
    denied = gql(api["read"], f'{{ reservation(id: "{held["id"]}") {{ id }} }}')
    assert codes(denied) == ["FORBIDDEN"] and denied["data"] == {"reservation": None}


def test_a_brand_carries_its_size_system_hint_null_when_auto(shop):
    world, _other, api = shop
    with transaction() as session:
        update_brand(session, world.brand_id, {"size_hint": "eu_shoe"})
    data = gql(api["read"], """{ brands { code sizeSystemHint }
        variant(sku: "NRD-TEE1-BLK-M") { brand { sizeSystemHint } } }""")["data"]
    assert data["brands"] == [
        {"code": "NRD", "sizeSystemHint": "eu_shoe"},
        {"code": "OTH", "sizeSystemHint": None},
    ]
    assert data["variant"]["brand"] == {"sizeSystemHint": "eu_shoe"}


def test_a_brand_bound_key_sees_nothing_of_other_brands(shop):
    world, _other, api = shop
    bound = api["brand"]
    data = gql(bound, """{ a: variant(sku: "OTH-TEE1-BLK-M") { sku }
        b: variant(sku: "OTH-ONLY") { sku } c: variant(sku: "SHOP-123") { sku }
        d: variants(skus: ["OTH-TEE1-BLK-M", "NRD-TEE1-BLK-M"]) { sku }
        brands { code }
        inventoryLevels(first: 100) { nodes { sku variant { brand { code } } } }
        e: inventoryLevels(skus: ["OTH-TEE1-BLK-M", "OTH-ONLY"]) { nodes { sku } } }""")
    assert "errors" not in data, data
    got = data["data"]
    assert (got["a"], got["b"], got["c"]) == (None, None, {"sku": "NRD-TEE1-BLK-M"})
    assert got["d"] == [None, {"sku": "NRD-TEE1-BLK-M"}]
    assert got["brands"] == [{"code": "NRD"}]
    listed = got["inventoryLevels"]["nodes"]
    assert listed and {n["variant"]["brand"]["code"] for n in listed} == {"NRD"}
    assert got["e"]["nodes"] == []
    refused = gql(bound, '{ inventoryLevels(brand: "OTH") { nodes { sku } } }')
    assert codes(refused) == ["FORBIDDEN"] and refused["data"] is None
    # Another brand's reservation reads as null; touching it is "not found", as in REST.
    theirs = api["all"].post("/reservations", json={"sku": "OTH-TEE1-BLK-M", "qty": 1,
                                                     "order_ref": "X", "channel": "web"}).json()
    assert gql(bound, f'{{ reservation(id: "{theirs["id"]}") {{ id }} }}')["data"] == {
        "reservation": None}
    commit = gql(bound, f"""mutation {{ commitReservation(id: "{theirs['id']}") {{
        __typename ... on Error {{ code }} }} }}""")["data"]["commitReservation"]
    assert commit == {"__typename": "NotFound", "code": "not_found"}
    assert world.brand_id  # the fixture's brand is the bound one


def test_a_hundred_variants_with_levels_take_a_fixed_number_of_statements(shop, engine):
    world, _other, api = shop
    with transaction(engine) as session:
        from models.catalog import Product, Variant

        product = session.get(Product, session.get(Variant, world.variants["M"]).product_id)
        for n in range(100):
            session.add(Variant(product_id=product.id, brand_id=world.brand_id,
                                sku=f"NRD-BULK-{n:03}", colour=f"C{n}", size="M",
                                size_system="alpha", size_rank=2))
    query = f"query($skus: [String!]!) {{ variants(skus: $skus) {{ {VARIANT_FIELDS} }} }}"
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not is_gateway_bookkeeping(statement):
            statements.append(statement)

    def run(n: int) -> tuple[int, dict]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            body = gql(api["read"], query, {"skus": [f"NRD-BULK-{i:03}" for i in range(n)]})
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), body

    ten, _ = run(10)
    hundred, body = run(100)
    assert "errors" not in body, body
    variants = body["data"]["variants"]
    assert len(variants) == 100 and all(len(v["inventoryLevels"]) == 3 for v in variants)
    assert body["extensions"]["cost"]["requestedQueryCost"] <= 1000
    # One statement per kind of thing read (variants, brands, products, aliases, levels,
    # warehouses), however many variants.
    assert hundred == ten <= 8, statements


def test_depth_and_cost_limits_refuse_before_running(shop):
    _world, _other, api = shop
    deep = gql(api["read"], """{ inventoryLevels { nodes { variant { inventoryLevels {
        variant { inventoryLevels { variant { inventoryLevels { sku } } } } } } } } }""")
    assert codes(deep) == ["MAX_DEPTH_EXCEEDED"] and deep["data"] is None
    costly = gql(api["read"], "{ inventoryLevels(first: 250) { nodes { variant { brand { code } "
                 "product { name } inventoryLevels { warehouse { code } } } } } }")
    assert codes(costly) == ["MAX_COST_EXCEEDED"]
    assert costly["errors"][0]["extensions"]["cost"] > 1000
    assert costly["extensions"]["cost"]["requestedQueryCost"] > 1000
    aliases = " ".join(
        f"a{i}: inventoryLevels(first: 50) {{ nodes {{ warehouse {{ code }} }} }}"
        for i in range(12)
    )
    assert codes(gql(api["read"], f"{{ {aliases} }}")) == ["MAX_COST_EXCEEDED"]
    # Fragments spreading fragments twice over: the cost doubles at each level.
    doubling = "fragment F0 on Query { a: brands { code } }\n" + "\n".join(
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 40)
    )
    assert codes(gql(api["read"], f"{{ ...F39 }}\n{doubling}")) == ["MAX_COST_EXCEEDED"]
    # Fragments nesting fields inside fragments: the depth counts through them.
    nesting = "fragment L0 on InventoryLevel { sku }\n" + "\n".join(
        f"fragment L{i} on InventoryLevel {{ variant {{ inventoryLevels {{ ...L{i - 1} }} }} }}"
        for i in range(1, 8)
    )
    deep_fragments = gql(api["read"], f"{{ inventoryLevels {{ nodes {{ ...L7 }} }} }}\n{nesting}")
    assert codes(deep_fragments) == ["MAX_DEPTH_EXCEEDED"]


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ variant(sku: 1) { sku } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ variant(sku: \"x\") { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ variant(sku: \"x\") { sku ", None, "GRAPHQL_PARSE_FAILED"),
        ("query($s: String!) { variant(sku: $s) { sku } }", {"s": 5}, "BAD_USER_INPUT"),
        ("query($s: String!) { variant(sku: $s) { sku } }", {}, "BAD_USER_INPUT"),
        ("query($n: Int) { inventoryLevels(first: $n) { nodes { sku } } }", {"n": "many"},
         "BAD_USER_INPUT"),
        ("{ inventoryLevels(first: -1) { nodes { sku } } }", None, "BAD_USER_INPUT"),
        ("{ inventoryLevels(first: 0) { nodes { sku } } }", None, "BAD_USER_INPUT"),
        ("{ inventoryLevels(first: 100000) { nodes { sku } } }", None, "MAX_COST_EXCEEDED"),
        ("{ inventoryLevels(first: 300) { pageInfo { hasNextPage } } }", None, "BAD_USER_INPUT"),
        ('{ inventoryLevels(after: "bm9wZQ==") { nodes { sku } } }', None, "BAD_USER_INPUT"),
        ('{ inventoryLevels(updatedSince: "2024-01-01T00:00:00") { nodes { sku } } }', None,
         "BAD_USER_INPUT"),
        ('{ inventoryLevels(updatedSince: "yesterday") { nodes { sku } } }', None,
         "GRAPHQL_VALIDATION_FAILED"),
        ('{ inventoryLevels(warehouse: "MARS") { nodes { sku } } }', None, "BAD_USER_INPUT"),
        ('{ inventoryLevels(brand: "MARS") { nodes { sku } } }', None, "BAD_USER_INPUT"),
        ('{ reservation(id: "abc") { id } }', None, "BAD_USER_INPUT"),
        ("query A { brands { code } } query B { brands { code } }", None, "BAD_USER_INPUT"),
        ("subscription { brands { code } }", None, "BAD_REQUEST"),
        ("fragment F on Query { ...G } fragment G on Query { ...F } { ...F }", None,
         "GRAPHQL_VALIDATION_FAILED"),
    ],
)
def test_bad_input_is_a_coded_graphql_error_never_a_500(shop, query, variables, code):
    _world, _other, api = shop
    body = gql(api["all"], query, variables)
    assert codes(body)[:1] == [code], body
    assert all(e["message"] for e in body["errors"])


def test_a_cursor_from_another_query_is_refused(shop):
    _world, _other, api = shop
    page = gql(
        api["read"], '{ inventoryLevels(first: 1, brand: "NRD") { pageInfo { endCursor } } }'
    )
    cursor = page["data"]["inventoryLevels"]["pageInfo"]["endCursor"]
    body = gql(api["read"], "query($c: String) { inventoryLevels(first: 1, after: $c) "
               "{ nodes { sku } } }", {"c": cursor})
    assert codes(body) == ["BAD_USER_INPUT"] and "another query" in body["errors"][0]["message"]
    rest_cursor = api["read"].get("/stock", params={"limit": 1}).json()["next_cursor"]
    assert codes(gql(api["read"], "query($c: String) { inventoryLevels(after: $c) "
                     "{ nodes { sku } } }", {"c": rest_cursor})) == ["BAD_USER_INPUT"]


def test_http_level_refusals_use_the_error_contract(shop, api_url):
    _world, _other, api = shop
    anonymous = client(api_url, None).post("/graphql", json={"query": "{ brands { code } }"})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    revoked = client(api_url, "rr_unknown").post("/graphql", json={"query": "{ brands { code } }"})
    assert revoked.status_code == 401
    assert revoked.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for raw in (b"{not json", b"[]", b'{"query": 5}', b'{"variables": {}}'):
        response = api["read"].post("/graphql", content=raw,
                                    headers={"Content-Type": "application/json"})
        assert response.status_code in (400, 422) and response.json()["error"], raw
    huge = "{ " + " ".join(f"a{i}: brands {{ code }}" for i in range(8000)) + " }"
    too_big = api["read"].post("/graphql", json={"query": huge})
    assert too_big.status_code == 413 and too_big.json()["error"] == "body_too_large"
    many_tokens = "{ " + "a " * 10_500 + "}"  # under the body limit, over 10,000 tokens
    assert codes(gql(api["read"], many_tokens)) == ["GRAPHQL_PARSE_FAILED"]
    mutation_by_get = api["all"].get("/graphql", params={"query": "mutation { __typename }"})
    assert mutation_by_get.status_code == 405 and mutation_by_get.json()["error"]
    by_get = api["read"].get("/graphql", params={"query": "{ brands { code } }"})
    assert by_get.status_code == 200 and by_get.json()["data"]["brands"]
    ide = client(api_url, None).get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()


def test_introspection_is_allowed(shop):
    _world, _other, api = shop
    from graphql import get_introspection_query

    body = gql(api["read"], get_introspection_query(descriptions=True))
    assert "errors" not in body, body
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Variant", "InventoryLevel", "InventoryLevelConnection", "Reservation"} <= names


def test_mutations_return_objects_or_typed_errors_with_rest_codes(shop, engine):
    _world, _other, api = shop
    reserve = """mutation($input: ReserveInput!) { reserve(input: $input) { __typename
        ... on Reservation { id status qty warehouse { code }
                             variant { inventoryLevels { warehouse { code } reserved } } }
        ... on InsufficientStock { code message available requested }
        ... on Error { code message } ... on InvalidInput { field } } }"""
    made = gql(api["all"], reserve, {"input": {"sku": "SHOP-123", "qty": 2, "orderRef": "O-1",
                                               "channel": "web"}})["data"]["reserve"]
    assert (made["__typename"], made["status"], made["warehouse"]["code"]) == (
        "Reservation", "active", "WH1")
    wh1 = next(x for x in made["variant"]["inventoryLevels"] if x["warehouse"]["code"] == "WH1")
    assert wh1["reserved"] == 2  # read after the write, not from a stale snapshot
    again = gql(api["all"], reserve, {"input": {"sku": "SHOP-123", "qty": 2, "orderRef": "O-1",
                                                "channel": "web"}})["data"]["reserve"]
    assert again["id"] == made["id"]
    short = gql(api["all"], reserve, {"input": {"sku": "NRD-TEE1-BLK-S", "qty": 2,
                                                "orderRef": "O-2", "channel": "web"}})
    assert short["data"]["reserve"] == {
        "__typename": "InsufficientStock", "code": "insufficient_stock",
        "message": short["data"]["reserve"]["message"], "available": 1, "requested": 2}
    bad = gql(api["all"], reserve, {"input": {"sku": "SHOP-123", "qty": 0, "orderRef": "O-3",
                                              "channel": "web"}})["data"]["reserve"]
    assert (bad["__typename"], bad["code"], bad["field"]) == ("InvalidInput", "validation_error",
                                                              "qty")
    missing = gql(api["all"], reserve, {"input": {"sku": "NOPE", "qty": 1, "orderRef": "O-4",
                                                  "channel": "web"}})["data"]["reserve"]
    assert (missing["__typename"], missing["code"]) == ("NotFound", "not_found")
    no_scope = gql(api["read"], reserve, {"input": {"sku": "SHOP-123", "qty": 1,
                                                    "orderRef": "O-5", "channel": "web"}})
    assert no_scope["data"]["reserve"]["code"] == "forbidden"

    close = """mutation($id: ID!) { commitReservation(id: $id) { __typename
        ... on Reservation { status } ... on Error { code } } }"""
    assert gql(api["all"], close, {"id": made["id"]})["data"]["commitReservation"] == {
        "__typename": "Reservation", "status": "committed"}
    assert gql(api["all"], close, {"id": made["id"]})["data"]["commitReservation"] == {
        "__typename": "InvalidTransition", "code": "invalid_transition"}
    release = gql(api["all"], """mutation { releaseReservation(id: "999999") { __typename
        ... on Error { code } } }""")["data"]["releaseReservation"]
    assert release == {"__typename": "NotFound", "code": "not_found"}

    count = """mutation($input: SetOnHandInput!) { setOnHand(input: $input) { __typename
        ... on InventoryLevel { sku onHand available warehouse { code } updatedAt }
        ... on StaleCount { code expectedOnHand onHand } ... on Error { code } } }"""
    ok = gql(api["all"], count, {"input": {"sku": "NRD-TEE1-BLK-M", "warehouse": "wh2",
                                           "onHand": 1, "expectedOnHand": 3,
                                           "reason": "DAMAGED"}})["data"]["setOnHand"]
    assert (ok["__typename"], ok["onHand"], ok["warehouse"]["code"]) == ("InventoryLevel", 1, "WH2")
    assert ok["updatedAt"] is not None
    stale = gql(api["all"], count, {"input": {"sku": "NRD-TEE1-BLK-M", "warehouse": "WH2",
                                              "onHand": 0, "expectedOnHand": 3,
                                              "reason": "COUNT"}})["data"]["setOnHand"]
    assert stale == {"__typename": "StaleCount", "code": "stale_count", "expectedOnHand": 3,
                     "onHand": 1}
    negative = gql(api["all"], count, {"input": {"sku": "NRD-TEE1-BLK-M", "warehouse": "WH2",
                                                 "onHand": -4, "reason": "COUNT"}})
    assert negative["data"]["setOnHand"]["code"] == "validation_error"
    with read_session(engine) as session:
        assert reconcile(session) == []


def test_zero_is_a_level_through_the_api(shop):
    _world, _other, api = shop
    count = """mutation { setOnHand(input: {sku: "NRD-TEE1-BLK-L", warehouse: "ST1", onHand: 0,
        reason: COUNT}) { __typename ... on InventoryLevel { onHand } } }"""
    assert gql(api["all"], count)["data"]["setOnHand"] == {"__typename": "InventoryLevel",
                                                           "onHand": 0}
    rest = api["read"].get("/stock", params={"brand": "NRD", "limit": 1000}).json()["items"]
    assert {"sku": "NRD-TEE1-BLK-L", "warehouse": "ST1", "on_hand": 0} in [
        {k: i[k] for k in ("sku", "warehouse", "on_hand")} for i in rest]
    nodes = gql(api["read"], '{ inventoryLevels(skus: ["NRD-TEE1-BLK-L"]) { nodes { '
                "warehouse { code } onHand } } }")["data"]["inventoryLevels"]["nodes"]
    assert nodes == [{"warehouse": {"code": "ST1"}, "onHand": 0}]
    put = api["all"].put("/stock/NRD-TEE1-BLK-S/WH2", json={"on_hand": 0, "reason": "count"})
    assert put.status_code == 200
    listed = api["read"].get("/stock", params={"warehouse": "WH2"}).json()["items"]
    assert ("NRD-TEE1-BLK-S", 0) in [(i["sku"], i["on_hand"]) for i in listed]


def test_mutations_race_like_rest(shop, engine, api_url):
    """16 threads reserving one unit each of a SKU with 25 units: exactly 25 holds."""
    world, _other, api = shop
    from tests.models.test_concurrency_pg import race

    with transaction(engine) as session:
        receive(session, world.variants["L"], world.warehouses["WH1"], 25, actor="setup")
    query = """mutation($input: ReserveInput!) { reserve(input: $input) { __typename } }"""
    key = api["all"].headers["Authorization"].removeprefix("Bearer ")

    def attempt(i: int) -> str:
        with client(api_url, key) as own:
            body = gql(own, query, {"input": {"sku": "NRD-TEE1-BLK-L", "qty": 1,
                                              "orderRef": f"race-{i}", "channel": "web",
                                              "warehouse": "WH1"}})
        return body["data"]["reserve"]["__typename"]

    outcomes = Counter(race(16, 60, attempt))
    assert outcomes == {"Reservation": 25, "InsufficientStock": 35}
    with read_session(engine) as session:
        held = session.scalar(
            select(func.count()).select_from(Reservation)
            .where(Reservation.variant_id == world.variants["L"])
        )
        balance = session.get(StockBalance, (world.variants["L"], world.warehouses["WH1"]))
        assert held == 25 and (balance.on_hand, balance.reserved) == (25, 25)
        assert reconcile(session) == []


def test_the_printed_schema_is_current():
    from pathlib import Path

    from dashboard.api.graphql.__main__ import sdl

    path = Path(__file__).resolve().parents[3] / "docs" / "schema.graphql"
    assert path.read_text() == sdl(), "run make graphql-schema"
    assert json.dumps(sdl())  # printable


def test_deprecated_fields_are_found_in_an_operation():
    """What sends a Deprecation header and extensions.deprecations from GraphQL."""
    from graphql import build_schema, parse

    from dashboard.api.graphql.cost import deprecated_uses

    schema = build_schema('type Query { old: Int @deprecated(reason: "use new") new: Int }')
    assert deprecated_uses(schema, parse("{ new }")) == []
    assert deprecated_uses(schema, parse("{ old new }")) == [
        "The field Query.old is deprecated. use new"]
    from dashboard.api.graphql.schema import schema as ours

    assert deprecated_uses(ours._schema, parse("{ brands { code } }")) == []
