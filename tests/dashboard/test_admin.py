"""Admin operations on SQLite and PostgreSQL: accounts, roles, warehouses, key lists."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.admin import (
    add_brand,
    add_warehouse,
    brand_choices,
    create_account,
    list_api_key_rows,
    list_brands,
    list_users,
    list_warehouses,
    parse_priority,
    reset_password,
    revoke_key,
    set_role,
    set_user_active,
    set_warehouse_active,
    update_warehouse,
)
from models.api_keys import create_api_key, revoke_api_key
from models.catalog import Warehouse, create_brand
from models.db import transaction
from models.errors import AuthenticationFailed, Conflict, InvalidQuantity, NotFound
from models.users import (
    LoginSession,
    User,
    authenticate,
    create_user,
    start_login_session,
    user_for_token,
)


@pytest.fixture
def people(engine):
    """Two brands, one admin (id returned), one merchandiser."""
    with transaction(engine) as session:
        create_brand(session, "NORTH", "Northwind")
        create_brand(session, "SOLS", "Solstice")
        admin = create_user(session, "ada@x.test", "admin-password", "admin", name="Ada")
        merch = create_user(session, "max@x.test", "merch-password", "merchandiser", name="Max")
        return admin.id, merch.id


def test_created_account_gets_a_temporary_password_that_works_once_shown(engine, people):
    with transaction(engine) as session:
        user, password = create_account(
            session, "Val@Solstice.test", "vendor", name="Val", brand_code="sols"
        )
        assert user.brand_id is not None
    assert len(password) >= 12
    assert authenticate("val@solstice.test", password, engine=engine).role == "vendor"
    with transaction(engine) as session:
        stored = session.scalar(select(User).where(User.email == "val@solstice.test"))
        assert password not in stored.password_hash


def test_account_input_is_checked_with_messages_that_name_the_field(engine, people):
    cases = [
        (("v@x.test", "vendor"), {}, InvalidQuantity, "brand"),
        (("v@x.test", "overlord"), {}, InvalidQuantity, "role"),
        (("not-an-email", "manager"), {}, InvalidQuantity, "email"),
        (("m@x.test", "manager"), {"name": "x" * 201}, InvalidQuantity, "name"),
        (("ada@x.test", "manager"), {}, Conflict, "email"),
        (("v@x.test", "vendor"), {"brand_code": "NOPE"}, NotFound, "brand"),
    ]
    for args, kwargs, error, field in cases:
        with pytest.raises(error) as raised, transaction(engine) as session:
            create_account(session, *args, **kwargs)
        assert field in raised.value.details or raised.value.details.get("field") == field
        assert raised.value.message
    with transaction(engine) as session:
        assert list_users(session).total == 2


def test_users_list_searches_filters_and_pages(engine, people):
    with transaction(engine) as session:
        for i in range(30):
            create_user(session, f"user{i:02}@x.test", "long enough", "manager", name=f"U{i:02}")
        create_user(session, "v@x.test", "long enough", "vendor", brand_code="NORTH", name="Vee")
    with transaction(engine) as session:
        first = list_users(session, limit=25)
        assert (len(first.rows), first.total) == (25, 33)
        assert [r.name for r in first.rows[:2]] == ["Ada", "Max"]
        rest = list_users(session, offset=25, limit=25)
        assert len(rest.rows) == 8
        assert list_users(session, role="vendor").rows[0].brand_name == "Northwind"
        assert [r.email for r in list_users(session, search="ADA").rows] == ["ada@x.test"]
        # LIKE metacharacters are matched literally.
        assert list_users(session, search="%").total == 0
        assert list_users(session, search="_").total == 0


def test_role_changes_and_vendor_brand(engine, people):
    admin_id, merch_id = people
    with pytest.raises(InvalidQuantity), transaction(engine) as session:
        set_role(session, merch_id, "vendor", actor_id=admin_id)
    with transaction(engine) as session:
        user = set_role(session, merch_id, "vendor", brand_code="SOLS", actor_id=admin_id)
        assert user.role == "vendor" and user.brand_id is not None
    with transaction(engine) as session:
        user = set_role(session, merch_id, "manager", brand_code="SOLS", actor_id=admin_id)
        assert user.role == "manager" and user.brand_id is None  # brands bind vendors only
    with pytest.raises(NotFound), transaction(engine) as session:
        set_role(session, 9999, "manager")


def test_rackroom_always_keeps_an_active_admin(engine, people):
    admin_id, merch_id = people
    with pytest.raises(Conflict, match="only active admin"), transaction(engine) as session:
        set_role(session, admin_id, "manager")
    with pytest.raises(Conflict, match="only active admin"), transaction(engine) as session:
        set_user_active(session, admin_id, False)
    with pytest.raises(Conflict, match="own role"), transaction(engine) as session:
        set_role(session, admin_id, "manager", actor_id=admin_id)
    with pytest.raises(Conflict, match="own account"), transaction(engine) as session:
        set_user_active(session, admin_id, False, actor_id=admin_id)
    # With a second admin, the first may be demoted (by someone else).
    with transaction(engine) as session:
        set_role(session, merch_id, "admin", actor_id=admin_id)
    with transaction(engine) as session:
        assert set_role(session, admin_id, "manager", actor_id=merch_id).role == "manager"
    with transaction(engine) as session:
        assert session.get(User, admin_id).role == "manager"


def test_deactivating_ends_sessions_and_blocks_login(engine, people):
    admin_id, merch_id = people
    with transaction(engine) as session:
        token = start_login_session(session, session.get(User, merch_id))
    with transaction(engine) as session:
        set_user_active(session, merch_id, False, actor_id=admin_id)
    with transaction(engine) as session:
        assert user_for_token(session, token) is None
        assert session.scalar(select(LoginSession).where(LoginSession.user_id == merch_id)) is None
    with pytest.raises(AuthenticationFailed):
        authenticate("max@x.test", "merch-password", engine=engine)
    with transaction(engine) as session:
        assert set_user_active(session, merch_id, True, actor_id=admin_id).is_active
    assert authenticate("max@x.test", "merch-password", engine=engine).id == merch_id


def test_reset_password_replaces_it_and_ends_sessions(engine, people):
    _, merch_id = people
    with pytest.raises(AuthenticationFailed):
        authenticate("max@x.test", "wrong", engine=engine)
    with transaction(engine) as session:
        token = start_login_session(session, session.get(User, merch_id))
    with transaction(engine) as session:
        _, password = reset_password(session, merch_id)
    with transaction(engine) as session:
        assert user_for_token(session, token) is None
        assert session.get(User, merch_id).failed_logins == 0
    with pytest.raises(AuthenticationFailed):
        authenticate("max@x.test", "merch-password", engine=engine)
    assert authenticate("max@x.test", password, engine=engine).id == merch_id


def test_brands_list_with_counts_and_creation_checks(engine, people):
    with transaction(engine) as session:
        create_user(session, "v@x.test", "long enough", "vendor", brand_code="SOLS")
        add_brand(session, "aurora", "Aurora Outdoor")
    with transaction(engine) as session:
        page = list_brands(session)
        assert [(r.code, r.vendors) for r in page.rows] == [
            ("AURORA", 0),
            ("NORTH", 0),
            ("SOLS", 1),
        ]
        assert brand_choices(session)[0] == ("AURORA", "Aurora Outdoor")
    for code, name, error in (
        ("", "Name", InvalidQuantity),
        ("X" * 33, "Name", InvalidQuantity),
        ("OK", "", InvalidQuantity),
        ("bad code!", "Name", Conflict),
        ("north", "Again", Conflict),
    ):
        with pytest.raises(error), transaction(engine) as session:
            add_brand(session, code, name)


def test_warehouses_create_edit_and_deactivate(engine, people):
    with transaction(engine) as session:
        ldn = add_warehouse(session, "ldn", "London DC", kind="warehouse", priority="10")
        add_warehouse(session, "MCR", "Manchester", kind="store", priority=" 20 ")
    for kwargs, field in (
        ({"kind": "shed", "priority": 1}, "kind"),
        ({"kind": "store", "priority": "ten"}, "priority"),
        ({"kind": "store", "priority": -1}, "priority"),
        ({"kind": "store", "priority": 10_001}, "priority"),
    ):
        with pytest.raises(InvalidQuantity) as raised, transaction(engine) as session:
            add_warehouse(session, "BAD", "Bad", **kwargs)
        assert raised.value.details["field"] == field
    with transaction(engine) as session:
        update_warehouse(session, ldn.id, name="London Hub", kind="warehouse", priority=30)
        set_warehouse_active(session, ldn.id, False)
    with transaction(engine) as session:
        rows = list_warehouses(session).rows
        assert [(r.code, r.name, r.priority, r.is_active) for r in rows] == [
            ("MCR", "Manchester", 20, True),
            ("LDN", "London Hub", 30, False),
        ]
        assert session.scalar(select(Warehouse).where(Warehouse.code == "BAD")) is None
    assert parse_priority("0") == 0


def test_api_key_rows_show_prefix_brand_and_state_never_the_secret(engine, people):
    with transaction(engine) as session:
        _, secret = create_api_key(session, "shop", ["stock:read"], brand_code="NORTH")
        create_api_key(session, "old", ["stock:write"])
        revoke_api_key(session, "old")
    with transaction(engine) as session:
        rows = list_api_key_rows(session).rows
    assert [(r.name, r.brand_name, r.revoked_at is None) for r in rows] == [
        ("shop", "Northwind", True),
        ("old", "", False),
    ]
    assert secret.startswith(rows[0].prefix) and secret != rows[0].prefix
    assert all(secret not in repr(row) for row in rows)
    with transaction(engine) as session:
        first = revoke_key(session, rows[0].id).revoked_at
    with transaction(engine) as session:
        assert revoke_key(session, rows[0].id).revoked_at == first  # idempotent
    with pytest.raises(NotFound), transaction(engine) as session:
        revoke_key(session, 9999)


def test_a_warehouse_place_from_the_dialog_is_checked_kept_and_cleared(engine, people):
    with transaction(engine) as session:
        ldn = add_warehouse(
            session, "LDN", "London", kind="warehouse", priority="10", country=" gb ",
            lat="51.5074", lon="-0.1278",
        )  # fmt: skip
    for place_form, field in (
        ({"country": "XX"}, "country"),
        ({"country": "GB", "lat": "95", "lon": "0"}, "lat"),
        ({"country": "GB", "lat": "51", "lon": "east"}, "lon"),
        ({"country": "", "lat": "51", "lon": "0"}, "country"),
    ):
        with pytest.raises(InvalidQuantity) as raised, transaction(engine) as session:
            update_warehouse(
                session, ldn.id, name="Renamed", kind="warehouse", priority=10, **place_form
            )
        assert raised.value.details["field"] == field
    with transaction(engine) as session:
        update_warehouse(session, ldn.id, name="London Hub", kind="warehouse", priority=10)
        (row,) = list_warehouses(session).rows
        assert (row.name, row.country, row.latitude, row.longitude) == (
            "London Hub", "GB", 51.5074, -0.1278,
        )  # fmt: skip
        update_warehouse(
            session, ldn.id, name="London Hub", kind="warehouse", priority=10, country=""
        )
        (row,) = list_warehouses(session).rows
        assert (row.country, row.latitude) == (None, None)
