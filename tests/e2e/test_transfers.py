"""Transfers and alerts in the browser: a merchandiser drafts a transfer, a manager
approves it, the merchandiser ships it and receives it short by one (counted with a barcode
scanner); every step shows on the page and in the ledger. A manager cannot ship; a vendor
cannot open /transfers.

The handlers' server-side checks are proven without a browser in
tests/dashboard/test_transfer_alert_states.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.e2e.seed import Login, Seeded

pytestmark = pytest.mark.e2e

OVERVIEW_URL = re.compile(r"://[^/]+/$")
SKU = "NORTH-NW-STRAIGHT-30"
BARCODE = "5000000000000"  # the seed's barcode of SKU
MANAGER = Login("max@rackroom.test", "manager-password-1", "Max Manager")


def sign_in(page: Page, login: Login) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(OVERVIEW_URL)


def _db(seeded: Seeded):
    from models.db import create_db_engine

    return create_db_engine(seeded.database_url, pool_size=1)


@pytest.fixture(scope="module")
def manager(seeded: Seeded) -> Login:
    """A manager (the shared seed has none): made here through `models`."""
    from models.db import transaction
    from models.users import User, create_user

    engine = _db(seeded)
    try:
        with transaction(engine) as session:
            if session.scalar(select(User).where(User.email == MANAGER.email)) is None:
                create_user(session, MANAGER.email, MANAGER.password, "manager", name=MANAGER.name)
    finally:
        engine.dispose()
    return MANAGER


def _balances(seeded: Seeded) -> dict[str, tuple[int, int]]:
    """{warehouse code: (on hand, incoming)} of the transferred SKU."""
    from models.catalog import Variant, Warehouse
    from models.db import read_session
    from models.stock import StockBalance

    engine = _db(seeded)
    try:
        with read_session(engine) as session:
            rows = session.execute(
                select(Warehouse.code, StockBalance.on_hand, StockBalance.incoming)
                .join(StockBalance, StockBalance.warehouse_id == Warehouse.id)
                .join(Variant, Variant.id == StockBalance.variant_id)
                .where(Variant.sku == SKU)
            )
            return {code: (on_hand, incoming) for code, on_hand, incoming in rows}
    finally:
        engine.dispose()


def _ledger(seeded: Seeded, transfer_id: int) -> list[tuple[str, str, int, int]]:
    """(reason, warehouse, on-hand change, incoming change) of the transfer's ledger rows."""
    from models.catalog import Warehouse
    from models.db import read_session
    from models.stock import LedgerEntry

    engine = _db(seeded)
    try:
        with read_session(engine) as session:
            rows = session.execute(
                select(
                    LedgerEntry.reason,
                    Warehouse.code,
                    LedgerEntry.on_hand_delta,
                    LedgerEntry.incoming_delta,
                )
                .join(Warehouse, Warehouse.id == LedgerEntry.warehouse_id)
                .where(LedgerEntry.reference == f"transfer:{transfer_id}")
                .order_by(LedgerEntry.id)
            )
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


def _pick(page: Page, scope, label: str, option: str) -> None:
    scope.get_by_label(label).click()
    page.get_by_role("option", name=option).click()


