"""The alert inbox's bulk actions and grouping in the browser: tick two alerts (one by
mouse, one by keyboard), acknowledge them together and they leave the open list; group
by warehouse and a header ticks its group.

The handlers' checks and the all-or-nothing refusals are proven without a browser in
tests/dashboard/test_alerts_bulk_states.py and tests/models/test_alerts_bulk.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.seed import Seeded
from tests.e2e.test_transfers import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def alerts(seeded: Seeded) -> None:
    """Brand defaults high enough that every balance alerts: NORTH's three (two in London,
    one in Manchester), SOLS's two and its broken runs in both warehouses."""
    from models.alerts import scan_alerts, set_rule
    from models.catalog import brand_by_code
    from models.db import create_db_engine, transaction
    from models.users import User

    engine = create_db_engine(seeded.database_url, pool_size=1)
    try:
        with transaction(engine) as session:
            merch = session.scalar(select(User).where(User.email == seeded.merchandiser.email))
            for code in ("NORTH", "SOLS"):
                set_rule(
                    session,
                    level="brand",
                    subject_id=brand_by_code(session, code).id,
                    warehouse_id=None,
                    threshold=5000,
                    actor_id=merch.id,
                )
            scan_alerts(session)
    finally:
        engine.dispose()


def _listed(page: Page) -> int:
    """How many alerts the loaded list says it has ("3 alerts · open")."""
    summary = page.get_by_test_id("alerts-summary")
    expect(summary).to_have_text(re.compile(r"^[\d,]+ alerts? · "))
    return int(summary.inner_text().split()[0].replace(",", ""))


def test_two_ticked_alerts_are_acknowledged_together(
    page: Page, seeded: Seeded, alerts: None, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.merchandiser)
    page.goto("/alerts?brand=NORTH")
    rows = page.get_by_test_id("alert-row")
    before = _listed(page)
    assert before >= 3
    expect(rows).to_have_count(before)
    bar = page.get_by_role("region", name="Bulk actions")
    expect(bar).to_have_count(0)

    first, second = rows.nth(0), rows.nth(1)
    chosen = [first.get_attribute("data-alert-id"), second.get_attribute("data-alert-id")]
    first.get_by_role("checkbox").click()
    expect(bar).to_contain_text("1 selected")
    box = second.get_by_role("checkbox")
    box.focus()
    page.keyboard.press("Space")  # keyboard usable
    expect(bar).to_contain_text("2 selected")
    expect(second).to_have_attribute("data-selected", "true")
    page.screenshot(path=artifacts_dir / "alerts-bulk-selected.png", full_page=True)

    bar.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("2 alerts acknowledged")).to_be_visible()
    expect(rows).to_have_count(before - 2)
    expect(bar).to_have_count(0)  # the selection is cleared after success
    for alert_id in chosen:
        expect(
            page.locator(f'[data-testid="alert-row"][data-alert-id="{alert_id}"]')
        ).to_have_count(0)

    page.goto("/alerts?brand=NORTH&view=acknowledged")
    for alert_id in chosen:
        row = page.locator(f'[data-testid="alert-row"][data-alert-id="{alert_id}"]')
        expect(row).to_contain_text("acknowledged by " + seeded.merchandiser.email)


def test_grouping_by_warehouse_shows_headers_that_tick_their_group(
    page: Page, seeded: Seeded, alerts: None, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.merchandiser)
    page.goto("/alerts")
    expect(page.get_by_test_id("alert-row").first).to_be_visible()
    page.get_by_label("Group by").click()
    page.get_by_role("option", name="Warehouse").click()
    expect(page).to_have_url(re.compile(r"/alerts\?group=warehouse$"))
    groups = page.get_by_test_id("alert-group")
    expect(groups).to_have_count(2)
    expect(groups.nth(0)).to_contain_text("LDN")
    expect(groups.nth(1)).to_contain_text("MCR")
    expect(groups.nth(0)).to_contain_text(re.compile(r"\d+ alerts?"))
    page.screenshot(path=artifacts_dir / "alerts-grouped-warehouse.png", full_page=True)

    london = groups.nth(0)
    london.get_by_role("checkbox").click()
    in_london = page.locator('[data-testid="alert-row"][data-selected="true"]')
    expect(in_london.first).to_be_visible()
    ticked = in_london.count()
    bar = page.get_by_role("region", name="Bulk actions")
    expect(bar).to_contain_text(f"{ticked} selected")
    for n in range(ticked):
        expect(in_london.nth(n)).to_contain_text("LDN")
    bar.get_by_role("button", name="Clear").click()
    expect(bar).to_have_count(0)

    # A page change (a new URL) clears the selection too.
    page.get_by_role("checkbox", name="Select all alerts on this page").click()
    expect(bar).to_be_visible()
    page.get_by_label("Group by").click()
    page.get_by_role("option", name="Style").click()
    expect(page).to_have_url(re.compile(r"/alerts\?group=style$"))
    expect(page.get_by_test_id("alert-group").filter(has_text="SOLS · SO-CREW")).to_have_count(1)
    expect(bar).to_have_count(0)


def test_an_alert_shows_in_the_open_inbox_without_a_reload(
    page: Page, seeded: Seeded, alerts: None, artifacts_dir: Path
) -> None:
    """Issue 13's must-show: stock falls below a rule while the inbox is open; the event
    relay raises the alert and the page shows it within 10 s, no reload."""
    from models.alerts import delete_rule, scan_alerts, set_rule
    from models.catalog import Variant, Warehouse
    from models.db import create_db_engine, transaction
    from models.reservations import Reservation, release, reserve
    from models.users import User

    sku = "NORTH-NW-STRAIGHT-32"
    rule_id = merch_id = None
    engine = create_db_engine(seeded.database_url, pool_size=1)
    try:
        with transaction(engine) as session:
            merch = session.scalar(select(User).where(User.email == seeded.merchandiser.email))
            variant = session.scalar(select(Variant.id).where(Variant.sku == sku))
            mcr = session.scalar(select(Warehouse.id).where(Warehouse.code == "MCR"))
            # Its own rule in Manchester (the most specific wins): 34 available, low at 30.
            merch_id = merch.id
            rule_id = set_rule(
                session,
                level="variant",
                subject_id=variant,
                warehouse_id=mcr,
                threshold=30,
                actor_id=merch.id,
            ).id
            scan_alerts(session)  # any earlier alert of it there resolves

        sign_in(page, seeded.merchandiser)
        page.goto("/alerts?warehouse=MCR&kind=low_stock")
        expect(page.get_by_test_id("live")).to_be_visible()
        _listed(page)
        ours = page.get_by_test_id("alert-row").filter(has_text=sku)
        expect(ours).to_have_count(0)
        page.evaluate("window.__notReloaded = true")

        with transaction(engine) as session:  # an order holds 10: 24 available ≤ 30
            reserve(
                session,
                variant,
                10,
                channel="web",
                order_ref="E2E-LIVE",
                actor="e2e",
                warehouse_id=mcr,
            )
        expect(ours).to_have_count(1, timeout=10_000)
        expect(ours).to_contain_text("24")
        assert page.evaluate("window.__notReloaded === true")
        page.screenshot(path=artifacts_dir / "alerts-live.png", full_page=True)
    finally:
        with transaction(engine) as session:  # give the units back, drop the rule
            for held in session.scalars(
                select(Reservation).where(
                    Reservation.order_ref == "E2E-LIVE", Reservation.status == "active"
                )
            ).all():
                release(session, held.id, actor="e2e")
            if rule_id is not None:
                delete_rule(session, rule_id, actor_id=merch_id)
        engine.dispose()
