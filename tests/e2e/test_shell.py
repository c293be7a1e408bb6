"""The app shell in the browser: every page for every role at two widths without a console
error, the sign-in that keeps the link the user came from, the 404 inside the shell, and
the sidebar that folds to icons on narrow screens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from dashboard import pages  # noqa: F401 (registers the pages)
from dashboard.registry import PAGES
from tests.e2e.seed import Login, Seeded

pytestmark = pytest.mark.e2e

#: Every signed-in page (the public sign-in and poll pages, and the 404, are visited
#: by their own tests below).
SIGNED_IN = [entry for entry in PAGES if not entry.public and entry.route != "404"]
WIDTHS = (1440, 1024)


def sign_in(page: Page, login: Login, lands: str = r"://[^/]+/$") -> None:
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(lands))


def _watch_console(page: Page) -> list[str]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":  # React's warnings (nested <p>, ...) are errors too
            problems.append(f"{page.url}: {message.text[:300]}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return problems


@pytest.mark.parametrize("role", ["admin", "merchandiser", "manager", "vendor"])
def test_every_page_for_every_role_at_two_widths_without_console_errors(
    page: Page, seeded: Seeded, role: str, artifacts_dir: Path
) -> None:
    login = getattr(seeded, role)
    assert login is not None
    problems = _watch_console(page)
    page.goto("/login")
    sign_in(page, login)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for entry in SIGNED_IN:
            page.goto(entry.route)
            # Each page shows its own heading (with its content or "no access"), in the
            # shell, except the documents made for paper.
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            sidebar = expect(page.get_by_test_id("sidebar"))
            sidebar.to_be_hidden() if entry.paper else sidebar.to_be_visible()
            page.wait_for_load_state("networkidle")
        page.goto("/")
        page.screenshot(path=artifacts_dir / f"shell-{role}-{width}.png")
    assert problems == [], "\n".join(problems)


def test_sign_in_returns_to_the_link_the_user_came_from(page: Page, seeded: Seeded) -> None:
    page.goto("/stock?q=tee")
    expect(page).to_have_url(re.compile(r"/login\?next=/stock%3Fq%3Dtee$"))
    sign_in(page, seeded.merchandiser, lands=r"/stock\?q=tee$")
    expect(page.get_by_role("heading", name="Stock", level=1)).to_be_visible()


def test_sign_in_never_sends_the_user_to_another_site(page: Page, seeded: Seeded) -> None:
    page.goto("/login?next=//evil.example/steal")
    sign_in(page, seeded.merchandiser)  # lands on the overview, not elsewhere


def test_an_unknown_address_shows_a_404_inside_the_shell(page: Page, seeded: Seeded) -> None:
    page.goto("/login")
    sign_in(page, seeded.manager or seeded.merchandiser)
    page.goto("/no/such/page")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("sidebar")).to_be_visible()
    page.get_by_role("link", name="Go to the overview").click()
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))


def test_the_sidebar_folds_to_icons_below_1100px(page: Page, seeded: Seeded) -> None:
    page.goto("/login")
    sign_in(page, seeded.admin)
    sidebar = page.get_by_test_id("sidebar")
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(sidebar.get_by_text("Stock", exact=True)).to_be_visible()
    wide = sidebar.bounding_box()
    page.set_viewport_size({"width": 1024, "height": 900})
    expect(sidebar.get_by_text("Stock", exact=True)).to_be_hidden()
    narrow = sidebar.bounding_box()
    assert wide and narrow and narrow["width"] < wide["width"] / 2
    # The icons stay links with their names.
    sidebar.get_by_role("link", name="Stock").click()
    expect(page).to_have_url(re.compile(r"/stock"))
