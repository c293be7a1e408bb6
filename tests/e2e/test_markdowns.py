"""Markdown suggestions in the browser: the list for the seed, a brand filter that narrows
it (in the URL), and the CSV download.

From tests/e2e/seed.py: Solstice's oat Merino Crew was first received 150 days ago and
sells slowly (a 50 % markdown); Northwind's indigo Straight Jean arrived today (none).
Other browser tests may add stock of their own, so rows are found by name. The
server-side checks are proven without a browser in tests/dashboard/test_markdowns_states.py
and the export's in tests/dashboard/test_exports.py.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.seed import Seeded
from tests.e2e.test_analytics import pick, settled, sign_in

pytestmark = pytest.mark.e2e


def test_markdowns_list_narrows_by_brand_and_downloads(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    assert seeded.manager is not None
    sign_in(page, seeded.manager)
    page.get_by_role("link", name="Markdowns").click()
    expect(page).to_have_url(re.compile(r"/analytics/markdowns$"))
    rows = page.get_by_test_id("markdown-row")
    crew = rows.filter(has_text="Merino Crew")
    jean = rows.filter(has_text="Straight Jean")
    expect(crew).to_have_count(1)
    expect(crew.get_by_test_id("tier")).to_have_text("50 %")
    expect(crew).to_contain_text("150 days")
    expect(jean.get_by_test_id("tier")).to_have_text("0 %")
    expect(rows.first.get_by_test_id("tier")).to_have_text("50 %")  # deepest first
    settled(page)
    page.screenshot(path=artifacts_dir / "markdowns.png", full_page=True)

    pick(page, "Brand", "Northwind Denim (NORTH)")
    expect(page).to_have_url(re.compile(r"/analytics/markdowns\?brand=NORTH$"))
    expect(crew).to_have_count(0)
    expect(jean).to_have_count(1)
    settled(page)
    shown = rows.count()

    with page.expect_download() as download:
        page.get_by_test_id("markdowns-export").click()
    assert download.value.suggested_filename.startswith("rackroom-markdowns-")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == shown and {r["brand"] for r in table} == {"NORTH"}
    straight = next(r for r in table if r["product"] == "Straight Jean")
    assert (straight["colour"], straight["markdown"]) == ("Indigo", "0 %")
