"""The stock grid in the browser: filters, sort, paging and search in the URL; the size
run with its broken run flagged; corrections through compare-and-swap landing in the
ledger; a change made through the REST API showing on an open grid; and each role's
view (a manager reads only, a vendor sees nothing of another brand).

The handlers' server-side refusals are proven without a browser in
tests/dashboard/test_stock_states.py. This module changes counts; it puts every balance back
(and removes the manager and API key it created) when it ends, so the Overview's
seeded figures hold whatever runs next.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, delete, select

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Login, Seeded

pytestmark = pytest.mark.e2e

OVERVIEW_URL = re.compile(r"://[^/]+/$")
MANAGER = Login("max@rackroom.test", "manager-password-1", "Max Manager")
ALL_SKUS = [
    "NORTH-NW-STRAIGHT-30",
    "NORTH-NW-STRAIGHT-32",
    "NORTH-NW-STRAIGHT-34",
    "SOLS-SO-CREW-L",
    "SOLS-SO-CREW-M",
    "SOLS-SO-CREW-S",
]

#: The crew in size order (S, M, L), not as text (L, M, S).
CREW_BY_SIZE = ["SOLS-SO-CREW-S", "SOLS-SO-CREW-M", "SOLS-SO-CREW-L"]


@dataclass(frozen=True)
class Ids:
    engine: Engine
    brands: dict[str, int]
    warehouses: dict[str, int]
    variants: dict[str, int]


@pytest.fixture(scope="module")
def db(app: RunningApp, browser: Browser) -> Iterator[Ids]:
    """The app's database and a manager account (the seed's, else one made here and
    removed afterwards); afterwards every count is put back."""
    from models.catalog import Brand, Variant, Warehouse
    from models.db import create_db_engine, transaction
    from models.stock import StockBalance, set_count
    from models.users import ApiKey, LoginSession, User, create_user

    engine = create_db_engine(app.seeded.database_url, pool_size=2)
    with transaction(engine) as session:
        made_manager = session.scalar(select(User).where(User.email == MANAGER.email)) is None
        if made_manager:
            create_user(session, MANAGER.email, MANAGER.password, "manager", name=MANAGER.name)
        ids = Ids(
            engine,
            {b.code: b.id for b in session.scalars(select(Brand))},
            {w.code: w.id for w in session.scalars(select(Warehouse))},
            {v.sku: v.id for v in session.scalars(select(Variant))},
        )
        counts = {
            (b.variant_id, b.warehouse_id): b.on_hand for b in session.scalars(select(StockBalance))
        }
    # The dev server compiles a route on its first visit (and may reload the page once
    # its bundler settles): do that here, not in the middle of a test.
    warm = browser.new_page()
    try:
        warm.goto(app.url + "/stock", timeout=600_000)
        expect(warm.get_by_label("Email")).to_be_visible(timeout=600_000)
        warm.wait_for_load_state("networkidle")
    finally:
        warm.close()
    try:
        yield ids
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
            manager = session.scalar(select(User).where(User.email == MANAGER.email))
            if made_manager and manager is not None:
                session.execute(delete(LoginSession).where(LoginSession.user_id == manager.id))
                session.delete(manager)
            session.execute(delete(ApiKey).where(ApiKey.name == "e2e-stock-feed"))
        engine.dispose()


def sign_in(page: Page, login: Login) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(OVERVIEW_URL)


def open_stock(page: Page, query: str = "") -> None:
    page.goto("/stock" + query)
    expect(page.get_by_test_id("grid-summary")).not_to_have_text("")


def skus(page: Page) -> list[str]:
    return page.get_by_test_id("balance-row").evaluate_all("rows => rows.map(r => r.dataset.sku)")


def expect_skus(page: Page, expected: list[str]) -> None:
    rows = page.get_by_test_id("balance-row")
    expect(rows).to_have_count(len(expected))
    deadline = time.monotonic() + 15
    while skus(page) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert skus(page) == expected


def row(page: Page, sku: str):
    return page.locator(f'[data-testid="balance-row"][data-sku="{sku}"]')


def test_merchandiser_filters_sorts_pages_and_searches_in_the_url(
    page: Page, seeded: Seeded, db: Ids, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.merchandiser)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Stock").click()
    expect(page.get_by_role("heading", name="Stock", level=1)).to_be_visible()
    expect_skus(page, ALL_SKUS)
    expect(page.get_by_test_id("grid-summary")).to_have_text("6 variants")
    # Numbers: right-aligned, thousands separators, state in colour, details on hover.
    north_30 = row(page, "NORTH-NW-STRAIGHT-30")
    ldn = north_30.get_by_role("button", name="Correct NORTH-NW-STRAIGHT-30 at LDN")
    expect(ldn).to_have_text("966")
    expect(ldn).to_have_attribute("title", re.compile(r"On hand 1,000 · reserved 34"))
    expect(north_30.locator("td").last).to_have_text("0")  # incoming total
    expect(north_30).to_contain_text("1,000")
    expect(page.get_by_test_id("legend")).to_contain_text("Low (1–3)")
    page.screenshot(path=artifacts_dir / "stock-balances.png", full_page=True)

    # Sort by any column: available, most first; the URL says so and survives reload.
    page.get_by_role("link", name="Available").click()
    expect(page).to_have_url(re.compile(r"/stock\?sort=available&dir=desc$"))
    expected = [
        "NORTH-NW-STRAIGHT-30",
        "SOLS-SO-CREW-S",
        "NORTH-NW-STRAIGHT-32",
        "SOLS-SO-CREW-M",
        "NORTH-NW-STRAIGHT-34",
        "SOLS-SO-CREW-L",
    ]
    expect_skus(page, expected)
    page.reload()
    expect_skus(page, expected)
    page.get_by_role("link", name="Product").click()
    expect(page).to_have_url(re.compile(r"sort=product"))
    # Merino Crew before Straight Jean, each style's sizes in size order (S M L, not text).
    expect_skus(page, CREW_BY_SIZE + ALL_SKUS[:3])

    # Search on Enter: an alias, a barcode; SQL and LIKE characters are only text.
    search = page.get_by_label("Search stock")
    search.fill("shop-crew-oat")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"q=shop-crew-oat"))
    expect_skus(page, ["SOLS-SO-CREW-M"])
    page.reload()
    expect_skus(page, ["SOLS-SO-CREW-M"])
    expect(page.get_by_label("Search stock")).to_have_value("shop-crew-oat")
    search = page.get_by_label("Search stock")
    search.fill("5000000000001")
    search.press("Enter")
    expect_skus(page, ["NORTH-NW-STRAIGHT-32"])
    search = page.get_by_label("Search stock")
    search.fill("%' OR 1=1; --")
    search.press("Enter")
    expect(page.get_by_text("No stock matches these filters")).to_be_visible()
    expect(page.get_by_test_id("balance-row")).to_have_count(0)
    page.get_by_role("button", name="Clear filters").first.click()
    expect(page).to_have_url(re.compile(r"/stock$"))
    expect_skus(page, ALL_SKUS)

    # Pickers: brand, then one warehouse (its column only), then out of stock only.
    page.get_by_role("combobox", name="Brand").click()
    page.get_by_role("option", name="Northwind Denim").click()
    expect(page).to_have_url(re.compile(rf"brand={db.brands['NORTH']}"))
    expect_skus(page, ALL_SKUS[:3])
    page.get_by_test_id("warehouse-picker").click()
    page.get_by_role("checkbox", name="Manchester Store (MCR)").click()
    expect(page).to_have_url(re.compile(rf"warehouse={db.warehouses['MCR']}"))
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("warehouse-picker")).to_have_text(re.compile("MCR"))
    header = page.get_by_test_id("balances-table").locator("thead")
    expect(header).to_contain_text("MCR")
    expect(header).not_to_contain_text("LDN")
    page.get_by_role("radio", name="Out").click()
    expect(page).to_have_url(re.compile(r"stock=out"))
    expect_skus(page, ["NORTH-NW-STRAIGHT-30", "NORTH-NW-STRAIGHT-34"])  # none in MCR
    page.goto("/stock?category=Knitwear&stock=low")
    expect(page.get_by_text("No stock matches these filters")).to_be_visible()
    page.goto("/stock?category=Knitwear")
    expect_skus(page, ALL_SKUS[3:])

    # Paging on the server: two rows a page; a huge page shows the last one.
    page.goto("/stock?per_page=2")
    expect(page.get_by_test_id("page-label")).to_have_text("Page 1 of 3")
    expect_skus(page, ALL_SKUS[:2])
    # The pager is a navigation landmark (screen readers list it), named for what it does.
    pages = page.get_by_role("navigation", name="Pages")
    pages.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"page=2&per_page=2$"))
    expect_skus(page, ALL_SKUS[2:4])
    pages.get_by_role("link", name="Last").click()
    expect(page.get_by_test_id("page-label")).to_have_text("Page 3 of 3")
    expect_skus(page, ALL_SKUS[4:])
    page.goto("/stock?per_page=2&page=99999999999999")
    expect(page.get_by_test_id("grid-notes")).to_contain_text("past the end")
    expect(page.get_by_test_id("page-label")).to_have_text("Page 3 of 3")
    expect_skus(page, ALL_SKUS[4:])

    # A malformed link: defaults apply, with a visible note, never an error.
    page.goto("/stock?page=abc&sort=price&dir=sideways&warehouse=999&stock=lots")
    notes = page.get_by_test_id("grid-notes")
    for key in ("page=", "sort=", "dir=", "stock=", "warehouse="):
        expect(notes).to_contain_text(key)
    expect_skus(page, ALL_SKUS)


def test_size_run_view_flags_the_broken_run(
    page: Page, seeded: Seeded, db: Ids, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.merchandiser)
    open_stock(page)
    page.get_by_role("radio", name="Size run").click()
    expect(page).to_have_url(re.compile(r"view=sizes"))
    runs = page.get_by_test_id("run-row")
    expect(runs).to_have_count(2)
    crew = runs.filter(has_text="Merino Crew")
    jean = runs.filter(has_text="Straight Jean")
    expect(crew).to_have_attribute("data-broken", "true")
    expect(crew.get_by_test_id("broken-run")).to_have_text("Broken run")
    expect(jean).to_have_attribute("data-broken", "false")
    expect(jean).to_contain_text("Complete")
    header = page.get_by_test_id("sizes-table").locator("thead")
    expect(header).to_contain_text(re.compile(r"S\s*M\s*L\s*30\s*32\s*34"))
    expect(crew.locator('td[data-level="out"]')).to_have_text("0")  # the missing L
    expect(crew).to_contain_text("566")
    expect(page.get_by_test_id("legend")).to_contain_text("50+")
    page.wait_for_timeout(300)  # the view switch's indicator slides
    page.screenshot(path=artifacts_dir / "stock-size-run.png", full_page=True)

    # One warehouse's own run: Manchester holds only the M crew and the 32 jean.
    page.goto(f"/stock?view=sizes&warehouse={db.warehouses['MCR']}")
    expect(crew.locator("td[data-level]")).to_have_text(["0", "66", "0", "·", "·", "·"])
    expect(crew.locator('td[data-level="out"]')).to_have_count(2)
    # Size-run filters keep whole runs: searching one size still shows the run.
    page.goto("/stock?view=sizes&q=SO-CREW-L")
    expect(runs).to_have_count(1)
    expect(runs.first).to_contain_text("500")

    page.emulate_media(color_scheme="dark")
    page.goto("/stock?view=sizes")
    expect(runs).to_have_count(2)
    page.screenshot(path=artifacts_dir / "stock-size-run-dark.png", full_page=True)
    page.emulate_media(color_scheme="light")


def test_correction_lands_in_the_ledger_and_the_drawer_shows_it(
    page: Page, seeded: Seeded, db: Ids, artifacts_dir: Path
) -> None:
    from models.db import read_session
    from models.stock import get_balance

    sign_in(page, seeded.merchandiser)
    open_stock(page, "?q=NW-STRAIGHT-32")
    expect_skus(page, ["NORTH-NW-STRAIGHT-32"])
    page.get_by_role("button", name="Correct NORTH-NW-STRAIGHT-32 at LDN").click()
    dialog = page.get_by_test_id("correction-dialog")
    expect(dialog).to_contain_text("Correct NORTH-NW-STRAIGHT-32 at LDN")
    expect(dialog.get_by_test_id("correction-seen")).to_have_text("On hand now: 200.")
    count = dialog.get_by_label("New on-hand count")
    expect(count).to_be_focused()
    count.fill("195")
    dialog.get_by_label("Reason").click()
    page.get_by_role("option", name="Damaged").click()
    dialog.get_by_label("Note").fill("Two torn, three stained")
    expect(page.get_by_role("listbox")).to_have_count(0)
    page.wait_for_timeout(300)  # let the reason list finish closing
    page.screenshot(path=artifacts_dir / "stock-correction.png")
    dialog.get_by_label("Note").press("Enter")  # Enter saves

    expect(page.get_by_text("Count saved")).to_be_visible()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("button", name="Correct NORTH-NW-STRAIGHT-32 at LDN")).to_have_text(
        "195"
    )
    with read_session(db.engine) as session:
        balance = get_balance(session, db.variants["NORTH-NW-STRAIGHT-32"], db.warehouses["LDN"])
        assert balance.on_hand == 195

    page.get_by_role("button", name="Open NORTH-NW-STRAIGHT-32").click()
    drawer = page.get_by_test_id("variant-drawer")
    expect(drawer.get_by_test_id("drawer-sku")).to_have_text("NORTH-NW-STRAIGHT-32")
    expect(drawer).to_contain_text("Straight Jean · Indigo · 32")
    expect(drawer).to_contain_text("Jeans")
    expect(drawer).to_contain_text("5000000000001")
    latest = drawer.get_by_test_id("ledger-row").first
    expect(latest).to_contain_text("−5 on hand")
    expect(latest).to_contain_text("Damaged")
    expect(latest).to_contain_text("Two torn, three stained")
    expect(latest).to_contain_text(seeded.merchandiser.email)
    expect(latest).to_contain_text("just now")
    expect(latest.locator("[title]").first).to_have_attribute(
        "title", re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    )
    balances = drawer.get_by_test_id("drawer-balance")
    expect(balances.filter(has_text="LDN")).to_contain_text("195")
    expect(balances.filter(has_text="MCR")).to_contain_text("34")
    page.wait_for_timeout(400)  # the sheet's fade-in
    page.screenshot(path=artifacts_dir / "stock-drawer.png")
    page.keyboard.press("Escape")
    expect(drawer).to_have_count(0)

    # The reservation shows in the drawer of the variant it holds.
    page.goto("/stock?q=NW-STRAIGHT-30")
    page.get_by_role("button", name="Open NORTH-NW-STRAIGHT-30").click()
    expect(page.get_by_test_id("drawer-reservations")).to_contain_text("E2E-1")


def test_a_stale_or_negative_correction_is_refused_and_nothing_is_overwritten(
    page: Page, seeded: Seeded, db: Ids
) -> None:
    from models.db import read_session, transaction
    from models.stock import get_balance, set_count

    vid, ldn = db.variants["SOLS-SO-CREW-S"], db.warehouses["LDN"]
    sign_in(page, seeded.merchandiser)
    open_stock(page, "?q=SO-CREW-S")
    with read_session(db.engine) as session:
        seen = get_balance(session, vid, ldn).on_hand
    page.get_by_role("button", name="Correct SOLS-SO-CREW-S at LDN").click()
    dialog = page.get_by_test_id("correction-dialog")
    count = dialog.get_by_label("New on-hand count")

    count.fill("-5")
    count.press("Enter")
    expect(dialog.get_by_test_id("form-error")).to_contain_text("can't be negative")

    # Someone else counts the shelf while the dialog is open.
    with transaction(db.engine) as session:
        set_count(session, vid, ldn, seen - 20, actor="another-user", expected_on_hand=seen)
    count.fill(str(seen - 10))
    count.press("Enter")
    error = dialog.get_by_test_id("form-error")
    expect(error).to_contain_text(f"it is {seen - 20} on hand now, not {seen}")
    expect(error).to_contain_text("Nothing was saved")
    expect(dialog.get_by_test_id("correction-seen")).to_contain_text(f"On hand now: {seen - 20}")
    with read_session(db.engine) as session:
        assert get_balance(session, vid, ldn).on_hand == seen - 20
    page.keyboard.press("Escape")  # Esc closes; still nothing saved
    expect(dialog).to_have_count(0)
    with read_session(db.engine) as session:
        assert get_balance(session, vid, ldn).on_hand == seen - 20


def test_a_change_through_the_api_appears_on_the_open_grid_without_reload(
    page: Page, seeded: Seeded, db: Ids, app: RunningApp
) -> None:
    from models.api_keys import create_api_key
    from models.db import transaction

    with transaction(db.engine) as session:
        _, secret = create_api_key(session, "e2e-stock-feed", ["stock:read", "stock:write"])
    sign_in(page, seeded.merchandiser)
    open_stock(page, "?q=SO-CREW-M")
    cell = page.get_by_role("button", name="Correct SOLS-SO-CREW-M at MCR")
    before = int(cell.inner_text().replace(",", ""))
    page.evaluate("window.__sameDocument = true")

    request = urllib.request.Request(
        f"{app.backend_url}/api/v1/stock/SOLS-SO-CREW-M/MCR/receipts",
        data=json.dumps({"qty": 4, "reference": "PO-E2E-7"}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        assert json.load(response)["on_hand"] == before + 4
    started = time.monotonic()
    expect(cell).to_have_text(f"{before + 4:,}", timeout=10_000)
    print(f"\nAPI receipt visible on the open grid after {time.monotonic() - started:.1f} s")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    page.get_by_role("button", name="Open SOLS-SO-CREW-M").click()
    expect(page.get_by_test_id("ledger-row").first).to_contain_text("PO-E2E-7")
    expect(page.get_by_test_id("ledger-row").first).to_contain_text("api:e2e-stock-feed")


def test_a_correction_in_one_session_shows_in_another_open_grid_without_reload(
    page: Page, seeded: Seeded, db: Ids, browser: Browser, app: RunningApp
) -> None:
    """Two merchandisers on /stock: one corrects a count, the other's grid follows."""
    sign_in(page, seeded.merchandiser)
    open_stock(page, "?q=SO-CREW-L")
    watched = page.get_by_role("button", name="Correct SOLS-SO-CREW-L at LDN")
    before = int(watched.inner_text().replace(",", ""))
    page.evaluate("window.__sameDocument = true")

    other_context = browser.new_context(base_url=app.url, viewport={"width": 1360, "height": 860})
    try:
        other = other_context.new_page()
        sign_in(other, seeded.merchandiser)
        open_stock(other, "?q=SO-CREW-L")
        other.get_by_role("button", name="Correct SOLS-SO-CREW-L at LDN").click()
        dialog = other.get_by_test_id("correction-dialog")
        dialog.get_by_label("New on-hand count").fill(str(before + 3))
        dialog.get_by_label("New on-hand count").press("Enter")
        expect(other.get_by_text("Count saved")).to_be_visible()
    finally:
        other_context.close()

    expect(watched).to_have_text(f"{before + 3:,}", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


def test_a_manager_reads_every_brand_but_has_no_edit_control(
    page: Page, db: Ids, seeded: Seeded
) -> None:
    sign_in(page, MANAGER)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Stock").click()
    expect_skus(page, ALL_SKUS)
    expect(page.get_by_role("button", name=re.compile(r"^Correct "))).to_have_count(0)
    expect(row(page, "NORTH-NW-STRAIGHT-30")).to_contain_text("966")
    page.get_by_role("button", name="Open NORTH-NW-STRAIGHT-30").click()
    drawer = page.get_by_test_id("variant-drawer")
    expect(drawer.get_by_test_id("drawer-balance")).to_have_count(2)
    expect(drawer.get_by_role("button", name=re.compile(r"^Correct "))).to_have_count(0)


def test_a_vendor_sees_nothing_of_another_brand(
    page: Page, seeded: Seeded, db: Ids, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.vendor)
    north = db.brands["NORTH"]
    page.goto(f"/stock?brand={north}")
    expect_skus(page, ALL_SKUS[3:])
    expect(page.get_by_test_id("grid-notes")).to_contain_text("you see only your own brand")
    expect(page.get_by_role("combobox", name="Brand")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"^Correct "))).to_have_count(0)
    body = page.locator("body")
    for other in (seeded.other_brand, "NORTH", "Straight Jean", "Jeans", "Indigo", "966"):
        expect(body).not_to_contain_text(other)

    page.get_by_role("combobox", name="Colour").click()
    expect(page.get_by_role("option")).to_have_text(["All colours", "Oat"])
    page.keyboard.press("Escape")

    page.goto(f"/stock?brand={north}&q=NW-STRAIGHT")
    expect(page.get_by_text("No stock matches these filters")).to_be_visible()
    page.goto(f"/stock?brand={north}&view=sizes")
    expect(page.get_by_test_id("run-row")).to_have_count(1)
    expect(body).not_to_contain_text("Straight Jean")

    page.goto("/stock")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    content = Path(download.path()).read_text()
    assert content.startswith("SKU,Brand,Product")
    assert "SOLS-SO-CREW-S" in content
    assert "NORTH" not in content and "Northwind" not in content
    expect(page.get_by_text("Exporting 3 variants as CSV")).to_be_visible()


