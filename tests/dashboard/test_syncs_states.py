"""The /syncs page's state handlers, called directly (no browser), as each role.

Like tests/dashboard/test_admin_states.py: any client can send any event, so every handler is
called the way a tampered client could, with the state primed as if a dialog were open.
Vendors and managers may look (a vendor at their own brand's feed only); merchandisers
may also run a sync now; only admins pause, resume and change schedules. A refusal
leaves the database and the page's state as they were and says why; the same calls by
an allowed role do work.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import reflex as rx
from sqlalchemy import Engine, select, text

import dashboard.states.syncs as syncs_module
from dashboard.states.auth import RoleGuard
from dashboard.states.syncs import BrandItem, RunItem, SyncsState, duration, until
from jobs.demo_brand_api import DemoBrand, DemoBrandApi, DemoItem
from models.catalog import Product, Variant, create_brand, create_warehouse
from models.db import set_default_engine, transaction
from models.stock import StockBalance, receive
from models.syncs import Connector, set_connector
from models.users import Role, create_user, start_login_session
from tests.dashboard.items import item
from tests.dashboard.test_admin_states import page_state
from tests.dashboard.test_admin_states import rendered as _rendered
from tests.sync_support import serve_demo

#: The tables a syncs handler could change (directly or through a sync).
TABLES = ("sync_connector", "sync_run", "stock_balance", "stock_ledger")
SKU = "NORTH-TEE-M"


@dataclasses.dataclass
class World:
    engine: Engine
    tokens: dict[str, str]


@pytest.fixture
def world(sqlite_engine: Engine) -> Iterator[World]:
    """One signed-in user per role, a brand with one variant in stock and a connector."""
    set_default_engine(sqlite_engine)
    tokens: dict[str, str] = {}
    with transaction(sqlite_engine) as session:
        brand = create_brand(session, "NORTH", "Northwind")
        warehouse = create_warehouse(session, "LDN", "London", priority=10)
        product = Product(brand_id=brand.id, style_code="TEE", name="Tee")
        session.add(product)
        session.flush()
        variant = Variant(product_id=product.id, brand_id=brand.id, sku=SKU, colour="Ink", size="M")
        session.add(variant)
        session.flush()
        receive(session, variant.id, warehouse.id, 10, actor="test")
        set_connector(
            session,
            "NORTH",
            style="json",
            url="http://127.0.0.1:9/brands/NORTH/stock",
            token="s3cret-token",
            every="15m",
        )
        for role in Role:
            user = create_user(
                session,
                f"{role.value}@x.test",
                "long enough",
                role,
                brand_code="NORTH" if role is Role.VENDOR else None,
            )
            tokens[role.value] = start_login_session(session, user)
    yield World(sqlite_engine, tokens)
    set_default_engine(None)


def db_snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}"))]
            for table in TABLES
        }


def rendered(events: Any) -> str:
    """The JavaScript of the events a handler returned or yielded (nested lists too)."""
    flat: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif value is not None:
            flat.append(value)

    walk(events)
    return _rendered(flat)


def fields(state: rx.State) -> dict[str, Any]:
    return {name: getattr(state, name) for name in state.base_vars}


async def _drain(result: Any) -> Any:
    if inspect.isasyncgen(result):
        return [event async for event in result]
    if inspect.iscoroutine(result):
        return await result
    return result


def call(state: rx.State, handler: str, *args: Any) -> Any:
    """Call a handler (plain, coroutine or background generator) to its end. Background
    handlers are called through their function (Reflex refuses a direct call of the
    bound handler); `async with self` on a plain state is a no-op."""
    event_handler = type(state).event_handlers[handler]
    if event_handler.is_background:
        return asyncio.run(_drain(event_handler.fn(state, *args)))
    return asyncio.run(_drain(getattr(state, handler)(*args)))


def listed() -> dict[str, Any]:
    north = item(BrandItem, code="NORTH", name="Northwind", every="15m", policy="newest")
    return {"brands": [north]}


def calls() -> dict[str, tuple[tuple, dict]]:
    """Every checked handler: its arguments and the state a tampered client primes."""
    armed = {**listed(), "dialog": "schedule", "target_code": "NORTH", "form_policy": "platform"}
    return {
        "load": ((), {}),
        "watch": ((0,), {}),
        "refresh": ((), {}),
        "filter_brand": (("NORTH",), listed()),
        "older_runs": ((), {**listed(), "runs": [item(RunItem, id=5)], "runs_more": True}),
        "newer_runs": ((), {**listed(), "runs_page": 2}),
        "open_run": ((1,), listed()),
        "run_now": (("NORTH",), listed()),
        "pause": (("NORTH",), listed()),
        "resume": (("NORTH",), listed()),
        "open_schedule": (("NORTH",), listed()),
        "save_schedule": (({"every": "5s", "policy": "platform"},), armed),
    }


VIEW = {"load", "watch", "refresh", "filter_brand", "older_runs", "newer_runs", "open_run"}
ALLOWED = {
    "admin": set(calls()),
    "merchandiser": VIEW | {"run_now"},
    "manager": VIEW,
    # Issue 12: a vendor sees their own brand's feed health (read-only; scoped below).
    "vendor": VIEW,
}
UI_ONLY = {"on_dialog_change", "set_form_policy"}


@pytest.fixture(autouse=True)
def _quick_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(syncs_module, "WATCH_SECONDS", 0.01)


def test_every_handler_is_either_checked_or_ui_only():
    handlers = set(SyncsState.event_handlers) - {"setvar"}
    assert handlers == set(calls()) | UI_ONLY
    assert "require" not in SyncsState.event_handlers
    assert issubclass(SyncsState, RoleGuard)


@pytest.mark.parametrize("role", ["merchandiser", "manager", "vendor"])
def test_refused_roles_change_nothing_and_are_told_why(role, world):
    before = db_snapshot(world.engine)
    refused = set(calls()) - ALLOWED[role]
    assert refused
    for handler, (args, preset) in calls().items():
        if handler not in refused:
            continue
        state = page_state(SyncsState, world.tokens[role], **preset)
        state_before = fields(state)

        result = call(state, handler, *args)

        assert db_snapshot(world.engine) == before, f"{handler} changed the database"
        if handler == "load":
            assert result == []  # the page itself shows "no access"
        else:
            assert fields(state) == state_before, f"{handler} changed the page state"
            assert "You don't have permission to" in rendered(result), handler


def test_signed_out_callers_are_sent_to_login_and_change_nothing(world):
    before = db_snapshot(world.engine)
    for token in ("", "forged-token"):
        for handler, (args, preset) in calls().items():
            state = page_state(SyncsState, token, **preset)
            result = call(state, handler, *args)
            assert db_snapshot(world.engine) == before, handler
            assert '"/login' in rendered(result), handler


def test_a_manager_sees_the_page_but_not_the_buttons(world):
    state = page_state(SyncsState, world.tokens["manager"])
    call(state, "load")
    assert [b.code for b in state.brands] == ["NORTH"]
    assert (state.can_run, state.can_manage) == (False, False)
    merch = page_state(SyncsState, world.tokens["merchandiser"])
    call(merch, "load")
    assert (merch.can_run, merch.can_manage) == (True, False)


def test_the_token_never_reaches_the_page(world):
    state = page_state(SyncsState, world.tokens["admin"])
    call(state, "load")
    (item,) = state.brands
    assert item.token_set is True
    assert "s3cret-token" not in repr(state.brands) + repr(fields(state))
    assert (item.freshness, item.freshness_tone) == ("Never synced", "red")
    assert item.last_counts == "Not run yet"


def test_admins_pause_resume_and_reschedule(world):
    state = page_state(SyncsState, world.tokens["admin"])
    call(state, "load")
    assert (state.can_run, state.can_manage) == (True, True)

    assert "scheduled syncs paused" in rendered(call(state, "pause", "NORTH"))
    assert state.brands[0].paused and state.brands[0].next_run == "—"
    assert "syncs resumed" in rendered(call(state, "resume", "NORTH"))
    assert not state.brands[0].paused

    call(state, "open_schedule", "NORTH")
    assert (state.dialog, state.form_every, state.form_policy) == ("schedule", "15m", "newest")
    assert call(state, "save_schedule", {"every": "every now and then"}) is None
    assert "is not like 15m" in state.form_error and state.dialog == "schedule"
    call(state, "set_form_policy", "platform")
    result = call(state, "save_schedule", {"every": "1h30m"})
    assert "Northwind syncs every 1h30m" in rendered(result)
    assert state.dialog == "" and state.brands[0].every == "1h30m"
    with transaction(world.engine) as session:
        connector = session.scalar(select(Connector))
        assert (connector.every_seconds, connector.policy) == (5400, "platform")
        assert connector.token == "s3cret-token"  # the schedule dialog keeps the token


def test_a_merchandiser_runs_a_sync_now_and_sees_the_result(world):
    # Strictly newer than the fixture's own receipt (made earlier in this same second), so
    # the "newest wins" policy applies the feed instead of keeping the platform's count.
    stamp = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    api = DemoBrandApi([DemoBrand("NORTH", [DemoItem(SKU, "LDN", 14, stamp)])])
    with serve_demo(api) as base:
        with transaction(world.engine) as session:
            set_connector(session, "NORTH", url=f"{base}/brands/NORTH/stock", token=None)
        state = page_state(SyncsState, world.tokens["merchandiser"])
        call(state, "load")

        events = call(state, "run_now", "NORTH")

    text = rendered(events)
    assert "Syncing Northwind" in text and "Northwind synced: 1 changed" in text
    assert state.in_flight == []
    (item,) = state.brands
    assert (item.last_status, item.freshness) == ("succeeded", "Fresh")
    assert state.runs[0].status == "succeeded" and "1 changed" in state.runs[0].counts
    with transaction(world.engine) as session:
        assert session.scalar(select(StockBalance.on_hand)) == 14

    call(state, "open_run", state.runs[0].id)
    assert state.dialog == "run" and "succeeded" in state.run_title


def test_a_failed_run_shows_its_errors(world):
    stamp = datetime.now(UTC).replace(microsecond=0)
    api = DemoBrandApi([DemoBrand("NORTH", [DemoItem(SKU, "NOWHERE", -3, stamp)])])
    with serve_demo(api) as base:
        with transaction(world.engine) as session:
            set_connector(session, "NORTH", url=f"{base}/brands/NORTH/stock", token=None)
        state = page_state(SyncsState, world.tokens["admin"])
        call(state, "load")
        events = call(state, "run_now", "NORTH")
    assert "Northwind sync failed" in rendered(events)
    run = state.runs[0]
    assert run.status == "failed" and run.error_count >= 1
    call(state, "open_run", run.id)
    assert state.run_samples and any(s.location == "NOWHERE" for s in state.run_samples)
    with transaction(world.engine) as session:
        assert session.scalar(select(StockBalance.on_hand)) == 10  # nothing applied


def test_time_words():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert until(None, now) == ""
    assert until(now, now) == "due now"
    assert until(datetime(2026, 1, 1, 12, 0, 40, tzinfo=UTC), now) == "in 40 s"
    assert until(datetime(2026, 1, 1, 12, 15, tzinfo=UTC), now) == "in 15 min"
    assert until(datetime(2026, 1, 1, 15, tzinfo=UTC), now) == "in 3 h"
    assert (duration(None), duration(1.234), duration(42), duration(600)) == (
        "",
        "1.2 s",
        "42 s",
        "10 min",
    )


# --- a vendor's page: their own brand only -------------------------------------------------


def _south(world: World) -> int:
    """A second brand with its own connector and one failed run; returns the run's id."""
    from models.syncs import SyncRun

    with transaction(world.engine) as session:
        south = create_brand(session, "SOUTH", "Southwind")
        set_connector(session, "SOUTH", style="json", url="http://127.0.0.1:9/s", every="1h")
        run = SyncRun(
            brand_id=south.id,
            style="json",
            policy="newest",
            trigger="scheduled",
            status="failed",
            message="SOUTH's own secret trouble",
        )
        session.add(run)
        session.flush()
        return run.id


