"""Live pages: the shared follow loop (`dashboard/states/live.py`) and the pages on it.

The loop itself is driven step by step with a stand-in page (no database, no clock):
it never waits or reads while holding the tab's state, re-reads only when the page says
something moved, and stops when the page reloads, the tab navigates away or the session
ends. On PostgreSQL the relay's `transfer:<ids>` topic wakes exactly the pages showing
that transfer, and the transfer detail, transfers list and overview follow what
another session does with the poll interval set far beyond the test: only NOTIFY can
have woken them. (The browser tests, tests/e2e/test_live_transfers.py, run the SQLite
polling path.)
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import reflex as rx
from reflex.istate.data import RouterData
from sqlalchemy import Engine

import jobs.live
from dashboard.states import live as live_module
from dashboard.states import overview as overview_module
from dashboard.states.live import Watch, follow, same_route
from dashboard.states.overview import OverviewState
from dashboard.states.transfers import TransfersState
from dashboard.states.transfers_detail import TransferDetailState
from jobs.events.relay import Relay
from jobs.live import Listener, psycopg_dsn
from models.db import set_default_engine, transaction
from models.events import LIVE_MAX_IDS, EventType, live_topics
from models.stock import receive
from models.transfers import approve_transfer, create_transfer, ship_transfer, submit_transfer
from models.users import User, start_login_session
from tests.signin import sign_in_state
from tests.transfer_support import make_staff, stocked_world

# --- the loop, with a stand-in page ------------------------------------------------------------


@dataclasses.dataclass
class _Access:
    user: Any
    refusal: list[str] = dataclasses.field(default_factory=list)
    allowed: bool = True

    def __bool__(self) -> bool:
        return self.allowed


class FakePage:
    """What `follow` uses of a page state: the lock, the router, the generation, the
    permission check and the `_live_*` hooks. `version` stands for the database."""

    def __init__(self) -> None:
        self.locked = False
        self.router = RouterData.from_router_data({"pathname": "/things", "asPath": "/things"})
        self._generation = 1
        self.allowed = True
        self.checks = 0
        self.version = 1  # what the "database" holds
        self.shown = 1  # what the page shows
        self.reads: list[int] = []
        self.refused = False
        self.result: Any = None

    async def __aenter__(self) -> FakePage:
        assert not self.locked
        self.locked = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.locked = False

    async def require(self, permission: str) -> _Access:
        assert self.locked and permission == "things.read"
        self.checks += 1
        return _Access("user", ["refused"], self.allowed)

    def _live_watch(self) -> Watch:
        assert self.locked
        return Watch("thing", (7,), self.shown)

    async def _live_read(self, token: int) -> int | None:
        assert not self.locked, "read while holding the tab's state"
        self.reads.append(token)
        return self.version if self.version != token else None

    def _live_show(self, fresh: int, user: Any) -> None:
        assert self.locked and user == "user"
        self.shown = fresh

    def _live_refused(self) -> None:
        self.refused = True


def drive(
    monkeypatch: pytest.MonkeyPatch, page: FakePage, script: dict[int, Callable[[], None]]
) -> list[tuple[str, tuple[int, ...] | None]]:
    """Run `follow` on `page`; before the n-th wake-up returns, `script[n]()` runs (what
    happened elsewhere meanwhile). Returns what each wait waited on."""
    waits: list[tuple[str, tuple[int, ...] | None]] = []

    async def wait_for_change(kind, ids, *, poll_seconds, timeout=30.0) -> bool:
        assert not page.locked, "waited while holding the tab's state"
        waits.append((kind, ids))
        script.get(len(waits), lambda: None)()
        if len(waits) > 50:
            raise AssertionError("the loop did not stop")
        await asyncio.sleep(0)
        return True

    monkeypatch.setattr(live_module, "wait_for_change", wait_for_change)
    page.result = asyncio.run(follow(page, 1, route="/things/", permission="things.read"))
    return waits


def test_follow_reads_again_only_when_something_moved_and_stops_on_a_new_load(monkeypatch):
    page = FakePage()

    def change() -> None:
        page.version = 2

    def reload() -> None:
        page._generation = 2

    waits = drive(monkeypatch, page, {3: change, 6: reload})
    assert page.shown == 2  # the change showed
    assert page.reads == [1, 1, 1, 2, 2]  # a marker check per wake-up, none after the reload
    assert waits == [("thing", (7,))] * 6
    assert page.result is None and not page.refused


def test_follow_stops_when_the_tab_navigates_away(monkeypatch):
    page = FakePage()

    def navigate() -> None:
        page.router = RouterData.from_router_data({"pathname": "/other", "asPath": "/other"})

    waits = drive(monkeypatch, page, {2: navigate})
    assert len(waits) == 2 and page.reads == [1]
    assert page.result is None


def test_follow_rechecks_the_session_and_stops_when_it_no_longer_allows_the_page(monkeypatch):
    monkeypatch.setattr(live_module, "RECHECK_EVERY", 3)
    page = FakePage()

    def sign_out() -> None:
        page.allowed = False

    waits = drive(monkeypatch, page, {4: sign_out})
    # Checked on start, at wake-up 3 (allowed) and 6 (refused): then it stops.
    assert page.checks == 3 and len(waits) == 6
    assert page.refused and page.result == ["refused"]
    assert page.reads == [1] * 5


def test_follow_refuses_a_caller_without_access_before_anything_else(monkeypatch):
    page = FakePage()
    page.allowed = False
    waits = drive(monkeypatch, page, {})
    assert waits == [] and page.reads == [] and page.refused and page.result == ["refused"]


def test_routes_compare_without_trailing_slashes():
    assert same_route("/transfers/", "/transfers") and same_route("", "/")
    assert not same_route("/transfers/detail", "/transfers")


# --- the transfer topic --------------------------------------------------------------------------


def _status_changed(transfer_id: int) -> tuple[str, str, dict[str, Any]]:
    return (EventType.TRANSFER_STATUS_CHANGED.value, f"transfer:{transfer_id}", {
        "transfer_id": transfer_id
    })


def test_transfer_topics_name_the_transfers_and_say_any_past_the_bound():
    assert live_topics([_status_changed(5), _status_changed(3), _status_changed(5)]) == [
        "transfer:3,5"
    ]
    many = [_status_changed(n) for n in range(1, LIVE_MAX_IDS + 2)]
    # Past the bound every page showing a transfer must wake: "any", never a cut list.
    assert live_topics(many) == ["transfer:*"]
    assert live_topics([_status_changed(n) for n in range(1, LIVE_MAX_IDS + 1)]) != [
        "transfer:*"
    ]
    assert jobs.live.Change.parse("transfer:*").concerns("transfer", [LIVE_MAX_IDS + 1])


# --- PostgreSQL: NOTIFY wakes the pages ----------------------------------------------------------


@dataclasses.dataclass
class PgWorld:
    engine: Engine
    relay: Relay
    tokens: dict[str, str]
    staff: Any
    warehouses: dict[str, int]
    variants: dict[str, int]


@pytest.fixture
def pg_world(pg_engine: Engine) -> Iterator[PgWorld]:
    set_default_engine(pg_engine)
    stock = stocked_world(pg_engine, units=20)
    staff = make_staff(pg_engine, stock.brand_id)
    with transaction(pg_engine) as session:
        tokens = {
            key: start_login_session(session, session.get(User, getattr(staff, key)))
            for key in ("merch", "manager")
        }
    relay = Relay(pg_engine)
    relay.run_once()  # the setup's events are old news
    yield PgWorld(pg_engine, relay, tokens, staff, stock.warehouses, stock.variants)
    set_default_engine(None)


def _requested_transfer(world: PgWorld) -> int:
    with transaction(world.engine) as session:
        t = create_transfer(
            session,
            source_warehouse_id=world.warehouses["WH1"],
            dest_warehouse_id=world.warehouses["WH2"],
            lines=[(world.variants["M"], 3)],
            actor_id=world.staff.merch,
        )
        submit_transfer(session, t.id, actor_id=world.staff.merch)
        return t.id


def page_state(state_cls: type[rx.State], token: str, path: str, **preset: Any) -> Any:
    """A fresh state tree for one tab on `path`, signed in with `token`."""
    root = rx.State(_reflex_internal_init=True)
    sign_in_state(root, token)
    state = root._get_state_from_cache(state_cls)
    router = RouterData.from_router_data(
        {"headers": {"origin": "http://test"}, "asPath": path, "pathname": path.split("?")[0]}
    )
    root.router = state.router = router
    for name, value in preset.items():
        setattr(state, name, value)
    return state


def _start(state: rx.State, generation: int) -> asyncio.Task:
    handler = type(state).event_handlers["watch"]
    return asyncio.ensure_future(handler.fn(state, generation))


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.02)


@pytest.fixture
def notified_only(pg_world: PgWorld, monkeypatch: pytest.MonkeyPatch) -> Callable[[], Listener]:
    """Pages wait on a listener of the test's PostgreSQL, and the poll interval is far
    beyond the test: only a NOTIFY can wake them."""
    monkeypatch.setattr(live_module, "POLL_SECONDS", 3600.0)
    made: list[Listener] = []

    def make() -> Listener:
        found = Listener(psycopg_dsn(pg_world.engine.url.render_as_string(hide_password=False)))
        made.append(found)
        monkeypatch.setattr(jobs.live, "listener", lambda: found)
        return found

    return make


def test_the_relay_wakes_only_the_pages_showing_a_changed_transfer(pg_world, notified_only):
    first, second = _requested_transfer(pg_world), _requested_transfer(pg_world)
    pg_world.relay.run_once()

    def approve(transfer_id: int) -> None:
        with transaction(pg_world.engine) as session:
            approve_transfer(session, transfer_id, actor_id=pg_world.staff.manager)
        pg_world.relay.run_once()

    async def scenario() -> None:
        listener = notified_only()
        listener.start()
        await asyncio.wait_for(listener.connected.wait(), 30)
        loop = asyncio.get_running_loop()
        on_first = asyncio.ensure_future(listener.wait_for("transfer", [first], timeout=30))
        on_any = asyncio.ensure_future(listener.wait_for("transfer", None, timeout=30))
        await asyncio.sleep(0.1)
        await loop.run_in_executor(None, approve, second)
        assert await on_any is True
        assert not on_first.done()  # another transfer's step leaves this page alone
        await loop.run_in_executor(None, approve, first)
        assert await on_first is True
        await listener.stop()

    asyncio.run(scenario())


def test_detail_and_list_follow_a_step_taken_in_another_session(pg_world, notified_only):
    transfer_id = _requested_transfer(pg_world)
    pg_world.relay.run_once()
    token = pg_world.tokens["merch"]
    detail = page_state(
        TransferDetailState, token, f"/transfers/detail?id={transfer_id}", transfer_id=transfer_id
    )
    listing = page_state(TransfersState, token, "/transfers")
    asyncio.run(detail._refetch())
    asyncio.run(listing._fetch(1, 25))
    assert detail.status == "requested" and listing.transfers[0].status == "requested"

    def step(fn) -> None:
        with transaction(pg_world.engine) as session:
            fn(session, transfer_id, actor_id=pg_world.staff.manager)
        pg_world.relay.run_once()

    async def scenario() -> None:
        listener = notified_only()
        listener.start()
        await asyncio.wait_for(listener.connected.wait(), 30)
        detail._generation = listing._generation = 1
        tasks = [_start(detail, 1), _start(listing, 1)]
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.2)
        await loop.run_in_executor(None, step, approve_transfer)
        await asyncio.wait_for(
            _until(lambda: detail.status == "approved" and listing.transfers[0].status
                   == "approved"),
            30,
        )
        assert [e.label for e in detail.timeline][-1] == "Approved"
        assert {tab.value: tab.count for tab in listing.tabs}["approved"] == "1"
        await loop.run_in_executor(
            None, step, lambda s, t, actor_id: ship_transfer(s, t, actor_id=pg_world.staff.merch)
        )
        await asyncio.wait_for(_until(lambda: detail.status == "in_transit"), 30)
        assert not any(task.done() for task in tasks)  # still following
        for task in tasks:  # the tab goes away: Reflex cancels the page's events
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await listener.stop()

    asyncio.run(scenario())


def test_the_overview_figures_follow_stock_changes(pg_world, notified_only, monkeypatch):
    monkeypatch.setattr(overview_module, "SETTLE_SECONDS", 0.0)
    overview = page_state(OverviewState, pg_world.tokens["merch"], "/")
    figures = overview_module.read_figures(None)
    assert figures is not None
    overview._brand_scope, overview._marker = None, figures.marker
    before = figures.overview.total.on_hand

    def receive_more() -> None:
        with transaction(pg_world.engine) as session:
            receive(session, pg_world.variants["S"], pg_world.warehouses["WH1"], 5, actor="t")
        pg_world.relay.run_once()

    async def scenario() -> None:
        listener = notified_only()
        listener.start()
        await asyncio.wait_for(listener.connected.wait(), 30)
        overview._generation = 1
        task = _start(overview, 1)
        await asyncio.sleep(0.2)
        await asyncio.get_running_loop().run_in_executor(None, receive_more)
        await asyncio.wait_for(_until(lambda: overview.total.on_hand == f"{before + 5:,}"), 30)
        assert overview.live_label.startswith("Live · checked")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await listener.stop()

    asyncio.run(scenario())
