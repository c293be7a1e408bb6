"""The audit log in the browser: an admin's role change shows up on /admin/audit with who
made it; a merchandiser gets "no access". The handlers' checks are proven without a
browser in tests/models/test_audit.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete

from tests.e2e.seed import Seeded
from tests.e2e.test_admin import sign_in

pytestmark = pytest.mark.e2e

EMAIL = "audra@rackroom.test"


@pytest.fixture
def audra(seeded: Seeded):
    """A merchandiser for the admin to promote; removed afterwards so the other admin
    tests still see the seed's four users (the audit entries stay: they are history)."""
    from models.db import create_db_engine, transaction
    from models.users import User, create_user

    engine = create_db_engine(seeded.database_url, pool_size=1)
    with transaction(engine) as session:
        create_user(session, EMAIL, "audra-password-1", "merchandiser", name="Audra Audit")
    try:
        yield EMAIL
    finally:
        with transaction(engine) as session:
            session.execute(delete(User).where(User.email == EMAIL))
        engine.dispose()


def test_admin_changes_a_role_and_sees_it_in_the_audit_log(
    page: Page, seeded: Seeded, artifacts_dir: Path, audra: str
) -> None:
    sign_in(page, seeded.admin)
    page.goto("/admin/users")
    page.get_by_role("button", name=f"Actions for {audra}").click()
    page.get_by_role("menuitem", name="Change role…").click()
    dialog = page.get_by_test_id("access-dialog")
    dialog.get_by_label("Role").click()
    page.get_by_role("option", name="Manager").click()
    dialog.get_by_role("button", name="Save role").click()
    expect(page.get_by_text(f"{audra} is now manager")).to_be_visible()

    nav = page.get_by_role("navigation", name="Sections")
    nav.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    row = page.get_by_test_id("audit-row").filter(has_text="user.role_changed").first
    expect(row).to_contain_text(seeded.admin.email)
    expect(row).to_contain_text(audra)
    expect(row).to_contain_text("role: merchandiser → manager")
    page.screenshot(path=artifacts_dir / "admin-audit.png", full_page=True)

    # The filters apply on Enter and live in the URL.
    page.get_by_label("Filter by who").fill("ada@")
    page.get_by_label("Filter by who").press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/audit\?actor=ada%40$"))
    # Loaded with the filter (the inputs are re-drawn with it) before typing again.
    expect(page.get_by_text("match the filters")).to_be_visible()
    expect(page.get_by_test_id("audit-row").first).to_contain_text(seeded.admin.email)
    page.get_by_label("Filter by who").fill("nobody-at-all")
    page.get_by_label("Filter by who").press("Enter")
    expect(page.get_by_text("No entries match these filters")).to_be_visible()
    page.get_by_role("button", name="Clear filters").first.click()
    expect(page).to_have_url(re.compile(r"/admin/audit$"))
    expect(page.get_by_test_id("audit-row").first).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("rackroom-audit-")
    text = Path(download.value.path()).read_text()
    assert "user.role_changed" in text and audra in text

    page.set_viewport_size({"width": 1024, "height": 800})
    page.screenshot(path=artifacts_dir / "admin-audit-1024.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def test_a_merchandiser_has_no_access_to_the_audit_log(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    sign_in(page, seeded.merchandiser)
    expect(page.get_by_role("navigation", name="Sections")).not_to_contain_text("Audit log")
    page.goto("/admin/audit")
    expect(page.get_by_test_id("no-access")).to_contain_text("don't have access")
    expect(page.get_by_test_id("audit-table")).to_have_count(0)
    expect(page.get_by_role("button", name="Export CSV")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("user.role_changed")
    page.screenshot(path=artifacts_dir / "admin-audit-refused.png", full_page=True)
