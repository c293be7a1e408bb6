"""/counts on an 820 px tablet: a merchandiser counts Manchester's sheet with a barcode
scanner (a scanner types the code and Enter). Barcode, Shopify alias and SKU each count
one unit of the oat M crew; an unknown code and a code of a jean not on the sheet are
warned about by name and count nothing. The sheet stays blind. Nothing is submitted:
the sheet this test opened is removed at the end, so later modules see Manchester as
the seed left it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import delete, select

from tests.e2e.seed import Seeded
from tests.e2e.test_admin import sign_in

pytestmark = pytest.mark.e2e

CREW_M = "SOLS-SO-CREW-M"
CREW_M_BARCODE = "5000000010001"
JEAN_32_BARCODE = "5000000000001"  # stocked at Manchester, not due today


def _manchester(database_url: str) -> tuple[int, int, dict[int, int | None]]:
    """Manchester's id, the crew's on hand there, and the counts of its open sheet."""
    from models.catalog import Variant, Warehouse
    from models.cycle_counts import CountLine, CountSheet
    from models.db import create_db_engine, read_session
    from models.stock import StockBalance

    engine = create_db_engine(database_url, pool_size=1)
    try:
        with read_session(engine) as session:
            warehouse = session.scalar(select(Warehouse.id).where(Warehouse.code == "MCR"))
            on_hand = session.scalar(
                select(StockBalance.on_hand)
                .join(Variant, Variant.id == StockBalance.variant_id)
                .where(Variant.sku == CREW_M, StockBalance.warehouse_id == warehouse)
            )
            counts = dict(
                session.execute(
                    select(CountLine.id, CountLine.counted)
                    .join(CountSheet, CountSheet.id == CountLine.sheet_id)
                    .where(CountSheet.warehouse_id == warehouse, CountSheet.status == "open")
                ).all()
            )
    finally:
        engine.dispose()
    return warehouse, on_hand, counts


def _forget_the_count(database_url: str, warehouse_id: int, classified_before: bool) -> None:
    """Remove the sheet the test opened (and the classes its start made)."""
    from models.cycle_counts import CountItem, CountLine, CountSheet
    from models.db import create_db_engine, transaction

    engine = create_db_engine(database_url, pool_size=1)
    try:
        with transaction(engine) as session:
            sheets = select(CountSheet.id).where(
                CountSheet.warehouse_id == warehouse_id, CountSheet.status == "open"
            )
            session.execute(delete(CountLine).where(CountLine.sheet_id.in_(sheets)))
            session.execute(delete(CountSheet).where(CountSheet.id.in_(sheets)))
            if not classified_before:
                session.execute(delete(CountItem).where(CountItem.warehouse_id == warehouse_id))
    finally:
        engine.dispose()


def _classified(database_url: str, warehouse_id: int) -> bool:
    from models.cycle_counts import CountItem
    from models.db import create_db_engine, read_session

    engine = create_db_engine(database_url, pool_size=1)
    try:
        with read_session(engine) as session:
            found = select(CountItem.variant_id).where(CountItem.warehouse_id == warehouse_id)
            return session.scalar(found.limit(1)) is not None
    finally:
        engine.dispose()


def _scan(page: Page, code: str) -> None:
    """What a scanner does: type the code into the focused box, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_a_count_sheet_counted_with_a_scanner_on_a_tablet(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    warehouse, on_hand, _ = _manchester(seeded.database_url)
    classified_before = _classified(seeded.database_url, warehouse)
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    page.set_viewport_size({"width": 820, "height": 1180})
    sign_in(page, seeded.merchandiser)
    try:
        page.goto(f"/counts?warehouse={warehouse}")
        expect(page.get_by_role("heading", name="Cycle counts", level=1)).to_be_visible()
        page.get_by_test_id("start-count").click()
        line = page.get_by_test_id("sheet-line")
        expect(line).to_have_count(1)
        expect(line).to_contain_text(CREW_M)
        box = page.get_by_label("Scan a unit")
        expect(box).to_be_focused()  # ready for the scanner, no click needed
        counted = page.get_by_label("Counted units of " + CREW_M)

        confirmation = page.get_by_test_id("scan-confirmation")
        warning = page.get_by_test_id("scan-warning")
        for n, code in enumerate((CREW_M_BARCODE, "SHOP-CREW-OAT-M", CREW_M), start=1):
            _scan(page, code)
            expect(confirmation).to_have_text(f"Counted {CREW_M} (M): {n} so far")
            expect(counted).to_have_value(str(n))
            expect(box).to_have_value("")  # cleared...
            expect(box).to_be_focused()  # ...and still where the scanner types
        expect(line).to_have_attribute("data-scanned", "1")  # the counted row is lit

        _scan(page, "999000")
        expect(warning).to_have_text("Unknown code '999000': no barcode, alias or SKU matches it.")
        expect(confirmation).to_have_count(0)
        _scan(page, JEAN_32_BARCODE)
        expect(warning).to_contain_text(
            f"'{JEAN_32_BARCODE}' is NORTH-NW-STRAIGHT-32, which is not on count sheet #"
        )
        expect(box).to_be_focused()
        page.screenshot(path=artifacts_dir / "counts-scan-warning-820.png", full_page=True)
        for _ in range(3):  # the scanner keeps going, without waiting for an answer
            _scan(page, CREW_M_BARCODE)
        expect(confirmation).to_have_text(f"Counted {CREW_M} (M): 6 so far")
        expect(counted).to_have_value("6")
        expect(page.get_by_test_id("counted-summary")).to_have_text("1 of 1 line counted")
        # Blind: the system's number shows nowhere on the sheet.
        expect(page.get_by_test_id("count-sheet")).not_to_contain_text(str(on_hand))
        page.screenshot(path=artifacts_dir / "counts-scan-820.png", full_page=True)
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=artifacts_dir / "counts-scan-820-dark.png", full_page=True)
        for width in (1024, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=artifacts_dir / f"counts-scan-{width}-dark.png", full_page=True)
        page.emulate_media(color_scheme="light")
        for width in (1024, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=artifacts_dir / f"counts-scan-{width}.png", full_page=True)

        # What the page showed is what the database holds; a reload shows it again.
        assert list(_manchester(seeded.database_url)[2].values()) == [6]
        page.reload()
        expect(page.get_by_label("Counted units of " + CREW_M)).to_have_value("6")
        assert errors == []
    finally:
        _forget_the_count(seeded.database_url, warehouse, classified_before)
    assert _manchester(seeded.database_url)[1] == on_hand
