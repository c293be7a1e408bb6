"""The audit log: each administrative change writes one entry naming who, what and the
target, in the change's own transaction, never with a secret in it; the database refuses
to change or remove an entry; the admin page and its CSV export are for admins only."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from dashboard import routes
from dashboard.states.admin_audit import AdminAuditState
from dashboard.states.auth import SESSION_COOKIE
from models.admin import (
    add_brand,
    add_warehouse,
    create_account,
    reset_password,
    revoke_key,
    set_role,
    set_user_active,
    set_warehouse_active,
    update_warehouse,
)
from models.alerts.rules import delete_rule, set_rule
from models.api_keys import create_api_key
from models.audit import AuditEntry, AuditFilter, list_audit, record
from models.brands import update_brand
from models.db import create_db_engine, transaction
from models.errors import Conflict, InvalidQuantity
from models.syncs.connectors import pause_sync, set_connector
from models.users import ApiKey, User, create_user
from models.webhooks import create_endpoint, rotate_secret, set_enabled
from tests.api_support import serve_api
from tests.dashboard.test_admin_states import (  # noqa: F401 (the `world` fixture)
    call,
    fields,
    page_state,
    rendered,
    world,
)
from tests.factories import make_world


def entries(engine) -> list[AuditEntry]:
    with transaction(engine) as session:
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        session.expunge_all()
        return rows


def dumped(rows: list[AuditEntry]) -> str:
    return json.dumps(
        [[r.actor, r.action, r.target_type, r.target_label, r.changes] for r in rows],
        default=str,
    )


@pytest.fixture
def admin_world(sqlite_engine):
    """A brand with a warehouse and variants, and an admin who makes the changes."""
    shop = make_world(sqlite_engine)
    with transaction(sqlite_engine) as session:
        admin = create_user(session, "boss@x.test", "long enough", "admin")
        other = create_user(session, "deputy@x.test", "long enough", "admin")
        ids = {"admin": admin.id, "deputy": other.id}
    return sqlite_engine, shop, ids


def test_user_changes_name_the_actor_and_old_and_new_values_but_no_password(admin_world):
    engine, _shop, ids = admin_world
    me = "boss@x.test"
    with transaction(engine) as session:
        user, password = create_account(session, "pat@x.test", "merchandiser", actor=me)
        uid = user.id
    with transaction(engine) as session:
        set_role(session, uid, "vendor", brand_code="NRD", actor_id=ids["admin"], actor=me)
    with transaction(engine) as session:
        set_role(session, uid, "vendor", brand_code="NRD", actor=me)  # no change: no entry
        set_user_active(session, uid, False, actor=me)
    with transaction(engine) as session:
        _, new_password = reset_password(session, uid, actor=me)

    rows = entries(engine)
    assert [(r.actor, r.action, r.target_type, r.target_id, r.target_label) for r in rows] == [
        (me, "user.created", "user", str(uid), "pat@x.test"),
        (me, "user.role_changed", "user", str(uid), "pat@x.test"),
        (me, "user.deactivated", "user", str(uid), "pat@x.test"),
        (me, "user.password_reset", "user", str(uid), "pat@x.test"),
    ]
    assert rows[1].changes == {
        "role": {"old": "merchandiser", "new": "vendor"},
        "brand": {"old": None, "new": "NRD"},
    }
    assert rows[0].changes == {"role": "merchandiser", "brand": None, "password": "secret set"}
    assert rows[3].changes == {"password": "secret replaced"}
    text_ = dumped(rows)
    for secret in (password, new_password):
        assert secret not in text_
    with transaction(engine) as session:
        assert session.get(User, uid).password_hash[:20] not in text_


def test_a_refused_change_leaves_no_entry(admin_world):
    engine, _shop, ids = admin_world
    with pytest.raises(Conflict), transaction(engine) as session:
        set_role(session, ids["admin"], "manager", actor_id=ids["admin"], actor="boss@x.test")
    with pytest.raises(InvalidQuantity), transaction(engine) as session:
        add_brand(session, "", "Nameless", actor="boss@x.test")
    assert entries(engine) == []


def test_brand_and_warehouse_changes(admin_world):
    engine, shop, _ = admin_world
    me = "boss@x.test"
    with transaction(engine) as session:
        brand = add_brand(session, "sth", "Southwind", actor=me)
        wh = add_warehouse(session, "MAN", "Manchester", kind="store", priority="40", actor=me)
    with transaction(engine) as session:
        update_warehouse(
            session, wh.id, name="Manchester Arndale", kind="store", priority=5, actor=me
        )
        set_warehouse_active(session, shop.warehouses["WH2"], False, actor=me)
        update_brand(session, brand.id, {"size_hint": "eu_shoe"}, actor=me)
        update_brand(session, brand.id, {"name": "Southwind", "size_hint": "eu-shoe"}, actor=me)

    rows = entries(engine)
    assert [(r.action, r.target_label) for r in rows] == [
        ("brand.created", "STH"),
        ("warehouse.created", "MAN"),
        ("warehouse.updated", "MAN"),
        ("warehouse.updated", "WH2"),
        ("brand.updated", "STH"),  # the second update changed nothing: no row
    ]
    assert rows[0].target_id == str(brand.id)
    assert rows[0].changes == {"code": "STH", "name": "Southwind", "size_system_hint": None}
    assert rows[4].changes == {"size_system_hint": {"old": None, "new": "eu_shoe"}}
    assert rows[2].changes == {
        "name": {"old": "Manchester", "new": "Manchester Arndale"},
        "priority": {"old": 40, "new": 5},
    }
    assert rows[3].changes == {"is_active": {"old": True, "new": False}}
    assert {r.actor for r in rows} == {me}


def test_api_keys_are_recorded_without_their_secret_or_hash(admin_world):
    engine, _shop, _ = admin_world
    with transaction(engine) as session:
        key, secret = create_api_key(
            session, "till", ["stock:read"], brand_code="nrd", actor="boss@x.test"
        )
        key_hash, key_id = key.key_hash, key.id
    with transaction(engine) as session:
        revoke_key(session, key_id, actor="deputy@x.test")
        revoke_key(session, key_id, actor="deputy@x.test")  # twice: nothing more happened

    rows = entries(engine)
    assert [(r.actor, r.action, r.target_label) for r in rows] == [
        ("boss@x.test", "api_key.created", "till"),
        ("deputy@x.test", "api_key.revoked", "till"),
    ]
    assert rows[0].changes["scopes"] == ["stock:read"]
    assert rows[0].changes["brand"] == "NRD"
    text_ = dumped(rows)
    assert secret not in text_ and secret[10:] not in text_ and key_hash not in text_


def test_connector_tokens_are_never_recorded(admin_world):
    engine, _shop, _ = admin_world
    token, token2 = "tok-first-very-secret-1234", "tok-second-very-secret-5678"
    with transaction(engine) as session:
        set_connector(
            session,
            "NRD",
            style="json",
            url="https://brand.example/api",
            token=token,
            actor="boss@x.test",
        )
    with transaction(engine) as session:
        set_connector(session, "NRD", token=token2, every="30m", actor="boss@x.test")
        pause_sync(session, "NRD", actor="cli")

    rows = entries(engine)
    assert [(r.actor, r.action, r.target_label) for r in rows] == [
        ("boss@x.test", "connector.created", "NRD"),
        ("boss@x.test", "connector.updated", "NRD"),
        ("cli", "connector.updated", "NRD"),
    ]
    assert rows[0].changes["token"] == "secret set"
    assert rows[0].changes["url"] == {"old": None, "new": "https://brand.example/api"}
    assert rows[1].changes["token"] == "secret replaced"
    assert rows[1].changes["every_seconds"]["new"] == 1800
    assert rows[2].changes == {"paused": {"old": False, "new": True}}
    text_ = dumped(rows)
    assert token not in text_ and token2 not in text_


def test_webhooks_are_recorded_without_their_signing_secret(admin_world):
    engine, _shop, _ = admin_world
    with transaction(engine) as session:
        endpoint, secret = create_endpoint(
            session, "https://hooks.example/in", ["stock.*"], actor="api:shop"
        )
    with transaction(engine) as session:
        _, rotated = rotate_secret(session, endpoint.id, actor="cli")
        set_enabled(session, endpoint.id, False, reason="paused", actor="cli")

    rows = entries(engine)
    assert [(r.actor, r.action, r.target_type) for r in rows] == [
        ("api:shop", "webhook.created", "webhook"),
        ("cli", "webhook.secret_rotated", "webhook"),
        ("cli", "webhook.updated", "webhook"),
    ]
    assert rows[0].changes["secret"] == "secret set"
    assert rows[1].changes == {"secret": "secret replaced"}
    text_ = dumped(rows)
    assert secret not in text_ and rotated not in text_


def test_alert_rules_are_recorded_as_the_signed_in_user(admin_world):
    engine, shop, ids = admin_world
    with transaction(engine) as session:
        rule = set_rule(
            session,
            level="brand",
            subject_id=shop.brand_id,
            warehouse_id=None,
            threshold=3,
            actor_id=ids["admin"],
        )
        rule_id = rule.id
    with transaction(engine) as session:
        set_rule(
            session,
            level="brand",
            subject_id=shop.brand_id,
            warehouse_id=None,
            threshold=5,
            actor_id=ids["deputy"],
        )
    with transaction(engine) as session:
        delete_rule(session, rule_id, actor_id=ids["admin"])

    rows = entries(engine)
    assert [(r.actor, r.action, r.target_id) for r in rows] == [
        ("boss@x.test", "alert_rule.created", str(rule_id)),
        ("deputy@x.test", "alert_rule.updated", str(rule_id)),
        ("boss@x.test", "alert_rule.deleted", str(rule_id)),
    ]
    assert rows[1].changes == {"threshold": {"old": 3, "new": 5}}
    assert rows[0].target_label == f"brand #{shop.brand_id}, all warehouses"


def test_fields_named_like_secrets_are_replaced_whatever_the_caller_passes(sqlite_engine):
    with transaction(sqlite_engine) as session:
        record(
            session,
            "x",
            "test.secret",
            target_type="t",
            changes={
                "password": "hunter2",
                "api_key": "rr_abc",
                "client_secret": {"a": 1},
                "name": "=cmd|' /C calc'!A0",
            },
        )
    [row] = entries(sqlite_engine)
    assert row.changes == {
        "password": "secret replaced",
        "api_key": "secret replaced",
        "client_secret": "secret replaced",
        "name": "=cmd|' /C calc'!A0",
    }


def test_entries_cannot_be_changed_or_removed(engine):
    with transaction(engine) as session:
        record(
            session,
            "boss@x.test",
            "brand.created",
            target_type="brand",
            target_id=1,
            label="NRD",
            changes={"name": "N"},
        )
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    [row] = entries(engine)
    assert row.actor == "boss@x.test"


def test_filters_by_action_actor_and_dates(admin_world):
    engine, _shop, _ = admin_world
    with transaction(engine) as session:
        add_brand(session, "AAA", "A", actor="boss@x.test")
        add_brand(session, "BBB", "B", actor="cli")
        create_api_key(session, "k", ["stock:read"], actor="boss@x.test")
    today = entries(engine)[0].at.date().isoformat()
    with transaction(engine) as session:

        def labels(**kw):
            return [
                e.target_label for e in list_audit(session, filters=AuditFilter.parse(**kw)).rows
            ]

        assert labels() == ["k", "BBB", "AAA"]
        assert labels(action="brand.created") == ["BBB", "AAA"]
        assert labels(actor="BOSS") == ["k", "AAA"]
        assert labels(since=today, until=today) == ["k", "BBB", "AAA"]
        assert labels(until="2000-01-01") == []
    with pytest.raises(InvalidQuantity, match="not a date"):
        AuditFilter.parse(since="yesterday")
    with pytest.raises(InvalidQuantity, match="before the start"):
        AuditFilter.parse(since="2026-12-05", until="2026-12-01")


# --- the page's state ----------------------------------------------------------------------

AUDIT_CALLS = {
    "load": ((), {}),
    "apply_filters": (({"actor": "a", "since": "2026-01-01"},), {}),
    "filter_action": (("brand.created",), {"actions": ["brand.created"]}),
    "clear_filters": ((), {}),
    "export_csv": ((), {}),
}


def test_every_handler_of_the_page_is_checked(world):  # noqa: F811
    handlers = set(AdminAuditState.event_handlers) - {"setvar", "set_per_page"}
    assert handlers == set(AUDIT_CALLS)


@pytest.mark.parametrize("role", ["merchandiser", "manager", "vendor"])
def test_non_admins_see_nothing_and_change_nothing(role, world):  # noqa: F811
    with transaction(world.engine) as session:
        record(session, "admin@x.test", "brand.created", target_type="brand", label="NORTH")
    before_rows = dumped(entries(world.engine))
    for handler, (args, preset) in AUDIT_CALLS.items():
        state = page_state(AdminAuditState, world.tokens[role], **preset)
        before = fields(state)
        result = call(state, handler, *args)
        assert fields(state) == before, handler
        assert state.entries == []
        if handler == "load":
            assert result == []  # the page itself shows "no access"
        else:
            assert "You don't have permission to see the audit log." in rendered(result), handler
    assert dumped(entries(world.engine)) == before_rows


def test_signed_out_or_forged_sessions_are_sent_to_sign_in(world):  # noqa: F811
    for token in ("", "forged-token"):
        for handler, (args, preset) in AUDIT_CALLS.items():
            state = page_state(AdminAuditState, token, **preset)
            before = fields(state)
            result = call(state, handler, *args)
            assert fields(state) == before, handler
            assert '"/login' in rendered(result), handler


def test_an_admin_sees_the_entries_filters_them_and_gets_an_export_link(world):  # noqa: F811
    with transaction(world.engine) as session:
        set_role(session, world.ids["merchandiser"], "manager", actor="admin@x.test")
        add_brand(session, "STH", "Southwind", actor="cli")
    state = page_state(AdminAuditState, world.tokens["admin"])
    assert call(state, "load") is None
    assert [(e.actor, e.action) for e in state.entries] == [
        ("cli", "brand.created"),
        ("admin@x.test", "user.role_changed"),
        ("system", "api_key.created"),  # the fixture's key
        ("system", "channel.created"),  # and its channel
    ]
    assert state.entries[1].changes == "role: merchandiser → manager"
    assert state.entries[1].target == "user merchandiser@x.test"
    assert state.summary == "4 entries"
    assert state.actions == [
        "api_key.created", "brand.created", "channel.created", "user.role_changed"
    ]

    result = call(state, "apply_filters", {"actor": "cli", "since": "", "until": ""})
    assert "/admin/audit?actor=cli" in rendered(result)
    assert call(state, "apply_filters", {"since": "soon"}) is None
    assert "is not a date" in state.filter_error
    assert "/exports/audit.csv" in rendered(call(state, "export_csv"))


# --- the CSV export ------------------------------------------------------------------------


@pytest.fixture
def served(world):  # noqa: F811
    with transaction(world.engine) as session:
        add_brand(session, "EVL", '=HYPERLINK("x")', actor="admin@x.test")
        create_api_key(session, "pos", ["stock:read"], actor="cli")
    with serve_api() as url:
        yield url, world


def _export(url: str, token: str | None, query: str = "") -> httpx.Response:
    cookies = {SESSION_COOKIE: token} if token else {}
    return httpx.get(url + routes.AUDIT_EXPORT + query, cookies=cookies)


def test_the_export_streams_the_selection_as_csv_with_formulas_neutralised(served):
    url, w = served
    response = _export(url, w.tokens["admin"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="rackroom-audit-' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["at", "actor", "action", "target_type", "target_id", "target", "changes"]
    assert [(r[1], r[2]) for r in rows[1:]] == [
        ("cli", "api_key.created"),
        ("admin@x.test", "brand.created"),
        ("system", "api_key.created"),  # the fixture's key
        ("system", "channel.created"),  # and its channel
    ]
    assert rows[2][6].startswith("code: EVL; name: =HYPERLINK")  # not a formula: starts "code"
    only = _export(url, w.tokens["admin"], "?action=brand.created")
    assert len(list(csv.reader(io.StringIO(only.text)))) == 2


def test_the_export_is_refused_without_a_session_or_to_non_admins(served):
    url, w = served
    assert _export(url, None).status_code == 401
    assert _export(url, "forged").status_code == 401
    refused = _export(url, w.tokens["manager"])
    assert refused.status_code == 403 and "see the audit log" in refused.text
    assert "api_key" not in refused.text
    bad = _export(url, w.tokens["admin"], "?from=notadate")
    assert bad.status_code == 422 and "not a date" in bad.text


# --- the command line -------------------------------------------------------------------


def test_cli_changes_are_recorded_as_cli(sqlite_template, tmp_path):
    path = tmp_path / "cli.db"
    path.write_bytes(Path(sqlite_template).read_bytes())
    env = os.environ | {"DATABASE_URL": f"sqlite:///{path}"}
    for args in (
        ["brand", "create", "nrd", "--name", "Nordlys"],
        ["apikey", "create", "shop", "--scope", "stock:read"],
        ["apikey", "revoke", "shop"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "jobs.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        if args[1] == "create" and args[0] == "apikey":
            secret = done.stdout.strip()
    engine = create_db_engine(f"sqlite:///{path}")
    rows = entries(engine)
    assert [(r.actor, r.action) for r in rows] == [
        ("cli", "brand.created"),
        ("cli", "api_key.created"),
        ("cli", "api_key.revoked"),
    ]
    assert secret.startswith("rr_") and secret not in dumped(rows)
    with transaction(engine) as session:
        assert session.scalar(select(ApiKey.revoked_at)) is not None
    engine.dispose()
