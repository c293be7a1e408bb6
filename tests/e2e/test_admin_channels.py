"""Admin › Channels in the browser: a channel created with two warehouses in order (an
unknown warehouse refused inline first), its strategy changed in the edit dialog, then
deactivated. The browser tests share one database, so the channel is deactivated at the
end whatever happens (an active channel listing a warehouse would keep that warehouse
from being deactivated by a later test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.seed import Seeded
from tests.e2e.test_admin import sign_in
from tests.e2e.test_admin_webhooks import shoot
from tests.e2e.test_analytics import pick
from tests.e2e.test_shell import _watch_console

pytestmark = pytest.mark.e2e

CODE = "e2e-web"


def test_admin_creates_a_channel_with_two_warehouses_and_changes_its_strategy(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    problems = _watch_console(page)
    try:
        _create_edit_and_deactivate(page, seeded, artifacts_dir)
    finally:
        _deactivate(seeded)
    assert problems == []


def _deactivate(seeded: Seeded) -> None:
    from sqlalchemy import select

    from models.channels import Channel, update_channel
    from models.db import create_db_engine, transaction

    engine = create_db_engine(seeded.database_url, pool_size=1)
    try:
        with transaction(engine) as session:
            if session.scalar(select(Channel.id).where(Channel.code == CODE)) is not None:
                update_channel(session, CODE, active=False, actor="e2e-cleanup")
    finally:
        engine.dispose()


def _create_edit_and_deactivate(page: Page, seeded: Seeded, artifacts_dir: Path) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, seeded.admin)
    page.get_by_role("link", name="Channels").click()
    expect(page).to_have_url(re.compile(r"/admin/channels$"))
    expect(page.get_by_text("No channels yet")).to_be_visible()

    page.get_by_role("button", name="New channel").click()
    dialog = page.get_by_test_id("new-channel-dialog")
    expect(dialog).to_contain_text("Active now: LDN, MCR")
    dialog.get_by_label("Code").fill(CODE)
    dialog.get_by_label("Name").fill("E2E web shop")
    dialog.get_by_label("Warehouses", exact=True).fill("mcr, nope")
    dialog.get_by_label("Name").press("Enter")
    expect(dialog.get_by_test_id("form-error")).to_have_text("No warehouse with code 'NOPE'.")
    dialog.get_by_label("Warehouses", exact=True).fill("mcr, ldn")
    dialog.get_by_label("Allow split").click()
    shoot(page, artifacts_dir, "admin-channel-new")
    dialog.get_by_role("button", name="Create channel").click()
    expect(dialog).to_have_count(0)

    row = page.get_by_test_id("channel-row").filter(has_text=CODE)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("channel-warehouses")).to_have_text("MCR → LDN")
    expect(row.get_by_test_id("channel-strategy")).to_have_text("Priority")
    expect(row).to_contain_text("Allowed")

    row.get_by_role("button", name=f"Actions for {CODE}").click()
    page.get_by_role("menuitem", name="Edit…").click()
    edit = page.get_by_test_id("edit-channel-dialog")
    expect(edit.get_by_label("Warehouses", exact=True)).to_have_value("MCR, LDN")
    expect(edit.get_by_label("Name")).to_have_value("E2E web shop")
    pick(page, "Strategy", "Nearest: the closest to the order's address")
    edit.get_by_role("button", name="Save").click()
    expect(edit).to_have_count(0)
    expect(row.get_by_test_id("channel-strategy")).to_have_text("Nearest")
    expect(row.get_by_test_id("channel-warehouses")).to_have_text("MCR → LDN")
    shoot(page, artifacts_dir, "admin-channels")

    row.get_by_role("button", name=f"Actions for {CODE}").click()
    page.get_by_role("menuitem", name="Deactivate…").click()
    confirm = page.get_by_test_id("deactivate-channel-dialog")
    confirm.get_by_role("button", name="Deactivate").click()
    expect(confirm).to_have_count(0)
    expect(row).to_contain_text("Inactive")