# --- usability fixes (issue 12) ----------------------------------------------------------------

#: Watches the document for the drawer: `window.__drawerSeen` turns true the moment any
#: variant drawer is in the page, even for one frame.
WATCH_DRAWER = """() => {
  window.__drawerSeen = false;
  const seen = () => document.querySelector('[data-testid="variant-drawer"]') !== null;
  new MutationObserver(() => { if (seen()) window.__drawerSeen = true; })
    .observe(document.body, {childList: true, subtree: true});
}"""


def open_drawer(page: Page, sku: str):
    page.get_by_role("button", name=f"Open {sku}").click()
    drawer = page.get_by_test_id("variant-drawer")
    expect(drawer.get_by_test_id("drawer-sku")).to_have_text(sku)
    return drawer


def test_the_drawer_closes_on_navigation_a_new_query_and_add_to_transfer(
    page: Page, seeded: Seeded, db: Ids
) -> None:
    sign_in(page, seeded.merchandiser)
    drawer = page.get_by_test_id("variant-drawer")

    # A page load (here a reload of the same address) shows the grid, not the drawer.
    open_stock(page, "?q=NW-STRAIGHT")
    open_drawer(page, "NORTH-NW-STRAIGHT-30")
    page.reload()
    expect_skus(page, ALL_SKUS[:3])
    expect(drawer).to_have_count(0)

    # A new query (back to the previous filter in the browser's history) closes it.
    page.get_by_role("link", name="Product").click()
    expect(page).to_have_url(re.compile(r"sort=product"))
    open_drawer(page, "NORTH-NW-STRAIGHT-32")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/stock\?q=NW-STRAIGHT$"))
    expect_skus(page, ALL_SKUS[:3])
    expect(drawer).to_have_count(0)

    # "Add to transfer" leaves for the transfer form; coming back never shows the drawer,
    # not even for a moment, over the grid.
    page.goto("/stock?q=SO-CREW")
    open_drawer(page, "SOLS-SO-CREW-M")
    page.get_by_test_id("add-to-transfer").click()
    expect(page).to_have_url(re.compile(r"/transfers\?new=1&sku=SOLS-SO-CREW-M"))
    expect(page.get_by_role("dialog", name="New transfer")).to_contain_text("SOLS-SO-CREW-M")
    expect(drawer).to_have_count(0)
    page.evaluate(WATCH_DRAWER)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/stock\?q=SO-CREW$"))
    expect_skus(page, CREW_BY_SIZE[::-1])
    # And on to an unrelated grid through the sidebar.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Stock").click()
    expect(page).to_have_url(re.compile(r"/stock$"))
    expect_skus(page, ALL_SKUS)
    expect(drawer).to_have_count(0)
    assert page.evaluate("window.__drawerSeen") is False


