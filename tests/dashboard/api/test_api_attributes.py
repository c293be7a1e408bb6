"""Product attributes in the API's answers (REST `GET /stock/{sku}` and GraphQL's
`Product`), over real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.catalog import Product
from models.db import set_default_engine, transaction
from tests.api_support import UNLIMITED, client, make_key, serve_api
from tests.factories import make_world

STORED = {
    "fabric": "Organic cotton",
    "season": "SS26",
    "tags": ["organic", "bestseller"],
    "vendor": "partners-demo",
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
    reader = client(api_url, make_key(engine, "reader", "stock:read", **UNLIMITED))
    yield reader
    reader.close()
    set_default_engine(None)


def test_rest_and_graphql_return_the_attributes(api):
    rest = api.get("/stock/NRD-TEE1-BLK-M")
    assert rest.status_code == 200, rest.text
    assert rest.json()["attributes"] == {
        "fabric": "Organic cotton",
        "care": "",
        "season": "SS26",
        "tags": ["organic", "bestseller"],
    }
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
    assert product == {
        "fabric": "Organic cotton",
        "care": "",
        "season": "SS26",
        "tags": ["organic", "bestseller"],
        "attributes": STORED,
    }


def test_the_openapi_document_describes_the_attributes(api):
    schema = api.get("/openapi.json").json()
    fields = schema["components"]["schemas"]["ProductAttributes"]["properties"]
    assert set(fields) == {"fabric", "care", "season", "tags"}
    assert "attributes" in schema["components"]["schemas"]["VariantStock"]["required"]
