"""The admin pages' state handlers, called directly (no browser), as each role.

Reflex lets a state class be constructed under pytest; its handlers are then plain
coroutines. Any client can send any event, so these tests call every handler the way a
tampered client could: as a merchandiser, a manager, a vendor, a demoted admin and a
signed-out visitor, with the state primed as if an admin's dialog were open. Each
refusal must leave the database and the page's state exactly as they were, and say
why. The same handlers called as an admin do change things, which shows the refusals
are not vacuous.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import reflex as rx
from sqlalchemy import Engine, select, text

from dashboard.states.admin_api_keys import AdminApiKeysState, ApiKeyItem
from dashboard.states.admin_brands import AdminBrandsState, BrandItem
from dashboard.states.admin_channels import AdminChannelsState, ChannelItem
from dashboard.states.admin_users import AdminUsersState, UserItem
from dashboard.states.admin_warehouses import AdminWarehousesState, WarehouseItem
from dashboard.states.auth import Access, AuthState, RoleGuard, SessionUser, refusal_reason
from dashboard.states.overview import OverviewState
from models.api_keys import create_api_key
from models.catalog import Brand, create_brand, create_warehouse
from models.channels import create_channel
from models.db import set_default_engine, transaction
from models.users import ApiKey, Role, User, create_user, start_login_session
from tests.dashboard.items import item
from tests.signin import sign_in_state

#: The tables an admin handler could change.
TABLES = ("app_user", "login_session", "api_key", "brand", "warehouse", "channel", "audit_log")


@dataclasses.dataclass
class World:
    engine: Engine
    tokens: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def world(sqlite_engine: Engine) -> Iterator[World]:
    """One user per role (each signed in), a brand, a warehouse and a live API key; the
    dashboard's own DB calls go to this database."""
    set_default_engine(sqlite_engine)
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    with transaction(sqlite_engine) as session:
        ids["brand"] = create_brand(session, "NORTH", "Northwind").id
        ids["warehouse"] = create_warehouse(session, "LDN", "London", priority=10).id
        ids["channel"] = create_channel(session, "web", "Web", warehouses="LDN").id
        for role in Role:
            user = create_user(
                session,
                f"{role.value}@x.test",
                "long enough",
                role,
                brand_code="NORTH" if role is Role.VENDOR else None,
            )
            ids[role.value] = user.id
            tokens[role.value] = start_login_session(session, user)
        key, _ = create_api_key(session, "shop", ["stock:read"])
        ids["key"] = key.id
    yield World(sqlite_engine, tokens, ids)
    set_default_engine(None)


def db_snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in TABLES
        }


def page_state(state_cls: type[rx.State], token: str, **preset: Any) -> rx.State:
    """A fresh state tree for one browser tab whose session cookie holds `token`."""
    root = rx.State(_reflex_internal_init=True)
    sign_in_state(root, token)
    state = root._get_state_from_cache(state_cls)
    for name, value in preset.items():
        setattr(state, name, value)
    state.dirty_vars.clear()
    return state


def call(state: rx.State, handler: str, *args: Any) -> Any:
    result = getattr(state, handler)(*args)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def rendered(events: Any) -> str:
    """The JavaScript of the events a handler returned, to look for messages in."""
    events = events if isinstance(events, list) else [events]
    return " ".join(str(value) for event in events if event for _, value in event.args)


def fields(state: rx.State) -> dict[str, Any]:
    return {name: getattr(state, name) for name in state.base_vars}


# What a tampered client could send to each handler, and the state it could be in: the
# dialogs primed so that, were the check missing, the handler would change data.
def _user_item(world: World, role: str) -> UserItem:
    return item(UserItem, id=world.ids[role], email=f"{role}@x.test", role=role, role_label=role)


