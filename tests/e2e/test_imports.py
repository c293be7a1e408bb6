"""Imports in the browser: a vendor uploads their brand's feed, sees the dry run with its
errors, applies it skipping the invalid rows, and finds the result in the history, the
ledger, the stock grid and the Overview; the same file again changes nothing. The real
Shopify sample is checked by a merchandiser; a mapping is built from a file's own
headers; bad files say why; a manager only reads.

The server-side refusals of every handler (a forged event for another brand included)
are proven without a browser in tests/dashboard/test_import_states.py. This module changes counts
only of variants the seed made, and puts every balance back (and removes the mapping
it saved) when it ends, so the Overview's seeded figures hold whatever runs next.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, delete, func, select

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Login, Seeded
from tests.import_support import INVENTORY_HEADERS, SAMPLE, csv_bytes, inventory_row

pytestmark = pytest.mark.e2e

OVERVIEW_URL = re.compile(r"://[^/]+/$")
MANAGER = Login("max@rackroom.test", "manager-password-1", "Max Manager")
#: The vendor's feed: two counts of seeded balances, and two invalid rows.
FEED_ROWS = [
    inventory_row(
        "SO-CREW",
        [("Size", "S"), ("Color", "Oat")],
        "SOLS-SO-CREW-S",
        "London DC",
        520,
        title="Merino Crew",
    ),
    inventory_row("SO-CREW", [("Size", "M"), ("Color", "Oat")], "SOLS-SO-CREW-M", "MCR", 70),
    inventory_row("SO-CREW", [("Size", "L"), ("Color", "Oat")], "SOLS-SO-CREW-L", "Atlantis", 5),
    inventory_row("SO-CREW", [("Size", "S"), ("Color", "Oat")], "SOLS-SO-CREW-S", "MCR", -3),
]


@dataclass(frozen=True)
class Db:
    engine: Engine
    brands: dict[str, int]


@pytest.fixture(scope="module")
def db(app: RunningApp, browser: Browser) -> Iterator[Db]:
    """The app's database and a manager account; afterwards every count is put back."""
    from models.catalog import Brand
    from models.db import create_db_engine, transaction
    from models.imports import ColumnMapping
    from models.stock import StockBalance, set_count
    from models.users import LoginSession, User, create_user

    engine = create_db_engine(app.seeded.database_url, pool_size=2)
    with transaction(engine) as session:
        made_manager = session.scalar(select(User).where(User.email == MANAGER.email)) is None
        if made_manager:
            create_user(session, MANAGER.email, MANAGER.password, "manager", name=MANAGER.name)
        brands = {b.code: b.id for b in session.scalars(select(Brand))}
        counts = {
            (b.variant_id, b.warehouse_id): b.on_hand for b in session.scalars(select(StockBalance))
        }
    # The dev server compiles a route on its first visit: do that here, not in a test.
    warm = browser.new_page()
    try:
        warm.goto(app.url + "/imports", timeout=600_000)
        expect(warm.get_by_label("Email")).to_be_visible(timeout=600_000)
        warm.wait_for_load_state("networkidle")
    finally:
        warm.close()
    try:
        yield Db(engine, brands)
    finally:
        with transaction(engine) as session:
            for balance in session.scalars(select(StockBalance)).all():
                seeded = counts.get((balance.variant_id, balance.warehouse_id), 0)
                if balance.on_hand != seeded:
                    set_count(
                        session,
                        balance.variant_id,
                        balance.warehouse_id,
                        seeded,
                        actor="e2e-restore",
                        reason="correction",
                    )
            session.execute(delete(ColumnMapping))
            manager = session.scalar(select(User).where(User.email == MANAGER.email))
            if made_manager and manager is not None:
                session.execute(delete(LoginSession).where(LoginSession.user_id == manager.id))
                session.delete(manager)
        engine.dispose()


def sign_in(page: Page, login: Login) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(OVERVIEW_URL)


def open_imports(page: Page) -> None:
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Imports", level=1)).to_be_visible()
    expect(page.get_by_test_id("history-summary")).not_to_have_text("")


