"""Secrets shown once (a new API key, a temporary password, a poll's webhook secret) are
never in a state pickle — what Reflex writes to `.states/` or Redis after each event —
and are gone from the state once their dialog closes (issue 15)."""

from __future__ import annotations

import pickle
from typing import Any

from dashboard.states.admin_api_keys import AdminApiKeysState
from dashboard.states.admin_users import AdminUsersState
from dashboard.states.demand import DemandState
from dashboard.states.one_time import OneTimeSecrets
from tests.dashboard import test_admin_states as admin
from tests.dashboard import test_analytics_states as analytics
from tests.dashboard.test_admin_states import world  # noqa: F401  (fixture)
from tests.dashboard.test_analytics_states import shop  # noqa: F401  (fixture)


def assert_wraps_pickling(state_cls: type) -> None:
    """`OneTimeSecrets` comes before every Reflex state class in the state's MRO (only
    state mixins may come first), so that its __getstate__ wraps Reflex's pickling."""
    mro = state_cls.__mro__
    ahead = mro[1 : mro.index(OneTimeSecrets)]
    assert all(getattr(base, "_mixin", False) for base in ahead), ahead


def assert_never_pickled(state: Any, field: str) -> str:
    """The secret is in the live state (the dialog shows it) but in no pickle of it."""
    secret = getattr(state, field)
    assert len(secret) >= 12
    assert secret.encode() not in state._serialize()  # what the state managers write
    assert secret.encode() not in pickle.dumps(state)
    restored = type(state)._deserialize(state._serialize())
    assert getattr(restored, field) == "" and restored.dialog == state.dialog
    return secret


def test_a_new_api_key_is_never_pickled_and_gone_when_its_dialog_closes(world):  # noqa: F811
    keys = admin.page_state(AdminApiKeysState, world.tokens["admin"])
    admin.call(keys, "load")
    admin.call(keys, "open_create")
    admin.call(keys, "create_key", {"name": "pos", "scopes": ["stock:read"]})
    assert keys.dialog == "secret"
    secret = assert_never_pickled(keys, "new_secret")
    assert secret.startswith("rr_")

    admin.call(keys, "on_dialog_change", False)
    assert keys.new_secret == "" and secret.encode() not in pickle.dumps(keys)


def test_a_temporary_password_is_never_pickled_and_gone_when_its_dialog_closes(world):  # noqa: F811
    users = admin.page_state(AdminUsersState, world.tokens["admin"])
    admin.call(users, "load")
    admin.call(users, "confirm_reset", world.ids["merchandiser"])
    admin.call(users, "reset_password")
    assert users.dialog == "password"
    password = assert_never_pickled(users, "new_secret")

    admin.call(users, "on_dialog_change", False)
    assert users.new_secret == "" and password.encode() not in pickle.dumps(users)


def test_a_polls_webhook_secret_is_never_pickled_and_gone_when_its_dialog_closes(shop):  # noqa: F811
    state = analytics.page_state(DemandState, shop.tokens["manager"], "/demand")
    analytics.call(state, "load")
    analytics.call(state, "open_create")
    form = {"question": "Which colour next?", "brand": "SOLS", "label_0": "Navy",
            "kind_0": "colour", "value_0": "Navy"}  # fmt: skip
    analytics.call(state, "create_poll", form)
    assert state.dialog == "created"
    secret = assert_never_pickled(state, "webhook_secret")
    assert secret.startswith("whsec_")

    analytics.call(state, "on_dialog_change", False)
    assert state.webhook_secret == "" and secret.encode() not in pickle.dumps(state)


def test_every_state_showing_a_secret_once_names_it():
    for state_cls, field in (
        (AdminApiKeysState, "new_secret"),
        (AdminUsersState, "new_secret"),
        (DemandState, "webhook_secret"),
    ):
        assert issubclass(state_cls, OneTimeSecrets)
        assert_wraps_pickling(state_cls)
        assert (field,) == state_cls.ONE_TIME_SECRETS and field in state_cls.base_vars
