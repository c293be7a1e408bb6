"""The /imports page's handlers, called directly (no browser), as each role.

Any client can send any event, so every handler is called the way a tampered client
could: as a manager (read-only), as a signed-out visitor, and as a vendor naming another
brand than their own. Each refusal leaves the database and the page's state as they
were and says why. The same handlers as a vendor for their own brand, and as an admin
for any brand, do upload, check and apply, which shows the refusals are not vacuous.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import reflex as rx
from reflex._upload import UploadChunk, UploadChunkIterator
from reflex.istate.data import RouterData
from sqlalchemy import Engine, func, select

import dashboard.states.import_files as files
import dashboard.states.imports_flow as imports_flow
from dashboard.states.auth import RoleGuard
from dashboard.states.imports import ImportsState
from dashboard.states.imports_mapping import parse_value_map
from jobs.imports import ImportLimits
from models.catalog import Product, Variant, brand_by_code, create_brand, create_warehouse
from models.db import read_session, set_default_engine, transaction
from models.imports import ColumnMapping, ImportRun
from models.stock import LedgerEntry, StockBalance, receive, set_count
from models.users import Role, create_user, start_login_session
from tests.import_support import (
    INVENTORY_HEADERS,
    PRODUCT_HEADERS,
    SAMPLE,
    csv_bytes,
    inventory_row,
    product_row,
    snapshot,
)
from tests.signin import sign_in_state


@dataclasses.dataclass
class World:
    engine: Engine
    tokens: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def world(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """Two brands (the vendor works for SOLS), two warehouses, stock, one user per role;
    uploads go to a temporary folder."""
    monkeypatch.setattr(files, "UPLOAD_DIR", tmp_path / "uploads")
    set_default_engine(sqlite_engine)
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    with transaction(sqlite_engine) as session:
        sols = create_brand(session, "SOLS", "Solstice")
        create_brand(session, "NORTH", "Northwind")
        ldn = create_warehouse(session, "LDN", "London DC", priority=10)
        ids["LDN"] = ldn.id
        ids["MCR"] = create_warehouse(session, "MCR", "Manchester Store", priority=20).id
        product = Product(brand_id=sols.id, style_code="crew", name="Merino Crew")
        session.add(product)
        session.flush()
        variant = Variant(
            product_id=product.id, brand_id=sols.id, sku="SOLS-CREW-OAT-S", colour="Oat", size="S"
        )
        session.add(variant)
        session.flush()
        receive(session, variant.id, ldn.id, 500, actor="seed")
        for role in Role:
            user = create_user(
                session,
                f"{role.value}@x.test",
                "long enough",
                role,
                brand_code="SOLS" if role is Role.VENDOR else None,
            )
            tokens[role.value] = start_login_session(session, user)
    yield World(sqlite_engine, tokens, ids)
    set_default_engine(None)


# --- driving handlers -------------------------------------------------------------------------


def page_state(token: str, url: str = "/imports", **preset: Any) -> ImportsState:
    root = rx.State(_reflex_internal_init=True)
    sign_in_state(root, token)
    state = root._get_state_from_cache(ImportsState)
    router = RouterData.from_router_data(
        {"headers": {"origin": "http://test"}, "asPath": url, "pathname": "/imports"}
    )
    root.router = router
    state.router = router
    for name, value in preset.items():
        setattr(state, name, value)
    state.dirty_vars.clear()
    return state


async def _drain(result: Any) -> Any:
    if inspect.isasyncgen(result):
        return [event async for event in result]
    if inspect.iscoroutine(result):
        return await result
    return result


def handler_fn(state: rx.State, handler: str) -> Any:
    """The handler's own function: background handlers cannot be called through the
    instance, and called this way every handler runs exactly as the event would."""
    return functools.partial(type(state).event_handlers[handler].fn, state)


def call(state: rx.State, handler: str, *args: Any) -> Any:
    return asyncio.run(_drain(handler_fn(state, handler)(*args)))


def chunks_of(name: str, data: bytes, size: int = 4096):
    """An upload's chunk iterator, filled and finished (made inside the running loop)."""

    async def make() -> UploadChunkIterator:
        chunks = UploadChunkIterator(maxsize=100_000)
        for offset in range(0, max(len(data), 1), size):
            await chunks.push(
                UploadChunk(
                    filename=name,
                    offset=offset,
                    content_type="text/csv",
                    data=data[offset : offset + size],
                )
            )
        await chunks.finish()
        return chunks

    return make


