"""The stock grid's state handlers, called directly (no browser), as each role.

Like tests/dashboard/test_admin_states.py: a tampered client can send any event, so every
handler is called as a signed-out visitor, and the correcting ones as a manager and a
vendor, with the dialog primed as if an editor had opened it. Refusals change nothing
(database and page state) and say why. The same calls as a merchandiser do save,
through compare-and-swap; a vendor's page, drawer and export never hold another brand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
import reflex as rx
from reflex.istate.data import RouterData
from sqlalchemy import Engine, select, text

from dashboard.states import live as live_module
from dashboard.states import stock as stock_module
from dashboard.states.auth import RoleGuard
from dashboard.states.stock import (
    GridRequest,
    StockState,
    grid_href,
    heat_level,
    parse_count,
    parse_request,
    read_grid,
)
from models.catalog import Variant, Warehouse
from models.db import set_default_engine, transaction
from models.grid import GridFilter
from models.stock import LedgerEntry, get_balance, receive, set_count
from models.users import User, create_user, start_login_session
from tests.e2e.seed import seed_database
from tests.signin import sign_in_state

TABLES = ("stock_balance", "stock_ledger", "reservation")


@dataclasses.dataclass
class World:
    engine: Engine
    tokens: dict[str, str]
    variants: dict[str, int]
    warehouses: dict[str, int]
    brands: dict[str, int]


@pytest.fixture
def world(sqlite_engine: Engine) -> Iterator[World]:
    """The browser tests' seed (two brands, two warehouses, six variants) plus a manager;
    everyone signed in; the dashboard's DB calls go to this database."""
    seed_database(sqlite_engine.url.render_as_string(hide_password=False))
    set_default_engine(sqlite_engine)
    stock_module._choices_cache.clear()
    tokens: dict[str, str] = {}
    with transaction(sqlite_engine) as session:
        create_user(session, "max@x.test", "long enough", "manager")
        for user in session.scalars(select(User)):
            tokens[user.role] = start_login_session(session, user)
        variants = {v.sku: v.id for v in session.scalars(select(Variant))}
        warehouses = {w.code: w.id for w in session.scalars(select(Warehouse))}
        brands = {
            code: bid for bid, code in session.execute(text("SELECT id, code FROM brand")).all()
        }
    yield World(sqlite_engine, tokens, variants, warehouses, brands)
    set_default_engine(None)
    stock_module._choices_cache.clear()


def db_snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table: [
                tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))
            ]
            for table in TABLES
        }


def page_state(token: str, url: str = "/stock", **preset: Any) -> StockState:
    """A fresh state tree for one tab whose cookie holds `token`, on `url`."""
    root = rx.State(_reflex_internal_init=True)
    sign_in_state(root, token)
    state = root._get_state_from_cache(StockState)
    router = RouterData.from_router_data(
        {"headers": {"origin": "http://test"}, "asPath": url, "pathname": "/stock"}
    )
    root.router = router
    state.router = router
    for name, value in preset.items():
        setattr(state, name, value)
    state.dirty_vars.clear()
    return state


def invoke(state: rx.State, handler: str, *args: Any) -> Any:
    """The handler's coroutine; background ones through their function (Reflex refuses
    a direct call outside the event loop it manages)."""
    registered = type(state).event_handlers[handler]
    if registered.is_background:
        return registered.fn(state, *args)
    return getattr(state, handler)(*args)


def call(state: rx.State, handler: str, *args: Any) -> Any:
    result = invoke(state, handler, *args)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def rendered(events: Any) -> str:
    events = events if isinstance(events, list) else [events]
    return " ".join(str(value) for event in events if event for _, value in event.args)


def fields(state: rx.State) -> dict[str, Any]:
    return {name: getattr(state, name) for name in state.base_vars}


def loaded(world: World, role: str, url: str = "/stock") -> StockState:
    state = page_state(world.tokens[role], url)
    call(state, "load")
    assert state.loaded, state.load_error
    return state


