"""Analytics and demand in the browser: filters change the charts and tables, a vote on
the public embed page shows up in the demand view, and a vendor sees only their brand.

The figures come from tests/e2e/seed.py: over the last 28 days Northwind's 30-waist
and 32-waist and Solstice's S crew sold, and Solstice's M crew sold 60 days ago (so it
is in the 90-day velocity window); one open poll across brands has two votes.
The server-side checks behind these pages are proven without a browser in
tests/dashboard/test_analytics_states.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.screenshots import whole_page
from tests.e2e.seed import Login, Seeded

pytestmark = pytest.mark.e2e

OVERVIEW_URL = re.compile(r"://[^/]+/$")
#: The first visit compiles plotly into the dev server's bundle; allow for that once.
FIRST_VISIT_MS = 300_000


def sign_in(page: Page, login: Login) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(OVERVIEW_URL)


@pytest.fixture(scope="module", autouse=True)
def _charts_compiled(app: RunningApp, browser: Browser, seeded: Seeded) -> None:
    """Open Analytics and the embed page once before the tests: the dev server bundles
    plotly on first use and may reload the page when it has."""
    assert seeded.manager is not None
    context = browser.new_context(base_url=app.url)
    page = context.new_page()
    try:
        sign_in(page, seeded.manager)
        page.goto("/analytics", timeout=FIRST_VISIT_MS)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=FIRST_VISIT_MS)
        page.wait_for_load_state("networkidle")
        page.goto(f"/embed/poll/{seeded.poll_slug}", timeout=FIRST_VISIT_MS)
        expect(page.get_by_test_id("embed-question")).to_be_visible(timeout=FIRST_VISIT_MS)
    finally:
        context.close()


@contextmanager
def serving(html: str) -> Iterator[str]:
    """A one-page web server on 127.0.0.1 (a storefront); yields its URL."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


#: How the charts name the seed's best sellers: product, colour, size (issue 12).
STRAIGHT_30 = "Straight Jean · Indigo · 30"
CREW_S = "Merino Crew · Oat · S"


def card(page: Page, key: str) -> Locator:
    return page.get_by_test_id(f"chart-{key}")


def show_table(page: Page, key: str) -> Locator:
    """Switch a chart card to its table view; the table's rows."""
    card(page, key).get_by_role("tab", name="Table").click()
    return page.get_by_test_id(f"chart-{key}-row")


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option).click()


def settled(page: Page) -> None:
    expect(page.get_by_test_id("analytics-loading")).to_have_count(0)