def upload(state: ImportsState, name: str, data: bytes) -> Any:
    async def go() -> Any:
        chunks = await chunks_of(name, data)()
        return await _drain(handler_fn(state, "receive_upload")(chunks))

    return asyncio.run(go())


def rendered(events: Any) -> str:
    events = events if isinstance(events, list) else [events]
    return " ".join(str(value) for event in events if event for _, value in event.args)


def downloaded(events: Any) -> tuple[str, str]:
    """(file name, text) of an rx.download a handler returned."""
    text = rendered(events)
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", text)
    name = re.search(r'"([^"]+\.csv)"', text)
    assert data and name, text
    return name.group(1), base64.b64decode(data.group(1)).decode("utf-8")


def fields(state: rx.State) -> dict[str, Any]:
    return {name: getattr(state, name) for name in state.base_vars}


def feed_with_errors() -> bytes:
    """A Shopify inventory export for SOLS: two good rows, two invalid ones."""
    rows = [
        inventory_row("crew", [("Size", "S"), ("Color", "Oat")], "SOLS-CREW-OAT-S", "LDN", 520),
        inventory_row("crew", [("Size", "M"), ("Color", "Oat")], "", "Manchester Store", 7),
        inventory_row("crew", [("Size", "L"), ("Color", "Oat")], "", "Atlantis", 3),
        inventory_row("crew", [("Size", "XL"), ("Color", "Oat")], "", "LDN", -3),
    ]
    return csv_bytes(INVENTORY_HEADERS, rows)


def ledger_rows(engine: Engine) -> list[LedgerEntry]:
    with read_session(engine) as session:
        return list(
            session.scalars(
                select(LedgerEntry).where(LedgerEntry.reason == "import").order_by(LedgerEntry.id)
            )
        )


def ready_state(world: World, role: str, **preset: Any) -> ImportsState:
    """A state as a vendor's (or admin's) page would be after uploading and checking."""
    state = page_state(world.tokens[role])
    call(state, "load")
    assert upload(state, "feed.csv", feed_with_errors()) is None
    assert state.file_state == "ready", state.file_error
    for name, value in preset.items():
        setattr(state, name, value)
    state.dirty_vars.clear()
    return state


# --- which handler checks what ---------------------------------------------------------------

#: Handlers that only hold a UI value or show a message: no data is read or written, and
#: every data handler checks the role (and the brand) again.
UI_ONLY = {
    "on_dialog_change",
    "set_map_column",
    "set_skip_invalid",
    "set_warnings_checked",
    "upload_progress",
    "drop_rejected",
}


def import_calls(world: World) -> dict[str, tuple[tuple, dict]]:
    """Every handler that reads or changes data, with arguments that would do something."""
    return {
        "load": ((), {}),
        "choose_brand": (("NORTH",), {}),
        "choose_format": (("shopify-products",), {}),
        "choose_encoding": (("cp1252",), {}),
        "choose_warehouse": (("MCR",), {}),
        "receive_upload": ((None,), {}),
        "clear_file": ((), {}),
        "run_dry_run": ((), {}),
        "apply": ((), {}),
        "page_errors": ((1,), {}),
        "download_errors": ((), {}),
        "open_run_errors": ((1,), {}),
        "download_run_errors": ((), {"run_id": 1}),
        "open_mapping_editor": ((False,), {}),
        "save_mapping": (({"name": "evil", "sizes": ""},), {"dialog": "mapping"}),
        "open_revert": ((1,), {}),
        "confirm_revert": ((), {"revert_id": 1, "dialog": "revert"}),
    }


#: What a manager may still do: read the page and the history.
READ_ONLY = {"load", "open_run_errors", "download_run_errors"}