def _vendor_state(world: World, url: str = "/syncs", **preset: Any) -> SyncsState:
    from reflex.istate.data import RouterData

    state = page_state(SyncsState, world.tokens["vendor"])
    router = RouterData.from_router_data(
        {"headers": {"origin": "http://test"}, "asPath": url, "pathname": "/syncs"}
    )
    state.parent_state.router = state.router = router
    for name, value in preset.items():
        setattr(state, name, value)
    state.dirty_vars.clear()
    return state


def test_a_vendor_sees_only_their_own_brands_feed(world):
    south_run = _south(world)
    # Even asking for the other brand in the URL shows their own brand only.
    state = _vendor_state(world, "/syncs?brand=SOUTH")
    call(state, "load")
    assert [b.code for b in state.brands] == ["NORTH"]
    assert state.scoped and state.brand_filter == "NORTH"
    assert (state.can_run, state.can_manage) == (False, False)
    assert all(run.brand == "NORTH" for run in state.runs)
    assert "SOUTH" not in repr(fields(state)) and "Southwind" not in repr(fields(state))

    # Another brand's run is "not found" for them; the dialog stays shut.
    text = rendered(call(state, "open_run", south_run))
    assert f"No sync run {south_run}" in text and "secret trouble" not in text
    assert state.dialog == "" and state.run_title == ""
    # Picking a brand changes nothing on a vendor's page.
    assert call(state, "filter_brand", "SOUTH") is None
    # A manager sees both brands and the other brand's run.
    manager = page_state(SyncsState, world.tokens["manager"])
    call(manager, "load")
    assert [b.code for b in manager.brands] == ["NORTH", "SOUTH"] and not manager.scoped
    call(manager, "open_run", south_run)
    assert manager.dialog == "run" and "SOUTH" in manager.run_title


