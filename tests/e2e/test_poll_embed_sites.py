"""The sites that may frame a poll's public page, against the real app: a manager lists a
storefront in the embed dialog; the app's answer for `/embed/poll/{slug}` then names it in
`frame-ancestors`, and Chromium shows that answer in a page on the listed origin and
refuses it in a page on another 127.0.0.1 port.

`reflex run --env dev` serves pages from its own dev server, which sends none of the app's
headers: the frames here load the backend's answer for the embed path (the production
server answers pages through the same middleware). Validation and the header's contents
are proven without a browser in tests/models/test_poll_frame_origins.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Browser, Frame, Page, expect

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Seeded
from tests.e2e.test_polls_uploads import poll_action, sign_in

pytestmark = pytest.mark.e2e


@contextmanager
def storefront(frame_src: str) -> Iterator[str]:
    """A page on its own 127.0.0.1 port with the poll in an iframe; yields its origin."""
    html = (f'<!doctype html><title>Shop</title><h1>Shop</h1>'
            f'<iframe id="poll" src="{frame_src}" width="400" height="300"></iframe>').encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def poll_frame(page: Page, origin: str) -> Frame:
    """The shop page's iframe once it has settled: the answer it shows, or the error page
    Chromium puts in place of a refused one."""
    page.goto(origin + "/")
    expect(page.get_by_role("heading", name="Shop")).to_be_visible()
    deadline = time.monotonic() + 30
    while True:
        frames = [f for f in page.frames if f != page.main_frame]
        if frames and frames[0].url not in ("", "about:blank"):
            return frames[0]
        assert time.monotonic() < deadline, "the iframe never loaded"
        page.wait_for_timeout(100)


def save_sites(page: Page, text: str, toast: str) -> None:
    dialog = page.get_by_test_id("embed-dialog")
    box = dialog.get_by_test_id("embed-origins")
    box.fill(text)
    dialog.get_by_test_id("embed-origins-save").click()
    expect(page.get_by_text(toast)).to_be_visible()


def test_only_the_listed_site_may_frame_the_poll(
    page: Page, browser: Browser, app: RunningApp, seeded: Seeded
) -> None:
    assert seeded.manager is not None
    embed = f"{app.backend_url}/embed/poll/{seeded.poll_slug}"
    with storefront(embed) as listed, storefront(embed) as other:
        sign_in(page, seeded.manager)
        page.goto("/demand")
        poll_action(page, "Embed on a storefront…")
        save_sites(page, f"{listed}/", "1 site(s) may show it in a frame")
        expect(page.get_by_test_id("embed-origins")).to_have_value(listed)

        policy = httpx.get(embed).headers["content-security-policy"]
        assert policy.startswith(f"frame-ancestors {listed}; ")

        shop = browser.new_page()
        try:
            shown = poll_frame(shop, listed)
            assert shown.url == embed
            refused = poll_frame(shop, other)
            assert refused.url.startswith("chrome-error://")
        finally:
            shop.close()

        save_sites(page, "", "no site may frame it")
        policy = httpx.get(embed).headers["content-security-policy"]
        assert policy.startswith("frame-ancestors 'none'; ")
