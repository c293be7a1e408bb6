"""Hypothesis throws arbitrary JSON at the write endpoints: never a 5xx, never a bad balance."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.db import read_session, set_default_engine, transaction
from models.stock import receive, reconcile
from tests.api_support import UNLIMITED, client, make_key, serve_api
from tests.factories import make_world

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.sampled_from(["NRD-TEE1-BLK-M", "WH1", "count", "web", "-1", ""]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "sku",
    "qty",
    "order_ref",
    "channel",
    "warehouse",
    "ttl_seconds",
    "on_hand",
    "expected_on_hand",
    "reason",
    "note",
    "reference",
]
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=7),
    json_values,
)
ENDPOINTS = [
    ("POST", "/reservations"),
    ("PUT", "/stock/NRD-TEE1-BLK-M/WH1"),
    ("POST", "/stock/NRD-TEE1-BLK-M/WH1/receipts"),
    ("POST", "/sales/returns"),
    ("POST", "/reservations/1/commit"),
]


@pytest.fixture(scope="module")
def fuzz_target(sqlite_template, tmp_path_factory):
    from models.db import create_db_engine

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = create_db_engine(f"sqlite:///{path}")
    set_default_engine(engine)
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 50, actor="setup")
    key = make_key(
        engine, "fuzzer", "stock:read", "stock:write", "reservations:write", **UNLIMITED
    )
    with serve_api() as url, client(url, key) as api:
        yield engine, api
    set_default_engine(None)
    engine.dispose()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(endpoint=st.sampled_from(ENDPOINTS), body=bodies)
def test_no_request_body_causes_a_server_error(fuzz_target, endpoint, body):
    engine, api = fuzz_target
    method, path = endpoint
    response = api.request(
        method, path, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.text
    assert set(response.json()) >= ({"error", "message"} if response.status_code >= 400 else set())
    with read_session(engine) as session:
        assert reconcile(session) == []