def primed(world: World) -> dict[str, Any]:
    """A correction dialog open on NORTH-NW-STRAIGHT-30 at LDN (1,000 on hand)."""
    return {
        "edit_open": True,
        "_edit_variant": world.variants["NORTH-NW-STRAIGHT-30"],
        "_edit_warehouse": world.warehouses["LDN"],
        "_edit_expected": 1000,
        "_filter": GridFilter(),
    }


def calls(world: World) -> dict[str, tuple[tuple, dict]]:
    """Every handler with arguments a tampered client could send."""
    vid, wid = world.variants["NORTH-NW-STRAIGHT-30"], world.warehouses["LDN"]
    armed = {**primed(world), "drawer_open": True, "_drawer_variant": vid}
    return {
        "load": ((), {}),
        "watch": ((1,), {"_generation": 1}),
        "apply_search": (({"q": "jean"},), armed),
        "apply_tag": (({"tag": "knit"},), armed),
        "set_filter": (("brand", "1"), armed),
        "toggle_warehouse": ((str(wid),), armed),
        "clear_filters": ((), armed),
        "export_csv": ((), armed),
        "open_correction": ((vid, wid, 1000), armed),
        "on_correction_change": ((False,), armed),
        "save_correction": (({"count": "0", "reason": "lost"},), armed),
        "open_variant": ((vid,), armed),
        "ledger_older": ((), armed),
        "ledger_newer": ((), armed),
        "on_drawer_change": ((False,), armed),
        **{
            name: (args, {**armed, **bulk_primed(world)})
            for name, args in (
                ("toggle_bulk", ()),
                ("discard_bulk", ()),
                ("type_cell", (f"{vid}:{wid}", "5")),
                ("paste_cells", (_paste([f"{vid}:{wid}", "5"]),)),
                ("open_review", ()),
                ("save_bulk", ({"reason": "count"},)),
            )
        },
    }


def _paste(*cells: list[str], left_out: int = 0) -> str:
    """What stock_bulk.js sends for a pasted block: the cells it covers, the rest."""
    return json.dumps({"cells": list(cells), "left_out": left_out, "paste": 1})


def bulk_primed(world: World) -> dict[str, Any]:
    """Bulk edit on, with NORTH-NW-STRAIGHT-30 at LDN typed from 1,000 to 5 and reviewed."""
    vid, wid = world.variants["NORTH-NW-STRAIGHT-30"], world.warehouses["LDN"]
    key = f"{vid}:{wid}"
    return {
        "bulk_on": True,
        "bulk_text": {key: "5"},
        "bulk_marks": {key: "changed"},
        "bulk_count": 1,
        "bulk_changes": [
            {
                "key": key,
                "sku": "NORTH-NW-STRAIGHT-30",
                "warehouse": "LDN",
                "before": "1,000",
                "after": "5",
            }
        ],
        "dialog": "review",
        "_bulk_seen": {key: 1000},
    }


def test_every_handler_is_covered_and_the_guard_is_not_an_event(world):
    # on_dialog_change (DialogState's, for the bulk edit's dialogs) only closes them.
    handlers = set(StockState.event_handlers) - {"setvar", "on_dialog_change"}
    assert handlers == set(calls(world))
    assert "require" not in StockState.event_handlers
    assert issubclass(StockState, RoleGuard)


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_signed_out_callers_are_sent_to_login_and_change_nothing(world, token):
    before = db_snapshot(world.engine)
    for handler, (args, preset) in calls(world).items():
        state = page_state(token, **preset)
        state_before = fields(state)
        result = call(state, handler, *args)
        assert db_snapshot(world.engine) == before, handler
        assert '"/login' in rendered(result), handler
        if handler not in ("load", "watch"):  # those also clear what the page held
            assert fields(state) == state_before, handler


@pytest.mark.parametrize("role", ["manager", "vendor"])
def test_readers_cannot_correct_counts_even_with_a_primed_dialog(world, role):
    vid, wid = world.variants["SOLS-SO-CREW-S"], world.warehouses["LDN"]
    before = db_snapshot(world.engine)
    for handler, args in (
        ("open_correction", (vid, wid, 500)),
        ("save_correction", ({"count": "1", "reason": "lost", "note": "x"},)),
    ):
        state = page_state(world.tokens[role], **primed(world))
        state_before = fields(state)
        result = call(state, handler, *args)
        assert "You don't have permission to correct stock counts" in rendered(result)
        assert db_snapshot(world.engine) == before
        assert fields(state) == state_before
    # And the page offers them no edit control.
    assert loaded(world, role).can_edit is False