def user_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    target = world.ids["admin"]
    listed = {"users": [_user_item(world, "admin"), _user_item(world, "merchandiser")]}
    armed = {**listed, "target_id": target, "form_role": "vendor", "form_brand": "NORTH"}
    return {
        "load": ((), {}),
        "apply_filters": (({"q": "a", "role": "admin"},), {}),
        "clear_filters": ((), {}),
        "filter_role": (("admin",), {}),
        "open_create": ((), {}),
        "create_user": (({"email": "new@x.test", "name": "New"},), armed),
        "open_access": ((target,), listed),
        "save_access": (({"role": "vendor", "brand": "NORTH"},), {**armed, "dialog": "access"}),
        "confirm_active": ((target, False), listed),
        "set_active": ((), {**armed, "dialog": "deactivate"}),
        "confirm_reset": ((target,), listed),
        "reset_password": ((), {**armed, "dialog": "reset"}),
    }


def brand_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    bid = world.ids["brand"]
    listed = {"brands": [item(BrandItem, id=bid, code="NORTH", name="Northwind")]}
    armed = {**listed, "target_id": bid}
    return {
        "load": ((), {}),
        "open_create": ((), {}),
        "create_brand": (({"code": "NEW", "name": "New"},), {"dialog": "create"}),
        "open_edit": ((bid,), listed),
        "save_brand": (({"name": "Hacked", "size_hint": "waist"},), {**armed, "dialog": "edit"}),
    }


def warehouse_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    wid = world.ids["warehouse"]
    london = item(WarehouseItem, id=wid, code="LDN", name="London", kind="warehouse")
    listed = {"warehouses": [london]}
    armed = {**listed, "target_id": wid, "form_kind": "store"}
    return {
        "load": ((), {}),
        "open_create": ((), {}),
        "create_warehouse": (({"code": "NEW", "name": "New", "priority": "5"},), armed),
        "open_edit": ((wid,), listed),
        "save_warehouse": (({"name": "Hacked", "priority": "1"},), {**armed, "dialog": "edit"}),
        "confirm_active": ((wid, False), listed),
        "set_active": ((), {**armed, "dialog": "deactivate"}),
    }


def channel_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    cid = world.ids["channel"]
    listed = {"channels": [item(ChannelItem, id=cid, code="web", name="Web", warehouses=["LDN"])]}
    armed = {**listed, "target_id": cid, "form_strategy": "nearest"}
    form = {"code": "NEW", "name": "New", "warehouses": "LDN", "allow_split": "on"}
    return {
        "load": ((), {}),
        "open_create": ((), {}),
        "create_channel": ((form,), {**armed, "dialog": "create"}),
        "open_edit": ((cid,), listed),
        "save_channel": (({"name": "Hacked", "warehouses": ""},), {**armed, "dialog": "edit"}),
        "confirm_active": ((cid, False), listed),
        "set_active": ((), {**armed, "dialog": "deactivate"}),
    }


def key_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    kid = world.ids["key"]
    listed = {"keys": [item(ApiKeyItem, id=kid, name="shop")]}
    return {
        "load": ((), {}),
        "open_create": ((), {}),
        "create_key": (({"name": "evil", "scopes": ["stock:write"]},), {"dialog": "create"}),
        "confirm_revoke": ((kid,), listed),
        "revoke_key": ((), {**listed, "target_id": kid, "dialog": "revoke"}),
    }


#: Handlers that only open/close a dialog or hold a picker's value: no data is read or
#: written, so they need no check. Any other handler must be covered above.
UI_ONLY = {
    AdminUsersState: {"on_dialog_change", "set_form_role", "set_form_brand"},
    AdminBrandsState: {"on_dialog_change"},
    AdminWarehousesState: {"on_dialog_change", "set_form_kind"},
    AdminChannelsState: {"on_dialog_change", "set_form_strategy"},
    AdminApiKeysState: {"on_dialog_change", "set_form_brand"},
}
CALLS = {
    AdminUsersState: user_calls,
    AdminBrandsState: brand_calls,
    AdminWarehousesState: warehouse_calls,
    AdminChannelsState: channel_calls,
    AdminApiKeysState: key_calls,
}
STATES = list(CALLS)