def test_sizes_sort_in_size_order_not_as_text(page: Page, seeded: Seeded, db: Ids) -> None:
    sign_in(page, seeded.merchandiser)
    open_stock(page)
    page.get_by_role("link", name="Size", exact=True).click()
    expect(page).to_have_url(re.compile(r"/stock\?sort=size$"))
    # Alpha sizes (S M L) before waist sizes (30 32 34): each system in its own order.
    expect_skus(page, CREW_BY_SIZE + ALL_SKUS[:3])
    page.get_by_role("link", name=re.compile(r"^Size")).click()  # "Size ↑" now
    expect(page).to_have_url(re.compile(r"sort=size&dir=desc"))
    expect_skus(page, ALL_SKUS[:3][::-1] + CREW_BY_SIZE[::-1])


@pytest.fixture
def more_warehouses(db: Ids) -> Iterator[None]:
    """Five empty warehouses more, so that the balances table is wider than the page
    at 1024 px; removed afterwards (nothing refers to them)."""
    from models.catalog import Warehouse, create_warehouse
    from models.db import transaction

    codes = [f"TMP{n}" for n in range(5)]
    with transaction(db.engine) as session:
        for n, code in enumerate(codes):
            create_warehouse(session, code, f"Pop-up store {n}", priority=900 + n)
    try:
        yield
    finally:
        with transaction(db.engine) as session:
            session.execute(delete(Warehouse).where(Warehouse.code.in_(codes)))