@pytest.mark.parametrize("role", ["manager", "vendor"])
def test_readers_cannot_bulk_edit_even_with_a_primed_review(world, role):
    before = db_snapshot(world.engine)
    vid, wid = world.variants["NORTH-NW-STRAIGHT-30"], world.warehouses["LDN"]
    for handler, args in (
        ("toggle_bulk", ()),
        ("type_cell", (f"{vid}:{wid}", "7")),
        ("paste_cells", (_paste([f"{vid}:{wid}", "7"]),)),
        ("open_review", ()),
        ("save_bulk", ({"reason": "count", "note": "x"},)),
    ):
        state = page_state(world.tokens[role], **primed(world), **bulk_primed(world))
        state_before = fields(state)
        result = call(state, handler, *args)
        assert "You don't have permission to correct stock counts" in rendered(result), handler
        assert db_snapshot(world.engine) == before
        assert fields(state) == state_before


def test_merchandiser_bulk_edit_saves_one_batch_and_marks_the_conflict(world):
    crew, jean = world.variants["SOLS-SO-CREW-S"], world.variants["NORTH-NW-STRAIGHT-32"]
    ldn = world.warehouses["LDN"]
    state = loaded(world, "merchandiser")
    call(state, "toggle_bulk")
    assert state.bulk_on and state.bulk_summary == "No changes yet"
    crew_key, jean_key = f"{crew}:{ldn}", f"{jean}:{ldn}"
    call(state, "type_cell", crew_key, "480")
    call(state, "type_cell", jean_key, "x")
    assert state.bulk_marks == {crew_key: "changed", jean_key: "invalid"}
    assert "is not a whole number" in state.bulk_tips[jean_key]
    assert "hold no valid count" in rendered(call(state, "open_review"))
    assert state.dialog == ""
    call(state, "type_cell", jean_key, "190")
    assert "Save or discard your 2 bulk edit(s) first" in rendered(
        call(state, "set_filter", "stock", "low")
    )
    call(state, "open_review")
    assert state.dialog == "review"
    assert [tuple(c.values())[1:] for c in state.bulk_changes] == [
        ("NORTH-NW-STRAIGHT-32", "LDN", "200", "190"),
        ("SOLS-SO-CREW-S", "LDN", "500", "480"),
    ]
    with transaction(world.engine) as session:  # someone else counts the jean meanwhile
        set_count(session, jean, ldn, 195, actor="someone-else", expected_on_hand=200)
    result = call(state, "save_bulk", {"reason": "found", "note": "aisle 4"})
    assert "Saved 1 count" in rendered(result) and "1 conflict" in rendered(result)
    assert state.bulk_marks == {crew_key: "saved", jean_key: "conflict"}
    [conflict] = state.bulk_conflicts
    assert conflict["sku"] == "NORTH-NW-STRAIGHT-32"
    assert "now 195 on hand, not the 200 you saw (you entered 190)" in conflict["why"]
    assert state.bulk_text == {jean_key: "190"}  # the conflict keeps what was typed
    with transaction(world.engine) as session:
        assert get_balance(session, crew, ldn).on_hand == 480
        assert get_balance(session, jean, ldn).on_hand == 195
        last = session.scalar(select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(1))
        assert (last.reason, last.note, last.on_hand_delta) == ("found", "aisle 4", -20)
    # Having seen the new figure, reviewing and saving again applies it from 195.
    call(state, "open_review")
    assert [(c["before"], c["after"]) for c in state.bulk_changes] == [("195", "190")]
    assert "Saved 1 count" in rendered(call(state, "save_bulk", {"reason": "count"}))
    with transaction(world.engine) as session:
        assert get_balance(session, jean, ldn).on_hand == 190
    # Another page of the grid keeps the mode on, without the unsaved edits.
    call(state, "type_cell", crew_key, "2")
    state.router = page_state(world.tokens["merchandiser"], "/stock?per=25&page=1").router
    assert "rackroomBulkEdit" in rendered(call(state, "load"))  # the script, sent again
    assert state.bulk_on and state.bulk_marks == {} and state.bulk_count == 0
    # Leaving with unsaved edits asks first; discarding leaves the mode.
    call(state, "type_cell", crew_key, "1")
    call(state, "toggle_bulk")
    assert state.bulk_on and state.dialog == "leave"
    call(state, "discard_bulk")
    assert not state.bulk_on and state.bulk_marks == {} and state.bulk_count == 0


