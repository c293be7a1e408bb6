"""/counts in the browser: a merchandiser counts London's sheet blind with the keyboard
(a bad entry named, Enter to the next line, the last Enter saves), and a manager
rejects the variance above tolerance. Nothing on hand changes: the first line is counted
right (applied, no movement) and the variance is rejected, so later modules still see
the seeded stock (the Overview's 1,800, the grid's 966)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Seeded
from tests.e2e.test_admin import sign_in

pytestmark = pytest.mark.e2e


def _on_hand(database_url: str) -> dict[str, int]:
    """London's on hand per SKU, read straight from the app's database."""
    from models.catalog import Variant, Warehouse
    from models.db import create_db_engine, read_session
    from models.stock import StockBalance

    engine = create_db_engine(database_url, pool_size=1)
    try:
        with read_session(engine) as session:
            rows = session.execute(
                select(Variant.sku, StockBalance.on_hand)
                .join(StockBalance, StockBalance.variant_id == Variant.id)
                .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
                .where(Warehouse.code == "LDN")
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


def test_a_blind_count_by_keyboard_and_a_rejected_variance(
    page: Page, browser: Browser, app: RunningApp, seeded: Seeded, artifacts_dir: Path
) -> None:
    before = _on_hand(seeded.database_url)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, seeded.merchandiser)
    page.goto("/counts")
    expect(page.get_by_role("heading", name="Cycle counts", level=1)).to_be_visible()
    page.get_by_test_id("start-count").click()
    lines = page.get_by_test_id("sheet-line")
    expect(lines).to_have_count(2)
    skus = [re.search(r"[A-Z]+-[A-Z0-9-]+", text).group(0) for text in lines.all_inner_texts()]
    sheet = page.get_by_test_id("count-sheet")
    for sku in skus:  # blind: no expected number anywhere on the sheet
        expect(sheet).not_to_contain_text(str(before[sku]))
    page.screenshot(path=artifacts_dir / "counts-sheet.png", full_page=True)

    first = page.get_by_label("Counted units of " + skus[0])
    second = page.get_by_label("Counted units of " + skus[1])
    first.click()
    page.keyboard.type("twelve")
    page.keyboard.press("Enter")
    expect(second).to_be_focused()
    expect(lines.nth(0).get_by_role("alert")).to_contain_text("counted must be a whole number")
    first.fill(str(before[skus[0]]))  # right: applied, nothing moves
    first.press("Enter")
    expect(second).to_be_focused()
    expect(lines.nth(0).get_by_role("alert")).to_have_count(0)
    page.keyboard.type(str(before[skus[1]] + 50))  # far off: waits for a manager
    page.keyboard.press("Enter")  # the last line: saved, the focus leaves it
    expect(second).not_to_be_focused()
    expect(page.get_by_test_id("counted-summary")).to_have_text("2 of 2 lines counted")
    page.get_by_test_id("submit-sheet").click()
    expect(page.get_by_text("Applied 1; 1 waiting for a manager")).to_be_visible()
    expect(page.get_by_test_id("sheet-line")).to_have_count(0)
    # A merchandiser does not see variances (they carry the expected number).
    expect(page.get_by_test_id("variances-table")).to_have_count(0)

    manager = browser.new_context(base_url=app.url)
    try:
        boss = manager.new_page()
        boss.set_viewport_size({"width": 1440, "height": 900})
        assert seeded.manager is not None
        sign_in(boss, seeded.manager)
        boss.goto("/counts")
        row = boss.get_by_test_id("variance-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(skus[1])
        expect(row).to_contain_text("+50")
        boss.screenshot(path=artifacts_dir / "counts-variances.png", full_page=True)
        row.get_by_role("button", name="Reject").click()
        dialog = boss.get_by_test_id("reject-variance-dialog")
        dialog.get_by_role("button", name="Reject").click()
        expect(boss.get_by_text("Variance rejected")).to_be_visible()
        expect(boss.get_by_test_id("variance-row")).to_have_count(0)
    finally:
        manager.close()
    assert _on_hand(seeded.database_url) == before