def shot(page: Page, path: Path, *, full_page: bool = True) -> None:
    """A screenshot from the top of the page (a scrolled page pictures its sticky
    sidebar and top bar half-way down)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(150)
    page.screenshot(path=path, full_page=full_page)


def upload(page: Page, path: Path) -> None:
    page.locator("input[type=file]").set_input_files(path)


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option).click()


def set_on_hand(db: Db, sku: str, warehouse: str, qty: int) -> None:
    """A hand correction behind the page's back (stock that moved since an import)."""
    from models.catalog import Variant, Warehouse
    from models.db import transaction
    from models.stock import set_count

    with transaction(db.engine) as session:
        variant_id = session.scalar(select(Variant.id).where(Variant.sku == sku))
        warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse))
        set_count(session, variant_id, warehouse_id, qty, actor="e2e", reason="correction")


def brand_on_hand(db: Db, code: str) -> int:
    from models.catalog import Variant
    from models.db import read_session
    from models.stock import StockBalance

    with read_session(db.engine) as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(StockBalance.on_hand), 0))
                .join(Variant, Variant.id == StockBalance.variant_id)
                .where(Variant.brand_id == db.brands[code])
            )
        )


def on_hand(db: Db, sku: str, warehouse: str) -> int:
    from models.catalog import Variant, Warehouse
    from models.db import read_session
    from models.stock import StockBalance

    with read_session(db.engine) as session:
        found = session.scalar(
            select(StockBalance.on_hand)
            .join(Variant, Variant.id == StockBalance.variant_id)
            .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
            .where(Variant.sku == sku, Warehouse.code == warehouse)
        )
    return int(found or 0)