def test_a_pasted_block_applies_whole_or_not_at_all(world):
    v, w = world.variants, world.warehouses
    crew_s, crew_m, crew_l = (f"{v['SOLS-SO-CREW-' + size]}:{w['LDN']}" for size in "SML")
    crew_m_mcr = f"{v['SOLS-SO-CREW-M']}:{w['MCR']}"
    state = loaded(world, "merchandiser")
    call(state, "toggle_bulk")
    before = fields(state)
    # One value that is not a count refuses the whole paste, naming its cell and value.
    refused = rendered(
        call(state, "paste_cells", _paste([crew_s, "7"], [crew_m, "-3"], [crew_m_mcr, "x"]))
    )
    assert "Nothing was pasted: 2 values are not a count" in refused
    assert "SOLS-SO-CREW-M at LDN: '-3'; SOLS-SO-CREW-M at MCR: 'x'" in refused
    assert fields(state) == before
    # A good block applies every cell at once and says what was left out at the edge.
    answer = call(state, "paste_cells", _paste([crew_s, "7"], [crew_m_mcr, "1,200"], left_out=2))
    assert "Pasted 2 values; 2 values beyond the grid's edge were left out." in rendered(answer)
    fill = json.dumps([[crew_s, "7"], [crew_m_mcr, "1,200"]])  # the cells show it too
    assert json.dumps(f"window.rackroomBulkFill({fill})") in rendered(answer)
    assert state.bulk_marks == {crew_s: "changed", crew_m_mcr: "changed"}
    assert state.bulk_text == {crew_s: "7", crew_m_mcr: "1,200"}
    assert state.bulk_summary == "2 changed"
    # Pasting the seen figures back undoes those edits; cells not on the page count as
    # left out; a payload that is not a paste changes nothing.
    seen = str(state._bulk_seen[crew_s])
    answer = call(state, "paste_cells", _paste([crew_s, seen], [crew_l, "4"], ["999:1", "3"]))
    assert "Pasted 2 values; 1 value beyond the grid's edge was left out." in rendered(answer)
    assert state.bulk_marks == {crew_m_mcr: "changed", crew_l: "changed"}
    held = fields(state)
    for junk in ("not json", "[]", '{"cells": 5}', '{"cells": [["a"]]}'):
        assert "could not be read" in rendered(call(state, "paste_cells", junk))
        assert fields(state) == held
    with transaction(world.engine) as session:  # nothing is saved before the review
        assert get_balance(session, v["SOLS-SO-CREW-S"], w["LDN"]).on_hand == int(seen)


def test_vendor_sees_only_their_brand_whatever_the_url_says(world):
    north = world.brands["NORTH"]
    state = loaded(world, "vendor", f"/stock?brand={north}&q=NORTH")
    assert state.is_vendor
    assert state.rows == []  # searching the other brand's SKUs finds nothing
    assert any("another brand" in note for note in state.notes)
    state = loaded(world, "vendor", f"/stock?brand={north}")
    assert {row.brand for row in state.rows} == {"SOLS"}
    assert [c.label for c in state.brand_choices] == ["Solstice Knitwear"]
    assert state.colour_choices == ["Oat"] and state.category_choices == ["Knitwear"]
    assert "brand=" not in state.view_key  # links never carry a brand for vendors
    # The drawer refuses the other brand's variant like a missing one.
    call(state, "open_variant", world.variants["NORTH-NW-STRAIGHT-30"])
    assert state.drawer_sku == "" and "can't see" in state.drawer_error
    assert state.drawer_ledger == [] and state.drawer_balances == []
    # The export link is the vendor's brand, even if the held filter was tampered with
    # (and the export endpoint puts the brand back itself: tests/dashboard/test_exports.py).
    state._filter = GridFilter(brand_ids=(north,))
    link = rendered(call(state, "export_csv"))
    assert "/exports/stock.csv?" in link
    assert f"brand={state._scope[0]}" in link and f"brand={north}" not in link