def test_a_transfer_from_draft_to_received_short_by_one(
    page: Page, seeded: Seeded, manager: Login, browser: Browser, artifacts_dir: Path
) -> None:
    before = _balances(seeded)
    sign_in(page, seeded.merchandiser)
    nav = page.get_by_role("navigation", name="Sections")
    nav.get_by_role("link", name="Transfers").click()
    expect(page.get_by_role("heading", name="Transfers", level=1)).to_be_visible()
    expect(page.get_by_text("No transfers yet")).to_be_visible()
    page.screenshot(path=artifacts_dir / "transfers-empty.png", full_page=True)

    # From the stock grid: open the variant, "Add to transfer" opens the new-transfer
    # dialog with it on a line.
    page.goto("/stock?q=NW-STRAIGHT-30")
    page.get_by_role("button", name=f"Open {SKU}").click()
    page.get_by_test_id("add-to-transfer").click()
    expect(page).to_have_url(re.compile(rf"/transfers\?new=1&sku={SKU}$"))
    dialog = page.get_by_test_id("new-transfer-dialog")
    expect(dialog.get_by_label("Lines")).to_have_value(f"{SKU} 1")
    page.keyboard.press("Escape")  # Esc closes
    expect(dialog).to_have_count(0)

    # Draft: the same warehouse at both ends is refused, nothing is created.
    page.get_by_role("button", name="New transfer").click()
    _pick(page, dialog, "From", "LDN · London DC")
    _pick(page, dialog, "To", "LDN · London DC")
    dialog.get_by_label("Lines").fill(f"{SKU} 5")
    dialog.get_by_role("button", name="Create draft").click()
    expect(dialog.get_by_test_id("form-error")).to_have_text(
        "A transfer must go to a different warehouse than it comes from."
    )
    _pick(page, dialog, "To", "MCR · Manchester Store")
    dialog.get_by_label("Lines").fill(f"{SKU} 0")
    dialog.get_by_role("button", name="Create draft").click()
    expect(dialog.get_by_test_id("form-error")).to_contain_text("quantities must be 1 or more")
    dialog.get_by_label("Lines").fill(f"{SKU} 5")
    dialog.get_by_label("Note").fill("Top up Manchester")
    page.screenshot(path=artifacts_dir / "transfers-new.png")
    dialog.get_by_role("button", name="Create draft").click()

    expect(page).to_have_url(re.compile(r"/transfers/detail\?id=\d+$"))
    transfer_id = int(page.url.rsplit("=", 1)[1])
    status = page.get_by_test_id("status")
    expect(status).to_have_text("Draft")
    line = page.get_by_test_id("transfer-line").filter(has_text=SKU)
    expect(line).to_contain_text("5")
    page.get_by_role("button", name="Submit for approval").click()
    expect(status).to_have_text("Waiting for approval")
    # The creator sees no Approve button (another person approves).
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    # A manager approves it, and may not ship it.
    boss_context = browser.new_context(
        base_url=page.url.split("/transfers")[0], viewport={"width": 1360, "height": 860}
    )
    try:
        boss = boss_context.new_page()
        sign_in(boss, manager)
        expect(boss.get_by_test_id("nav-count-transfers")).to_have_text("1")
        boss.goto(f"/transfers/detail?id={transfer_id}")
        boss_status = boss.get_by_test_id("status")
        expect(boss_status).to_have_text("Waiting for approval")
        boss.get_by_role("button", name="Approve").click()
        expect(boss_status).to_have_text("Approved")
        expect(boss.get_by_text("Approved: it can be shipped")).to_be_visible()
        expect(boss.get_by_role("button", name="Ship")).to_have_count(0)
        expect(boss.get_by_text("a merchandiser at the source picks and ships it")).to_be_visible()
        boss.screenshot(path=artifacts_dir / "transfers-manager-approved.png", full_page=True)
    finally:
        boss_context.close()
    assert _balances(seeded) == before  # nothing moves until it ships

    # The merchandiser ships it: out of London's on hand, into Manchester's incoming.
    page.reload()
    expect(status).to_have_text("Approved")
    page.get_by_role("link", name="Pick list").click()
    expect(page).to_have_url(re.compile(rf"/transfers/pick\?id={transfer_id}$"))
    expect(page.get_by_test_id("pick-line")).to_have_count(1)
    expect(page.get_by_test_id("pick-route")).to_contain_text("LDN · London DC")
    page.screenshot(path=artifacts_dir / "transfers-pick-list.png", full_page=True)
    page.get_by_role("link", name="← Back to the transfer").click()
    # Ship asks first: what ships, from where to where, how many units.
    page.get_by_role("button", name="Ship…").click()
    confirm = page.get_by_test_id("ship-dialog")
    expect(confirm).to_contain_text(f"Ship Transfer #{transfer_id}?")
    expect(confirm).to_contain_text("5 units in 1 line leave LDN · London DC for MCR · Manchester")
    expect(confirm.get_by_test_id("ship-line")).to_contain_text(SKU)
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 860})
        page.screenshot(path=artifacts_dir / f"transfers-ship-confirm-{width}.png")
    page.set_viewport_size({"width": 1360, "height": 860})
    confirm.get_by_role("button", name="Not yet").click()  # nothing moves
    expect(confirm).to_have_count(0)
    expect(status).to_have_text("Approved")
    assert _balances(seeded) == before
    page.get_by_role("button", name="Ship…").click()
    confirm.get_by_role("button", name="Ship 5 units").click()
    expect(status).to_have_text("In transit")
    after_ship = _balances(seeded)
    assert after_ship["LDN"] == (before["LDN"][0] - 5, before["LDN"][1])
    assert after_ship["MCR"] == (before.get("MCR", (0, 0))[0], before.get("MCR", (0, 0))[1] + 5)

    # Received short by one, counted with a scanner (its code typed, then Enter).
    page.get_by_role("button", name="Receive…").click()
    receipt = page.get_by_test_id("receive-dialog")
    received = receipt.get_by_label(f"Received {SKU}")
    expect(received).to_have_value("5")  # as shipped, until counted by scanning
    receipt.get_by_test_id("start-scanning").click()
    scan_box = receipt.get_by_label("Scan a received unit")
    expect(scan_box).to_be_focused()
    expect(received).to_have_value("0")
    confirmation = receipt.get_by_test_id("scan-confirmation")
    for n in range(1, 5):
        page.keyboard.type(BARCODE)
        page.keyboard.press("Enter")
        expect(confirmation).to_have_text(f"Received {SKU} (30): {n} of 5")
        expect(received).to_have_value(str(n))
        expect(scan_box).to_have_value("")
        expect(scan_box).to_be_focused()
    page.keyboard.type("NOPE-1")
    page.keyboard.press("Enter")
    expect(receipt.get_by_test_id("scan-warning")).to_have_text(
        "Unknown code 'NOPE-1': no barcode, alias or SKU matches it."
    )
    expect(received).to_have_value("4")
    receipt.get_by_label(f"Short {SKU}").fill("1")
    page.screenshot(path=artifacts_dir / "transfers-receive.png")
    page.set_viewport_size({"width": 820, "height": 1180})
    page.screenshot(path=artifacts_dir / "transfers-receive-scan-820.png")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=artifacts_dir / "transfers-receive-scan-820-dark.png")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1360, "height": 860})
    receipt.get_by_role("button", name="Book receipt").click()
    expect(page.get_by_text("Received: 4 received, 1 short")).to_be_visible()
    expect(status).to_have_text("Received")
    cells = line.locator("td")
    expect(cells.nth(5)).to_have_text("4")  # received
    expect(cells.nth(6)).to_have_text("1")  # short
    timeline = page.get_by_test_id("timeline-entry")
    expect(timeline).to_have_count(5)
    for n, (label, who) in enumerate(
        (
            ("Drafted", seeded.merchandiser.email),
            ("Submitted for approval", seeded.merchandiser.email),
            ("Approved", manager.email),
            ("Shipped", seeded.merchandiser.email),
            ("Received", seeded.merchandiser.email),
        )
    ):
        expect(timeline.nth(n)).to_contain_text(label)
        expect(timeline.nth(n)).to_contain_text(who)
    page.screenshot(path=artifacts_dir / "transfers-received.png", full_page=True)

    after = _balances(seeded)
    assert after["LDN"] == (before["LDN"][0] - 5, 0)
    assert after["MCR"] == (before.get("MCR", (0, 0))[0] + 4, 0)
    assert _ledger(seeded, transfer_id) == [
        ("transfer_out", "LDN", -5, 0),
        ("transfer_in", "MCR", 0, 5),
        ("transfer_in", "MCR", 4, -4),
        ("lost", "MCR", 0, -1),
    ]

    # The list shows it, newest first, and the status filter lives in the URL.
    page.goto("/transfers?status=received")
    expect(page.get_by_test_id("transfer-row")).to_have_count(1)
    expect(page.get_by_test_id("transfer-row")).to_contain_text("LDN → MCR")
    page.screenshot(path=artifacts_dir / "transfers-list.png", full_page=True)


