"""The product page in the browser: reached from the stock grid's drawer, its attributes
edited and saved (and a bad season refused with nothing saved), the grid filtered by the
saved tag and season, and a vendor kept to their own brand's products.

The Merino Crew's attributes are put back as they were when the module ends (the audit
rows stay: the log is append-only, and no other test counts them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Seeded
from tests.e2e.test_stock import sign_in

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Products:
    engine: Engine
    crew: int
    jean: int


@pytest.fixture(scope="module")
def products(app: RunningApp) -> Iterator[Products]:
    from models.catalog import Product
    from models.db import create_db_engine, read_session, transaction

    engine = create_db_engine(app.seeded.database_url, pool_size=1)
    with read_session(engine) as session:
        ids = dict(session.execute(select(Product.style_code, Product.id)).all())
        before = session.get(Product, ids["SO-CREW"]).attributes
    try:
        yield Products(engine, ids["SO-CREW"], ids["NW-STRAIGHT"])
    finally:
        with transaction(engine) as session:
            crew = session.get(Product, ids["SO-CREW"])
            crew.attributes = before
            session.add(crew)
        engine.dispose()


def stored(products: Products) -> dict:
    from models.catalog import Product
    from models.db import read_session

    with read_session(products.engine) as session:
        return dict(session.get(Product, products.crew).attributes or {})


def test_a_merchandiser_edits_attributes_and_filters_the_grid_by_them(
    page: Page, seeded: Seeded, products: Products, artifacts_dir: Path
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text[:300]) if m.type == "error" else None)
    sign_in(page, seeded.merchandiser)
    page.goto("/stock?q=SOLS-SO-CREW-M")
    page.get_by_role("button", name="Open SOLS-SO-CREW-M").click()
    drawer = page.get_by_test_id("variant-drawer")
    expect(drawer.get_by_test_id("drawer-sku")).to_have_text("SOLS-SO-CREW-M")
    drawer.get_by_test_id("open-product").click()
    expect(page).to_have_url(re.compile(rf"/products/{products.crew}$"))
    expect(page.get_by_role("heading", name="Merino Crew", level=1)).to_be_visible()
    expect(page.get_by_test_id("product-variant")).to_have_count(3)
    expect(page.get_by_test_id("product-variant").first).to_contain_text("SOLS-SO-CREW-S")

    form = page.get_by_test_id("attributes-form")
    form.get_by_label("Fabric").fill("  Merino   wool ")
    form.get_by_label("Care").fill("Hand wash cold")
    form.get_by_label("Season").fill("aw26")
    form.get_by_label("Tags").fill("Knit, Warm , knit")
    form.get_by_role("button", name="Save attributes").click()
    expect(page.get_by_text("Saved the attributes of Merino Crew")).to_be_visible()
    tags = page.get_by_test_id("product-tags")
    expect(tags).to_contain_text("knit")
    expect(tags).to_contain_text("warm")
    expect(form.get_by_label("Season")).to_have_value("AW26")
    expect(form.get_by_label("Tags")).to_have_value("knit, warm")
    saved = stored(products)
    assert {k: saved.get(k) for k in ("fabric", "care", "season", "tags")} == {
        "fabric": "Merino wool",
        "care": "Hand wash cold",
        "season": "AW26",
        "tags": ["knit", "warm"],
    }

    for width, height in ((1440, 900), (1024, 800)):
        page.set_viewport_size({"width": width, "height": height})
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.wait_for_timeout(200)  # the theme's colours settle
            page.screenshot(path=artifacts_dir / f"product-{width}-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1360, "height": 860})

    # A bad season: the error names it, nothing is saved.
    form.get_by_label("Season").fill("Autumn 2026")
    form.get_by_label("Season").press("Enter")  # Enter saves (the toast covers the button)
    expect(page.get_by_test_id("form-error")).to_contain_text("letters, digits")
    assert stored(products) == saved

    # The grid filters by the saved tag and season (in the URL, with the other filters).
    page.goto("/stock?tag=knit")
    expect(page.get_by_role("button", name=re.compile(r"^Open "))).to_have_count(3)
    expect(page.get_by_role("button", name="Open SOLS-SO-CREW-L")).to_be_visible()
    page.get_by_label("Filter by tag").fill("nothing-tagged")
    page.get_by_label("Filter by tag").press("Enter")
    expect(page).to_have_url(re.compile(r"/stock\?tag=nothing-tagged$"))
    expect(page.get_by_role("button", name=re.compile(r"^Open "))).to_have_count(0)
    page.goto("/stock?season=AW26&size=M")
    expect(page.get_by_role("button", name=re.compile(r"^Open "))).to_have_count(1)
    expect(page.get_by_role("button", name="Open SOLS-SO-CREW-M")).to_be_visible()
    expect(page.get_by_role("combobox", name="Season")).to_have_text("AW26")
    page.screenshot(path=artifacts_dir / "stock-season-filter.png")
    assert problems == [], "\n".join(problems)  # no console errors on either page


def test_a_vendor_sees_only_their_brands_products(
    page: Page, seeded: Seeded, products: Products
) -> None:
    sign_in(page, seeded.vendor)
    page.goto(f"/products/{products.jean}")
    expect(page.get_by_text("There is no such product here")).to_be_visible()
    expect(page.get_by_test_id("attributes-form")).to_have_count(0)
    page.goto(f"/products/{products.crew}")
    expect(page.get_by_test_id("product-variant")).to_have_count(3)
    expect(page.get_by_test_id("attributes-form")).to_be_visible()