@pytest.mark.parametrize("state_cls", STATES, ids=lambda c: c.__name__)
def test_every_handler_is_either_checked_or_ui_only(state_cls, world):
    # set_per_page (the pager) only redirects to the same page with another size.
    handlers = set(state_cls.event_handlers) - {"setvar", "set_per_page"}
    assert handlers == set(CALLS[state_cls](world)) | UI_ONLY[state_cls]
    # The permission helpers are not themselves events a browser could call.
    assert not {"require", "require_role", "_check"} & set(state_cls.event_handlers)
    assert issubclass(state_cls, RoleGuard)


@pytest.mark.parametrize("role", ["merchandiser", "manager", "vendor"])
@pytest.mark.parametrize("state_cls", STATES, ids=lambda c: c.__name__)
def test_non_admins_change_nothing_and_are_told_why(state_cls, role, world):
    before = db_snapshot(world.engine)
    for handler, (args, preset) in CALLS[state_cls](world).items():
        state = page_state(state_cls, world.tokens[role], **preset)
        state_before = fields(state)

        result = call(state, handler, *args)

        assert db_snapshot(world.engine) == before, f"{handler} changed the database"
        assert fields(state) == state_before, f"{handler} changed the page state"
        if handler == "load":
            assert result == []  # the page itself shows "no access"
        else:
            assert "You don't have permission to" in rendered(result), handler


@pytest.mark.parametrize("state_cls", STATES, ids=lambda c: c.__name__)
def test_signed_out_callers_are_sent_to_login_and_change_nothing(state_cls, world):
    before = db_snapshot(world.engine)
    for token in ("", "forged-token"):
        for handler, (args, preset) in CALLS[state_cls](world).items():
            state = page_state(state_cls, token, **preset)
            state_before = fields(state)
            result = call(state, handler, *args)
            assert db_snapshot(world.engine) == before, handler
            assert fields(state) == state_before, handler
            assert '"/login' in rendered(result), handler


def test_a_demoted_admin_is_refused_at_the_next_click(world):
    state = page_state(AdminUsersState, world.tokens["admin"])
    assert call(state, "open_create") is None
    assert state.dialog == "create"
    # Another admin demotes them while the dialog is open.
    with transaction(world.engine) as session:
        session.get(User, world.ids["admin"]).role = "manager"
    before = db_snapshot(world.engine)

    result = call(state, "create_user", {"email": "late@x.test"})

    assert "You don't have permission to manage users." in rendered(result)
    assert db_snapshot(world.engine) == before
    auth = state.parent_state._get_state_from_cache(AuthState)
    assert auth.user_role == "manager"  # the top bar (and Admin sidebar) follow at once


def test_admins_handlers_do_change_things(world):
    """The control: the same calls as an admin create, revoke and deactivate."""
    admin = world.tokens["admin"]
    users = page_state(AdminUsersState, admin)
    assert call(users, "load") is None
    assert {u.email for u in users.users} >= {"admin@x.test", "vendor@x.test"}
    assert users.summary == "4 users"

    call(users, "open_create")
    call(users, "set_form_role", "vendor")
    call(users, "create_user", {"email": "val@x.test", "name": "Val"})
    assert users.form_error == "Pick the brand this vendor belongs to."
    call(users, "set_form_brand", "NORTH")
    result = call(users, "create_user", {"email": "val@x.test", "name": "Val"})
    assert "Created val@x.test as vendor" in rendered(result)
    assert users.dialog == "password" and len(users.new_secret) >= 12
    call(users, "on_dialog_change", False)
    assert users.new_secret == ""  # the temporary password is shown once, then gone

    call(users, "confirm_active", world.ids["admin"], False)
    assert call(users, "set_active") is None  # refused by the domain: inline, not a toast
    assert users.form_error == "You can't deactivate your own account."

    keys = page_state(AdminApiKeysState, admin)
    call(keys, "load")
    call(keys, "open_create")
    call(keys, "create_key", {"name": "pos", "scopes": ["stock:read", "stock:write"]})
    assert keys.dialog == "secret" and keys.new_secret.startswith("rr_")
    secret = keys.new_secret
    assert all(secret not in repr(item) for item in keys.keys)
    assert any(item.prefix.rstrip("…") == secret[:10] for item in keys.keys)
    call(keys, "confirm_revoke", world.ids["key"])
    call(keys, "revoke_key")
    with transaction(world.engine) as session:
        revoked = session.scalar(select(ApiKey).where(ApiKey.name == "shop")).revoked_at
        assert revoked is not None
        vendor = session.scalar(select(User).where(User.email == "val@x.test"))
        assert vendor.role == "vendor" and vendor.brand_id is not None