def test_a_manager_changes_brand_and_period_and_the_charts_follow(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    assert seeded.manager is not None
    sign_in(page, seeded.manager)
    # The Overview's key charts: units sold per day, open alerts, top gaps.
    expect(page.get_by_test_id("overview-trend").locator(".js-plotly-plot")).to_be_visible()
    expect(page.get_by_test_id("stat-open-alerts")).to_have_text(re.compile(r"^\d+$"))
    expect(page.get_by_test_id("overview-gaps")).to_be_visible()
    whole_page(page, artifacts_dir / "analytics-overview.png")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    settled(page)
    expect(page.get_by_test_id("period-text")).to_contain_text("(28 days)")

    velocity_figure = page.get_by_test_id("chart-velocity-figure")
    expect(velocity_figure.locator(".ytick")).to_have_count(4)
    expect(velocity_figure).to_contain_text(STRAIGHT_30)
    expect(velocity_figure).to_contain_text(CREW_S)
    for key in ("trend", "velocity", "movers-top", "size-curve", "history"):
        expect(card(page, key).locator(".js-plotly-plot")).to_be_visible()
    whole_page(page, artifacts_dir / "analytics-light.png")

    show_table(page, "trend")
    expect(page.get_by_test_id("chart-trend-range")).to_have_text("1–10 of 28")
    rows = show_table(page, "velocity")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("NORTH-NW-STRAIGHT-30")
    expect(rows.first).to_contain_text("60")  # 3 a day for 20 days, all in 28 days

    # Timed (recorded, not asserted: bench figures, issue 16) from the brand picked to the
    # top charts redrawn for it, and to every chart done.
    page.get_by_role("combobox", name="Brand").click()
    began = time.perf_counter()
    page.get_by_role("option", name="Solstice Knitwear (SOLS)").click()
    expect(page.get_by_test_id("chart-velocity-row")).to_have_count(2)  # the table tab
    top_ms = (time.perf_counter() - began) * 1000
    settled(page)
    all_ms = (time.perf_counter() - began) * 1000
    (artifacts_dir / "analytics-brand-change.json").write_text(
        json.dumps({"top_charts_ms": round(top_ms), "all_charts_ms": round(all_ms)})
    )
    print(f"brand change: top charts {top_ms:.0f} ms, all charts {all_ms:.0f} ms")
    expect(page).to_have_url(re.compile(r"/analytics\?brand=SOLS$"))
    settled(page)
    rows = show_table(page, "velocity")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("chart-velocity-table")).not_to_contain_text("NORTH")
    expect(rows.first).to_contain_text("SOLS-SO-CREW-S")
    # The whole table downloads as CSV, streamed from /exports/analytics/velocity.csv.
    with page.expect_download() as download:
        card(page, "velocity").get_by_role("button", name=re.compile("as CSV$")).click()
    assert download.value.suggested_filename.startswith("rackroom-velocity-")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "sku" in text.splitlines()[0]
    assert "SOLS-SO-CREW-S" in text and "NORTH" not in text
    card(page, "velocity").get_by_role("tab", name="Chart").click()
    expect(velocity_figure.locator(".ytick")).to_have_count(2)
    expect(velocity_figure).not_to_contain_text("Straight Jean")

    pick(page, "Period", "Last 90 days")
    expect(page).to_have_url(re.compile(r"brand=SOLS&period=90"))
    settled(page)
    expect(page.get_by_test_id("period-text")).to_contain_text("(90 days)")
    trend_rows = show_table(page, "trend")
    expect(page.get_by_test_id("chart-trend-range")).to_have_text("1–10 of 90")
    expect(trend_rows).to_have_count(10)
    card(page, "trend").get_by_role("button", name="Next rows").click()
    expect(page.get_by_test_id("chart-trend-range")).to_have_text("11–20 of 90")

    # A period without sales says so instead of drawing an empty grid.
    page.get_by_label("ending").fill("2001-01-31")
    expect(page).to_have_url(re.compile(r"end=2001-01-31"))
    settled(page)
    expect(card(page, "velocity").get_by_test_id("chart-empty")).to_contain_text(
        "No sales in this period"
    )
    page.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/analytics$"))
    settled(page)
    # After a pick, Back returns to the previous filters and their figures.
    pick(page, "Brand", "Solstice Knitwear (SOLS)")
    expect(page).to_have_url(re.compile(r"/analytics\?brand=SOLS$"))
    settled(page)
    expect(velocity_figure.locator(".ytick")).to_have_count(2)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/analytics$"))
    expect(page.get_by_role("combobox", name="Brand")).to_have_text("All brands")
    settled(page)

    page.get_by_role("button", name="Switch between light and dark").click()
    expect(page.locator("html.dark")).to_have_count(1)
    expect(velocity_figure.locator(".ytick")).to_have_count(4)
    whole_page(page, artifacts_dir / "analytics-dark.png")


