"""Admin › API keys: the rate limit of a new key (rate and burst) from the create dialog."""

from __future__ import annotations

from sqlalchemy import select

from dashboard.states.admin_api_keys import AdminApiKeysState
from models.db import transaction
from models.users import ApiKey
from tests.dashboard.test_admin_states import call, page_state, world  # noqa: F401 (fixture)


def test_a_key_is_created_with_the_rate_and_burst_given(world):  # noqa: F811
    keys = page_state(AdminApiKeysState, world.tokens["admin"])
    call(keys, "load")
    call(keys, "open_create")
    call(keys, "create_key", {"name": "fast", "scopes": ["stock:read"], "rate": "600/m",
                              "burst": "100"})
    assert keys.dialog == "secret" and "client_id" in keys.secret_note
    listed = next(item for item in keys.keys if item.name == "fast")
    assert listed.limit == "10/s · burst 100"
    call(keys, "on_dialog_change", False)
    call(keys, "open_create")
    call(keys, "create_key", {"name": "plain", "scopes": ["stock:read"], "rate": "",
                              "burst": ""})
    assert next(item for item in keys.keys if item.name == "plain").limit == "20/s · burst 40"
    with transaction(world.engine) as session:
        stored = {k.name: (k.rate_per_second, k.burst) for k in session.scalars(select(ApiKey))}
    assert stored["fast"] == (10.0, 100) and stored["plain"] == (20.0, 40)


def test_bad_limits_are_refused_in_the_dialog_and_nothing_is_created(world):  # noqa: F811
    keys = page_state(AdminApiKeysState, world.tokens["admin"])
    call(keys, "load")
    for rate, burst, says in (("fast", "", "not a rate"), ("", "lots", "whole number"),
                              ("", "0", "Burst must be"), ("99999/s", "", "at most")):
        call(keys, "open_create")
        call(keys, "create_key", {"name": "k", "scopes": ["stock:read"], "rate": rate,
                                  "burst": burst})
        assert keys.dialog == "create" and says in keys.form_error, keys.form_error
    with transaction(world.engine) as session:
        assert session.scalar(select(ApiKey).where(ApiKey.name == "k")) is None


def test_a_non_admin_cannot_create_a_key_with_any_limit(world):  # noqa: F811
    keys = page_state(AdminApiKeysState, world.tokens["merchandiser"], dialog="create")
    call(keys, "create_key", {"name": "sneaky", "scopes": ["stock:read"], "rate": "10000/s",
                              "burst": "100000"})
    with transaction(world.engine) as session:
        assert session.scalar(select(ApiKey).where(ApiKey.name == "sneaky")) is None
