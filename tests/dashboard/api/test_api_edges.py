"""Edges of the API a review probed: oversized ids and cursors, NUL characters and lone
surrogates in text — each a 422 naming the field, never a 500 (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.dashboard.api.test_api import api_url, error, shop  # noqa: F401  (fixtures)

BIG = "9" * 30


@pytest.mark.parametrize(
    "path",
    [
        f"/reservations/{BIG}",
        f"/reservations/{2**63}",
        f"/polls/{BIG}/embed",
        f"/stock?cursor={BIG}.{BIG}",
        "/stock?cursor=" + "A" * 5000,
        "/stock/NRD%00X",
        "/stock?brand=NRD%00",
        "/stock?updated_since=2026-01-01T00:00:00%00Z",
    ],
)
def test_oversized_ids_cursors_and_nul_in_urls_are_4xx_never_500(shop, path):  # noqa: F811
    _world, _keys, api = shop
    response = api["all"].get(path)
    assert response.status_code in (404, 422), (path, response.status_code, response.text)
    assert response.json()["error"] in ("validation_error", "not_found")


@pytest.mark.parametrize("bad", ["x\u0000", "x\ud800", "\udfffx"])
def test_nul_and_lone_surrogates_in_bodies_are_422_naming_the_field(shop, bad):  # noqa: F811
    _world, _keys, api = shop
    import json

    body = json.dumps({"sku": "NRD-TEE1-BLK-M", "qty": 1, "order_ref": bad, "channel": "web"})
    made = api["all"].post("/reservations", content=body,
                           headers={"content-type": "application/json"})
    found = error(made, 422, "validation_error")
    assert "order_ref" in found["message"]
    receipt = json.dumps({"qty": 1, "reference": bad})
    error(api["all"].post("/stock/NRD-TEE1-BLK-M/WH1/receipts", content=receipt,
                          headers={"content-type": "application/json"}), 422, "validation_error")