def test_every_handler_is_either_checked_or_ui_only(world):
    handlers = set(ImportsState.event_handlers) - {"setvar", "set_per_page"}  # pager: a redirect
    assert handlers == set(import_calls(world)) | UI_ONLY
    assert "require" not in ImportsState.event_handlers
    assert issubclass(ImportsState, RoleGuard)


def test_long_work_runs_in_background_events():
    """Uploading, the dry run, the apply and reading a file for the mapping editor's hints
    take the tab's state lock only to check, show progress and show the result."""
    for handler in ("receive_upload", "run_dry_run", "apply", "open_mapping_editor"):
        assert ImportsState.event_handlers[handler].is_background, handler


def _armed(world: World) -> dict[str, Any]:
    """An admin's page with a checked file and a mapping dialog open: a forged event from
    another user, were it not checked, would upload, apply or save with this."""
    admin = ready_state(world, "admin", brand_code="SOLS")
    call(admin, "run_dry_run")
    assert admin.result_checked
    keep = (
        "_upload_path",
        "_headers",
        "_checked_key",
        "file_state",
        "file_name",
        "brand_code",
        "format_value",
        "result_checked",
        "error_total",
        "skip_invalid",
    )
    armed = {name: getattr(admin, name) for name in keep}
    armed["skip_invalid"] = True
    armed["brands"] = admin.brands
    armed["warehouses"] = admin.warehouses
    return armed


def _call_with(state: ImportsState, handler: str, args: tuple) -> Any:
    if handler == "receive_upload":
        return upload(state, "evil.csv", feed_with_errors())
    return call(state, handler, *args)


def test_a_manager_reads_the_history_and_changes_nothing(world):
    armed = _armed(world)
    before = snapshot(world.engine)
    for handler, (args, preset) in import_calls(world).items():
        if handler in READ_ONLY:
            continue
        state = page_state(world.tokens["manager"], **armed, **preset)
        state_before = fields(state)
        result = _call_with(state, handler, args)
        assert snapshot(world.engine) == before, f"{handler} changed the database"
        assert fields(state) == state_before, f"{handler} changed the page state"
        assert "You don't have permission to" in rendered(result), handler

    reader = page_state(world.tokens["manager"])
    assert call(reader, "load") is None
    assert reader.can_import is False and reader.loaded
    assert reader.history == [] and reader.history_summary == "0 imports"


def test_signed_out_callers_are_sent_to_login_and_change_nothing(world):
    armed = _armed(world)
    before = snapshot(world.engine)
    for token in ("", "forged-token"):
        for handler, (args, preset) in import_calls(world).items():
            state = page_state(token, **armed, **preset)
            state_before = fields(state)
            result = _call_with(state, handler, args)
            assert snapshot(world.engine) == before, handler
            if handler != "load":  # load clears the page for a signed-out visitor
                assert fields(state) == state_before, handler
            assert '"/login' in rendered(result), handler