def _transfer_count(seeded: Seeded) -> int:
    from sqlalchemy import func

    from models.db import read_session
    from models.transfers import Transfer

    engine = _db(seeded)
    try:
        with read_session(engine) as session:
            return session.scalar(select(func.count()).select_from(Transfer)) or 0
    finally:
        engine.dispose()


def test_the_new_transfer_dialog_picks_skus_warns_and_reports_every_bad_line(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    """The picker shows what London has of each size; a line beyond that is a warning;
    several bad lines are all named at once (row, SKU, why) and nothing is created."""
    sign_in(page, seeded.merchandiser)
    page.goto("/transfers")
    expect(page.get_by_role("heading", name="Transfers", level=1)).to_be_visible()
    # From here on (this page and the dialog) the console stays clean.
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text[:300]) if m.type == "error" else None)
    page.get_by_role("button", name="New transfer").click()
    dialog = page.get_by_test_id("new-transfer-dialog")
    _pick(page, dialog, "From", "LDN · London DC")
    _pick(page, dialog, "To", "MCR · Manchester Store")

    dialog.get_by_label("Find a SKU").fill("straight")
    hits = dialog.get_by_test_id("sku-hit")
    expect(hits).to_have_count(3)
    london_30 = _balances(seeded)["LDN"][0] - 34  # on hand − the seed's reservation
    expect(hits.filter(has_text="NORTH-NW-STRAIGHT-30")).to_contain_text(
        f"{london_30:,} available at LDN"
    )
    expect(hits.filter(has_text="NORTH-NW-STRAIGHT-32")).to_contain_text("200 available at LDN")
    expect(hits.filter(has_text="NORTH-NW-STRAIGHT-34")).to_contain_text("0 available at LDN")
    # Enter in the search box does not submit the dialog.
    dialog.get_by_label("Find a SKU").press("Enter")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Add NORTH-NW-STRAIGHT-32").click()
    lines = dialog.get_by_label("Lines")
    expect(lines).to_have_value("NORTH-NW-STRAIGHT-32 1")
    checks = dialog.get_by_test_id("line-check")
    expect(checks).to_have_count(1)
    expect(checks.first).to_have_attribute("data-status", "ok")

    # More than London has: a warning on the line, not a refusal.
    lines.fill("NORTH-NW-STRAIGHT-32 250")
    expect(checks.first).to_have_attribute("data-status", "warning")
    expect(checks.first).to_contain_text("asks for 250; 200 available at LDN")
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts_dir / f"transfers-new-picker-{width}.png")
    page.set_viewport_size({"width": 1360, "height": 860})

    # Three bad lines: all named at once, nothing created.
    before = _transfer_count(seeded)
    lines.fill("NORTH-NW-STRAIGHT-32 5\nNOPE-1 2\nNORTH-NW-STRAIGHT-30 0\nNORTH-NW-STRAIGHT-32 1")
    dialog.get_by_role("button", name="Create draft").click()
    error = dialog.get_by_test_id("form-error")
    expect(error).to_contain_text("Nothing was created: 3 lines need fixing.")
    expect(error).to_contain_text("Line 2 (NOPE-1): no variant with this SKU, alias or barcode.")
    expect(error).to_contain_text("Line 3 (NORTH-NW-STRAIGHT-30): quantity 0")
    expect(error).to_contain_text("Line 4 (NORTH-NW-STRAIGHT-32): on lines 1 and 4")
    expect(dialog.locator('[data-testid="line-check"][data-status="problem"]')).to_have_count(3)
    page.screenshot(path=artifacts_dir / "transfers-new-bad-lines.png")
    assert _transfer_count(seeded) == before

    # Fixed (one line beyond what London has, which is only a warning): drafted.
    lines.fill("NORTH-NW-STRAIGHT-32 250\nNORTH-NW-STRAIGHT-30 6")
    dialog.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/transfers/detail\?id=\d+$"))
    expect(page.get_by_test_id("transfer-line")).to_have_count(2)
    assert _transfer_count(seeded) == before + 1
    assert problems == [], "\n".join(problems)  # no React warnings in the dialog


