"""Product attributes in the API's answers (REST `GET /stock/{sku}`, each row of
`GET /stock`, and GraphQL's `Product`), over real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from models.catalog import Product, Variant
from models.db import set_default_engine, transaction
from models.stock import receive
from tests.api_support import UNLIMITED, client, is_gateway_bookkeeping, make_key, serve_api
from tests.factories import make_world

STORED = {
    "fabric": "Organic cotton",
    "season": "SS26",
    "tags": ["organic", "bestseller"],
    "vendor": "partners-demo",
}
#: What the API answers for STORED: every typed field, without the import's other keys.
STORED_FIELDS = {
    "fabric": "Organic cotton",
    "care": "",
    "season": "SS26",
    "tags": ["organic", "bestseller"],
}


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def api(engine, api_url):
    set_default_engine(engine)
    world = make_world(engine)
    make_world(engine, brand="OTH", warehouses=())  # a product without attributes
    with transaction(engine) as session:
        product = session.scalar(select(Product).where(Product.brand_id == world.brand_id))
        product.attributes = STORED
        session.add(product)
        for variant in session.scalars(select(Variant)):  # a balance each, to list
            receive(session, variant.id, world.warehouses["WH1"], 5, actor="test")
    reader = client(api_url, make_key(engine, "reader", "stock:read", **UNLIMITED))
    yield reader
    reader.close()
    set_default_engine(None)


def test_rest_and_graphql_return_the_attributes(api):
    rest = api.get("/stock/NRD-TEE1-BLK-M")
    assert rest.status_code == 200, rest.text
    assert rest.json()["attributes"] == STORED_FIELDS
    assert api.get("/stock/OTH-TEE1-BLK-M").json()["attributes"] == {
        "fabric": "",
        "care": "",
        "season": "",
        "tags": [],
    }
    query = (
        "query($s: String!) { variant(sku: $s) { product { fabric care season tags attributes } } }"
    )
    body = api.post("/graphql", json={"query": query, "variables": {"s": "NRD-TEE1-BLK-S"}})
    assert body.status_code == 200, body.text
    product = body.json()["data"]["variant"]["product"]
    assert product == {**STORED_FIELDS, "attributes": STORED}


def test_the_balances_list_carries_each_rows_attributes_read_once_per_page(api, engine):
    EMPTY = {"fabric": "", "care": "", "season": "", "tags": []}
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not is_gateway_bookkeeping(statement):
            statements.append(statement)

    def listed(limit: int) -> list[dict]:
        statements.clear()
        page = api.get("/stock", params={"limit": limit})
        assert page.status_code == 200, page.text
        return page.json()["items"]

    api.get("/stock", params={"limit": 1})  # the key's first use fills the gateway's caches
    event.listen(engine, "before_cursor_execute", count)
    try:
        one = listed(1)
        for_one = len(statements)
        rows = listed(100)
        assert len(statements) == for_one  # as many statements for 6 rows as for 1
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(one) == 1 and len(rows) == 6
    by_sku = {row["sku"]: row["attributes"] for row in rows}
    assert by_sku == {
        **{f"NRD-TEE1-BLK-{size}": STORED_FIELDS for size in "SML"},
        **{f"OTH-TEE1-BLK-{size}": EMPTY for size in "SML"},
    }
    # A brand's listing carries only its own products' attributes.
    oth = api.get("/stock", params={"brand": "OTH"}).json()["items"]
    assert [row["attributes"] for row in oth] == [EMPTY] * 3


def test_a_pages_attributes_are_read_by_product_not_by_row(api, engine):
    """Three variants of one product list with as many bound parameters as one: the
    attributes are looked up once per product on the page, not once per row."""
    bound: list[int] = []

    def count(conn, cursor, statement, parameters, *args):
        if not is_gateway_bookkeeping(statement):
            bound.append(len(parameters or ()))

    def listed(limit: int) -> tuple[int, int]:
        bound.clear()
        page = api.get("/stock", params={"brand": "NRD", "limit": limit})
        assert page.status_code == 200, page.text
        return len(page.json()["items"]), sum(bound)

    api.get("/stock", params={"limit": 1})  # the key's first use fills the gateway's caches
    event.listen(engine, "before_cursor_execute", count)
    try:
        one, for_one = listed(1)
        three, for_three = listed(100)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (one, three) == (1, 3)
    assert for_three == for_one


def test_the_openapi_document_describes_the_attributes(api):
    schema = api.get("/openapi.json").json()
    fields = schema["components"]["schemas"]["ProductAttributes"]["properties"]
    assert set(fields) == {"fabric", "care", "season", "tags"}
    assert "attributes" in schema["components"]["schemas"]["VariantStock"]["required"]
    row = schema["components"]["schemas"]["BalanceRow"]
    assert "attributes" in row["required"]
    assert row["properties"]["attributes"]["$ref"].endswith("/ProductAttributes")
