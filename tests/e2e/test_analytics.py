"""Analytics and demand in the browser: filters change the charts and tables, a vote on
the public embed page shows up in the demand view, and a vendor sees only their brand.

The figures come from tests/e2e/seed.py: over the last 28 days Northwind's 30-waist
and 32-waist and Solstice's S crew sold, and Solstice's M crew sold 60 days ago (so it
is in the 90-day velocity window); one open poll across brands has two votes.
The server-side checks behind these pages are proven without a browser in
tests/test_analytics_states.py.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import RunningApp
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
        page.goto(f"/embed/poll/{seeded.poll_id}", timeout=FIRST_VISIT_MS)
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
    page.screenshot(path=artifacts_dir / "analytics-overview.png", full_page=True)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    settled(page)
    expect(page.get_by_test_id("period-text")).to_contain_text("(28 days)")

    velocity_figure = page.get_by_test_id("chart-velocity-figure")
    expect(velocity_figure.locator(".xtick")).to_have_count(4)
    expect(velocity_figure).to_contain_text("NORTH-NW-STRAIGHT-30")
    expect(velocity_figure).to_contain_text("SOLS-SO-CREW-S")
    for key in ("trend", "velocity", "movers-top", "size-curve", "history"):
        expect(card(page, key).locator(".js-plotly-plot")).to_be_visible()
    page.screenshot(path=artifacts_dir / "analytics-light.png", full_page=True)

    show_table(page, "trend")
    expect(page.get_by_test_id("chart-trend-range")).to_have_text("1–10 of 28")
    rows = show_table(page, "velocity")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("NORTH-NW-STRAIGHT-30")
    expect(rows.first).to_contain_text("60")  # 3 a day for 20 days, all in 28 days

    pick(page, "Brand", "Solstice Knitwear (SOLS)")
    expect(page).to_have_url(re.compile(r"/analytics\?brand=SOLS$"))
    settled(page)
    rows = show_table(page, "velocity")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("chart-velocity-table")).not_to_contain_text("NORTH")
    expect(rows.first).to_contain_text("SOLS-SO-CREW-S")
    card(page, "velocity").get_by_role("tab", name="Chart").click()
    expect(velocity_figure.locator(".xtick")).to_have_count(2)
    expect(velocity_figure).not_to_contain_text("NORTH")

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

    page.get_by_role("button", name="Switch between light and dark").click()
    expect(page.locator("html.dark")).to_have_count(1)
    expect(velocity_figure.locator(".xtick")).to_have_count(4)
    page.screenshot(path=artifacts_dir / "analytics-dark.png", full_page=True)


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
    page.screenshot(path=artifacts_dir / "demand-light.png", full_page=True)

    poll.get_by_role("button", name=re.compile("Actions for")).click()
    page.get_by_role("menuitem", name="Embed on a storefront…").click()
    dialog = page.get_by_test_id("embed-dialog")
    expect(dialog.get_by_test_id("embed-snippet")).to_contain_text("<iframe src=")
    embed_url = dialog.get_by_test_id("embed-url").inner_text()
    snippet = dialog.get_by_test_id("embed-snippet").inner_text()
    assert embed_url == f"{app.url}/embed/poll/{seeded.poll_id}"
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