def test_a_vendor_cannot_open_transfers_or_alerts(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.vendor)
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Transfers")).to_have_count(0)
    for route in ("/transfers", "/alerts"):
        page.goto(route)
        expect(page.get_by_test_id("no-access")).to_be_visible()
        expect(page.get_by_test_id("transfers-table")).to_have_count(0)
        expect(page.get_by_role("button", name="New transfer")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "transfers-refused-vendor.png", full_page=True)


def test_alert_inbox_rules_and_replenishment(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    from models.alerts import scan_alerts, set_rule
    from models.catalog import brand_by_code
    from models.db import transaction
    from models.users import User

    engine = _db(seeded)
    try:
        with transaction(engine) as session:
            merch = session.scalar(select(User).where(User.email == seeded.merchandiser.email))
            for code, threshold in (("NORTH", 50), ("SOLS", 100)):
                set_rule(
                    session,
                    level="brand",
                    subject_id=brand_by_code(session, code).id,
                    warehouse_id=None,
                    threshold=threshold,
                    reorder_qty=12,
                    actor_id=merch.id,
                )
            scan_alerts(session)
    finally:
        engine.dispose()

    sign_in(page, seeded.merchandiser)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", name="Alerts", level=1)).to_be_visible()
    rows = page.get_by_test_id("alert-row")
    expect(rows.first).to_be_visible()
    count = rows.count()
    assert count >= 3
    expect(page.get_by_test_id("nav-count-alerts")).to_have_text(str(count))
    page.screenshot(path=artifacts_dir / "alerts-inbox.png", full_page=True)

    # Filters live in the URL.
    page.get_by_label("Kind").click()
    page.get_by_role("option", name="Broken size run").click()
    expect(page).to_have_url(re.compile(r"/alerts\?kind=broken_size_run$"))
    # The crew's run is broken in both places: S alone in London, M alone in Manchester.
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("SO-CREW · Oat")

    rows.first.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged: it stays listed")).to_be_visible()
    expect(rows).to_have_count(1)

    page.goto("/alerts")
    page.get_by_test_id("alert-row").first.get_by_role("button", name="Snooze…").click()
    snooze = page.get_by_test_id("snooze-dialog")
    expect(snooze).to_be_visible()
    snooze.get_by_role("button", name="Snooze").click()
    expect(page.get_by_text(re.compile(r"^Snoozed until"))).to_be_visible()

    page.goto(f"/alerts/rules?sku={SKU}")
    inherit = page.get_by_test_id("inherit-row")
    expect(inherit.filter(has_text="MCR")).to_contain_text("from the brand rule, all warehouses")
    expect(page.get_by_test_id("rule-row")).to_have_count(2)  # NORTH and SOLS defaults
    page.screenshot(path=artifacts_dir / "alerts-rules.png", full_page=True)

    page.goto("/alerts/replenishment?brand=SOLS")
    expect(page.get_by_test_id("replenish-row").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Purchase list (CSV)").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("brand,sku,barcode,style,product")
    assert "SOLS-SO-CREW-M" in text  # 66 at MCR, low at 100: order up to 101
    # Customer-poll votes per line; units per vote go into the address (and the CSV).
    expect(page.get_by_role("columnheader", name="Votes")).to_be_visible()
    page.get_by_label("Units per vote").fill("0.5")
    page.get_by_label("Units per vote").press("Enter")
    expect(page).to_have_url(re.compile(r"/alerts/replenishment\?brand=SOLS&per_vote=0.5$"))
    expect(page.get_by_test_id("replenish-row").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "alerts-replenishment.png", full_page=True)

    page.emulate_media(color_scheme="dark")
    page.goto("/alerts?view=active")
    expect(page.get_by_test_id("alert-row").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "alerts-inbox-dark.png", full_page=True)


def test_suggested_moves_become_a_draft(page: Page, seeded: Seeded, artifacts_dir: Path) -> None:
    """Manchester sells the 32 waist fast (34 left); London sells none of its 200: the
    suggestion moves enough to give Manchester 4 weeks of cover."""
    from datetime import UTC, datetime, timedelta

    from models.catalog import Variant, Warehouse
    from models.db import read_session
    from tests.transfer_support import add_sales

    engine = _db(seeded)
    try:
        with read_session(engine) as session:
            variant = session.scalar(
                select(Variant.id).where(Variant.sku == "NORTH-NW-STRAIGHT-32")
            )
            mcr = session.scalar(select(Warehouse.id).where(Warehouse.code == "MCR"))
        add_sales(engine, variant, mcr, 4, datetime.now(UTC) - timedelta(days=3), lines=10)
    finally:
        engine.dispose()

    sign_in(page, seeded.merchandiser)
    page.goto("/transfers")
    page.get_by_role("link", name="Suggestions").click()
    expect(page.get_by_role("paragraph").filter(has_text="Pick a brand")).to_be_visible()
    page.get_by_label("Brand").click()
    page.get_by_role("option", name="Northwind Denim (NORTH)").click()
    expect(page).to_have_url(re.compile(r"/transfers/suggest\?brand=NORTH$"))
    group = page.get_by_test_id("route-group").filter(has_text="LDN → MCR")
    move = group.get_by_test_id("move-row").filter(has_text="NORTH-NW-STRAIGHT-32")
    expect(move).to_contain_text("→ 4.0 wk")  # the destination reaches the 4-week target
    # Nothing is ticked until a route is.
    draft = page.get_by_test_id("draft-routes")
    expect(draft).to_have_text(re.compile("Tick a route to draft it"))
    expect(draft).to_be_disabled()
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 860})
        page.screenshot(path=artifacts_dir / f"transfers-suggestions-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1360, "height": 860})

    # A higher minimum leaves that move (under 10 units) out; the minimum is in the URL.
    page.get_by_label("Smallest move").click()
    page.get_by_role("option", name="10 units").click()
    expect(page).to_have_url(re.compile(r"/transfers/suggest\?brand=NORTH&min=10$"))
    expect(page.get_by_test_id("move-row").filter(has_text="NORTH-NW-STRAIGHT-32")).to_have_count(0)
    expect(page.get_by_text("Every suggested move is smaller than the minimum")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/transfers/suggest\?brand=NORTH$"))

    group.get_by_role("checkbox", name="Draft LDN → MCR").click()
    expect(draft).to_have_text(re.compile(r"Draft 1 transfer \(\d+ units?\)"))
    draft.click()
    expect(page).to_have_url(re.compile(r"/transfers\?status=draft$"))
    expect(page.get_by_test_id("transfer-row").first).to_contain_text("LDN → MCR")
    expect(page.get_by_test_id("transfer-row").first).to_contain_text("Suggested rebalance")
