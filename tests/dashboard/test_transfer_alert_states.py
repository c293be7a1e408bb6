"""The transfer and alert pages' state handlers, called directly (no browser).

Any client can send any event, so each handler is called the way a tampered client
could: as a role that may not do it, and signed out. Each refusal must leave the
database and the page state as they were and say why. The same handlers called by the
right roles move a transfer through its whole life, which shows the refusals are not
vacuous.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from reflex.istate.data import RouterData
from sqlalchemy import Engine, select, text

from dashboard.states.alerts import AlertItem, AlertRulesState, AlertsState, ReplenishmentState
from dashboard.states.sidebar import SidebarState
from dashboard.states.transfers import TransfersState
from dashboard.states.transfers_detail import LineItem, TransferDetailState
from dashboard.states.transfers_new import NewTransferState, parse_lines
from dashboard.states.transfers_pick import PickListState
from dashboard.states.transfers_suggest import RouteGroup, SuggestionsState
from models.alerts import Alert, scan_alerts, set_rule
from models.catalog import Variant
from models.db import set_default_engine, transaction
from models.errors import InvalidQuantity
from models.stock import get_balance, receive
from models.transfers import Transfer, create_transfer
from models.users import User, start_login_session
from tests.dashboard.items import item
from tests.dashboard.test_admin_states import call as _call
from tests.dashboard.test_admin_states import fields, page_state, rendered
from tests.transfer_support import add_style, make_staff, stocked_world

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
    return [item(LineItem, variant_id=world.ids["vM"], sku="NRD-TEE1-BLK-M", outstanding=5)]


def call(state, handler: str, *args):
    """`tests.dashboard.test_admin_states.call`; background handlers (the pages' live `watch`)
    through their function, as Reflex refuses a direct call outside its loop."""
    registered = type(state).event_handlers[handler]
    if registered.is_background:
        return asyncio.run(registered.fn(state, *args))
    return _call(state, handler, *args)


def transfer_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    return {
        "load": ((), {}),
        "watch": ((1,), {"_generation": 1}),
        "filter_status": (("draft",), {}),
    }


def new_transfer_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    form = {"lines": "NRD-TEE1-BLK-S 2", "note": ""}
    armed = {"form_source": str(world.ids["WH1"]), "form_dest": str(world.ids["WH2"])}
    return {
        "open_create": ((), {}),
        "create": ((form,), {**armed, "dialog": "create"}),
        # These only read, but they read stock levels: checked too.
        "set_form_source": ((str(world.ids["WH1"]),), {"dialog": "create"}),
        "search": (("NRD",), {**armed, "dialog": "create"}),
        "set_lines": (("NRD-TEE1-BLK-S 2",), {**armed, "dialog": "create"}),
        "add_line": (("NRD-TEE1-BLK-S",), {**armed, "dialog": "create"}),
    }


#: handler → (transfer it acts on, roles that may call it)
DETAIL = {
    "submit": ("draft", {"merch", "admin"}),
    "approve": ("requested", {"manager", "admin"}),
    "confirm_ship": ("approved", {"merch", "admin"}),
    "ship": ("approved", {"merch", "admin"}),
    "open_receive": ("in_transit", {"merch", "admin"}),
    "receive": ("in_transit", {"merch", "admin"}),
    "start_scanning": ("in_transit", {"merch", "admin"}),
    "keep_received": ("in_transit", {"merch", "admin"}),
    "scan": ("in_transit", {"merch", "admin"}),
    "confirm_cancel": ("draft", {"merch", "manager", "admin"}),
    "cancel": ("requested", {"merch", "manager", "admin"}),
}


def _detail_args(world: World, handler: str) -> tuple[tuple, dict]:
    target, _ = DETAIL[handler]
    preset = {
        "transfer_id": world.ids[target],
        "lines": _lines(world),
        "status": target,
        "dialog": "receive"
        if handler in ("receive", "start_scanning", "keep_received", "scan")
        else {"cancel": "cancel", "ship": "ship"}.get(handler, ""),
        "scanning": handler in ("keep_received", "scan"),
        "receipt_scans": {str(world.ids["vM"]): 1} if handler in ("keep_received", "scan") else {},
    }
    args: tuple = ()
    if handler == "receive":
        args = ({f"received-{world.ids['vM']}": "4", f"short-{world.ids['vM']}": "1"},)
    elif handler == "keep_received":
        args = (world.ids["vM"], "3")
    elif handler == "scan":
        args = ({"code": "NRD-TEE1-BLK-M"},)
    return args, preset


def alert_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    listed = {"alerts": [item(AlertItem, id=world.ids["alert"], subject="x", warehouse="WH1")]}
    return {
        "load": ((), {}),
        "watch": ((1,), {"_generation": 1}),
        "set_filter": (("kind", "low_stock"), {}),
        "clear_filters": ((), {}),
        "acknowledge": ((world.ids["alert"],), listed),
        "reopen": ((world.ids["alert"],), listed),
        "open_snooze": ((world.ids["alert"],), listed),
        "snooze": (
            ({"until": (date.today() + timedelta(days=3)).isoformat()},),
            {**listed, "dialog": "snooze", "target_id": world.ids["alert"]},
        ),
        "select_alert": ((world.ids["alert"], True), listed),
        "select_page": ((True,), listed),
        "select_group": (("", True), listed),
        "clear_selection": ((), {**listed, "selected": [world.ids["alert"]]}),
        "bulk_acknowledge": ((), {**listed, "selected": [world.ids["alert"]]}),
        "bulk_snooze": ((7,), {**listed, "selected": [world.ids["alert"]]}),
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
        "apply_per_vote": (({"per_vote": "1"},), {}),
        "download": ((), {"brand": "NRD"}),
    }


def suggestion_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    groups = [item(RouteGroup, key=f"{world.ids['WH1']}:{world.ids['WH2']}", selected=True)]
    return {
        "load": ((), {}),
        "pick_brand": (("NRD",), {}),
        "set_min": (("5",), {}),
        "create_drafts": ((), {"groups": groups, "brand_id": world.ids["brand"]}),
    }


def pick_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    return {"load": ((), {})}


UI_ONLY = {
    TransfersState: set(),
    NewTransferState: {"on_dialog_change", "set_form_dest"},
    TransferDetailState: {"on_dialog_change"},
    AlertsState: {"on_dialog_change"},
    AlertRulesState: {"on_dialog_change", "set_form_level", "set_form_warehouse"},
    ReplenishmentState: set(),
    SuggestionsState: {"toggle_route"},
    PickListState: set(),
}
CALLS = {
    TransfersState: transfer_calls,
    NewTransferState: new_transfer_calls,
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
        calls["watch"] = ((1,), {"_generation": 1})
        return calls
    return CALLS[state_cls](world)


STATES = [*CALLS, TransferDetailState]


@pytest.mark.parametrize("state_cls", STATES, ids=lambda c: c.__name__)
def test_every_handler_is_either_checked_or_ui_only(state_cls, world):
    handlers = set(state_cls.event_handlers) - {"setvar", "set_per_page"}  # pager: a redirect
    assert handlers == set(_all_calls(state_cls, world)) | UI_ONLY[state_cls]
    assert "require" not in state_cls.event_handlers


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
        assert '"/login' in rendered(result), handler


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
    page = page_state(NewTransferState, merch, form_source=str(wh1), form_dest=str(wh1))
    call(page, "create", {"lines": "NRD-TEE1-BLK-M 3"})
    assert page.form_error == "A transfer must go to a different warehouse than it comes from."
    page.form_dest = str(wh2)
    call(page, "create", {"lines": "NRD-TEE1-BLK-M 0"})
    assert "quantities must be 1 or more" in page.form_error
    call(page, "create", {"lines": "NRD-TEE1-BLK-M 1\nnrd-tee1-blk-m 2"})
    assert "put it on one line" in page.form_error
    call(page, "create", {"lines": "NOPE-1 2"})
    assert page.form_error == (
        "Nothing was created. Line 1 (NOPE-1): no variant with this SKU, alias or barcode."
    )
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
    result = call(detail, "ship")  # not without its confirmation
    assert "Nothing shipped: confirm what leaves" in rendered(result)
    assert detail.dialog == ""
    with transaction(world.engine) as session:
        assert session.get(Transfer, new_id).status == "approved"  # nothing shipped
    call(detail, "confirm_ship")
    assert detail.dialog == "ship"
    call(detail, "ship")
    assert detail.status == "in_transit" and detail.dialog == ""
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


def test_a_receipt_counted_by_scanning(world):
    vm, wh2 = world.ids["vM"], world.ids["WH2"]
    with transaction(world.engine) as session:
        session.get(Variant, vm).barcode = "4000000000017"
        session.get(Variant, world.ids["vS"]).barcode = "4000000000024"
    detail = page_state(TransferDetailState, world.tokens["merch"])
    detail.transfer_id = world.ids["in_transit"]
    call(detail, "open_receive")
    detail.lines = _lines(world)  # as load reads them: 5 of vM outstanding
    assert call(detail, "scan", {"code": "4000000000017"}) is None
    assert detail.receipt_scans == {} and detail.scan_said == ""  # not scanning yet: nothing
    call(detail, "start_scanning")
    assert detail.scanning and detail.receipt_scans == {str(vm): 0}
    before = db_snapshot(world.engine)
    for code in ("4000000000017", "NRD-TEE1-BLK-M", " 4000000000017 "):
        call(detail, "scan", {"code": code})
    assert detail.receipt_scans == {str(vm): 3}
    assert detail.scan_ok and detail.scan_hit == str(vm)
    assert detail.scan_said == "Received NRD-TEE1-BLK-M (M): 3 of 5"
    call(detail, "scan", {"code": "999"})
    assert not detail.scan_ok and detail.scan_said.startswith("Unknown code '999'")
    call(detail, "scan", {"code": "4000000000024"})
    assert detail.scan_said == (
        f"'4000000000024' is NRD-TEE1-BLK-S, which is not on transfer #{world.ids['in_transit']}."
    )
    call(detail, "keep_received", vm, "4")  # typed: scans count on from it
    call(detail, "keep_received", vm, "four")  # not a number: kept as it was
    call(detail, "scan", {"code": "4000000000017"})
    assert detail.receipt_scans == {str(vm): 5} and detail.scan_ok
    call(detail, "scan", {"code": "4000000000017"})
    assert detail.scan_said == "NRD-TEE1-BLK-M (M): all 5 expected units are already scanned."
    assert detail.receipt_scans == {str(vm): 5}
    assert db_snapshot(world.engine) == before  # scanning books nothing by itself
    result = call(detail, "receive", {f"received-{vm}": "5"})
    assert "Received: 5 received" in rendered(result)
    with transaction(world.engine) as session:
        assert get_balance(session, vm, wh2).on_hand == 20 + 5


def test_alert_handlers_work_for_staff(world):
    merch = world.tokens["merch"]
    inbox = page_state(AlertsState, merch)
    inbox.alerts = [item(AlertItem, id=world.ids["alert"], subject="x", warehouse="WH1")]
    result = call(inbox, "acknowledge", world.ids["alert"])
    assert "Acknowledged" in rendered(result)
    assert world.ids["alert"] not in [a.id for a in inbox.alerts]  # not open any more
    inbox.alerts = [item(AlertItem, id=world.ids["alert"], subject="x", warehouse="WH1")]
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
    # A link to the streamed file (tests/dashboard/test_exports.py), not the file in the websocket.
    assert "/exports/replenishment.csv?brand=NRD" in rendered(result)
    # Units per vote travel in the URL, to the page's own read and to the CSV link.
    assert "per_vote=1.5" in rendered(call(replenish, "apply_per_vote", {"per_vote": " 1.5 "}))
    with_uplift = page_state(ReplenishmentState, merch, brand="NRD", per_vote="1.5")
    assert "per_vote=1.5" in rendered(call(with_uplift, "download"))
    refused = page_state(ReplenishmentState, merch, brand="NRD", per_vote="lots")
    assert "Units per vote must be a number" in rendered(call(refused, "download"))


def test_replenishment_pages_every_alerted_balance(world):
    """More alerted balances than a page: each page shows its share, the summary and the
    range count them all (the list used to stop at 500 lines without saying so)."""
    engine = world.engine
    for colour in ("Black", "Stone"):
        sizes = add_style(engine, world.ids["brand"], "PG1", colour, ("XS", "S", "M", "L", "XL"))
        with transaction(engine) as session:
            for variant in sizes.values():
                for warehouse in ("WH1", "WH2", "ST1"):
                    receive(session, variant, world.ids[warehouse], 1, actor="setup")
    with transaction(engine) as session:
        scan_alerts(session)

    def at(query: dict[str, str]) -> ReplenishmentState:
        state = page_state(ReplenishmentState, world.tokens["merch"])
        path = "/alerts/replenishment"
        state.router = RouterData.from_router_data({
            "pathname": path, "asPath": f"{path}?{urlencode(query)}", "query": query,
            "headers": {}, "ip": "203.0.113.7",
        })
        assert call(state, "load") is None
        return state

    first = at({"brand": "NRD"})
    total = first.total
    assert total > 25 and len(first.lines) == 25
    assert first.summary.startswith(f"{total} alerted balances · ")
    assert first.range_label == f"1–25 of {total}"
    assert first.next_href == "/alerts/replenishment?brand=NRD&page=2"
    second = at({"brand": "NRD", "page": "2", "per_vote": "1"})
    assert len(second.lines) == total - 25
    assert len({(x.sku, x.warehouse) for x in first.lines + second.lines}) == total
    assert second.range_label == f"26–{total} of {total}"
    assert second.previous_href == "/alerts/replenishment?brand=NRD&per_vote=1"
    assert second.summary == first.summary  # every page counts every line
    # A page past the end is the last page.
    assert at({"brand": "NRD", "page": "9"}).range_label == second.range_label


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


# --- the new-transfer dialog: picker, line checks, every bad line at once ----------------


def _at(state, path: str, **query: str):
    from urllib.parse import urlencode

    from reflex.istate.data import RouterData

    as_path = f"{path}?{urlencode(query)}" if query else path
    state.router = RouterData.from_router_data(
        {"pathname": path, "asPath": as_path, "query": query, "headers": {"origin": "http://t"}}
    )
    return state


def test_the_picker_shows_units_at_the_source_and_adds_lines(world):
    wh1, wh2 = world.ids["WH1"], world.ids["WH2"]
    page = page_state(NewTransferState, world.tokens["merch"], dialog="create")
    call(page, "search", "BLK-S")
    assert [h.sku for h in page.hits] == ["NRD-TEE1-BLK-S"]
    assert page.hits[0].available == "pick a source to see what it has"
    call(page, "set_form_source", str(wh1))  # the picker follows the source
    assert page.hits[0].available == "20 available at WH1"
    call(page, "search", "organic")  # by product name
    assert len(page.hits) == 3
    call(page, "add_line", "NRD-TEE1-BLK-S")
    call(page, "add_line", "NRD-TEE1-BLK-S")  # again: one more unit on its line
    assert page.form_lines == "NRD-TEE1-BLK-S 2"
    assert page.query == "" and page.hits == []
    assert [(c.code, c.status, c.available) for c in page.checks] == [
        ("NRD-TEE1-BLK-S", "ok", "20")
    ]

    # More than available: a warning, not a refusal (shipping refuses until it is there).
    call(page, "set_lines", "NRD-TEE1-BLK-S 25")
    assert page.checks[0].status == "warning"
    assert page.checks[0].reason == "asks for 25; 20 available at WH1"
    assert "1 more than available" in page.check_summary
    page.form_dest = str(wh2)
    result = call(page, "create", {"lines": "NRD-TEE1-BLK-S 25"})
    assert "drafted" in rendered(result) and "/transfers/detail?id=" in rendered(result)


def test_every_bad_line_is_reported_at_once_and_nothing_is_created(world):
    wh1, wh2 = world.ids["WH1"], world.ids["WH2"]
    page = page_state(
        NewTransferState,
        world.tokens["merch"],
        form_source=str(wh1),
        form_dest=str(wh2),
        dialog="create",
    )
    before = db_snapshot(world.engine)
    lines = "NRD-TEE1-BLK-M 3\nNOPE-1 2\n\nNRD-TEE1-BLK-S 0\nNRD-TEE1-BLK-L\nNRD-TEE1-BLK-M 1"
    assert call(page, "create", {"lines": lines}) is None
    assert db_snapshot(world.engine) == before
    assert page.dialog == "create"
    assert page.form_error.startswith("Nothing was created: 4 lines need fixing.")
    for named in (
        "Line 2 (NOPE-1): no variant with this SKU, alias or barcode.",
        "Line 4 (NRD-TEE1-BLK-S): quantity 0; quantities must be 1 or more.",
        "Line 5 (NRD-TEE1-BLK-L): needs a SKU and a quantity",
        "Line 6 (NRD-TEE1-BLK-M): on lines 1 and 6; put it on one line",
    ):
        assert named in page.form_error
    assert [(c.row, c.status) for c in page.checks] == [
        ("1", "ok"),
        ("2", "problem"),
        ("4", "problem"),
        ("5", "problem"),
        ("6", "problem"),
    ]
    assert page.check_summary == "5 lines · 3 units · 4 lines to fix"  # units of the good lines


def test_the_stock_grid_link_opens_the_dialog_with_its_skus(world):
    page = _at(
        page_state(TransfersState, world.tokens["merch"]),
        "/transfers",
        new="1",
        sku="NRD-TEE1-BLK-S,NRD-TEE1-BLK-M",
    )
    call(page, "load")
    dialog = page.parent_state._get_state_from_cache(NewTransferState)
    assert dialog.dialog == "create"
    assert dialog.form_lines == "NRD-TEE1-BLK-S 1\nNRD-TEE1-BLK-M 1"
    assert [c.status for c in dialog.checks] == ["ok", "ok"]


# --- suggestions: by route, a minimum size, nothing ticked --------------------------------


def test_suggestions_are_grouped_by_route_small_moves_left_out_none_ticked(world):
    from datetime import UTC, datetime, timedelta

    from tests.transfer_support import add_sales

    st1, v_s, v_l = world.ids["ST1"], world.ids["vS"], world.ids["vL"]
    recently = datetime.now(UTC) - timedelta(days=2)
    # 28 days' sales at ST1: S 30 (it wants 10 more), L 22 (it wants 2 more).
    add_sales(world.engine, v_s, st1, 1, recently, lines=30)
    add_sales(world.engine, v_l, st1, 1, recently, lines=22)

    merch = world.tokens["merch"]
    page = _at(page_state(SuggestionsState, merch), "/transfers/suggest", brand="NRD")
    call(page, "load")
    assert page.min_qty == "3"
    assert [(g.route, g.summary, g.selected) for g in page.groups] == [
        ("WH1 → ST1", "1 move · 10 units", False)
    ]
    assert [m.sku for m in page.groups[0].moves] == ["NRD-TEE1-BLK-S"]
    assert page.filter_note == "1 move on 1 route · 1 smaller move left out"
    assert page.draft_label == "Tick a route to draft it"
    assert "Tick at least one route" in rendered(call(page, "create_drafts"))

    result = call(page, "set_min", "1")
    assert '"/transfers/suggest?brand=NRD&min=1"' in rendered(result)
    everything = _at(
        page_state(SuggestionsState, merch), "/transfers/suggest", brand="NRD", min="1"
    )
    call(everything, "load")
    assert [(g.route, g.summary) for g in everything.groups] == [
        ("WH1 → ST1", "2 moves · 12 units")
    ]

    # Ticking the route drafts it: one transfer, only the moves the minimum keeps.
    call(page, "toggle_route", page.groups[0].key, True)
    assert page.draft_label == "Draft 1 transfer (10 units)"
    result = call(page, "create_drafts")
    assert "Drafted 1 transfer" in rendered(result)
    with transaction(world.engine) as session:
        newest = session.scalar(select(Transfer).order_by(Transfer.id.desc()))
        lines = session.execute(
            text("SELECT variant_id, qty FROM transfer_line WHERE transfer_id = :t"),
            {"t": newest.id},
        ).all()
    assert newest.note == "Suggested rebalance"
    assert [tuple(r) for r in lines] == [(v_s, 10)]


def test_editing_the_lines_clears_an_out_of_date_error_but_not_a_current_one(world):
    page = page_state(
        NewTransferState,
        world.tokens["merch"],
        form_source=str(world.ids["WH1"]),
        form_dest=str(world.ids["WH2"]),
        dialog="create",
    )
    call(page, "create", {"lines": "NOPE-1 2"})
    assert page.form_error
    call(page, "set_lines", "NOPE-1 2")  # the typing that came before the click
    assert page.form_error
    call(page, "set_lines", "NRD-TEE1-BLK-S 2")
    assert page.form_error == "" and page.checks[0].status == "ok"