def test_a_vendor_is_offered_only_their_brand_and_a_forged_brand_is_refused(world):
    vendor = page_state(world.tokens["vendor"])
    assert call(vendor, "load") is None
    assert [c.value for c in vendor.brands] == ["SOLS"]
    assert vendor.brand_locked and vendor.brand_code == "SOLS"
    assert vendor.brand_name == "Solstice"

    state_before = fields(vendor)
    result = call(vendor, "choose_brand", "NORTH")
    assert "You can import only for Solstice." in rendered(result)
    assert fields(vendor) == state_before

    # A tampered page whose brand says NORTH (and an armed file): every import action
    # is refused before it reads the file or writes anything.
    armed = {**_armed(world), "brand_code": "NORTH"}
    before = snapshot(world.engine)
    for handler in (
        "run_dry_run",
        "apply",
        "choose_format",
        "choose_encoding",
        "choose_warehouse",
        "open_mapping_editor",
        "save_mapping",
        "page_errors",
        "download_errors",
    ):
        args, preset = import_calls(world)[handler]
        state = page_state(world.tokens["vendor"], **armed, **preset)
        state_before = fields(state)
        result = call(state, handler, *args)
        assert "You can import only for Solstice." in rendered(result), handler
        assert fields(state) == state_before, handler
        assert snapshot(world.engine) == before, handler
    with read_session(world.engine) as session:
        assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_a_vendor_checks_a_feed_skips_its_invalid_rows_and_reapplying_changes_nothing(world):
    vendor = ready_state(world, "vendor")
    assert vendor.format_value == "shopify-inventory"
    assert vendor.file_layout == "Looks like a Shopify inventory export."
    assert "17 columns · UTF-8, comma-separated" in vendor.file_summary

    assert call(vendor, "run_dry_run") is None
    assert vendor.result_kind == "dry_run" and vendor.result_checked
    assert (vendor.counts.changed, vendor.counts.new_variants, vendor.counts.errors) == (
        "2",
        "1",
        "2",
    )
    assert {(e.row, e.column, e.value) for e in vendor.error_rows} == {
        ("4", "Location", "Atlantis"),
        ("5", "On hand", "-3"),
    }
    assert [(d.sku, d.warehouse, d.old, d.new, d.delta) for d in vendor.sample] == [
        ("SOLS-CREW-OAT-S", "LDN", "500", "520", "+20"),
        ("SOLS-CREW-OAT-M", "MCR", "0", "7", "+7"),
    ]
    assert vendor.can_apply is False  # all or nothing while rows are invalid
    assert ledger_rows(world.engine) == []

    name, csv = downloaded(call(vendor, "download_errors"))
    assert name == "feed-errors.csv"
    assert csv.splitlines() == [
        "row,column,value,reason",
        "4,Location,Atlantis,unknown location: no warehouse has this code or name",
        "5,On hand,'-3,quantity cannot be negative",
    ]

    call(vendor, "set_skip_invalid", True)
    # The new variant's row has no SKU: one is generated, and Apply waits for the tick.
    assert [(w.kind, w.title) for w in vendor.warnings] == [
        ("generated_skus", "SKUs will be generated (1)")
    ]
    assert vendor.can_apply is False
    call(vendor, "set_warnings_checked", True)
    assert vendor.can_apply
    result = call(vendor, "apply")
    assert "Applied import #" in rendered(result)
    assert vendor.result_kind == "applied" and vendor.applied_as > 0
    assert vendor.can_apply is False
    rows = ledger_rows(world.engine)
    assert [(r.on_hand_delta, r.reference, r.actor) for r in rows] == [
        (20, f"import:{vendor.applied_as}", "vendor@x.test"),
        (7, f"import:{vendor.applied_as}", "vendor@x.test"),
    ]
    assert [h.status for h in vendor.history] == ["applied"]
    assert vendor.history[0].errors == "2" and vendor.history[0].file_name == "feed.csv"

    # The same file again: the dry run says so, and applying changes nothing.
    again = ready_state(world, "vendor")
    call(again, "run_dry_run")
    assert f"already applied as import {vendor.applied_as}" in again.result_message
    call(again, "set_skip_invalid", True)
    result = call(again, "apply")
    assert f"Already applied as import #{vendor.applied_as}" in rendered(result)
    assert len(ledger_rows(world.engine)) == 2


def test_apply_needs_a_dry_run_of_the_same_file_and_choices(world):
    admin = ready_state(world, "admin", brand_code="SOLS", skip_invalid=True)
    result = call(admin, "apply")
    assert "Run the dry run first" in rendered(result)
    call(admin, "run_dry_run")
    call(admin, "choose_brand", "NORTH")  # the check was for SOLS
    assert admin.result_kind == "" and not admin.result_checked
    admin._checked_key = "forged"
    result = call(admin, "apply")
    assert "Run the dry run first" in rendered(result)
    assert ledger_rows(world.engine) == []