def test_the_sku_and_the_total_stay_in_view_when_the_table_scrolls_sideways(
    page: Page, seeded: Seeded, db: Ids, more_warehouses: None, artifacts_dir: Path
) -> None:
    page.set_viewport_size({"width": 1024, "height": 800})
    sign_in(page, seeded.merchandiser)
    open_stock(page)
    expect_skus(page, ALL_SKUS)
    table = page.get_by_test_id("balances-table")
    expect(table.locator("thead")).to_contain_text("TMP4")
    scroller = table.locator(".rt-ScrollAreaViewport")
    wide, shown = scroller.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert wide > shown + 100, (wide, shown)  # the table really is wider than its frame
    first = row(page, "NORTH-NW-STRAIGHT-30")
    sku, total = first.locator("th"), first.get_by_test_id("row-total")
    ldn = first.locator("td").nth(3)
    frame = scroller.bounding_box()
    assert frame is not None

    def inside(box: dict | None) -> bool:
        assert box is not None
        return frame["x"] - 1 <= box["x"] and box["x"] + box["width"] <= frame["x"] + shown + 1

    before = {"sku": sku.bounding_box(), "total": total.bounding_box(), "ldn": ldn.bounding_box()}
    assert inside(before["sku"]) and inside(before["total"])  # the total is pinned at the right
    expect(total).to_have_text("966")
    page.screenshot(path=artifacts_dir / "stock-sticky-1024.png")

    scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=balances-table] .rt-ScrollAreaViewport')"
        ".scrollLeft > 100"
    )
    after = {"sku": sku.bounding_box(), "total": total.bounding_box(), "ldn": ldn.bounding_box()}
    assert after["ldn"]["x"] < before["ldn"]["x"] - 100  # the warehouses scrolled away
    assert abs(after["sku"]["x"] - before["sku"]["x"]) < 1  # the SKU did not
    assert inside(after["sku"]) and inside(after["total"])
    # Nothing covers them: the SKU and the total are what the page shows at their place.
    for cell in (sku, total):
        box = cell.bounding_box()
        assert box is not None
        hit = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('th, td').outerHTML",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit == cell.evaluate("el => el.outerHTML")
    page.screenshot(path=artifacts_dir / "stock-sticky-1024-scrolled.png")