def test_the_size_run_view_flags_the_broken_run(world):
    state = loaded(world, "manager", "/stock?view=sizes")
    assert state.view == "sizes"
    by_style = {run.style_code: run for run in state.runs}
    assert by_style["SO-CREW"].broken and not by_style["NW-STRAIGHT"].broken
    assert state.sizes[:3] == ["S", "M", "L"]
    crew = {c.hint.split(":")[0]: c for c in by_style["SO-CREW"].cells}
    assert (crew["L"].label, crew["L"].level) == ("0", "out")
    assert crew["M"].variant_id == world.variants["SOLS-SO-CREW-M"]
    assert crew["30"].level == "none"


def test_merchandiser_correction_is_compare_and_swap(world):
    vid, wid = world.variants["NORTH-NW-STRAIGHT-30"], world.warehouses["LDN"]
    state = loaded(world, "merchandiser", "/stock?q=NW-STRAIGHT-30")
    assert state.can_edit
    cell = state.rows[0].cells[0]
    assert (cell.on_hand, cell.available) == (1000, "966")

    call(state, "open_correction", vid, wid, cell.on_hand)
    assert state.edit_open and state.edit_title == "Correct NORTH-NW-STRAIGHT-30 at LDN"
    result = call(state, "save_correction", {"count": "990", "reason": "damaged", "note": "wet"})
    assert "Count saved" in rendered(result) and "1,000 \\u2192 990" in rendered(result)
    assert not state.edit_open
    assert state.rows[0].cells[0].available == "956"  # the page re-read at once
    with transaction(world.engine) as session:
        last = session.scalar(select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(1))
        assert (last.reason, last.on_hand_delta, last.note) == ("damaged", -10, "wet")
        assert last.actor == "mia@rackroom.test"

    # Stale: the count changes underneath between opening and saving.
    call(state, "open_correction", vid, wid, 990)
    with transaction(world.engine) as session:
        set_count(session, vid, wid, 980, actor="someone-else", expected_on_hand=990)
    before = db_snapshot(world.engine)
    assert call(state, "save_correction", {"count": "970", "reason": "count"}) is None
    assert state.edit_open and state.edit_stale
    assert "it is 980 on hand now, not 990. Nothing was saved." in state.edit_error
    assert db_snapshot(world.engine) == before
    # Having seen the new figure, saving again applies it.
    result = call(state, "save_correction", {"count": "970", "reason": "count"})
    assert "980 \\u2192 970" in rendered(result)
    with transaction(world.engine) as session:
        assert get_balance(session, vid, wid).on_hand == 970


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-1", "A count can't be negative"),
        ("abc", "is not a whole number"),
        ("", "Enter the number of units you counted"),
        ("33", "Cannot count 33: 34 units are reserved"),
        ("1000", "already 1,000"),
    ],
)
def test_bad_counts_are_refused_with_a_clear_message_and_no_change(world, raw, message):
    state = loaded(world, "admin")
    call(
        state,
        "open_correction",
        world.variants["NORTH-NW-STRAIGHT-30"],
        world.warehouses["LDN"],
        1000,
    )
    before = db_snapshot(world.engine)
    assert call(state, "save_correction", {"count": raw, "reason": "count"}) is None
    assert message in state.edit_error
    assert state.edit_open
    assert db_snapshot(world.engine) == before