def test_history_and_past_errors_are_scoped_to_the_vendors_brand(world):
    admin = ready_state(world, "admin", brand_code="NORTH", skip_invalid=True)
    call(admin, "run_dry_run")
    call(admin, "set_warnings_checked", True)
    call(admin, "apply")  # for NORTH, SOLS' SKU is a third error
    assert admin.result_kind == "applied", admin.result_message
    north_run = admin.applied_as

    vendor = page_state(world.tokens["vendor"])
    call(vendor, "load")
    assert vendor.history == []
    result = call(vendor, "open_run_errors", north_run)
    assert "not in your history" in rendered(result) and vendor.dialog == ""

    manager = page_state(world.tokens["manager"])
    call(manager, "load")
    assert [h.brand_code for h in manager.history] == ["NORTH"]
    assert call(manager, "open_run_errors", north_run) is None
    assert manager.dialog == "run-errors" and len(manager.run_errors) == 3
    assert "SKU belongs to another brand (SOLS)" in manager.run_errors[0].reason
    # The file itself comes from the export endpoint (tests/dashboard/test_exports.py).
    link = rendered(call(manager, "download_run_errors"))
    assert f"/exports/imports/{north_run}/errors.csv" in link and "base64" not in link


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("blank.csv", b"  \r\n\r\n", "The file is empty."),
        ("image.csv", bytes(range(256)) * 8, "looks binary"),
        (
            "wide.csv",
            (",".join(f"c{i}" for i in range(10_000)) + "\n1\n").encode(),
            "10,000 columns; at most 500",
        ),
    ],
)
def test_bad_files_are_refused_with_the_importers_message(world, name, data, message):
    vendor = page_state(world.tokens["vendor"])
    call(vendor, "load")
    upload(vendor, name, data)
    assert vendor.file_state == "refused" and message in vendor.file_error
    assert vendor.file_name == name
    assert not list(files.UPLOAD_DIR.glob("*.csv"))  # nothing kept


def test_an_oversized_upload_stops_at_the_limit_and_keeps_nothing(world, monkeypatch):
    monkeypatch.setattr(imports_flow, "LIMITS", ImportLimits(max_bytes=10_000))
    vendor = page_state(world.tokens["vendor"])
    call(vendor, "load")
    upload(vendor, "huge.csv", b"a,b\n" + b"1,2\n" * 50_000)
    assert vendor.file_state == "refused"
    assert vendor.file_error.startswith(
        "The file is larger than 9.8 KB, the most Rackroom reads in one import."
    )
    assert not list(files.UPLOAD_DIR.glob("*"))


def test_a_header_only_file_is_refused_by_the_dry_run(world):
    vendor = page_state(world.tokens["vendor"])
    call(vendor, "load")
    upload(vendor, "header.csv", csv_bytes(INVENTORY_HEADERS, []))
    assert vendor.file_state == "ready"
    call(vendor, "run_dry_run")
    assert vendor.result_kind == "refused" and not vendor.result_checked
    assert vendor.result_message == "The file has a header row but no data rows."


def test_the_drop_zone_refusals_say_why(world):
    vendor = page_state(world.tokens["vendor"])
    call(vendor, "drop_rejected", [{"name": "big.csv", "codes": ["file-too-large"]}])
    assert vendor.file_state == "refused" and vendor.file_name == "big.csv"
    assert vendor.file_error.startswith("The file is larger than 50 MB")
    call(vendor, "drop_rejected", [{"name": "../sheet.xlsx", "codes": ["file-invalid-type"]}])
    assert vendor.file_name == "sheet.xlsx"
    assert vendor.file_error.startswith("This is not a CSV file.")
    call(vendor, "drop_rejected", [{"name": "a.csv", "codes": ["too-many-files"]}, "junk"])
    assert vendor.file_error == "Upload one file at a time."

    # The drop zone still sends the (empty) upload of the accepted files: it changes nothing.
    async def no_files() -> Any:
        chunks = UploadChunkIterator()
        await chunks.finish()
        return await _drain(handler_fn(vendor, "receive_upload")(chunks))

    state_before = fields(vendor)
    assert asyncio.run(no_files()) is None
    assert fields(vendor) == state_before