def test_a_vote_on_the_embed_page_appears_in_the_demand_view(
    page: Page, browser: Browser, app: RunningApp, seeded: Seeded, artifacts_dir: Path
) -> None:
    assert seeded.manager is not None
    sign_in(page, seeded.manager)
    page.goto("/demand")
    expect(page.get_by_role("heading", name="Demand", level=1)).to_be_visible()
    poll = page.get_by_test_id("poll-row").filter(has_text="Which should we stock next?")
    expect(poll.get_by_test_id("poll-votes")).to_have_text("2")
    wanted = page.get_by_test_id("demand-wanted")
    expect(wanted).to_contain_text("Nothing customers voted for is missing from stock.")
    expect(page.get_by_test_id("demand-votes").locator(".js-plotly-plot")).to_be_visible()
    whole_page(page, artifacts_dir / "demand-light.png")

    poll.get_by_role("button", name=re.compile("Actions for")).click()
    page.get_by_role("menuitem", name="Embed on a storefront…").click()
    dialog = page.get_by_test_id("embed-dialog")
    expect(dialog.get_by_test_id("embed-snippet")).to_contain_text("<iframe src=")
    embed_url = dialog.get_by_test_id("embed-url").inner_text()
    snippet = dialog.get_by_test_id("embed-snippet").inner_text()
    assert embed_url == f"{app.url}/embed/poll/{seeded.poll_slug}"
    page.wait_for_timeout(400)  # the dialog's fade-in
    page.screenshot(path=artifacts_dir / "demand-embed-dialog.png")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    shopper = browser.new_context(viewport={"width": 900, "height": 640})
    try:
        # A storefront on another site (127.0.0.1, not localhost) with the snippet
        # pasted in, served from a real local address: Chromium refuses to let a page
        # that is not (a fulfilled route counts as public) frame a local one.
        storefront = shopper.new_page()
        with serving(
            "<html><body style='margin:0;padding:32px;background:#f3f1ec;"
            "font-family:Georgia,serif'><h2 style='margin:0 0 16px'>Our new season</h2>"
            f"{snippet}</body></html>"
        ) as storefront_url:
            storefront.goto(storefront_url)
            frame = storefront.frame_locator("iframe")
            expect(frame.get_by_test_id("embed-question")).to_have_text(
                "Which should we stock next?"
            )
            expect(frame.get_by_role("radio")).to_have_count(3)
            storefront.screenshot(path=artifacts_dir / "demand-embed-iframe.png")

        voter = shopper.new_page()
        voter.goto(embed_url)
        voter.get_by_role("radio", name="Merino crew in XL").click()
        voter.get_by_role("button", name="Vote").click()
        expect(voter.get_by_test_id("embed-thanks")).to_contain_text("Thanks for voting!")
        voter.screenshot(path=artifacts_dir / "demand-embed-thanks.png")
        voter.reload()
        expect(voter.get_by_test_id("embed-already")).to_contain_text(
            "You have already voted"
        )
    finally:
        shopper.close()

    page.reload()
    expect(poll.get_by_test_id("poll-votes")).to_have_text("3")
    expect(wanted).to_contain_text("Merino crew in XL")
    page.get_by_test_id("demand-demand").get_by_role("tab", name="Table").click()
    expect(page.get_by_test_id("demand-demand-table")).to_contain_text("Merino crew in XL")