def test_an_admin_gives_a_brand_a_size_system_and_a_bad_one_is_refused(world):
    brands = page_state(AdminBrandsState, world.tokens["admin"])
    call(brands, "load")
    north = brands.brands[0]
    assert (north.size_hint, north.size_hint_label) == ("auto", "Auto")

    call(brands, "open_edit", north.id)
    assert (brands.dialog, brands.form_name, brands.form_hint) == ("edit", "Northwind", "auto")
    result = call(brands, "save_brand", {"name": "Northwind Shoes", "size_hint": "eu_shoe"})
    assert "Saved Northwind Shoes (NORTH)" in rendered(result) and brands.dialog == ""
    assert (brands.brands[0].size_hint_label, brands.brands[0].name) == (
        "EU shoes",
        "Northwind Shoes",
    )

    call(brands, "open_create")
    assert brands.form_hint == "auto"
    call(brands, "create_brand", {"code": "jeans", "name": "Jeans Co", "size_hint": "waist"})
    with transaction(world.engine) as session:
        hints = dict(session.execute(select(Brand.code, Brand.size_system_hint)).all())
    assert hints == {"NORTH": "eu_shoe", "JEANS": "waist"}

    call(brands, "open_edit", north.id)
    assert brands.form_hint == "eu_shoe"
    # Not one of the choices (a tampered client): refused inline, nothing saved.
    call(brands, "save_brand", {"name": "Northwind", "size_hint": "shoes"})
    assert "Unknown size system 'shoes'" in brands.form_error and brands.dialog == "edit"
    with transaction(world.engine) as session:
        assert session.get(Brand, north.id).size_system_hint == "eu_shoe"


def test_refusal_reasons_and_access_truthiness():
    admin = SessionUser(1, "a@x.test", "A", "admin", None, "")
    vendor = SessionUser(2, "v@x.test", "V", "vendor", 7, "North")
    assert refusal_reason(admin, "admin.users") == ""
    assert refusal_reason(vendor, "admin.users") == "You don't have permission to manage users."
    assert refusal_reason(vendor, "stock.read") == ""
    assert refusal_reason(None, "stock.read").startswith("Your session has ended")
    temporary = dataclasses.replace(admin, must_change_password=True)
    assert refusal_reason(temporary, "admin.users").startswith("Choose a new password first")
    assert refusal_reason(temporary, "account.password") == ""
    assert Access(admin)
    assert not Access(vendor, "no")


def test_overview_uses_the_same_guard():
    assert issubclass(OverviewState, RoleGuard)


def test_paging_lives_in_the_url_and_survives_bad_page_numbers(world):
    from dashboard.states.listing import fetch_page, page_number
    from models.admin import PAGE_SIZE, list_users
    from models.db import read_session

    with transaction(world.engine) as session:
        for i in range(PAGE_SIZE + 5):
            create_user(session, f"u{i:02}@x.test", "long enough", "manager")
    assert [page_number(p) for p in ({}, {"page": "2"}, {"page": "-3"}, {"page": "x"})] == [
        1,
        2,
        1,
        1,
    ]
    assert page_number({"page": "9" * 40}) == 100_000
    with read_session(world.engine) as session:
        last = fetch_page(session, list_users, 100_000)  # past the end: the last page
    assert (last.offset, len(last.rows), last.total) == (PAGE_SIZE, 9, PAGE_SIZE + 9)

    state = page_state(AdminUsersState, world.tokens["admin"], search="u", role_filter="manager")
    state._show_paging(last, "/admin/users", {"q": "u", "role": "manager"})
    assert state.range_label == "26–34 of 34"
    assert state.previous_href == "/admin/users?q=u&role=manager"
    assert state.next_href == ""
