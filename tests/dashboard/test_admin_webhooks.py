"""Admin › Webhooks (issue 13): the page states' handlers called directly, as each role,
on real SQLite and PostgreSQL; deliveries made by the real relay and sent to a real
receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import reflex as rx
from reflex.istate.data import RouterData
from sqlalchemy import Engine, select, text

from dashboard.states.admin_webhook_deliveries import AdminWebhookDeliveriesState, DeliveryItem
from dashboard.states.admin_webhooks import AdminWebhooksState, WebhookItem
from dashboard.states.auth import RoleGuard
from jobs.events.delivery import deliver_due
from jobs.webhooks import create_webhook
from models.audit import AuditEntry
from models.base import utcnow
from models.db import read_session, set_default_engine, transaction
from models.secrets import decrypt
from models.stock import receive
from models.users import Role, create_user, start_login_session
from models.webhooks import (
    WebhookDelivery,
    WebhookEndpoint,
    list_endpoint_page,
    set_enabled,
)
from tests.dashboard.items import item
from tests.dashboard.test_admin_states import rendered
from tests.dashboard.test_one_time_secrets import assert_never_pickled, assert_wraps_pickling
from tests.events_support import receiver
from tests.factories import make_world
from tests.jobs.test_webhooks import relay_all
from tests.signin import sign_in_state

#: The tables a webhook handler could change.
TABLES = ("webhook_endpoint", "webhook_delivery", "webhook_attempt", "audit_log")


@dataclasses.dataclass
class Shop:
    engine: Engine
    tokens: dict[str, str]
    variant: int
    warehouse: int
    hook: int = 0


@pytest.fixture
def shop(engine: Engine) -> Iterator[Shop]:
    """A brand with stock, one signed-in user per role, and one webhook already there."""
    set_default_engine(engine)
    world = make_world(engine)
    tokens: dict[str, str] = {}
    with transaction(engine) as session:
        for role in Role:
            user = create_user(
                session,
                f"{role.value}@x.test",
                "long enough",
                role,
                brand_code="NRD" if role is Role.VENDOR else None,
            )
            tokens[role.value] = start_login_session(session, user)
        endpoint, _ = create_webhook(session, "http://127.0.0.1:9/hooks", "stock.changed")
        hook = endpoint.id
    yield Shop(engine, tokens, world.variants["M"], world.warehouses["WH1"], hook)
    set_default_engine(None)


def page_state(state_cls: type[rx.State], token: str, path: str = "/", **query: str) -> Any:
    """A fresh state tree for one tab with this session cookie, at `path?query`."""
    root = rx.State(_reflex_internal_init=True)
    sign_in_state(root, token)
    state = root._get_state_from_cache(state_cls)
    as_path = f"{path}?{urlencode(query)}" if query else path
    state.router = RouterData.from_router_data(
        {"pathname": path, "asPath": as_path, "query": query, "headers": {}, "ip": "203.0.113.7"}
    )
    state.dirty_vars.clear()
    return state


def call(state: Any, handler: str, *args: Any) -> Any:
    result = getattr(state, handler)(*args)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def db_snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in TABLES
        }


def fields(state: Any) -> dict[str, Any]:
    return {name: getattr(state, name) for name in state.base_vars}


def audit_actions(engine: Engine) -> list[tuple[str, str]]:
    with read_session(engine) as session:
        return [
            (entry.action, entry.actor)
            for entry in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.target_type == "webhook")
                .order_by(AuditEntry.id)
            )
        ]


def make_deliveries(shop: Shop, n: int) -> None:
    """`n` stock changes, relayed: `n` pending deliveries to every stock.changed webhook."""
    with transaction(shop.engine) as session:
        for _ in range(n):
            receive(session, shop.variant, shop.warehouse, 1, actor="t")
    relay_all(shop.engine)


# --- permissions ----------------------------------------------------------------------------


def list_calls(shop: Shop) -> dict[str, tuple[tuple, dict]]:
    listed = {"webhooks": [item(WebhookItem, id=shop.hook, name="hook")]}
    armed = {**listed, "target_id": shop.hook, "target_label": "hook"}
    return {
        "load": ((), {}),
        "open_create": ((), {}),
        "create_webhook": (
            ({"url": "http://127.0.0.1:9/evil", "events": "*"},),
            {"dialog": "create"},
        ),
        "set_webhook_enabled": ((shop.hook, False), listed),
        "confirm_rotate": ((shop.hook,), listed),
        "rotate_webhook_secret": ((), {**armed, "dialog": "rotate"}),
        "confirm_delete": ((shop.hook,), listed),
        "delete_webhook": ((), {**armed, "dialog": "delete"}),
    }


def delivery_calls(shop: Shop) -> dict[str, tuple[tuple, dict]]:
    listed = {"webhook_id": shop.hook, "deliveries": [item(DeliveryItem, id=1, status="failed")]}
    return {
        "load": ((), {}),
        "filter_status": (("failed",), listed),
        "clear_filters": ((), listed),
        "resend": ((1,), listed),
        "open_attempts": ((1,), listed),
    }


CALLS = {AdminWebhooksState: list_calls, AdminWebhookDeliveriesState: delivery_calls}
UI_ONLY = {
    AdminWebhooksState: {"on_dialog_change", "set_form_brand", "set_per_page"},
    AdminWebhookDeliveriesState: {"on_dialog_change", "set_per_page"},
}


@pytest.mark.parametrize("state_cls", list(CALLS), ids=lambda c: c.__name__)
def test_every_handler_is_checked_or_ui_only(state_cls, sqlite_engine):
    shop = Shop(sqlite_engine, {}, 0, 0, 1)
    assert (
        set(state_cls.event_handlers) - {"setvar"}
        == set(CALLS[state_cls](shop)) | (UI_ONLY[state_cls])
    )
    assert issubclass(state_cls, RoleGuard)


@pytest.mark.parametrize("role", ["merchandiser", "manager", "vendor"])
def test_non_admins_are_refused_and_change_nothing(shop, role):
    make_deliveries(shop, 1)
    before = db_snapshot(shop.engine)
    for state_cls, calls in CALLS.items():
        for handler, (args, preset) in calls(shop).items():
            state = page_state(state_cls, shop.tokens[role], webhook=str(shop.hook))
            for name, value in preset.items():
                setattr(state, name, value)
            state_before = fields(state)

            result = call(state, handler, *args)

            assert db_snapshot(shop.engine) == before, f"{handler} changed the database"
            assert fields(state) == state_before, f"{handler} changed the page state"
            if handler == "load":
                assert result == []  # the page itself shows "no access"
            else:
                assert "You don't have permission to manage webhooks" in rendered(result)


# --- the endpoints --------------------------------------------------------------------------


def test_create_shows_the_signing_secret_once_and_forgets_it(shop):
    state = page_state(AdminWebhooksState, shop.tokens["admin"], "/admin/webhooks")
    call(state, "load")
    assert [item.name for item in state.webhooks] == ["127.0.0.1"]
    call(state, "open_create")
    assert [c.value for c in state.brands] == ["*", "NRD"]
    call(state, "set_form_brand", "NRD")

    result = call(
        state,
        "create_webhook",
        {"url": " https://127.0.0.1:8443/in ", "events": "stock.changed, reservation.*",
         "name": "Shop"},
    )  # fmt: skip

    assert "Created webhook Shop" in rendered(result)
    assert_wraps_pickling(AdminWebhooksState)
    assert AdminWebhooksState.ONE_TIME_SECRETS == ("new_secret",)
    assert state.dialog == "secret" and state.new_secret.startswith("whsec_")
    secret = assert_never_pickled(state, "new_secret")
    created = next(item for item in state.webhooks if item.name == "Shop")
    assert created.url == "https://127.0.0.1:8443/in"
    assert created.events == ["stock.changed", "reservation.*"]
    assert created.brand == "Nrd (NRD)" and created.enabled
    assert secret not in repr(state.webhooks)
    with read_session(shop.engine) as session:
        endpoint = session.get(WebhookEndpoint, created.id)
        assert decrypt(endpoint.secret_enc) == secret and secret not in endpoint.secret_enc
    assert audit_actions(shop.engine)[-1] == ("webhook.created", "admin@x.test")

    call(state, "on_dialog_change", False)
    assert state.new_secret == "" and state.dialog == ""
    assert secret.encode() not in pickle.dumps(state)
    call(state, "load")  # a later visit has no way to show it again
    assert secret not in repr(fields(state))


@pytest.mark.parametrize(
    "form, field, words",
    [
        ({"url": "ftp://example.com/x", "events": "*"}, "url_error", "only http and https"),
        ({"url": "http://10.1.2.3/hook", "events": "*"}, "url_error", "inside the network"),
        ({"url": "", "events": "*"}, "url_error", "give the receiver's http(s) URL"),
        ({"url": "https://127.0.0.1/x", "events": " , "}, "events_error", "at least one"),
        ({"url": "https://127.0.0.1/x", "events": "stock.*, order.paid"}, "events_error",
         "'order.paid' matches no event type"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_field_error_and_creates_nothing(shop, form, field, words):
    state = page_state(AdminWebhooksState, shop.tokens["admin"], "/admin/webhooks")
    call(state, "load")
    call(state, "open_create")
    before = db_snapshot(shop.engine)

    assert call(state, "create_webhook", form) is None

    assert words in getattr(state, field)
    assert not getattr(state, field).startswith(("url:", "events:"))
    other = {"url_error", "events_error"} - {field}
    assert getattr(state, other.pop()) == "" and state.form_error == ""
    assert state.dialog == "create" and not state.saving and state.new_secret == ""
    assert db_snapshot(shop.engine) == before
    call(state, "on_dialog_change", False)
    assert state.url_error == state.events_error == ""


def test_rotate_shows_the_new_secret_once_and_the_old_one_still_signs(shop):
    state = page_state(AdminWebhooksState, shop.tokens["admin"], "/admin/webhooks")
    call(state, "load")
    with read_session(shop.engine) as session:
        old = decrypt(session.get(WebhookEndpoint, shop.hook).secret_enc)
    call(state, "confirm_rotate", shop.hook)
    assert state.dialog == "rotate" and state.target_label == "127.0.0.1"

    result = call(state, "rotate_webhook_secret")

    assert "Rotated the secret of 127.0.0.1" in rendered(result)
    assert state.dialog == "secret" and state.new_secret.startswith("whsec_")
    new = assert_never_pickled(state, "new_secret")
    assert new != old
    with read_session(shop.engine) as session:
        endpoint = session.get(WebhookEndpoint, shop.hook)
        assert decrypt(endpoint.secret_enc) == new
        assert decrypt(endpoint.previous_secret_enc) == old
    assert audit_actions(shop.engine)[-1] == ("webhook.secret_rotated", "admin@x.test")
    call(state, "on_dialog_change", False)
    assert state.new_secret == ""
    # A stale click (no rotate dialog open) rotates nothing.
    assert call(state, "rotate_webhook_secret") is None
    with read_session(shop.engine) as session:
        assert decrypt(session.get(WebhookEndpoint, shop.hook).secret_enc) == new


def test_disable_and_enable(shop):
    state = page_state(AdminWebhooksState, shop.tokens["admin"], "/admin/webhooks")
    call(state, "load")

    result = call(state, "set_webhook_enabled", shop.hook, False)

    assert "Disabled 127.0.0.1" in rendered(result)
    (item,) = state.webhooks
    assert not item.enabled and item.disabled_reason == "disabled by admin@x.test"
    make_deliveries(shop, 1)  # a disabled endpoint is queued nothing
    with read_session(shop.engine) as session:
        assert session.scalar(select(WebhookDelivery.id)) is None

    result = call(state, "set_webhook_enabled", shop.hook, True)

    assert "Enabled 127.0.0.1" in rendered(result)
    assert state.webhooks[0].enabled and state.webhooks[0].disabled_reason == ""
    assert [a for a, _ in audit_actions(shop.engine)][-2:] == ["webhook.updated"] * 2


def test_delete_asks_first_and_removes_the_endpoint_with_its_deliveries(shop):
    make_deliveries(shop, 2)
    state = page_state(AdminWebhooksState, shop.tokens["admin"], "/admin/webhooks")
    call(state, "load")
    call(state, "confirm_delete", shop.hook)
    assert state.dialog == "delete"

    result = call(state, "delete_webhook")

    assert "Deleted 127.0.0.1 and its deliveries" in rendered(result)
    assert state.webhooks == [] and state.dialog == ""
    snapshot = db_snapshot(shop.engine)
    assert snapshot["webhook_endpoint"] == snapshot["webhook_delivery"] == []
    assert audit_actions(shop.engine)[-1] == ("webhook.deleted", "admin@x.test")
    # Another tab still showing it: the deliveries page says it is gone.
    deliveries = page_state(
        AdminWebhookDeliveriesState, shop.tokens["admin"], webhook=str(shop.hook)
    )
    call(deliveries, "load")
    assert "no such webhook" in deliveries.load_error and deliveries.deliveries == []


def test_the_list_shows_each_endpoints_newest_delivery(shop):
    with transaction(shop.engine) as session:  # the endpoint to port 9 is not sent to
        set_enabled(session, shop.hook, False)
    with receiver(script=[503]) as hook:
        with transaction(shop.engine) as session:
            endpoint, _ = create_webhook(session, hook.url, "stock.*", name="Receiver")
            create_webhook(session, hook.url, "alert.raised", name="Quiet")
        make_deliveries(shop, 2)
        assert deliver_due(shop.engine) == 1  # the first: 503, to be retried

        state = page_state(AdminWebhooksState, shop.tokens["admin"], "/admin/webhooks")
        call(state, "load")
        shown = {item.name: item for item in state.webhooks}
        assert shown["Quiet"].last_status == "" and shown["Quiet"].last_at.ago == ""
        # The newest is the second, held back behind the first: queued, not tried.
        assert (shown["Receiver"].last_status, shown["Receiver"].last_detail) == ("Queued", "")

        with transaction(shop.engine) as session:  # the retry is due now
            session.execute(WebhookDelivery.__table__.update().values(next_attempt_at=utcnow()))
        while deliver_due(shop.engine):
            pass
    with read_session(shop.engine) as session:
        rows = {row.name: row for row in list_endpoint_page(session).rows}
        page = list_endpoint_page(session, offset=1, limit=1)
    assert rows["Quiet"].last_status is None and rows["Quiet"].last_at is None
    newest = rows["Receiver"]
    assert newest.event_types == ["stock.*"] and newest.brand_code is None
    assert (newest.last_status, newest.last_attempts, newest.last_status_code) == (
        "delivered",
        1,
        200,
    )
    assert newest.last_at is not None and newest.last_at.tzinfo is not None
    assert page.total == 3 and [row.name for row in page.rows] == ["Receiver"]

    call(state, "load")
    shown = {item.name: item for item in state.webhooks}
    assert (shown["Receiver"].last_status, shown["Receiver"].last_color) == ("Delivered", "green")
    assert shown["Receiver"].last_detail == "HTTP 200"
    assert shown["Receiver"].deliveries_href == (
        f"/admin/webhooks/deliveries?webhook={endpoint.id}"
    )


# --- deliveries -----------------------------------------------------------------------------


def test_deliveries_are_paged_filtered_by_status_and_resent(shop):
    with receiver(script=[500, 500, 500]) as hook:
        with transaction(shop.engine) as session:
            endpoint, _ = create_webhook(session, hook.url, "stock.changed", name="R")
        make_deliveries(shop, 28)
        with transaction(shop.engine) as session:  # three given up, the rest not due yet
            session.execute(
                WebhookDelivery.__table__.update().values(
                    next_attempt_at=utcnow() + timedelta(days=1)
                )
            )
            first_three = list(
                session.scalars(
                    select(WebhookDelivery.id)
                    .where(WebhookDelivery.endpoint_id == endpoint.id)
                    .order_by(WebhookDelivery.id)
                    .limit(3)
                )
            )
            session.execute(
                WebhookDelivery.__table__.update()
                .where(WebhookDelivery.id.in_(first_three))
                .values(status="failed", attempts=1, last_status_code=500, last_error="HTTP 500")
            )
        webhook = str(endpoint.id)
        admin = shop.tokens["admin"]

        state = page_state(AdminWebhookDeliveriesState, admin, webhook=webhook)
        call(state, "load")
        assert state.webhook_name == "R" and state.webhook_url == hook.url
        assert len(state.deliveries) == 25 and state.total == 28
        assert state.range_label == "1–25 of 28"
        assert state.next_href == f"/admin/webhooks/deliveries?webhook={webhook}&page=2"
        assert state.deliveries[0].id > state.deliveries[-1].id  # newest first
        assert {d.status_label for d in state.deliveries} == {"Queued"}

        second = page_state(AdminWebhookDeliveriesState, admin, webhook=webhook, page="2")
        call(second, "load")
        assert [d.id for d in second.deliveries][-3:] == sorted(first_three, reverse=True)
        assert second.previous_href == f"/admin/webhooks/deliveries?webhook={webhook}"

        redirect = call(state, "filter_status", "failed")
        assert f"/admin/webhooks/deliveries?webhook={webhook}&status=failed" in rendered(redirect)
        failed = page_state(AdminWebhookDeliveriesState, admin, webhook=webhook, status="failed")
        call(failed, "load")
        assert failed.filtered and failed.summary == "3 deliveries with this status"
        assert [d.id for d in failed.deliveries] == sorted(first_three, reverse=True)
        shown = failed.deliveries[0]
        assert (shown.status_label, shown.code, shown.error) == ("Failed", "500", "HTTP 500")
        nonsense = page_state(AdminWebhookDeliveriesState, admin, webhook=webhook, status="x")
        call(nonsense, "load")
        assert nonsense.status_filter == "all" and nonsense.total == 28

        result = call(failed, "resend", first_three[0])

        assert f"Delivery {first_three[0]} is queued to be sent again" in rendered(result)
        assert [d.id for d in failed.deliveries] == sorted(first_three[1:], reverse=True)
        with read_session(shop.engine) as session:
            resent = session.get(WebhookDelivery, first_three[0])
            assert resent.status == "pending"
        assert deliver_due(shop.engine) == 1  # the resent one goes out at once (500 again)
        with read_session(shop.engine) as session:
            assert session.get(WebhookDelivery, first_three[0]).attempts == 2

        everything = page_state(AdminWebhookDeliveriesState, admin, webhook=webhook, page="2")
        call(everything, "load")
        retried = row_of(everything, first_three[0])
        assert (retried.status_label, retried.attempts, retried.code) == ("Retrying", 2, "500")
        call(everything, "open_attempts", first_three[0])
        assert everything.dialog == "attempts" and len(everything.attempts) == 1
        assert everything.attempts[0].code == "500"  # the one real attempt recorded
        call(everything, "on_dialog_change", False)
        assert everything.attempts == [] and everything.dialog == ""


def test_a_delivery_of_another_webhook_cannot_be_resent_from_this_page(shop):
    make_deliveries(shop, 1)
    with transaction(shop.engine) as session:
        other, _ = create_webhook(session, "http://127.0.0.1:9/other", "stock.changed")
        theirs = session.scalar(select(WebhookDelivery.id))
    state = page_state(AdminWebhookDeliveriesState, shop.tokens["admin"], webhook=str(other.id))
    call(state, "load")
    assert state.deliveries == []
    # A tampered client names a delivery that is not on this page.
    state.deliveries = [item(DeliveryItem, id=theirs, status="pending")]
    before = db_snapshot(shop.engine)
    result = call(state, "resend", theirs)
    assert "No delivery with id" in rendered(result)
    assert db_snapshot(shop.engine) == before


def row_of(state: Any, delivery_id: int) -> DeliveryItem:
    return next(d for d in state.deliveries if d.id == delivery_id)