def test_a_vendors_forged_writes_for_another_brand_change_nothing(world):
    _south(world)
    before = db_snapshot(world.engine)
    south = item(BrandItem, code="SOUTH", name="Southwind", every="1h", policy="newest")
    primed = {
        "brands": [south],
        "dialog": "schedule",
        "target_code": "SOUTH",
        "target_label": "Southwind",
    }
    for handler, args in (
        ("run_now", ("SOUTH",)),
        ("pause", ("SOUTH",)),
        ("resume", ("SOUTH",)),
        ("open_schedule", ("SOUTH",)),
        ("save_schedule", ({"every": "5s", "policy": "platform"},)),
    ):
        state = _vendor_state(world, **primed)
        state_before = fields(state)
        result = call(state, handler, *args)
        assert "You don't have permission to" in rendered(result), handler
        assert fields(state) == state_before, handler
        assert db_snapshot(world.engine) == before, handler


def test_the_permission_table_lets_vendors_read_syncs_only():
    from models.policy import allows

    assert allows("vendor", "syncs.read")
    assert not allows("vendor", "syncs.run") and not allows("vendor", "syncs.manage")


def test_a_vendor_sees_the_feed_address_without_its_parameters(world):
    with transaction(world.engine) as session:
        set_connector(session, "NORTH", url="https://feeds.example:8443/s?key=abc#x")
    vendor = _vendor_state(world)
    call(vendor, "load")
    assert vendor.brands[0].url == "https://feeds.example:8443/s"
    assert "abc" not in repr(fields(vendor))
    admin = page_state(SyncsState, world.tokens["admin"])
    call(admin, "load")
    assert admin.brands[0].url.endswith("?key=abc#x")  # staff see the whole address
