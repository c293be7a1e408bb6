"""OAuth2 client credentials (RFC 6749 §4.4) over real HTTP: a key's id and secret buy a
15-minute bearer token with the key's scopes (or fewer) and brand; revoking the key ends
its tokens at once; errors follow §5.2 inside Rackroom's error shape."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from models.api_keys import ApiToken, revoke_api_key
from models.base import utcnow
from models.db import set_default_engine, transaction
from models.stock import receive
from models.users import ApiKey
from tests.api_support import client, make_key, serve_api
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
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 5, actor="setup")
    secrets = {
        "storefront": make_key(engine, "storefront", "stock:read", "reservations:write"),
        "brand": make_key(engine, "nrd-tool", "stock:read", brand="NRD"),
    }
    with transaction(engine) as session:
        ids = {name: session.scalar(ApiKey.__table__.select().with_only_columns(ApiKey.id)
                                    .where(ApiKey.name == key_name))
               for name, key_name in (("storefront", "storefront"), ("brand", "nrd-tool"))}
    yield {name: (str(ids[name]), secret) for name, secret in secrets.items()}
    set_default_engine(None)


def token(api_url: str, **form: str) -> httpx.Response:
    return httpx.post(f"{api_url}/api/v1/oauth/token", data=form)


def oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["error_description"] and body["message"]
    assert response.headers["cache-control"] == "no-store"


def test_client_credentials_buy_a_short_lived_token_with_the_key_rights(keys, api_url):
    client_id, secret = keys["storefront"]
    issued = token(api_url, grant_type="client_credentials", client_id=client_id,
                   client_secret=secret)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["scope"] == "reservations:write stock:read"
    assert body["access_token"].startswith("rrt_") and secret not in issued.text
    assert issued.headers["cache-control"] == "no-store"
    api = client(api_url, body["access_token"])
    assert api.get("/stock/NRD-TEE1-BLK-M").status_code == 200
    made = api.post("/reservations", json={"sku": "NRD-TEE1-BLK-M", "qty": 1,
                                           "order_ref": "T-1", "channel": "web"})
    assert made.status_code == 201
    graphql = api.post("/graphql", json={"query": '{ variant(sku: "NRD-TEE1-BLK-M") { sku } }'})
    assert graphql.json()["data"] == {"variant": {"sku": "NRD-TEE1-BLK-M"}}


def test_http_basic_client_authentication_and_narrower_scopes(keys, api_url):
    client_id, secret = keys["storefront"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    issued = httpx.post(
        f"{api_url}/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "stock:read"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "stock:read"
    narrow = client(api_url, issued.json()["access_token"])
    assert narrow.get("/stock/NRD-TEE1-BLK-M").status_code == 200
    refused = narrow.post("/reservations", json={"sku": "NRD-TEE1-BLK-M", "qty": 1,
                                                 "order_ref": "T-2", "channel": "web"})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    wider = token(api_url, grant_type="client_credentials", client_id=client_id,
                  client_secret=secret, scope="stock:read stock:write")
    oauth_error(wider, 400, "invalid_scope")


def test_a_token_carries_the_key_brand(keys, api_url):
    client_id, secret = keys["brand"]
    access = token(api_url, grant_type="client_credentials", client_id=client_id,
                   client_secret=secret).json()["access_token"]
    api = client(api_url, access)
    assert api.get("/stock/NRD-TEE1-BLK-M").status_code == 200
    assert api.get("/stock/OTH-TEE1-BLK-M").status_code == 404  # another brand: as unknown
    brands = api.post("/graphql", json={"query": "{ brands { code } }"}).json()["data"]
    assert brands == {"brands": [{"code": "NRD"}]}


def test_revoking_the_key_ends_its_tokens_at_once_and_tokens_expire(keys, api_url, engine):
    client_id, secret = keys["storefront"]
    access = token(api_url, grant_type="client_credentials", client_id=client_id,
                   client_secret=secret).json()["access_token"]
    api = client(api_url, access)
    assert api.get("/stock/NRD-TEE1-BLK-M").status_code == 200
    with transaction(engine) as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert api.get("/stock/NRD-TEE1-BLK-M").status_code == 401
    fresh = token(api_url, grant_type="client_credentials", client_id=client_id,
                  client_secret=secret).json()["access_token"]
    assert client(api_url, fresh).get("/stock/NRD-TEE1-BLK-M").status_code == 200
    with transaction(engine) as session:
        revoke_api_key(session, "storefront")
    for path in ("/stock/NRD-TEE1-BLK-M",):
        response = client(api_url, fresh).get(path)
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    graphql = client(api_url, fresh).post("/graphql", json={"query": "{ brands { code } }"})
    assert graphql.status_code == 401
    oauth_error(token(api_url, grant_type="client_credentials", client_id=client_id,
                      client_secret=secret), 401, "invalid_client")


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "password", "client_id": "1", "client_secret": "x"}, 400,
         "unsupported_grant_type"),
        ({"client_id": "1", "client_secret": "x"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "999", "client_secret": "SECRET"},
         401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "OTHER", "client_secret": "SECRET"},
         401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "ID", "client_secret": "rr_wrong"},
         401, "invalid_client"),
    ],
)
def test_refusals_follow_rfc_6749(keys, api_url, form, status, error):
    client_id, secret = keys["storefront"]
    other_id, _ = keys["brand"]
    filled = {k: v.replace("SECRET", secret).replace("OTHER", other_id).replace("ID", client_id)
              for k, v in form.items()}
    oauth_error(token(api_url, **filled), status, error)


def test_the_form_is_required_and_parameters_are_not_repeated(keys, api_url):
    client_id, secret = keys["storefront"]
    as_json = httpx.post(f"{api_url}/api/v1/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    oauth_error(as_json, 400, "invalid_request")
    repeated = httpx.post(
        f"{api_url}/api/v1/oauth/token",
        content=f"grant_type=client_credentials&client_id={client_id}&client_id=2"
        f"&client_secret={secret}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    oauth_error(repeated, 400, "invalid_request")
    ignored = httpx.post(
        f"{api_url}/api/v1/oauth/token",
        content=f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        "&audience=x&audience=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ignored.status_code == 200  # unknown parameters are ignored (§3.2)
    basic_and_body = httpx.post(
        f"{api_url}/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id},
        headers={"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
    )
    oauth_error(basic_and_body, 400, "invalid_request")
    bad_basic = httpx.post(f"{api_url}/api/v1/oauth/token",
                           data={"grant_type": "client_credentials"},
                           headers={"Authorization": "Basic %%%"})
    oauth_error(bad_basic, 401, "invalid_client")
    assert bad_basic.headers["www-authenticate"].startswith("Basic")
