"""Public polls and uploads against the real app (issue 15): the embed link is the poll's
random slug and the dialog's switch publishes it; an id URL shows "not available"; a
signed-in manager's survey CSV streams through the `/_upload` guard, which refuses a
client without a session before reading the body.

The refusals themselves are proven without a browser in tests/models/test_polls_public.py,
tests/dashboard/api/test_polls_api.py and tests/dashboard/test_upload_guard.py.
"""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Login, Seeded

pytestmark = pytest.mark.e2e

OVERVIEW_URL = re.compile(r"://[^/]+/$")
QUESTION = "Which should we stock next?"


def sign_in(page: Page, login: Login) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(OVERVIEW_URL)


def poll_action(page: Page, action: str) -> None:
    row = page.get_by_test_id("poll-row").filter(has_text=QUESTION)
    row.get_by_role("button", name=re.compile("Actions for")).click()
    page.get_by_role("menuitem", name=action).click()


def test_a_client_without_a_session_cannot_upload(app: RunningApp) -> None:
    headers = {"reflex-client-token": "00000000-0000-4000-8000-000000000000",
               "reflex-event-handler": "state.demand_state.upload_csv"}
    files = {"files": ("s.csv", b"respondent,answer\nr1,Oat crew in M\n", "text/csv")}
    refused = httpx.post(f"{app.backend_url}/_upload", headers=headers, files=files)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Sign in to upload files."}
    # A declared gigabyte: answered from the headers alone, before any body is sent.
    backend = urlsplit(app.backend_url)
    conn = http.client.HTTPConnection(backend.hostname, backend.port, timeout=30)
    try:
        conn.putrequest("POST", "/_upload")
        for name, value in {**headers, "Content-Length": str(1024**3),
                            "Content-Type": "multipart/form-data; boundary=x"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def test_the_embed_link_is_a_slug_and_the_switch_publishes_it(
    page: Page, browser: Browser, app: RunningApp, seeded: Seeded, artifacts_dir: Path
) -> None:
    assert seeded.manager is not None
    sign_in(page, seeded.manager)
    page.goto("/demand")
    poll_action(page, "Embed on a storefront…")
    dialog = page.get_by_test_id("embed-dialog")
    link = dialog.get_by_test_id("embed-url")
    expect(link).to_have_text(f"{app.url}/embed/poll/{seeded.poll_slug}")
    switch = dialog.get_by_test_id("embed-published")
    expect(switch).to_be_checked()
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)  # the dialog's fade-in
        page.screenshot(path=artifacts_dir / f"demand-embed-publish-{width}.png")

    shopper = browser.new_context()
    try:
        visitor = shopper.new_page()
        visitor.goto(f"{app.url}/embed/poll/{seeded.poll_id}")  # the old id link
        expect(visitor.get_by_test_id("embed-missing")).to_contain_text(
            "This poll is not available")
        visitor.goto(f"{app.url}/embed/poll/{seeded.poll_slug}")
        expect(visitor.get_by_test_id("embed-question")).to_have_text(QUESTION)

        switch.click()  # unpublish
        expect(switch).not_to_be_checked()
        expect(page.get_by_text("staff-only")).to_be_visible()
        visitor.reload()
        expect(visitor.get_by_test_id("embed-missing")).to_be_visible()
        visitor.screenshot(path=artifacts_dir / "embed-not-available.png")

        switch.click()  # and publish again
        expect(switch).to_be_checked()
        visitor.reload()
        expect(visitor.get_by_test_id("embed-question")).to_have_text(QUESTION)
    finally:
        shopper.close()


def test_a_signed_in_managers_survey_csv_goes_through_the_upload_guard(
    page: Page, seeded: Seeded, tmp_path: Path
) -> None:
    assert seeded.manager is not None
    sign_in(page, seeded.manager)
    page.goto("/demand")
    row = page.get_by_test_id("poll-row").filter(has_text=QUESTION)
    before = int(row.get_by_test_id("poll-votes").inner_text())
    poll_action(page, "Upload survey CSV…")
    dialog = page.get_by_test_id("upload-dialog")
    answers = tmp_path / "answers.csv"
    answers.write_text("Respondent ID,Answer\ne2e-1,Oat crew in M\ne2e-2,Oat crew in M\n")
    dialog.locator("input[type=file]").set_input_files(answers)
    dialog.get_by_role("button", name="Import votes").click()
    expect(page.get_by_text("Imported 2 row(s)")).to_be_visible()
    expect(row.get_by_test_id("poll-votes")).to_have_text(str(before + 2))