def test_the_real_sample_needs_a_warehouse_then_applies_whole(world):
    merch = page_state(world.tokens["merchandiser"])
    call(merch, "load")
    call(merch, "choose_brand", "NORTH")
    upload(merch, "shopify-apparel-products.csv", SAMPLE.read_bytes())
    assert merch.format_value == "shopify-products" and merch.needs_warehouse
    assert merch.ready_to_check is False
    assert "choose the warehouse" in merch.check_hint
    call(merch, "choose_warehouse", "LDN")
    call(merch, "run_dry_run")
    c = merch.counts
    assert (c.new_products, c.new_variants, c.changed, c.errors) == ("20", "22", "22", "0")
    # partners-demo's file into NORTH: four kinds of warning, and Apply waits for the tick.
    assert [w.kind for w in merch.warnings] == [
        "vendor", "generated_skus", "missing_colour", "missing_size"
    ]
    assert merch.warnings[0].title == "Another brand's file? (22)"
    assert "'partners-demo'" in merch.warnings[0].text and "rows 2, 3" in merch.warnings[0].text
    assert merch.sample[0].product == "Ocean Blue Shirt"
    assert merch.can_apply is False and "I have checked these warnings" in merch.apply_hint
    call(merch, "set_warnings_checked", True)
    assert merch.can_apply
    result = call(merch, "apply")
    assert "22 balances changed" in rendered(result)
    with read_session(world.engine) as session:
        assert session.scalar(select(func.sum(StockBalance.on_hand))) == 500 + 22


def test_a_mapping_made_from_the_files_headers_is_saved_for_the_brand_and_reused(world):
    headers = ["Artikelnummer", "Modell", "Bezeichnung", "Farbe", "Größe", "Lager", "Bestand"]
    rows = [
        ["9001", "HOODIE", "Kapuzenpullover", "schwarz", "Mittel", "Lager Nord", "4"],
        ["9002", "HOODIE", "", "schwarz", "Groß", "LDN", "2"],
    ]
    data = csv_bytes(headers, rows, delimiter=";", encoding="cp1252")
    vendor = page_state(world.tokens["vendor"])
    call(vendor, "load")
    upload(vendor, "warenwirtschaft.csv", data)
    assert vendor.format_value == "" and "saved mapping" in vendor.file_layout
    assert call(vendor, "open_mapping_editor", False) is None
    chosen = {f.field: f.header for f in vendor.map_fields}
    assert chosen["sku"] == "Artikelnummer" and chosen["size"] == "Größe"
    assert chosen["location"] == "Lager" and chosen["quantity"] == "Bestand"
    assert vendor.map_locations == "Lager Nord = "  # LDN is a warehouse already
    size = next(f for f in vendor.map_fields if f.field == "size")
    assert size.values_hint == "In this file: Mittel, Groß"

    form = {
        "name": "Warenwirtschaft",
        "sizes": "Mittel = M\nGroß = L",
        "colours": "",
        "locations": "Lager Nord",
        "default_location": "__none__",
    }
    call(vendor, "save_mapping", form)
    assert vendor.form_error.startswith("Locations, line 1: write it as")
    form["locations"] = "Lager Nord = LDN"
    result = call(vendor, "save_mapping", form)
    assert "Saved mapping \\u201cWarenwirtschaft\\u201d" in rendered(result)
    assert vendor.format_value == "mapped:Warenwirtschaft" and vendor.dialog == ""
    assert vendor.mappings == ["Warenwirtschaft"]
    call(vendor, "run_dry_run")
    assert vendor.result_kind == "dry_run", vendor.result_message
    assert (vendor.counts.new_variants, vendor.counts.errors) == ("2", "0")

    # Saved for SOLS only: an admin working on NORTH does not see it.
    admin = page_state(world.tokens["admin"])
    call(admin, "load")
    call(admin, "choose_brand", "NORTH")
    assert admin.mappings == []
    with read_session(world.engine) as session:
        assert session.scalar(select(func.count()).select_from(ColumnMapping)) == 1

    # Editing it later starts from what was saved.
    call(vendor, "open_mapping_editor", True)
    assert vendor.map_sizes == "Mittel = M\nGroß = L"
    assert vendor.map_locations == "Lager Nord = LDN"