def test_vendor_uploads_a_feed_sees_its_errors_and_applies_skipping_invalid_rows(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path, tmp_path: Path
) -> None:
    from models.db import read_session
    from models.stock import LedgerEntry

    before = brand_on_hand(db, "SOLS")
    feed = tmp_path / "solstice-inventory.csv"
    feed.write_bytes(csv_bytes(INVENTORY_HEADERS, FEED_ROWS))

    sign_in(page, seeded.vendor)
    open_imports(page)
    # The brand is the vendor's own, fixed: no picker, no other brand anywhere.
    expect(page.get_by_test_id("brand-fixed")).to_have_text(seeded.vendor_brand)
    expect(page.get_by_role("combobox", name="Brand")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(seeded.other_brand)
    expect(page.get_by_text("No imports yet")).to_be_visible()
    shot(page, artifacts_dir / "imports-empty.png", full_page=True)

    upload(page, feed)
    expect(page.get_by_test_id("file-name")).to_have_text("solstice-inventory.csv")
    expect(page.get_by_test_id("file-layout")).to_have_text(
        "Looks like a Shopify inventory export."
    )
    expect(page.get_by_role("combobox", name="Kind of file")).to_have_text(
        "Shopify inventory export"
    )
    expect(page.get_by_role("combobox", name="Warehouse")).to_have_count(0)  # rows say where
    shot(page, artifacts_dir / "imports-upload.png", full_page=True)

    page.get_by_role("button", name="Run dry run").click()
    result = page.get_by_test_id("result-card")
    expect(result.get_by_test_id("result-message")).to_contain_text("Dry run: nothing written yet")
    expect(result.get_by_test_id("result-message")).to_contain_text("2 error(s) in 2 row(s)")
    expect(result.get_by_test_id("count-changed")).to_have_text("2")
    expect(result.get_by_test_id("count-errors")).to_have_text("2")
    errors = result.get_by_test_id("error-row")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("Location")
    expect(errors.nth(0)).to_contain_text("Atlantis")
    expect(errors.nth(0)).to_contain_text("unknown location")
    expect(errors.nth(1)).to_contain_text("-3")
    expect(errors.nth(1)).to_contain_text("quantity cannot be negative")
    diff = result.get_by_test_id("diff-row")
    expect(diff).to_have_count(2)
    expect(diff.nth(0)).to_contain_text("SOLS-SO-CREW-S")
    expect(diff.nth(0)).to_contain_text("500")
    expect(diff.nth(0)).to_contain_text("520")
    expect(diff.nth(0)).to_contain_text("+20")
    apply = page.get_by_test_id("apply-button")
    expect(apply).to_be_disabled()  # all or nothing while rows are invalid
    expect(page.get_by_test_id("apply-hint")).to_contain_text("All or nothing")

    # The error list downloads as CSV.
    with page.expect_download() as download:
        result.get_by_role("button", name="Download errors (CSV)").click()
    assert download.value.suggested_filename == "solstice-inventory-errors.csv"
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,column,value,reason" and len(lines) == 3
    shot(page, artifacts_dir / "imports-dry-run-errors.png", full_page=True)
    assert brand_on_hand(db, "SOLS") == before  # a dry run writes nothing

    # Fix nothing: skip the invalid rows and apply.
    page.get_by_role("switch", name="Skip invalid rows").click()
    expect(page.get_by_test_id("apply-hint")).to_contain_text("are left out")
    expect(apply).to_be_enabled()
    apply.click()
    expect(page.get_by_text(re.compile(r"^Applied import #\d+$"))).to_be_visible()
    expect(page.get_by_text("2 balances changed, 0 new variants; 2 invalid rows skipped."))
    expect(result.get_by_test_id("result-message")).to_contain_text("Applied as import #")
    expect(apply).to_be_disabled()
    history = page.get_by_test_id("history-row")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("solstice-inventory.csv")
    expect(history.first).to_contain_text(seeded.vendor.email)
    expect(history.first).to_contain_text("Applied")
    import_id = int(
        re.search(r"#(\d+)", result.get_by_test_id("result-message").inner_text()).group(1)
    )
    page.wait_for_timeout(400)  # let the toast settle for the picture
    page.screenshot(path=artifacts_dir / "imports-applied.png")

    # The ledger has one row per changed balance, with reason import and the import's id.
    with read_session(db.engine) as session:
        rows = list(
            session.scalars(
                select(LedgerEntry).where(LedgerEntry.reference == f"import:{import_id}")
            )
        )
    assert sorted((r.reason, r.on_hand_delta, r.actor) for r in rows) == [
        ("import", 4, seeded.vendor.email),
        ("import", 20, seeded.vendor.email),
    ]
    assert brand_on_hand(db, "SOLS") == before + 24

    # The past import's errors open from the history; Esc closes the dialog.
    history.first.get_by_role("link", name=f"See the errors of import {import_id}").click()
    dialog = page.get_by_test_id("run-errors-dialog")
    expect(dialog.get_by_test_id("error-row")).to_have_count(2)
    # Opening it is not a navigation: no "#" in the URL, so no on_load to close it again.
    assert not page.url.endswith("#")
    # Its stored errors download as CSV, streamed from /exports/imports/<id>/errors.csv.
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Download errors (CSV)").click()
    assert download.value.suggested_filename.startswith(f"rackroom-import-{import_id}-errors-")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,column,value,reason" and len(lines) == 3
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # The stock grid (when the Stock page is there) and the Overview show the new counts.
    if page.get_by_role("navigation", name="Sections").get_by_role("link", name="Stock").count():
        page.goto("/stock?q=SOLS-SO-CREW-S")
        grid_row = page.locator('[data-testid="balance-row"][data-sku="SOLS-SO-CREW-S"]')
        expect(grid_row).to_contain_text("520")
    page.goto("/")
    expect(page.get_by_test_id("stat-on-hand")).to_have_text(f"{before + 24:,}")
    page.goto("/imports")
    expect(page.get_by_test_id("history-row")).to_have_count(1)
    shot(page, artifacts_dir / "imports-history.png")

    # The same file again: the dry run says it was applied, and applying changes nothing.
    upload(page, feed)
    expect(page.get_by_test_id("file-name")).to_have_text("solstice-inventory.csv")
    page.get_by_role("button", name="Run dry run").click()
    expect(result.get_by_test_id("result-message")).to_contain_text(
        f"This file was already applied as import {import_id}"
    )
    page.get_by_role("switch", name="Skip invalid rows").click()
    page.get_by_test_id("apply-button").click()
    expect(page.get_by_text(f"Already applied as import #{import_id}").first).to_be_visible()
    assert brand_on_hand(db, "SOLS") == before + 24
    expect(page.get_by_test_id("history-row")).to_have_count(1)


def test_merchandiser_checks_the_real_shopify_sample_in_dark_mode(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path
) -> None:
    page.emulate_media(color_scheme="dark")
    sign_in(page, seeded.merchandiser)
    open_imports(page)
    pick(page, "Brand", f"{seeded.other_brand} (NORTH)")
    upload(page, SAMPLE)
    expect(page.get_by_test_id("file-layout")).to_have_text("Looks like a Shopify product export.")
    expect(page.get_by_role("button", name="Run dry run")).to_be_disabled()
    expect(page.get_by_text("A Shopify product export has no locations: choose the warehouse."))
    pick(page, "Warehouse", "London DC (LDN)")
    page.get_by_role("button", name="Run dry run").click()
    result = page.get_by_test_id("result-card")
    expect(result.get_by_test_id("count-products")).to_have_text("20")
    expect(result.get_by_test_id("count-variants")).to_have_text("22")
    expect(result.get_by_test_id("count-changed")).to_have_text("22")
    expect(result.get_by_test_id("count-errors")).to_have_text("0")
    expect(result.get_by_test_id("error-row")).to_have_count(0)
    expect(result.get_by_test_id("diff-row").nth(1)).to_contain_text("NORTH-CLASSIC-VARSITY-TOP-S")
    # Another brand's file: Apply waits for "I have checked these warnings".
    expect(result.get_by_test_id("import-warning")).to_have_count(4)
    expect(page.get_by_test_id("apply-button")).to_be_disabled()
    expect(page.get_by_role("switch", name="Skip invalid rows")).to_have_count(0)
    shot(page, artifacts_dir / "imports-sample-dark.png", full_page=True)
    # Changing a choice drops the check: apply needs a new dry run.
    pick(page, "Warehouse", "Manchester Store (MCR)")
    expect(page.get_by_test_id("result-card")).to_have_count(0)


def test_the_sample_into_another_brand_warns_and_applies_only_once_ticked(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path
) -> None:
    """partners-demo's export uploaded for NORTH: the warnings name the Vendor, the
    generated SKUs and the missing colours and sizes; Apply is disabled until the tick
    (set from the keyboard), which a new dry run clears again."""
    before = brand_on_hand(db, "NORTH")
    sign_in(page, seeded.merchandiser)
    open_imports(page)
    pick(page, "Brand", f"{seeded.other_brand} (NORTH)")
    upload(page, SAMPLE)
    expect(page.get_by_test_id("file-layout")).to_have_text("Looks like a Shopify product export.")
    pick(page, "Warehouse", "London DC (LDN)")
    page.get_by_role("button", name="Run dry run").click()
    result = page.get_by_test_id("result-card")
    warnings = result.get_by_test_id("import-warning")
    expect(warnings).to_have_count(4)
    expect(warnings.nth(0)).to_contain_text("Another brand's file? (22)")
    expect(warnings.nth(0)).to_contain_text("'partners-demo'")
    expect(warnings.nth(0)).to_contain_text("rows 2, 3, 4")
    expect(warnings.nth(1)).to_contain_text("SKUs will be generated (22)")
    expect(warnings.nth(1)).to_contain_text("Ocean Blue Shirt")
    expect(warnings.nth(2)).to_contain_text("No colour (22)")
    expect(warnings.nth(3)).to_contain_text("No size (19)")
    expect(result.get_by_test_id("diff-row").nth(0)).to_contain_text("Ocean Blue Shirt")
    apply = page.get_by_test_id("apply-button")
    expect(apply).to_be_disabled()
    expect(page.get_by_test_id("apply-hint")).to_contain_text("I have checked these warnings")
    shot(page, artifacts_dir / "imports-warnings.png", full_page=True)

    tick = page.get_by_role("checkbox", name="I have checked these warnings")
    tick.focus()
    page.keyboard.press("Space")
    expect(tick).to_be_checked()
    expect(apply).to_be_enabled()
    # A new dry run clears the tick.
    page.get_by_role("button", name="Run dry run").click()
    expect(warnings).to_have_count(4)
    expect(tick).not_to_be_checked()
    expect(apply).to_be_disabled()
    assert brand_on_hand(db, "NORTH") == before  # nothing written so far

    tick.click()
    expect(apply).to_be_enabled()
    # Not applied here: the 20 products it would make would stay in the shared browser
    # database (the ledger keeps them) and change every later test's grid. Applying past
    # warnings is proven in tests/jobs/test_import_warnings.py.


def test_an_applied_import_is_reverted_once_the_stock_it_set_is_back(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path, tmp_path: Path
) -> None:
    """A feed for a seeded NORTH balance, applied, then reverted from the history: refused
    while the stock has moved since (naming the balance, nothing changed), done once it
    is back, and the row says Reverted."""
    sku = "NORTH-NW-STRAIGHT-30"
    before = on_hand(db, sku, "LDN")
    feed = tmp_path / "north-recount.csv"
    feed.write_bytes(csv_bytes(INVENTORY_HEADERS, [
        inventory_row("NW-STRAIGHT", [("Size", "30")], sku, "London DC", before + 10),
    ]))
    sign_in(page, seeded.merchandiser)
    open_imports(page)
    pick(page, "Brand", f"{seeded.other_brand} (NORTH)")
    upload(page, feed)
    page.get_by_role("button", name="Run dry run").click()
    result = page.get_by_test_id("result-card")
    expect(result.get_by_test_id("count-changed")).to_have_text("1")
    page.get_by_test_id("apply-button").click()
    expect(result.get_by_test_id("result-message")).to_contain_text("Applied as import #")
    assert on_hand(db, sku, "LDN") == before + 10
    import_id = int(
        re.search(r"#(\d+)", result.get_by_test_id("result-message").inner_text()).group(1)
    )

    set_on_hand(db, sku, "LDN", before + 13)  # stock moved since the import
    row = page.get_by_test_id("history-row").filter(has_text="north-recount.csv")
    row.first.get_by_role("button", name=f"Revert import {import_id}").click()
    dialog = page.get_by_test_id("revert-dialog")
    expect(dialog).to_contain_text(f"Revert import #{import_id}")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Revert import").click()
    expect(dialog).to_contain_text(f"{sku} @ LDN: the import set {before + 10}, now {before + 13}")
    assert on_hand(db, sku, "LDN") == before + 13
    shot(page, artifacts_dir / "imports-revert-refused.png", full_page=False)
    set_on_hand(db, sku, "LDN", before + 10)
    dialog.get_by_role("button", name="Revert import").click()
    expect(page.get_by_text(f"Reverted import #{import_id}")).to_be_visible()
    expect(dialog).to_have_count(0)
    expect(row.first).to_contain_text("Reverted")
    expect(row.first.get_by_role("button", name=f"Revert import {import_id}")).to_have_count(0)
    assert on_hand(db, sku, "LDN") == before


def test_a_mapping_is_made_from_the_files_headers_and_checks_the_file(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path, tmp_path: Path
) -> None:
    # S at London as it is now (unchanged), M at Manchester one more (changed).
    s_now, m_now = on_hand(db, "SOLS-SO-CREW-S", "LDN"), on_hand(db, "SOLS-SO-CREW-M", "MCR")
    headers = ["Artikelnummer", "Modell", "Bezeichnung", "Farbe", "Größe", "Lager", "Bestand"]
    rows = [
        ["SOLS-SO-CREW-S", "SO-CREW", "Merino Crew", "Oat", "Klein", "Lager Nord", s_now],
        ["SOLS-SO-CREW-M", "SO-CREW", "", "Oat", "Mittel", "Laden", m_now + 1],
    ]
    feed = tmp_path / "warenwirtschaft.csv"
    feed.write_bytes(csv_bytes(headers, rows, delimiter=";", encoding="cp1252"))
    sign_in(page, seeded.vendor)
    open_imports(page)
    upload(page, feed)
    expect(page.get_by_test_id("file-layout")).to_contain_text("Not a Shopify export")
    page.get_by_role("button", name="New mapping…").click()
    dialog = page.get_by_test_id("mapping-dialog")
    expect(dialog.get_by_role("combobox", name="SKU")).to_have_text("Artikelnummer")
    expect(dialog.get_by_role("combobox", name="Size")).to_have_text("Größe")
    expect(dialog.get_by_role("combobox", name="Quantity on hand")).to_have_text("Bestand")
    expect(dialog).to_contain_text("In this file: Klein, Mittel")
    page.keyboard.press("Escape")  # Esc closes
    expect(dialog).to_have_count(0)

    page.get_by_role("button", name="New mapping…").click()
    dialog.get_by_label("Sizes").fill("Klein = S\nMittel = M")
    expect(dialog.get_by_label("Locations")).to_have_value("Lager Nord = \nLaden = ")
    dialog.get_by_label("Locations").fill("Lager Nord = LDN\nLaden = MCR")
    dialog.get_by_label("Mapping name").fill("Warenwirtschaft")
    shot(page, artifacts_dir / "imports-mapping.png", full_page=False)
    dialog.get_by_label("Mapping name").press("Enter")  # Enter submits
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("Saved mapping “Warenwirtschaft”")).to_be_visible()
    expect(page.get_by_role("combobox", name="Kind of file")).to_have_text(
        "Mapping: Warenwirtschaft"
    )
    page.get_by_role("button", name="Run dry run").click()
    result = page.get_by_test_id("result-card")
    expect(result.get_by_test_id("count-errors")).to_have_text("0")
    expect(result.get_by_test_id("count-changed")).to_have_text("1")
    expect(result.get_by_test_id("count-same")).to_have_text("1")
    expect(result.get_by_test_id("diff-row")).to_contain_text(f"{m_now + 1:,}")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("photo.csv", bytes(range(256)) * 64, "This is not a CSV file (it looks binary)."),
        ("wide.csv", (",".join(f"c{i}" for i in range(10_000)) + "\n").encode(), "10,000 columns"),
    ],
)
def test_bad_files_say_what_is_wrong(
    page: Page, seeded: Seeded, db: Db, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    sign_in(page, seeded.vendor)
    open_imports(page)
    path = tmp_path / name
    path.write_bytes(content)
    upload(page, path)
    expect(page.get_by_test_id("file-error")).to_contain_text(message)
    expect(page.get_by_role("button", name="Run dry run")).to_be_disabled()


def test_header_only_and_oversized_files_are_refused(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path, tmp_path: Path
) -> None:
    sign_in(page, seeded.vendor)
    open_imports(page)
    header_only = tmp_path / "header-only.csv"
    header_only.write_bytes(csv_bytes(INVENTORY_HEADERS, []))
    upload(page, header_only)
    page.get_by_role("button", name="Run dry run").click()
    expect(page.get_by_test_id("result-message")).to_contain_text(
        "The file has a header row but no data rows."
    )
    expect(page.get_by_test_id("apply-button")).to_have_count(0)

    # Over the limit: refused in the browser before a byte is sent.
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as out:
        out.truncate(51 * 1024 * 1024)
    upload(page, huge)
    expect(page.get_by_test_id("file-error")).to_contain_text(
        "huge.csv: The file is larger than 50 MB"
    )
    shot(page, artifacts_dir / "imports-too-big.png", full_page=True)


def test_a_manager_reads_the_history_and_cannot_upload(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path
) -> None:
    sign_in(page, MANAGER)
    open_imports(page)
    expect(page.get_by_test_id("read-only-note")).to_be_visible()
    expect(page.get_by_test_id("drop-zone")).to_have_count(0)
    expect(page.get_by_role("button", name="Run dry run")).to_have_count(0)
    expect(page.locator("input[type=file]")).to_have_count(0)
    shot(page, artifacts_dir / "imports-manager.png", full_page=True)


@pytest.mark.parametrize("width", [1440, 1024])
def test_the_page_fits_the_window_with_a_checked_file(
    page: Page, seeded: Seeded, db: Db, artifacts_dir: Path, tmp_path: Path, width: int
) -> None:
    """At 1440 and 1024 px: no sideways scrolling of the page, the steps and the history
    (with its pager and page size) readable."""
    page.set_viewport_size({"width": width, "height": 900})
    feed = tmp_path / "solstice-inventory.csv"
    feed.write_bytes(csv_bytes(INVENTORY_HEADERS, FEED_ROWS))
    sign_in(page, seeded.vendor)
    open_imports(page)
    upload(page, feed)
    expect(page.get_by_test_id("file-name")).to_have_text("solstice-inventory.csv")
    page.get_by_role("button", name="Run dry run").click()
    expect(page.get_by_test_id("result-card").get_by_test_id("error-row")).to_have_count(2)
    if page.get_by_test_id("history-row").count():  # after the first test's apply
        expect(page.get_by_test_id("pager")).to_contain_text("Rows")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
    shot(page, artifacts_dir / f"imports-{width}.png", full_page=True)
