"""Log in, see the Overview computed from the database, and stay out when not allowed.

The expected figures are the ones `conftest.seed_database` put in the database.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.seed import Login, Seeded

pytestmark = pytest.mark.e2e

LOGIN_URL = re.compile(r"/login$")
OVERVIEW_URL = re.compile(r"://[^/]+/$")
COOKIE = "rackroom_session"


def log_in(page: Page, login: Login, password: str | None = None) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(password if password is not None else login.password)
    page.get_by_label("Password").press("Enter")


def row_cells(page: Page, table: str, row: int):
    return page.get_by_test_id(table).locator("tbody tr").nth(row).locator("th, td")


def test_signed_out_visitor_is_sent_to_login(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_unknown_session_token_is_sent_to_login(page: Page, base_url: str) -> None:
    page.context.add_cookies([{"name": COOKIE, "value": "not-a-session", "url": base_url}])
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)


def test_wrong_password_says_so_and_stays_on_login(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    page.goto("/login")
    expect(page.get_by_label("Email")).to_be_visible()
    page.screenshot(path=artifacts_dir / "login.png")

    log_in(page, seeded.merchandiser, password="not-the-password")

    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(LOGIN_URL)
    page.screenshot(path=artifacts_dir / "login-wrong-password.png")


def test_merchandiser_sees_figures_from_the_database(
    page: Page, seeded: Seeded, artifacts_dir: Path, base_url: str
) -> None:
    log_in(page, seeded.merchandiser)

    expect(page).to_have_url(OVERVIEW_URL)
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text(seeded.merchandiser.name)
    expect(page.get_by_test_id("user-role")).to_have_text("merchandiser")

    expect(page.get_by_test_id("stat-on-hand")).to_have_text("1,800")
    expect(page.get_by_test_id("stat-available")).to_have_text("1,766")
    expect(page.get_by_test_id("stat-reserved")).to_have_text("34")
    expect(page.get_by_test_id("stat-incoming")).to_have_text("0")
    expect(page.get_by_test_id("stat-out-of-stock")).to_have_text("2")

    expect(page.get_by_test_id("table-by-brand").locator("tbody tr")).to_have_count(2)
    expect(row_cells(page, "table-by-brand", 0)).to_have_text(
        ["Northwind Denim", "1,234", "34", "1,200", "0", "1"]
    )
    expect(row_cells(page, "table-by-brand", 1)).to_have_text(
        ["Solstice Knitwear", "566", "0", "566", "0", "1"]
    )
    expect(page.get_by_test_id("table-by-warehouse").locator("tbody tr")).to_have_count(2)
    expect(row_cells(page, "table-by-warehouse", 0)).to_have_text(
        ["London DC", "1,700", "34", "1,666", "0", "0"]
    )
    expect(row_cells(page, "table-by-warehouse", 1)).to_have_text(
        ["Manchester Store", "100", "0", "100", "0", "0"]
    )
    page.screenshot(path=artifacts_dir / "overview-merchandiser.png", full_page=True)

    # Logging out ends the session on the server, not only in this browser.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(LOGIN_URL)
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": base_url}])
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)


def test_the_session_cookie_is_httponly_survives_a_reload_and_sign_out_clears_it(
    page: Page, seeded: Seeded
) -> None:
    page.goto("/stock")
    expect(page).to_have_url(re.compile(r"/login\?next=/stock$"))
    page.get_by_label("Email").fill(seeded.merchandiser.email)
    page.get_by_label("Password").fill(seeded.merchandiser.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/stock$"))  # the hand-off kept where they were going
    expect(page.get_by_test_id("user-name")).to_have_text(seeded.merchandiser.name)

    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    # No script can read it: not in document.cookie, not in anything the page holds.
    assert cookie["value"] not in page.evaluate("document.cookie")
    assert COOKIE not in page.evaluate("document.cookie")
    assert cookie["value"] not in page.content()
    assert cookie["value"] not in page.evaluate(
        "JSON.stringify(Object.assign({}, window.sessionStorage, window.localStorage))"
    )

    page.reload()
    expect(page).to_have_url(re.compile(r"/stock$"))
    expect(page.get_by_test_id("user-name")).to_have_text(seeded.merchandiser.name)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(LOGIN_URL)
    assert COOKIE not in {c["name"] for c in page.context.cookies()}
    page.goto("/stock")
    expect(page).to_have_url(re.compile(r"/login\?next=/stock$"))


def test_vendor_sees_only_their_own_brand(page: Page, seeded: Seeded, artifacts_dir: Path) -> None:
    log_in(page, seeded.vendor)

    expect(page).to_have_url(OVERVIEW_URL)
    expect(page.get_by_test_id("user-role")).to_have_text("vendor")
    expect(page.get_by_text(f"{seeded.vendor_brand} stock across")).to_be_visible()
    expect(page.get_by_test_id("stat-on-hand")).to_have_text("566")
    expect(page.get_by_test_id("stat-available")).to_have_text("566")
    expect(page.get_by_test_id("stat-reserved")).to_have_text("0")
    expect(page.get_by_test_id("stat-out-of-stock")).to_have_text("1")
    expect(row_cells(page, "table-by-warehouse", 0)).to_have_text(
        ["London DC", "500", "0", "500", "0", "0"]
    )
    expect(row_cells(page, "table-by-warehouse", 1)).to_have_text(
        ["Manchester Store", "66", "0", "66", "0", "0"]
    )
    # Nothing of the other brand: no per-brand table, no name, no figures.
    expect(page.get_by_test_id("table-by-brand")).to_have_count(0)
    body = page.locator("body")
    expect(body).not_to_contain_text(seeded.other_brand)
    for other_figure in ("1,234", "1,800", "1,700"):
        expect(body).not_to_contain_text(other_figure)
    page.screenshot(path=artifacts_dir / "overview-vendor.png", full_page=True)


def test_next_user_in_the_same_tab_never_sees_the_last_ones_figures(
    page: Page, seeded: Seeded
) -> None:
    log_in(page, seeded.merchandiser)
    expect(page.get_by_test_id("stat-on-hand")).to_have_text("1,800")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(LOGIN_URL)

    page.get_by_label("Email").fill(seeded.vendor.email)
    page.get_by_label("Password").fill(seeded.vendor.password)
    page.get_by_label("Password").press("Enter")
    # Watch every frame until the vendor's own figures are in: the merchandiser's
    # must never show, not even while the vendor's are loading.
    deadline = time.monotonic() + 30
    while True:
        text = page.locator("body").inner_text()
        assert seeded.other_brand not in text
        assert "1,800" not in text
        if page.get_by_test_id("stat-on-hand").filter(has_text="566").count():
            break
        assert time.monotonic() < deadline, "the vendor's figures never appeared"
        page.wait_for_timeout(25)