def test_a_vendor_cannot_see_another_brand(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.vendor)
    page.goto("/analytics?brand=NORTH")
    refused = page.get_by_test_id("analytics-refused")
    expect(refused).to_contain_text("You may only see your own brand's figures.")
    expect(page.get_by_test_id("chart-velocity")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("NORTH-NW-STRAIGHT")

    refused.get_by_role("link", name="Show my brand's figures").click()
    expect(page).to_have_url(re.compile(r"/analytics$"))
    settled(page)
    expect(page.get_by_test_id("vendor-brand")).to_have_text(seeded.vendor_brand)
    rows = show_table(page, "velocity")
    expect(rows.first).to_contain_text("SOLS-SO-CREW-S")
    expect(page.locator("body")).not_to_contain_text("NORTH")

    page.goto("/demand?brand=NORTH")
    expect(page.get_by_test_id("demand-refused")).to_contain_text(
        "You may only see your own brand's figures."
    )
    expect(page.get_by_test_id("poll-row")).to_have_count(0)


# --- the analytics usability fixes of issue 12, one test each ---------------------------------


def open_analytics(page: Page, seeded: Seeded, query: str = "") -> None:
    assert seeded.manager is not None
    sign_in(page, seeded.manager)
    page.goto(f"/analytics{query}")
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    settled(page)


def test_charts_name_products_not_codes(page: Page, seeded: Seeded) -> None:
    open_analytics(page, seeded)
    velocity = page.get_by_test_id("chart-velocity-figure")
    expect(velocity.locator(".ytick")).to_have_count(4)
    assert set(velocity.locator(".ytick").all_text_contents()) == {
        STRAIGHT_30, CREW_S, "Straight Jean · Indigo · 32", "Merino Crew · Oat · M"
    }
    expect(velocity).not_to_contain_text("NORTH-NW-STRAIGHT")
    movers = page.get_by_test_id("chart-movers-top-figure")
    expect(movers).to_contain_text("Straight Jean")
    expect(movers).not_to_contain_text("NW-STRAIGHT")


def test_every_bar_is_labelled_with_its_value(page: Page, seeded: Seeded) -> None:
    open_analytics(page, seeded)
    velocity = page.get_by_test_id("chart-velocity-figure")
    expect(velocity.locator(".ytick")).to_have_count(4)  # every bar named
    values = velocity.locator(".bartext")
    expect(values).to_have_count(4)  # and every bar's value written on it
    expect(values.first).to_have_text("2.14")  # 60 units in 28 days
    for key in ("movers-top", "sell-through", "size-curve"):
        figure = page.get_by_test_id(f"chart-{key}-figure")
        expect(figure.locator(".bartext").first).to_be_visible()
        expect(figure.locator(".bartext")).to_have_count(figure.locator(".point").count())


def test_no_last_year_line_where_last_year_has_no_data(page: Page, seeded: Seeded) -> None:
    # Northwind sold a year ago: its last-year line is drawn.
    open_analytics(page, seeded, "?brand=NORTH")
    trend = page.get_by_test_id("chart-trend-figure")
    expect(trend.locator(".legendtext")).to_have_count(3)
    expect(trend).to_contain_text("Last year (moving average)")
    # Solstice has no sales a year ago: no last-year line, not a flat line at 0.
    page.goto("/analytics?brand=SOLS")
    settled(page)
    expect(trend.locator(".legendtext")).to_have_count(2)
    expect(trend).not_to_contain_text("Last year")


def test_the_size_curve_has_a_panel_per_size_system(page: Page, seeded: Seeded) -> None:
    open_analytics(page, seeded)
    curve = page.get_by_test_id("chart-size-curve-figure")
    expect(curve.locator(".g-xtitle")).to_have_text("Letter sizes")
    expect(curve.locator(".g-x2title")).to_have_text("Waist sizes")
    letters = curve.locator(".xaxislayer-above .xtick").all_text_contents()
    waists = curve.locator(".xaxislayer-above .x2tick").all_text_contents()
    assert set(letters) <= {"S", "M", "L"} and letters, letters
    assert set(waists) <= {"30", "32", "34"} and waists, waists


def test_stock_history_says_why_it_is_empty(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    open_analytics(page, seeded, "?end=2001-01-31")
    history = card(page, "history")
    expect(history.get_by_test_id("chart-empty-message")).to_have_text(
        "No stock snapshots in this period"
    )
    expect(history.get_by_test_id("chart-empty-hint")).to_contain_text(
        "Stock history starts on"
    )
    with snapshots_moved_aside(seeded.database_url):
        page.goto("/analytics")
        settled(page)
        expect(history.get_by_test_id("chart-empty-message")).to_have_text(
            "No stock snapshots yet"
        )
        expect(history.get_by_test_id("chart-empty-hint")).to_contain_text("nightly snapshot")
        history.screenshot(path=artifacts_dir / "analytics-no-snapshots-yet.png")


@contextmanager
def snapshots_moved_aside(database_url: str) -> Iterator[None]:
    """The app's database as before its first nightly snapshot, then as it was."""
    from sqlalchemy import delete, insert, select

    from models.db import create_db_engine
    from models.snapshots import StockSnapshot

    table = StockSnapshot.__table__
    engine = create_db_engine(database_url)
    rows: list[dict] = []
    try:
        with engine.begin() as connection:
            rows = [dict(r._mapping) for r in connection.execute(select(table))]
            connection.execute(delete(table))
        yield
    finally:
        with engine.begin() as connection:
            if rows:
                connection.execute(insert(table), rows)
        engine.dispose()


def test_count_accuracy_says_where_to_count_then_draws_a_counted_week(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    """Manchester is never counted by the e2e modules (tests/e2e/test_counts*.py count
    London): empty, pointing at /counts; then with a hand-made submitted sheet there
    (one line exact, one off by one; no stock or count plan touched, removed after)."""
    open_analytics(page, seeded, "?warehouse=MCR")
    accuracy = card(page, "accuracy")
    expect(accuracy.get_by_role("heading", name="Count accuracy")).to_be_visible()
    expect(accuracy.get_by_test_id("chart-empty-message")).to_have_text(
        "No counts yet — count sheets are on /counts"
    )
    with counted_sheets(seeded.database_url, "MCR"):
        page.goto("/analytics?warehouse=MCR")
        settled(page)
        expect(accuracy.locator(".js-plotly-plot")).to_be_visible()
        expect(accuracy.locator(".ytick").last).to_contain_text("%")
        expect(accuracy.locator(".legendtext")).to_have_text("Manchester Store")
        for width in (1440, 1024):
            page.set_viewport_size({"width": width, "height": 900})
            accuracy.screenshot(path=artifacts_dir / f"analytics-accuracy-{width}-light.png")
        rows = show_table(page, "accuracy")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("MCR")  # this week first: 1 of 2 exact
        expect(rows.first).to_contain_text("50.0%")
        expect(rows.first).to_contain_text("100.0%")  # the other within tolerance
        expect(rows.last).not_to_contain_text("50.0%")  # a week before: both exact
        page.get_by_role("button", name="Switch between light and dark").click()
        expect(page.locator("html.dark")).to_have_count(1)
        accuracy.get_by_role("tab", name="Chart").click()
        for width in (1024, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            accuracy.screenshot(path=artifacts_dir / f"analytics-accuracy-{width}-dark.png")
        page.goto("/analytics?warehouse=MCR&end=2001-01-31")
        settled(page)
        expect(accuracy.get_by_test_id("chart-empty-message")).to_have_text(
            "No counts in this period"
        )


@contextmanager
def counted_sheets(database_url: str, warehouse: str) -> Iterator[None]:
    """Two sheets submitted at `warehouse` of two variants: a week ago both counted as
    expected, today the second one over (applied within tolerance). Deleted after."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import delete, select

    from models.catalog import Variant, Warehouse
    from models.cycle_counts import CountLine, CountSheet
    from models.db import create_db_engine, transaction
    from models.users import User

    engine = create_db_engine(database_url, pool_size=1)
    sheet_ids: list[int] = []
    today = datetime.now(UTC).date()
    try:
        with transaction(engine) as session:
            warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse))
            user_id = session.scalar(select(User.id).order_by(User.id).limit(1))
            variants = session.scalars(select(Variant.id).order_by(Variant.id).limit(2)).all()
            for day, off in ((today - timedelta(days=7), 0), (today, 1)):
                sheet = CountSheet(warehouse_id=warehouse_id, count_date=day,
                                   status="submitted", created_by_id=user_id)
                session.add(sheet)
                session.flush()
                sheet_ids.append(sheet.id)
                for position, variant_id in enumerate(variants):
                    session.add(CountLine(sheet_id=sheet.id, variant_id=variant_id,
                                          position=position, abc_class="A", expected=4,
                                          counted=4 + position * off, status="applied"))
        yield
    finally:
        with transaction(engine) as session:
            session.execute(delete(CountLine).where(CountLine.sheet_id.in_(sheet_ids)))
            session.execute(delete(CountSheet).where(CountSheet.id.in_(sheet_ids)))
        engine.dispose()


@pytest.mark.parametrize("width", [1440, 1024])
def test_analytics_fits_at_1440_and_1024_in_light_and_dark(
    page: Page, seeded: Seeded, artifacts_dir: Path, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    assert seeded.manager is not None
    sign_in(page, seeded.manager)
    # Errors on these two pages only: leave the Overview (where sign-in lands, not
    # ours) for the in-app 404 page before listening.
    page.goto("/no-such-page")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto("/analytics")
    settled(page)
    for mode in ("light", "dark"):
        if mode == "dark":
            page.get_by_role("button", name="Switch between light and dark").click()
            expect(page.locator("html.dark")).to_have_count(1)
        for key in ("velocity", "size-curve", "movers-top", "sell-through"):
            expect(page.get_by_test_id(f"chart-{key}-figure").locator(".bartext").first
                   ).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
        whole_page(page, artifacts_dir / f"analytics-{width}-{mode}.png")
        page.goto("/demand")
        expect(page.get_by_test_id("demand-votes").locator(".js-plotly-plot")).to_be_visible()
        whole_page(page, artifacts_dir / f"demand-{width}-{mode}.png")
        page.goto("/analytics")
        settled(page)
    assert errors == [], errors
    assert errors == [], errors
