"""Admin pages in the browser: an admin manages users and API keys; nobody else gets in.

The server-side checks of every handler are proven without a browser in
tests/dashboard/test_admin_states.py; here the pages, dialogs and refusals are driven for real.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Login, Seeded

pytestmark = pytest.mark.e2e

LOGIN_URL = re.compile(r"/login$")
OVERVIEW_URL = re.compile(r"://[^/]+/$")
ACCOUNT_URL = re.compile(r"/account$")
#: A SKU the seed puts in stock (readable with a stock:read key).
SKU = "NORTH-NW-STRAIGHT-30"


def sign_in(
    page: Page, login: Login, password: str | None = None, lands: re.Pattern = OVERVIEW_URL
) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(password or login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(lands)


def api_status(app: RunningApp, secret: str) -> int:
    request = urllib.request.Request(
        f"{app.backend_url}/api/v1/stock/{SKU}", headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_admin_creates_a_user_who_can_sign_in_with_the_temporary_password(
    page: Page, seeded: Seeded, artifacts_dir: Path, browser
) -> None:
    sign_in(page, seeded.admin)
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_test_id("nav-admin")).to_be_visible()
    nav.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    expect(page.get_by_test_id("user-row")).to_have_count(4)  # seed: merch, vendor, admin, manager
    page.screenshot(path=artifacts_dir / "admin-users.png", full_page=True)

    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_test_id("new-user-dialog")
    dialog.get_by_label("Email").fill("rita@rackroom.test")
    dialog.get_by_label("Name").fill("Rita Manager")
    dialog.get_by_label("Role").click()
    page.get_by_role("option", name="Manager").click()
    dialog.get_by_label("Name").press("Enter")  # Enter submits

    reveal = page.get_by_test_id("password-dialog")
    expect(reveal).to_contain_text("rita@rackroom.test can sign in")
    password = reveal.get_by_test_id("secret-value").inner_text()
    assert len(password) >= 12
    expect(page.get_by_text("Created rita@rackroom.test as manager")).to_be_visible()
    page.keyboard.press("Escape")  # Esc closes; the password is gone for good
    expect(reveal).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(password)
    row = page.get_by_test_id("user-row").filter(has_text="rita@rackroom.test")
    expect(row).to_contain_text("Manager")
    expect(row).to_contain_text("Never")

    # Filters apply on Enter and live in the URL.
    page.get_by_label("Search users").fill("rita")
    page.get_by_label("Search users").press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/users\?q=rita$"))
    expect(page.get_by_test_id("user-row")).to_have_count(1)

    # The new manager signs in with it and must choose her own password first.
    other = browser.new_context(base_url=page.url.split("/admin")[0])
    try:
        rita = other.new_page()
        sign_in(rita, Login("rita@rackroom.test", password, "Rita Manager"), lands=ACCOUNT_URL)
        expect(rita.get_by_test_id("password-change-required")).to_be_visible()
        rita.goto("/stock")  # nothing else opens until she has
        expect(rita).to_have_url(ACCOUNT_URL)
        form = rita.get_by_test_id("password-form")
        form.get_by_label("Current password").fill(password)
        form.get_by_label("New password", exact=True).fill("rita picks her own")
        form.get_by_label("Repeat the new password").fill("rita picks her own!")
        form.get_by_label("Repeat the new password").press("Enter")
        expect(form.get_by_test_id("form-error")).to_contain_text("differ")
        form.get_by_label("Current password").fill(password)
        form.get_by_label("New password", exact=True).fill("rita picks her own")
        form.get_by_label("Repeat the new password").fill("rita picks her own")
        form.get_by_label("Repeat the new password").press("Enter")
        expect(rita).to_have_url(OVERVIEW_URL)
        expect(rita.get_by_test_id("user-role")).to_have_text("manager")
        expect(rita.get_by_test_id("nav-admin")).to_have_count(0)
        # The temporary password is spent; her own works.
        rita.get_by_role("button", name="Log out").click()
        expect(rita).to_have_url(LOGIN_URL)
        sign_in(rita, Login("rita@rackroom.test", "rita picks her own", "Rita Manager"))
    finally:
        other.close()


def test_admin_creates_an_api_key_sees_the_secret_once_then_revokes_it(
    page: Page, seeded: Seeded, app: RunningApp, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.admin)
    page.goto("/admin/api-keys")
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    page.screenshot(path=artifacts_dir / "admin-api-keys-empty.png", full_page=True)

    page.get_by_role("button", name="New API key").click()
    dialog = page.get_by_test_id("new-key-dialog")
    dialog.get_by_label("Name").fill("web-storefront")
    dialog.get_by_text("reservations:write").click()
    dialog.get_by_label("Rate").fill("600/m")
    dialog.get_by_label("Burst").fill("100")
    page.screenshot(path=artifacts_dir / "admin-api-key-new.png")
    dialog.get_by_label("Name").press("Enter")

    reveal = page.get_by_test_id("secret-dialog")
    expect(reveal).to_contain_text("only time Rackroom shows this key")
    secret = reveal.get_by_test_id("secret-value").inner_text()
    assert secret.startswith("rr_") and len(secret) > 30
    page.screenshot(path=artifacts_dir / "admin-api-key-secret.png")
    assert api_status(app, secret) == 200  # the key works

    reveal.get_by_role("button", name="I have stored it").click()
    expect(reveal).to_have_count(0)
    row = page.get_by_test_id("key-row").filter(has_text="web-storefront")
    expect(row.get_by_test_id("key-prefix")).to_have_text(secret[:10] + "…")
    expect(row).to_contain_text("reservations:write")
    expect(row).to_contain_text("stock:read")
    expect(row).to_contain_text("All brands")
    expect(row.get_by_test_id("key-limit")).to_contain_text("10/s")
    expect(row.get_by_test_id("key-limit")).to_contain_text("burst 100")
    expect(row.get_by_test_id("key-state")).to_have_text("Active")
    # Only the prefix, never the secret, neither now nor after a reload.
    expect(page.locator("body")).not_to_contain_text(secret)
    page.reload()
    expect(row.get_by_test_id("key-prefix")).to_have_text(secret[:10] + "…")
    assert secret not in page.content()
    page.screenshot(path=artifacts_dir / "admin-api-keys.png", full_page=True)
    expect(row).to_contain_text("client_id")
    page.set_viewport_size({"width": 1024, "height": 800})
    page.emulate_media(color_scheme="dark")
    page.get_by_role("button", name="New API key").click()
    expect(page.get_by_test_id("new-key-dialog").get_by_label("Burst")).to_be_visible()
    page.screenshot(path=artifacts_dir / "admin-api-key-new-1024-dark.png")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("new-key-dialog")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "admin-api-keys-1024-dark.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1440, "height": 900})

    row.get_by_role("button", name="Revoke web-storefront").click()
    confirm = page.get_by_test_id("revoke-dialog")
    expect(confirm).to_contain_text("Every request with this key is refused")
    page.screenshot(path=artifacts_dir / "admin-api-key-revoke.png")
    confirm.get_by_role("button", name="Revoke key").click()
    expect(row.get_by_test_id("key-state")).to_have_text("Revoked")
    expect(row.get_by_role("button", name="Revoke web-storefront")).to_have_count(0)
    expect(page.get_by_text("Revoked web-storefront")).to_be_visible()
    assert api_status(app, secret) == 401  # refused from the very next request

    from models.db import create_db_engine, read_session
    from models.users import ApiKey

    engine = create_db_engine(seeded.database_url, pool_size=1)
    try:
        with read_session(engine) as session:
            key = session.scalar(select(ApiKey).where(ApiKey.name == "web-storefront"))
            assert key is not None and key.revoked_at is not None
            assert secret not in (key.key_hash, key.prefix)
    finally:
        engine.dispose()


def test_admin_pages_in_dark_mode_and_the_other_lists(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.admin)
    page.goto("/admin/warehouses")
    rows = page.get_by_test_id("warehouse-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("London DC")
    expect(rows.nth(0)).to_contain_text("10")
    page.screenshot(path=artifacts_dir / "admin-warehouses.png", full_page=True)

    page.goto("/admin/brands")
    expect(page.get_by_test_id("brand-row")).to_have_count(2)
    page.get_by_role("button", name="New brand").click()
    dialog = page.get_by_test_id("new-brand-dialog")
    dialog.get_by_label("Code").fill("north")
    dialog.get_by_label("Name").fill("Another Northwind")
    dialog.get_by_label("Name").press("Enter")
    expect(dialog.get_by_test_id("form-error")).to_have_text("Brand 'NORTH' already exists.")
    page.screenshot(path=artifacts_dir / "admin-brand-error.png")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.screenshot(path=artifacts_dir / "admin-brands.png", full_page=True)

    page.emulate_media(color_scheme="dark")
    page.goto("/admin/users")
    expect(page.get_by_test_id("user-row").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "admin-users-dark.png", full_page=True)


@pytest.mark.parametrize("who", ["merchandiser", "vendor"])
def test_non_admins_see_no_admin_section_and_are_refused(
    page: Page, seeded: Seeded, artifacts_dir: Path, who: str
) -> None:
    login: Login = getattr(seeded, who)
    sign_in(page, login)
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Overview")).to_be_visible()
    expect(nav.get_by_test_id("nav-admin")).to_have_count(0)
    expect(nav).not_to_contain_text("Admin")
    expect(nav).not_to_contain_text("API keys")

    for route in ("/admin/users", "/admin/api-keys", "/admin/brands", "/admin/warehouses"):
        page.goto(route)
        expect(page.get_by_test_id("no-access")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("^New "))).to_have_count(0)
        body = page.locator("body")
        expect(body).not_to_contain_text(seeded.admin.email)
        expect(body).not_to_contain_text("London DC")
    page.goto("/admin/users")
    expect(page.get_by_test_id("no-access")).to_contain_text("don't have access")
    expect(page.get_by_test_id("users-table")).to_have_count(0)
    page.screenshot(path=artifacts_dir / f"admin-refused-{who}.png", full_page=True)


def test_signed_out_visitor_to_an_admin_page_is_sent_to_login(page: Page) -> None:
    page.goto("/admin/api-keys")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/api-keys$"))  # and back after


def test_an_admin_demoted_meanwhile_is_refused_with_a_toast_and_nothing_changes(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    from models.catalog import Brand
    from models.db import create_db_engine, transaction
    from models.users import User, create_user

    engine = create_db_engine(seeded.database_url, pool_size=1)
    try:
        with transaction(engine) as session:
            create_user(session, "otto@rackroom.test", "otto-password-1", "admin", name="Otto")
        sign_in(page, Login("otto@rackroom.test", "otto-password-1", "Otto"))
        page.goto("/admin/brands")
        page.get_by_role("button", name="New brand").click()
        dialog = page.get_by_test_id("new-brand-dialog")
        dialog.get_by_label("Code").fill("LATE")
        dialog.get_by_label("Name").fill("Too Late")
        # Another admin makes Otto a merchandiser while the dialog is open.
        with transaction(engine) as session:
            otto = session.scalar(select(User).where(User.email == "otto@rackroom.test"))
            otto.role = "merchandiser"
        dialog.get_by_label("Name").press("Enter")

        expect(page.get_by_text("You don't have permission to manage brands.")).to_be_visible()
        expect(page.get_by_test_id("nav-admin")).to_have_count(0)
        expect(page.get_by_test_id("user-role")).to_have_text("merchandiser")
        page.wait_for_timeout(500)  # let the toast finish sliding in
        page.screenshot(path=artifacts_dir / "admin-refused-toast.png")
        with transaction(engine) as session:
            assert session.scalar(select(Brand).where(Brand.code == "LATE")) is None
    finally:
        engine.dispose()