def test_value_maps_read_one_pair_per_line():
    assert parse_value_map("Mittel = M\n\n Groß=L \nXL =\n", "Sizes") == {
        "Mittel": "M",
        "Groß": "L",
    }
    with pytest.raises(Exception, match="Sizes, line 2"):
        parse_value_map("a = b\nc", "Sizes")


def test_error_pages_and_the_csv_are_formula_safe(world):
    rows = [
        product_row("tee", "Tee", [("Size", "M")], sku=f"T-{i}", qty='=HYPERLINK("x")')
        for i in range(45)
    ]
    admin = page_state(world.tokens["admin"])
    call(admin, "load")
    call(admin, "choose_brand", "SOLS")
    upload(admin, "formula.csv", csv_bytes(PRODUCT_HEADERS, rows))
    call(admin, "choose_warehouse", "LDN")
    call(admin, "run_dry_run")
    assert admin.error_total >= 45 and admin.error_range.startswith("1–20 of")
    call(admin, "page_errors", 1)
    assert admin.error_range.startswith("21–40 of") and admin.has_previous_errors
    call(admin, "page_errors", -1)
    assert admin.error_offset == 0
    _, csv = downloaded(call(admin, "download_errors"))
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv


def test_the_history_pages_in_the_url_with_first_last_and_rows_per_page(world):
    with transaction(world.engine) as session:
        sols, other = brand_by_code(session, "SOLS").id, create_brand(session, "OTHER", "O").id
        for number in range(60):
            session.add(
                ImportRun(
                    brand_id=sols,
                    actor="merchandiser@x.test",
                    file_name=f"feed-{number}.csv",
                    sha256=f"{number:064x}",
                    format="shopify-inventory",
                    status="refused",
                    message="The file is empty.",
                )
            )
        session.add(
            ImportRun(
                brand_id=other,
                actor="admin@x.test",
                sha256="f" * 64,
                format="shopify-inventory",
                status="refused",
            )
        )

    vendor = page_state(world.tokens["vendor"], "/imports?page=3")
    assert call(vendor, "load") is None
    assert vendor.history_summary == "60 imports"  # their own brand's only
    assert len(vendor.history) == 10 and vendor.range_label == "51–60 of 60"
    assert vendor.history[-1].file_name == "feed-0.csv"  # newest first
    assert (vendor.first_href, vendor.previous_href) == ("/imports", "/imports?page=2")
    assert (vendor.next_href, vendor.last_href) == ("", "")

    manager = page_state(world.tokens["manager"], "/imports?per=50")
    call(manager, "load")
    assert len(manager.history) == 50 and manager.range_label == "1–50 of 61"
    assert manager.history[0].brand_code == "OTHER"
    assert manager.next_href == "/imports?per=50&page=2" and manager.first_href == ""
    assert manager.per_page == "50"

    # A page past the end shows the last page.
    far = page_state(world.tokens["manager"], "/imports?page=99")
    call(far, "load")
    assert far.range_label == "51–61 of 61" and far.next_href == ""


