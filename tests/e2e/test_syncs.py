"""Brand syncs in the browser: an admin runs a brand's sync now against a real brand API,
sees the run succeed with its counts and the stock change, pauses and resumes it and
edits its schedule; unchanged ("not modified") runs read as one line per brand and hour;
a vendor sees their own brand's feed health, read-only, and no other brand's.

The brand API is the demo one (`jobs.demo_brand_api`) on a free 127.0.0.1 port of this
test process; the seeded Northwind brand's connector points at it for the test only
(created paused, so the app's scheduler leaves it to the buttons). The server-side
refusals of every handler are proven without a browser in tests/dashboard/test_syncs_states.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, delete, select

from jobs.demo_brand_api import DemoBrand, DemoBrandApi, DemoItem
from models.catalog import Brand, Variant, Warehouse
from models.db import create_db_engine, read_session, transaction
from models.stock import get_balance, set_count
from models.syncs import Connector, SyncRun, delete_connector, pause_sync, set_connector
from tests.e2e.seed import Seeded
from tests.e2e.test_admin import sign_in
from tests.sync_support import serve_demo

pytestmark = pytest.mark.e2e

BRAND = "Northwind Denim"
TOKEN = "e2e-brand-token"
#: The feed: Northwind's stock as seeded, except 34 → 40 at Manchester.
FEED = [
    ("NORTH-NW-STRAIGHT-30", "LDN", 1000),
    ("NORTH-NW-STRAIGHT-32", "LDN", 200),
    ("NORTH-NW-STRAIGHT-32", "MCR", 40),
]
CHANGED = ("NORTH-NW-STRAIGHT-32", "MCR", 34, 40)


def _on_hand(engine: Engine, sku: str, warehouse: str) -> int:
    with read_session(engine) as session:
        variant_id = session.scalar(select(Variant.id).where(Variant.sku == sku))
        warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse))
        return get_balance(session, variant_id, warehouse_id).on_hand


def _connector(engine: Engine) -> Connector:
    with read_session(engine) as session:
        return session.scalar(select(Connector))


@pytest.fixture
def northwind_feed(seeded: Seeded) -> Iterator[tuple[Engine, DemoBrandApi]]:
    """The brand API serving Northwind, and Northwind's connector to it (paused).

    Afterwards the connector is removed and the changed count set back, so the
    figures other browser tests expect are the seeded ones again."""
    engine = create_db_engine(seeded.database_url, pool_size=1)
    stamp = datetime.now(UTC).replace(microsecond=0)
    api = DemoBrandApi(
        [DemoBrand("NORTH", [DemoItem(s, w, q, stamp) for s, w, q in FEED], token=TOKEN)]
    )
    with serve_demo(api) as base:
        with transaction(engine) as session:
            set_connector(
                session,
                "NORTH",
                style="json",
                url=f"{base}/brands/NORTH/stock",
                token=TOKEN,
                every="1h",
                policy="newest",
            )
            pause_sync(session, "NORTH")
        try:
            yield engine, api
        finally:
            sku, warehouse, before, after = CHANGED
            with transaction(engine) as session:
                delete_connector(session, "NORTH")
                variant_id = session.scalar(select(Variant.id).where(Variant.sku == sku))
                warehouse_id = session.scalar(
                    select(Warehouse.id).where(Warehouse.code == warehouse)
                )
                if get_balance(session, variant_id, warehouse_id).on_hand == after:
                    set_count(session, variant_id, warehouse_id, before, actor="e2e-cleanup")
            engine.dispose()


def test_without_connectors_the_page_says_how_to_add_one(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.merchandiser)
    page.goto("/syncs")
    expect(page.get_by_text("No brand connectors yet")).to_be_visible()
    expect(page.get_by_text("rackroom connector set BRAND")).to_be_visible()
    page.screenshot(path=artifacts_dir / "syncs-empty.png", full_page=True)


def test_admin_runs_a_sync_now_then_pauses_resumes_and_reschedules(
    page: Page, seeded: Seeded, northwind_feed: tuple[Engine, DemoBrandApi], artifacts_dir: Path
) -> None:
    engine, api = northwind_feed
    sku, warehouse, before, after = CHANGED
    assert _on_hand(engine, sku, warehouse) == before

    sign_in(page, seeded.admin)
    nav = page.get_by_role("navigation", name="Sections")
    nav.get_by_role("link", name="Syncs").click()
    expect(page.get_by_role("heading", name="Syncs", level=1)).to_be_visible()
    row = page.get_by_test_id("sync-row").filter(has_text=BRAND)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("token-state")).to_have_text("token set")
    expect(page.locator("body")).not_to_contain_text(TOKEN)  # secrets never shown back
    expect(row.get_by_test_id("freshness")).to_have_text("Never synced")
    expect(row.get_by_test_id("schedule")).to_contain_text("Paused")
    expect(row.get_by_test_id("last-run")).to_contain_text("Not run yet")
    expect(page.get_by_text("Runs appear as the scheduler syncs each brand")).to_be_visible()
    page.screenshot(path=artifacts_dir / "syncs-never-synced.png", full_page=True)

    # Run now: progress, then the result as a toast, the run with its counts.
    row.get_by_role("button", name=f"Run {BRAND} now").click()
    expect(page.get_by_text(f"{BRAND} synced: 1 changed")).to_be_visible()
    expect(row.get_by_test_id("freshness")).to_have_text("Fresh")
    expect(row.get_by_test_id("last-run")).to_contain_text("succeeded")
    expect(row.get_by_test_id("last-run")).to_contain_text("3 items · 1 changed · 2 unchanged")
    run = page.get_by_test_id("run-row").first
    expect(run.get_by_test_id("run-status")).to_have_text(re.compile("succeeded", re.I))
    expect(run.get_by_test_id("run-counts")).to_contain_text("1 changed")
    assert _on_hand(engine, sku, warehouse) == after  # the stock really changed
    page.screenshot(path=artifacts_dir / "syncs.png", full_page=True)

    # A run's details open in a dialog; Esc closes it.
    run.get_by_role("link", name=re.compile(r"^#\d+$")).click()
    details = page.get_by_test_id("run-dialog")
    expect(details).to_contain_text("No errors or conflicts in this run.")
    page.keyboard.press("Escape")
    expect(details).to_have_count(0)

    # Resume, then pause again: the line and the connector follow.
    row.get_by_role("button", name=f"More for {BRAND}").click()
    page.get_by_role("menuitem", name="Resume").click()
    expect(page.get_by_text(f"{BRAND}: syncs resumed")).to_be_visible()
    expect(row.get_by_test_id("schedule")).to_contain_text("Every 1h")
    assert _connector(engine).paused is False
    row.get_by_role("button", name=f"More for {BRAND}").click()
    page.get_by_role("menuitem", name="Pause").click()
    expect(page.get_by_text(f"{BRAND}: scheduled syncs paused")).to_be_visible()
    expect(row.get_by_test_id("schedule")).to_contain_text("Paused")
    assert _connector(engine).paused is True

    # The schedule dialog: a bad interval is explained inline, Enter saves, Esc closes.
    row.get_by_role("button", name=f"More for {BRAND}").click()
    page.get_by_role("menuitem", name="Edit schedule…").click()
    dialog = page.get_by_test_id("schedule-dialog")
    every = dialog.get_by_label("Every")
    expect(every).to_have_value("1h")
    every.fill("whenever")
    every.press("Enter")
    expect(dialog.get_by_test_id("form-error")).to_contain_text("is not like 15m")
    page.screenshot(path=artifacts_dir / "syncs-schedule-dialog.png")
    every.fill("30m")
    every.press("Enter")
    expect(page.get_by_text(f"{BRAND} syncs every 30m")).to_be_visible()
    expect(dialog).to_have_count(0)
    assert _connector(engine).every_seconds == 1800
    row.get_by_role("button", name=f"More for {BRAND}").click()
    page.get_by_role("menuitem", name="Edit schedule…").click()
    expect(dialog.get_by_label("Every")).to_have_value("30m")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # A feed with bad items: the run fails, nothing is applied, the errors are shown.
    stamp = datetime.now(UTC).replace(microsecond=0)
    api.set_items(
        "NORTH",
        [
            DemoItem("NORTH-NW-STRAIGHT-30", "NOWHERE", 5, stamp),
            DemoItem("NORTH-NW-STRAIGHT-32", "LDN", -4, stamp),
        ],
    )
    row.get_by_role("button", name=f"Run {BRAND} now").click()
    expect(page.get_by_text(f"{BRAND} sync failed")).to_be_visible()
    expect(row.get_by_test_id("last-run")).to_contain_text("failed")
    failed = page.get_by_test_id("run-row").first
    expect(failed.get_by_test_id("run-status")).to_have_text(re.compile("failed", re.I))
    assert _on_hand(engine, sku, warehouse) == after  # nothing half-applied
    failed.get_by_role("button", name=re.compile("errors")).click()
    expect(details.get_by_test_id("run-samples")).to_contain_text("NOWHERE")
    page.wait_for_timeout(500)  # let the dialog finish fading in
    page.screenshot(path=artifacts_dir / "syncs-run-errors.png")
    page.keyboard.press("Escape")
    expect(details).to_have_count(0)
    page.screenshot(path=artifacts_dir / "syncs-failed-run.png", full_page=True)

    # Dark mode stays readable.
    page.get_by_role("button", name="Switch between light and dark").click()
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts_dir / "syncs-dark.png", full_page=True)
    page.get_by_role("button", name="Switch between light and dark").click()


@pytest.fixture
def feeds_with_history(seeded: Seeded) -> Iterator[tuple[Engine, int]]:
    """Both brands connected (paused, pointing nowhere); Solstice with an hour of twelve
    unchanged runs around one that succeeded, Northwind with one failed run.

    Afterwards the connectors and these runs are removed again."""
    engine = create_db_engine(seeded.database_url, pool_size=1)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    history = [("SOLS", "unchanged", hour + timedelta(minutes=5 * i)) for i in range(12)]
    history += [("SOLS", "succeeded", hour + timedelta(minutes=31)), ("NORTH", "failed", hour)]
    history.sort(key=lambda run: run[2])
    ids: list[int] = []
    with transaction(engine) as session:
        for code in ("SOLS", "NORTH"):
            set_connector(session, code, style="json", url=f"http://127.0.0.1:9/{code}", every="1h")
            pause_sync(session, code)
        brands = dict(session.execute(select(Brand.code, Brand.id)).all())
        for code, status, at in history:
            run = SyncRun(
                brand_id=brands[code],
                style="json",
                policy="newest",
                trigger="scheduled",
                status=status,
                started_at=at,
                finished_at=at + timedelta(seconds=2),
                message="Northwind's feed answered 500" if status == "failed" else "",
            )
            session.add(run)
            session.flush()
            ids.append(run.id)
    try:
        yield engine, len(history)
    finally:
        with transaction(engine) as session:
            for code in ("SOLS", "NORTH"):
                delete_connector(session, code)
            session.execute(delete(SyncRun).where(SyncRun.id.in_(ids)))
        engine.dispose()


def test_unchanged_runs_fold_into_one_line_per_brand_and_hour(
    page: Page, seeded: Seeded, feeds_with_history: tuple[Engine, int], artifacts_dir: Path
) -> None:
    sign_in(page, seeded.merchandiser)
    page.goto("/syncs")
    # Solstice's 13 runs: its 12 unchanged of one hour as one line, and the succeeded one
    # (other tests' Northwind runs stay in the history too).
    runs = page.get_by_test_id("run-row")
    expect(runs.filter(has_text="SOLS")).to_have_count(2)
    folded = runs.filter(has=page.get_by_test_id("run-folded"))
    expect(folded).to_have_count(1)
    expect(folded.get_by_test_id("run-folded")).to_have_text("× 12")
    expect(folded.get_by_test_id("run-counts")).to_contain_text("feed not modified · 12 runs")
    expect(folded).to_contain_text("SOLS")
    expect(runs.filter(has_text="SOLS").filter(has_text="succeeded")).to_have_count(1)
    page.screenshot(path=artifacts_dir / "syncs-folded-1440.png", full_page=True)
    page.set_viewport_size({"width": 1024, "height": 800})
    expect(folded.get_by_test_id("run-folded")).to_be_visible()
    page.screenshot(path=artifacts_dir / "syncs-folded-1024.png", full_page=True)


def test_a_vendor_sees_their_own_brands_feed_health(
    page: Page, seeded: Seeded, feeds_with_history: tuple[Engine, int], artifacts_dir: Path
) -> None:
    sign_in(page, seeded.vendor)
    nav = page.get_by_role("navigation", name="Sections")
    nav.get_by_role("link", name="Syncs").click()
    expect(page.get_by_role("heading", name="Syncs", level=1)).to_be_visible()
    row = page.get_by_test_id("sync-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(seeded.vendor_brand)
    expect(row.get_by_test_id("freshness")).to_have_text("Stale")
    expect(page.get_by_text("Your brand's feed, as Rackroom reads it.")).to_be_visible()
    # Read-only: no run now, no menu, no brand picker.
    expect(page.get_by_role("button", name=re.compile("^Run .* now$"))).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^More for"))).to_have_count(0)
    expect(page.get_by_label("Runs of brand")).to_have_count(0)
    runs = page.get_by_test_id("run-row")
    expect(runs).to_have_count(2)  # their folded hour and their succeeded run
    expect(page.get_by_test_id("syncs-table")).not_to_contain_text(seeded.other_brand)
    expect(page.get_by_test_id("runs-table")).not_to_contain_text("NORTH")
    page.screenshot(path=artifacts_dir / "syncs-vendor-1440.png", full_page=True)
    # Another brand in the URL still shows their own brand only.
    page.goto("/syncs?brand=NORTH")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(seeded.vendor_brand)
    expect(runs).to_have_count(2)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.screenshot(path=artifacts_dir / "syncs-vendor-1024.png", full_page=True)