def test_drawer_shows_facts_balances_reservations_and_paged_history(world):
    vid = world.variants["NORTH-NW-STRAIGHT-30"]
    with transaction(world.engine) as session:
        for n in range(25):
            receive(session, vid, world.warehouses["MCR"], 1, actor="api:shop", reference=f"R{n}")
    state = loaded(world, "manager")
    call(state, "open_variant", vid)
    assert state.drawer_open and state.drawer_sku == "NORTH-NW-STRAIGHT-30"
    facts = {f.label: f.value for f in state.drawer_facts}
    assert facts["Category"] == "Jeans" and facts["Barcode"] == "5000000000000"
    assert [b.warehouse for b in state.drawer_balances] == ["LDN", "MCR"]
    assert state.drawer_balances[1].on_hand == "25"
    assert [(r.order_ref, r.qty) for r in state.drawer_reservations] == [("E2E-1", "34")]
    assert len(state.drawer_ledger) == 20 and state.ledger_has_older
    assert state.drawer_ledger[0].reference == "R24"  # newest first
    assert state.drawer_ledger[0].change == "+1 on hand"
    call(state, "ledger_older")
    assert [item.reason for item in state.drawer_ledger][-2:] == ["Reserved", "Receipt"]
    assert not state.ledger_has_older and state.ledger_has_newer
    call(state, "ledger_newer")
    assert state.drawer_ledger[0].reference == "R24"


def test_watch_refreshes_the_page_when_stock_changes_elsewhere(world, monkeypatch):
    monkeypatch.setattr(live_module, "POLL_SECONDS", 0.02)
    vid = world.variants["SOLS-SO-CREW-M"]
    state = loaded(world, "merchandiser", "/stock?q=SO-CREW-M")
    assert state.rows[0].available == "66"

    async def scenario() -> None:
        task = asyncio.create_task(invoke(state, "watch", state._generation))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(_receive, world, vid, 7)
        for _ in range(200):
            if state.rows[0].available == "73":
                break
            await asyncio.sleep(0.02)
        state._generation += 1  # another load: the loop ends
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert state.rows[0].available == "73"


def _receive(world: World, variant_id: int, qty: int) -> None:
    with transaction(world.engine) as session:
        receive(session, variant_id, world.warehouses["MCR"], qty, actor="api:shop")


def test_urls_fall_back_to_defaults_with_a_note():
    request = parse_request(
        {
            "page": "abc",
            "sort": "price; DROP TABLE",
            "stock": "weird",
            "view": "pivot",
            "per_page": "100000",
            "q": "  a%_\\b  ",
            "warehouse": "1,x",
        }
    )
    f = request.filter
    assert (f.page, f.sort, f.stock_state, f.page_size, f.warehouse_ids) == (
        1,
        "sku",
        "all",
        200,
        (),
    )
    assert f.search == "a%_\\b" and request.view == "balances"
    named = " ".join(request.notes)
    for key in ("page=", "sort=", "stock=", "view=", "warehouse="):
        assert key in named
    huge = parse_request({"page": "9" * 40})
    assert huge.filter.page == 100_000 and not huge.notes
    vendor = parse_request({"brand": "1", "q": "x"}, brand_scope=2)
    assert vendor.filter.brand_ids == (2,) and vendor.scope == (2,)


def test_a_huge_page_shows_the_last_page(world):
    result = read_grid(GridRequest(GridFilter(page=100_000, page_size=4)))
    assert result.request.filter.page == 2 and len(result.page.rows) == 2
    assert "past the end" in result.request.notes[0]
    state = loaded(world, "manager", "/stock?page=99999999999&per_page=4")
    assert state.page_label == "Page 2 of 2" and state.next_href == ""
    assert state.previous_href == "/stock?per_page=4"


def test_links_keep_the_filter_and_reset_the_page():
    f = GridFilter(search="jean", page=3, sort="available", direction="desc")
    assert grid_href(f, "balances", page=4) == "/stock?q=jean&sort=available&dir=desc&page=4"
    assert grid_href(f, "sizes", stock_state="low") == (
        "/stock?q=jean&stock=low&sort=available&dir=desc&view=sizes"
    )
    assert grid_href(GridFilter(brand_ids=(2,)), "balances", vendor=True) == "/stock"


def test_count_parsing_and_heat_scale():
    assert parse_count(" 1,204 ") == (1204, "")
    assert parse_count("-3")[0] is None
    assert [heat_level(v) for v in (None, 0, -1, 2, 3, 4, 9, 10, 49, 50)] == [
        "none",
        "out",
        "out",
        "low",
        "low",
        "ok1",
        "ok1",
        "ok2",
        "ok2",
        "ok3",
    ]
