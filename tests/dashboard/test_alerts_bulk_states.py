"""The inbox's selection, bulk bar and grouping, driven through AlertsState's handlers
(no browser): what is ticked, what a bulk action changes, what it says, and the group
headers. The refusals to vendors and signed-out callers are in
tests/dashboard/test_transfer_alert_states.py with every other alert handler."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from reflex.istate.data import RouterData
from sqlalchemy import Engine, select

from dashboard.states.alerts import AlertsState
from models.alerts import Alert, acknowledge_alert, scan_alerts, set_rule
from models.db import read_session, set_default_engine, transaction
from models.stock import receive
from models.users import User, start_login_session
from tests.dashboard.test_admin_states import call, page_state, rendered
from tests.factories import make_world
from tests.transfer_support import make_staff


@dataclasses.dataclass
class Inbox:
    engine: Engine
    token: str
    merch: int
    #: (size, warehouse code) → alert id: M and L low in WH1 and WH2.
    alerts: dict[tuple[str, str], int]


@pytest.fixture
def inbox(sqlite_engine: Engine) -> Iterator[Inbox]:
    set_default_engine(sqlite_engine)
    world = make_world(sqlite_engine, sizes=("M", "L"))
    staff = make_staff(sqlite_engine, world.brand_id)
    with transaction(sqlite_engine) as session:
        token = start_login_session(session, session.get(User, staff.merch))
        for variant in world.variants.values():
            set_rule(
                session,
                level="variant",
                subject_id=variant,
                warehouse_id=None,
                threshold=5,
                actor_id=staff.merch,
            )
        for place in ("WH1", "WH2"):
            for size in ("M", "L"):
                receive(session, world.variants[size], world.warehouses[place], 1, actor="t")
        scan_alerts(session)
        sizes = {v: k for k, v in world.variants.items()}
        places = {v: k for k, v in world.warehouses.items()}
        alerts = {
            (sizes[a.variant_id], places[a.warehouse_id]): a.id
            for a in session.scalars(select(Alert))
        }
    assert len(alerts) == 4
    yield Inbox(sqlite_engine, token, staff.merch, alerts)
    set_default_engine(None)


def _loaded(inbox: Inbox, **query: str) -> AlertsState:
    """The inbox as a browser at /alerts?<query> sees it after loading."""
    state = page_state(AlertsState, inbox.token)
    as_path = f"/alerts?{urlencode(query)}" if query else "/alerts"
    state.router = RouterData.from_router_data(
        {"pathname": "/alerts", "asPath": as_path, "query": query, "headers": {"origin": "x"}}
    )
    call(state, "load")
    return state


def _status(inbox: Inbox) -> dict[int, str]:
    with read_session(inbox.engine) as session:
        return dict(session.execute(select(Alert.id, Alert.status)).all())


def test_two_ticked_alerts_are_acknowledged_together_and_leave_the_open_list(inbox):
    state = _loaded(inbox)
    assert len(state.alerts) == 4 and state.selected == []
    chosen = [inbox.alerts["M", "WH1"], inbox.alerts["L", "WH2"]]
    for alert_id in chosen:
        call(state, "select_alert", alert_id, True)
    assert state.selected_label == "2 selected" and not state.page_selected
    call(state, "select_alert", 999_999, True)  # not on the page: ignored
    assert sorted(state.selected) == sorted(chosen)

    result = call(state, "bulk_acknowledge")
    assert "2 alerts acknowledged" in rendered(result)
    assert state.selected == [] and state.bulk_error == ""
    assert {a.id for a in state.alerts} == set(inbox.alerts.values()) - set(chosen)
    assert {i: s for i, s in _status(inbox).items() if s == "acknowledged"} == {
        i: "acknowledged" for i in chosen
    }


def test_select_all_on_the_page_and_clear(inbox):
    state = _loaded(inbox)
    call(state, "select_page", True)
    assert sorted(state.selected) == sorted(inbox.alerts.values()) and state.page_selected
    call(state, "select_alert", inbox.alerts["M", "WH1"], False)
    assert not state.page_selected and len(state.selected) == 3
    call(state, "clear_selection")
    assert state.selected == []
    call(state, "select_page", True)
    call(state, "select_page", False)
    assert state.selected == []


def test_a_refused_batch_changes_nothing_and_says_which_alert_and_why(inbox):
    state = _loaded(inbox)
    call(state, "select_page", True)
    taken = inbox.alerts["L", "WH1"]
    with transaction(inbox.engine) as session:  # somebody else gets there first
        acknowledge_alert(session, taken, actor_id=inbox.merch)
    before = _status(inbox)
    result = call(state, "bulk_acknowledge")
    assert "Nothing was changed" in rendered(result)
    assert f"#{taken} already acknowledged" in state.bulk_error
    assert _status(inbox) == before
    # The list is read again: the acknowledged one has left it and the selection with it.
    assert taken not in [a.id for a in state.alerts]
    assert sorted(state.selected) == sorted(set(inbox.alerts.values()) - {taken})

    result = call(state, "bulk_snooze", 7)
    assert "3 alerts snoozed until" in rendered(result)
    assert state.alerts == [] and state.selected == [] and state.bulk_error == ""
    assert list(_status(inbox).values()).count("snoozed") == 3
    assert "a day or a week" in rendered(call(state, "bulk_snooze", 3))


def test_grouping_by_warehouse_shows_headers_and_a_header_ticks_its_group(inbox):
    state = _loaded(inbox, group="warehouse")
    assert state.group == "warehouse"
    headers = [(a.group_label, a.group_count) for a in state.alerts if a.group_start]
    assert headers == [("WH1", "2 alerts"), ("WH2", "2 alerts")]
    wh2 = next(a.group_key for a in state.alerts if a.group_label == "WH2")
    call(state, "select_group", wh2, True)
    assert sorted(state.selected) == sorted([inbox.alerts["M", "WH2"], inbox.alerts["L", "WH2"]])
    wh1 = next(a.group_key for a in state.alerts if a.group_label == "WH1")
    assert state.groups_selected == {wh1: False, wh2: True}
    call(state, "select_group", wh2, False)
    assert state.selected == []

    by_style = _loaded(inbox, group="style")
    [header] = [a for a in by_style.alerts if a.group_start]
    assert header.group_label.startswith("NRD · TEE1") and header.group_count == "4 alerts"
    assert _loaded(inbox, group="bogus").group == ""
    assert all(not a.group_start for a in _loaded(inbox).alerts)


def test_the_grouping_lives_in_the_url_and_a_new_url_clears_the_selection(inbox):
    state = _loaded(inbox)
    assert "/alerts?group=style" in rendered(call(state, "set_filter", "group", "style"))
    state = _loaded(inbox, group="style")
    call(state, "select_page", True)
    assert "/alerts?kind=low_stock&group=style" in rendered(
        call(state, "set_filter", "kind", "low_stock")
    )
    assert "group=" not in rendered(call(state, "set_filter", "group", "none"))
    call(state, "load")  # what the redirect leads to: a fresh load
    assert state.selected == []


def test_the_open_inbox_shows_a_new_alert_and_keeps_the_selection(inbox):
    """The live loop's steps (dashboard/states/live.py drives them): nothing to read while
    nothing changed; a new alert is read and shown, what was ticked stays ticked."""
    state = _loaded(inbox)
    call(state, "select_alert", inbox.alerts["M", "WH1"], True)
    watch = state._live_watch()
    assert watch is not None and watch.kind == "alert"
    assert asyncio.run(state._live_read(watch.token)) is None
    with transaction(inbox.engine) as session:
        acknowledge_alert(session, inbox.alerts["L", "WH2"], actor_id=inbox.merch)
    fresh = asyncio.run(state._live_read(state._live_watch().token))
    assert fresh is not None
    state._live_show(fresh, None)
    assert inbox.alerts["L", "WH2"] not in [a.id for a in state.alerts]
    assert state.selected == [inbox.alerts["M", "WH1"]] and state.live_label.startswith("Live")