def test_a_revert_asks_first_puts_stock_back_and_is_scoped_to_the_vendors_brand(world):
    admin = ready_state(world, "admin", brand_code="NORTH", skip_invalid=True)
    call(admin, "run_dry_run")
    call(admin, "set_warnings_checked", True)
    call(admin, "apply")
    north_run = admin.applied_as
    vendor = ready_state(world, "vendor", skip_invalid=True)
    call(vendor, "run_dry_run")
    call(vendor, "set_warnings_checked", True)
    call(vendor, "apply")
    sols_run = vendor.applied_as
    assert vendor.can_revert and [h.can_revert for h in vendor.history] == [True]

    # A forged revert of NORTH's import from the SOLS vendor's page: refused, nothing changed.
    before = snapshot(world.engine)
    forged = page_state(world.tokens["vendor"], revert_id=north_run, dialog="revert")
    assert call(forged, "confirm_revert") is None
    assert forged.form_error == f"There is no import {north_run}." and forged.dialog == "revert"
    assert call(vendor, "open_revert", north_run) is not None  # not in the vendor's history
    assert vendor.dialog == ""
    assert snapshot(world.engine) == before

    # Stock moved since: refused in the dialog, naming the balance.
    with transaction(world.engine) as session:
        variant = session.scalar(select(Variant).where(Variant.sku == "SOLS-CREW-OAT-S"))
        receive(session, variant.id, world.ids["LDN"], 1, actor="dock")
    call(vendor, "open_revert", sols_run)
    assert vendor.dialog == "revert" and f"#{sols_run}" in vendor.revert_title
    assert call(vendor, "confirm_revert") is None
    assert "SOLS-CREW-OAT-S @ LDN: the import set 520, now 521" in vendor.form_error
    assert fields(vendor)["history"][0].can_revert

    # Put back by hand to what the import set: now the revert goes through.
    with transaction(world.engine) as session:
        set_count(session, variant.id, world.ids["LDN"], 520, actor="ops", reason="correction")
    result = call(vendor, "confirm_revert")
    assert f"Reverted import #{sols_run}" in rendered(result)
    assert "2 balances put back" in rendered(result)
    assert vendor.dialog == "" and vendor.form_error == ""
    assert [(h.status_label, h.can_revert) for h in vendor.history] == [("Reverted", False)]
    with read_session(world.engine) as session:
        assert session.scalar(
            select(StockBalance.on_hand).where(StockBalance.variant_id == variant.id,
                                               StockBalance.warehouse_id == world.ids["LDN"])
        ) == 500
    # Twice: the row offers no Revert, and a forged second revert is refused.
    before = snapshot(world.engine)
    again = page_state(world.tokens["vendor"], revert_id=sols_run, dialog="revert")
    assert call(again, "confirm_revert") is None
    assert "was already reverted by vendor@x.test" in again.form_error
    assert snapshot(world.engine) == before


def test_a_dry_runs_attribute_changes_read_as_the_page_lists_them() -> None:
    from dashboard.states.imports_items import attribute_items
    from jobs.imports.results import AttributeDiff

    diffs = [AttributeDiff(1204, "Floral White Top", "tags", "", "women, summer")]
    assert attribute_items(diffs) == [
        {"row": "1,204", "product": "Floral White Top", "field": "tags", "old": "—",
         "new": "women, summer"}
    ]


def test_the_revert_toast_names_the_product_attributes_it_put_back() -> None:
    from dashboard.states.imports_history import _reverted
    from jobs.imports import RevertResult

    assert _reverted(RevertResult(3, "SOLS", 2, "")) == "2 balances put back as before the import."
    assert _reverted(RevertResult(3, "SOLS", 1, "", products=12)) == (
        "1 balance and the attributes of 12 products put back as before the import."
    )


def test_the_chosen_encoding_reads_the_file_and_a_wrong_one_is_refused_by_byte(world):
    """Excel on Windows saves "Oat/Crème" as cp1252: read as the UTF-8 someone chose, the dry
    run is refused naming the byte and line; as cp1252 it reads; a new choice forgets the
    previous check, so Apply always follows a dry run of the same choices."""
    rows = [inventory_row("crew", [("Size", "S"), ("Color", "Crème")], "SOLS-CREW-OAT-S", "LDN", 5)]
    vendor = page_state(world.tokens["vendor"])
    call(vendor, "load")
    assert vendor.encoding == "auto"
    upload(vendor, "excel.csv", csv_bytes(INVENTORY_HEADERS, rows, encoding="cp1252"))
    assert "CP1252, comma-separated" in vendor.file_summary

    call(vendor, "choose_encoding", "utf-8")
    call(vendor, "run_dry_run")
    assert vendor.result_kind == "refused"
    assert "cannot be read as utf-8: byte E8 at offset" in vendor.result_message
    assert "(line 2)" in vendor.result_message

    state_before = fields(vendor)
    assert "Choose one of the listed encodings." in rendered(
        call(vendor, "choose_encoding", "ebcdic")
    )
    assert fields(vendor) == state_before

    call(vendor, "choose_encoding", "cp1252")
    assert vendor.result_kind == "" and not vendor.result_checked
    call(vendor, "run_dry_run")
    assert vendor.result_kind == "dry_run" and vendor.result_checked, vendor.result_message
