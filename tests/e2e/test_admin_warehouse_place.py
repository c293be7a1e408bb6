"""Admin › Warehouses in the browser: a warehouse's country and coordinates from the
dialog, a bad country refused inline, and the place shown again when editing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.seed import Seeded
from tests.e2e.test_admin import sign_in

pytestmark = pytest.mark.e2e


def test_admin_gives_a_new_warehouse_its_place(page: Page, seeded: Seeded) -> None:
    try:
        _new_warehouse_with_its_place(page, seeded)
    finally:
        _deactivate(seeded, "MAD")


def _deactivate(seeded: Seeded, code: str) -> None:
    """The browser tests share one database: a warehouse left active would be one more
    column in every later grid and drawer."""
    from sqlmodel import select

    from models.admin import set_warehouse_active
    from models.catalog import Warehouse
    from models.db import create_db_engine, transaction

    engine = create_db_engine(seeded.database_url, pool_size=1)
    try:
        with transaction(engine) as session:
            found = session.exec(select(Warehouse).where(Warehouse.code == code)).first()
            if found is not None and found.id is not None:
                set_warehouse_active(session, found.id, False, actor="e2e-cleanup")
    finally:
        engine.dispose()


def _new_warehouse_with_its_place(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.admin)
    page.goto("/admin/warehouses")
    page.get_by_role("button", name="New warehouse").click()
    dialog = page.get_by_test_id("new-warehouse-dialog")
    dialog.get_by_label("Code").fill("MAD")
    dialog.get_by_label("Name").fill("Madrid")
    dialog.get_by_label("Country").fill("XX")
    dialog.get_by_label("Name").press("Enter")
    expect(dialog.get_by_test_id("form-error")).to_contain_text("ISO 3166-1 alpha-2")
    dialog.get_by_label("Country").fill("es")
    dialog.get_by_label("Latitude").fill("40.4168")
    dialog.get_by_label("Longitude").fill("-3.7038")
    dialog.get_by_label("Name").press("Enter")
    expect(dialog).to_have_count(0)
    row = page.get_by_test_id("warehouse-row").filter(has_text="Madrid")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Actions for MAD").click()
    page.get_by_role("menuitem", name="Edit…").click()
    edit = page.get_by_test_id("edit-warehouse-dialog")
    expect(edit.get_by_label("Country")).to_have_value("ES")
    expect(edit.get_by_label("Latitude")).to_have_value("40.4168")
    expect(edit.get_by_label("Longitude")).to_have_value("-3.7038")
