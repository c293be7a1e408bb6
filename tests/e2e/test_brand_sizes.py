"""A brand's size system and an import's encoding in the browser: an admin gives a seeded
brand a size system through the Edit dialog (the picker submits with the form) and
puts it back; the imports page offers the encoding beside the kind of file. Pictured
at 1440 and 1024 px, light and dark, with no console errors.

The rules behind them (how a hint reads "42", the refusal of a byte the chosen encoding
cannot read) are tested without a browser in tests/models/test_sizes.py,
tests/jobs/test_import_reading.py and tests/dashboard/test_admin_states.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.seed import Seeded

pytestmark = pytest.mark.e2e


def _sign_in(page: Page, seeded: Seeded) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.goto("/login")
    page.get_by_label("Email").fill(seeded.admin.email)
    page.get_by_label("Password").fill(seeded.admin.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))
    return errors


def _edit_size_system(page: Page, brand: str, choice: str, shot: Path | None = None) -> None:
    row = page.get_by_test_id("brand-row").filter(has_text=brand)
    row.get_by_role("button", name=re.compile("Actions for")).click()
    page.get_by_role("menuitem", name="Edit…").click()
    dialog = page.get_by_test_id("edit-brand-dialog")
    dialog.get_by_role("combobox", name="Size system").click()
    page.get_by_role("option", name=choice).click()
    if shot is not None:
        page.screenshot(path=shot)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)


def _shots(page: Page, path: str, name: str, artifacts: Path) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (1440, 1024):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            page.wait_for_timeout(300)  # let the list settle before the picture only
            page.screenshot(path=artifacts / f"{name}-{width}-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")


def test_an_admin_sets_and_clears_a_brands_size_system(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    errors = _sign_in(page, seeded)
    page.goto("/admin/brands")
    north = page.get_by_test_id("brand-row").filter(has_text="NORTH")
    expect(north).to_contain_text("Auto")

    _edit_size_system(page, "NORTH", "EU shoes (42 → EU 42)", artifacts_dir / "brand-edit.png")
    expect(north).to_contain_text("EU shoes")
    _shots(page, "/admin/brands", "brands-size-system", artifacts_dir)

    page.goto("/admin/brands")
    _edit_size_system(page, "NORTH", "Auto (guess from the label)")  # as the seed had it
    expect(north).not_to_contain_text("EU shoes")
    assert errors == []


def test_the_imports_page_offers_the_encoding(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    errors = _sign_in(page, seeded)
    page.goto("/imports")
    picker = page.get_by_role("combobox", name="Encoding")
    expect(picker).to_contain_text("Detect automatically")
    picker.click()
    page.get_by_role("option", name="Windows-1252 (Excel on Windows)").click()
    expect(picker).to_contain_text("Windows-1252")
    _shots(page, "/imports", "imports-encoding", artifacts_dir)
    assert errors == []
