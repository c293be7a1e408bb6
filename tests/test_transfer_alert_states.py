"""The transfer and alert pages' state handlers, called directly (no browser).

Any client can send any event, so each handler is called the way a tampered client
could: as a role that may not do it, and signed out. Each refusal must leave the
database and the page state as they were and say why. The same handlers called by the
right roles move a transfer through its whole life, which shows the refusals are not
vacuous.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select, text

from dashboard.states.alerts import AlertItem, AlertRulesState, AlertsState, ReplenishmentState
from dashboard.states.sidebar import SidebarState
from dashboard.states.transfers import (
    LineItem,
    MoveItem,
    PickListState,
    SuggestionsState,
    TransferDetailState,
    TransfersState,
    parse_lines,
)
from models.alerts import Alert, set_rule
from models.db import set_default_engine, transaction
from models.errors import InvalidQuantity
from models.stock import get_balance
from models.transfers import Transfer, create_transfer
from models.users import User, start_login_session
from tests.test_admin_states import call, fields, page_state, rendered
from tests.transfer_support import make_staff, stocked_world

TABLES = (
    "transfer",
    "transfer_line",
    "transfer_event",
    "stock_balance",
    "stock_ledger",
    "alert",
    "alert_rule",
)


@dataclasses.dataclass
class World:
    engine: Engine
    tokens: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def world(sqlite_engine: Engine) -> Iterator[World]:
    """A stocked brand in three warehouses, staff of every role signed in, one draft
    transfer, one requested, one approved, one in transit, and an open alert."""
    set_default_engine(sqlite_engine)
    stock = stocked_world(sqlite_engine, units=20)
    staff = make_staff(sqlite_engine, stock.brand_id)
    ids: dict[str, int] = {**stock.warehouses, **{f"v{k}": v for k, v in stock.variants.items()}}
    tokens: dict[str, str] = {}
    wh1, wh2 = stock.warehouses["WH1"], stock.warehouses["WH2"]
    lines = [(stock.variants["M"], 5)]
    with transaction(sqlite_engine) as session:
        for key in ("merch", "manager", "admin", "vendor"):
            ids[key] = getattr(staff, key)
            tokens[key] = start_login_session(session, session.get(User, ids[key]))
        from models.transfers import approve_transfer, ship_transfer, submit_transfer

        for state in ("draft", "requested", "approved", "in_transit"):
            t = create_transfer(
                session,
                source_warehouse_id=wh1,
                dest_warehouse_id=wh2,
                lines=lines,
                actor_id=staff.merch,
            )
            ids[state] = t.id
            if state != "draft":
                submit_transfer(session, t.id, actor_id=staff.merch)
            if state in ("approved", "in_transit"):
                approve_transfer(session, t.id, actor_id=staff.manager)
            if state == "in_transit":
                ship_transfer(session, t.id, actor_id=staff.merch)
        rule = set_rule(
            session,
            level="brand",
            subject_id=stock.brand_id,
            warehouse_id=None,
            threshold=25,
            reorder_qty=10,
            actor_id=staff.merch,
        )
        ids["rule"] = rule.id
        from models.alerts import scan_alerts

        scan_alerts(session)
        ids["alert"] = session.scalar(select(Alert.id).order_by(Alert.id))
        ids["brand"] = stock.brand_id
    yield World(sqlite_engine, tokens, ids)
    set_default_engine(None)


def db_snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2"))]
            for t in TABLES
        }


def _lines(world: World) -> list[LineItem]:
    return [LineItem(variant_id=world.ids["vM"], sku="NRD-TEE1-BLK-M", outstanding=5)]


def transfer_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    form = {"lines": "NRD-TEE1-BLK-S 2", "note": ""}
    armed = {"form_source": str(world.ids["WH1"]), "form_dest": str(world.ids["WH2"])}
    return {
        "load": ((), {}),
        "filter_status": (("draft",), {}),
        "open_create": ((), {}),
        "create": ((form,), {**armed, "dialog": "create"}),
    }


#: handler → (transfer it acts on, roles that may call it)
DETAIL = {
    "submit": ("draft", {"merch", "admin"}),
    "approve": ("requested", {"manager", "admin"}),
    "ship": ("approved", {"merch", "admin"}),
    "open_receive": ("in_transit", {"merch", "admin"}),
    "receive": ("in_transit", {"merch", "admin"}),
    "confirm_cancel": ("draft", {"merch", "manager", "admin"}),
    "cancel": ("requested", {"merch", "manager", "admin"}),
}


def _detail_args(world: World, handler: str) -> tuple[tuple, dict]:
    target, _ = DETAIL[handler]
    preset = {
        "transfer_id": world.ids[target],
        "lines": _lines(world),
        "status": target,
        "dialog": {"receive": "receive", "cancel": "cancel"}.get(handler, ""),
    }
    args: tuple = ()
    if handler == "receive":
        args = ({f"received-{world.ids['vM']}": "4", f"short-{world.ids['vM']}": "1"},)
    return args, preset


def alert_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    listed = {"alerts": [AlertItem(id=world.ids["alert"], subject="x", warehouse="WH1")]}
    return {
        "load": ((), {}),
        "set_filter": (("kind", "low_stock"), {}),
        "clear_filters": ((), {}),
        "acknowledge": ((world.ids["alert"],), listed),
        "reopen": ((world.ids["alert"],), listed),
        "open_snooze": ((world.ids["alert"],), listed),
        "snooze": (
            ({"until": (date.today() + timedelta(days=3)).isoformat()},),
            {**listed, "dialog": "snooze", "target_id": world.ids["alert"]},
        ),
    }


def rule_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    form = {"subject": "NRD", "threshold": "3"}
    return {
        "load": ((), {}),
        "filter_brand": (("NRD",), {}),
        "look_up": (({"sku": "NRD-TEE1-BLK-M"},), {}),
        "open_create": ((), {}),
        "save_rule": ((form,), {"dialog": "rule", "form_level": "brand"}),
        "confirm_delete": ((world.ids["rule"],), {}),
        "delete": ((), {"dialog": "delete", "target_id": world.ids["rule"]}),
    }


def replenish_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    return {
        "load": ((), {}),
        "filter_brand": (("NRD",), {}),
        "download": ((), {"brand": "NRD"}),
    }


def suggestion_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    moves = [MoveItem(key=f"{world.ids['vM']}:{world.ids['WH1']}:{world.ids['WH2']}")]
    return {
        "load": ((), {}),
        "pick_brand": (("NRD",), {}),
        "create_drafts": ((), {"moves": moves, "brand_id": world.ids["brand"]}),
    }


def pick_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    return {"load": ((), {})}


UI_ONLY = {
    TransfersState: {"on_dialog_change", "set_form_source", "set_form_dest"},
    TransferDetailState: {"on_dialog_change"},
    AlertsState: {"on_dialog_change"},
    AlertRulesState: {"on_dialog_change", "set_form_level", "set_form_warehouse"},
    ReplenishmentState: set(),
    SuggestionsState: {"toggle"},
    PickListState: set(),
}
CALLS = {
    TransfersState: transfer_calls,
    AlertsState: alert_calls,
    AlertRulesState: rule_calls,
    ReplenishmentState: replenish_calls,
    SuggestionsState: suggestion_calls,
    PickListState: pick_calls,
}


def _all_calls(state_cls, world: World) -> dict[str, tuple[tuple, dict]]:
    if state_cls is TransferDetailState:
        calls = {h: _detail_args(world, h) for h in DETAIL}
        calls["load"] = ((), {})
        return calls
    return CALLS[state_cls](world)


STATES = [*CALLS, TransferDetailState]


@pytest.mark.parametrize("state_cls", STATES, ids=lambda c: c.__name__)
def test_every_handler_is_either_checked_or_ui_only(state_cls, world):
    handlers = set(state_cls.event_handlers) - {"setvar"}
    assert handlers == set(_all_calls(state_cls, world)) | UI_ONLY[state_cls]
    assert "require_role" not in state_cls.event_handlers


@pytest.mark.parametrize("state_cls", STATES, ids=lambda c: c.__name__)
def test_vendors_change_nothing_and_are_told_why(state_cls, world):
    before = db_snapshot(world.engine)
    for handler, (args, preset) in _all_calls(state_cls, world).items():
        state = page_state(state_cls, world.tokens["vendor"], **preset)
        state_before = fields(state)
        result = call(state, handler, *args)
        assert db_snapshot(world.engine) == before, f"{handler} changed the database"
        assert fields(state) == state_before, f"{handler} changed the page state"
        if handler == "load":
            assert result == []
        else:
            assert "You don't have permission to" in rendered(result), handler


@pytest.mark.parametrize("state_cls", STATES, ids=lambda c: c.__name__)
def test_signed_out_callers_are_sent_to_login(state_cls, world):
    before = db_snapshot(world.engine)
    for handler, (args, preset) in _all_calls(state_cls, world).items():
        state = page_state(state_cls, "forged-token", **preset)
        state_before = fields(state)
        result = call(state, handler, *args)
        assert db_snapshot(world.engine) == before, handler
        assert fields(state) == state_before, handler
        assert '"/login"' in rendered(result), handler


@pytest.mark.parametrize("role", ["merch", "manager", "admin"])
@pytest.mark.parametrize("handler", sorted(DETAIL))
def test_transfer_steps_are_refused_to_the_wrong_role(handler, role, world):
    _, allowed = DETAIL[handler]
    if role in allowed:
        pytest.skip("allowed: covered by the life-cycle test")
    before = db_snapshot(world.engine)
    args, preset = _detail_args(world, handler)
    state = page_state(TransferDetailState, world.tokens[role], **preset)
    state_before = fields(state)
    result = call(state, handler, *args)
    assert db_snapshot(world.engine) == before
    assert fields(state) == state_before
    assert "You don't have permission to" in rendered(result)


def test_a_manager_cannot_ship_and_sees_no_ship_button(world):
    state = page_state(
        TransferDetailState, world.tokens["manager"], transfer_id=world.ids["approved"]
    )
    state.role, state.status = "manager", "approved"
    assert state.can_ship is False and state.can_cancel is True
    result = call(state, "ship")
    assert "You don't have permission to ship transfers." in rendered(result)
    with transaction(world.engine) as session:
        assert session.get(Transfer, world.ids["approved"]).status == "approved"


def test_the_whole_life_through_the_handlers(world):
    merch, manager = world.tokens["merch"], world.tokens["manager"]
    vm, wh1, wh2 = world.ids["vM"], world.ids["WH1"], world.ids["WH2"]
    page = page_state(TransfersState, merch, form_source=str(wh1), form_dest=str(wh1))
    call(page, "create", {"lines": "NRD-TEE1-BLK-M 3"})
    assert page.form_error == "A transfer must go to a different warehouse than it comes from."
    page.form_dest = str(wh2)
    call(page, "create", {"lines": "NRD-TEE1-BLK-M 0"})
    assert "quantities must be 1 or more" in page.form_error
    call(page, "create", {"lines": "NRD-TEE1-BLK-M 1\nnrd-tee1-blk-m 2"})
    assert "put it on one line" in page.form_error
    call(page, "create", {"lines": "NOPE-1 2"})
    assert page.form_error == "No variant with SKU, alias or barcode NOPE-1."
    result = call(page, "create", {"lines": "NRD-TEE1-BLK-M 3", "note": "top up"})
    assert "drafted" in rendered(result)
    with transaction(world.engine) as session:
        new_id = session.scalar(select(Transfer.id).order_by(Transfer.id.desc()))

    detail = page_state(TransferDetailState, merch, transfer_id=new_id)
    detail.role = "merchandiser"
    call(detail, "submit")
    assert detail.status == "requested"
    # The one who raised it may not approve it; a manager may.
    boss = page_state(TransferDetailState, manager, transfer_id=new_id)
    call(boss, "approve")
    assert boss.status == "approved"
    call(detail, "ship")
    assert detail.status == "in_transit"
    call(detail, "open_receive")
    result = call(detail, "receive", {f"received-{vm}": "2", f"short-{vm}": "1"})
    assert "Received: 2 received, 1 short" in rendered(result)
    assert detail.status == "received"
    assert [e.label for e in detail.timeline] == [
        "Drafted",
        "Submitted for approval",
        "Approved",
        "Shipped",
        "Received",
    ]
    with transaction(world.engine) as session:
        assert get_balance(session, vm, wh2).on_hand == 20 + 2
        assert get_balance(session, vm, wh1).on_hand == 20 - 5 - 3  # "in_transit" fixture too

    # Receiving more than shipped is refused inline, nothing moved.
    other = page_state(TransferDetailState, merch, transfer_id=world.ids["in_transit"])
    other.lines, other.dialog = _lines(world), "receive"
    before = db_snapshot(world.engine)
    assert call(other, "receive", {f"received-{vm}": "9"}) is None
    assert "only 5 of 5 shipped remain" in other.form_error
    assert db_snapshot(world.engine) == before

    # The sidebar counts.
    sidebar = page_state(SidebarState, manager)
    call(sidebar, "refresh")
    assert sidebar.waiting_transfers == 1  # the fixture's "requested"
    assert sidebar.open_alerts >= 1


def test_alert_handlers_work_for_staff(world):
    merch = world.tokens["merch"]
    inbox = page_state(AlertsState, merch)
    inbox.alerts = [AlertItem(id=world.ids["alert"], subject="x", warehouse="WH1")]
    result = call(inbox, "acknowledge", world.ids["alert"])
    assert "Acknowledged" in rendered(result)
    assert world.ids["alert"] not in [a.id for a in inbox.alerts]  # not open any more
    inbox.alerts = [AlertItem(id=world.ids["alert"], subject="x", warehouse="WH1")]
    call(inbox, "open_snooze", world.ids["alert"])
    assert inbox.dialog == "snooze"
    call(inbox, "snooze", {"until": (date.today() - timedelta(days=1)).isoformat()})
    assert inbox.form_error == "Snooze until a time in the future."
    call(inbox, "snooze", {"until": (date.today() + timedelta(days=2)).isoformat()})
    assert inbox.dialog == ""
    with transaction(world.engine) as session:
        assert session.get(Alert, world.ids["alert"]).status == "snoozed"

    rules = page_state(AlertRulesState, merch, dialog="rule", form_level="variant")
    call(rules, "save_rule", {"subject": "NRD-TEE1-BLK-M", "threshold": "-2"})
    assert rules.form_error == "Threshold cannot be negative."
    call(rules, "save_rule", {"subject": "NRD-TEE1-BLK-M", "threshold": "2"})
    assert rules.form_error == "" and rules.dialog == ""

    replenish = page_state(ReplenishmentState, merch, brand="NRD")
    result = call(replenish, "download")
    assert "purchase-list-nrd" in rendered(result)


def test_parse_lines_refusals():
    assert parse_lines("A-1 2\n\n B-2, 3 \nC × 4") == [("A-1", 2), ("B-2", 3), ("C", 4)]
    for bad, message in (
        ("", "Add at least one line"),
        ("A-1", "needs a SKU and a quantity"),
        ("A-1 -2", "quantities must be 1 or more"),
        ("A-1 1\na-1 2", "on lines 1 and 2"),
    ):
        with pytest.raises(InvalidQuantity, match=message):
            parse_lines(bad)
