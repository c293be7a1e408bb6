"""Admin › Webhooks in the browser: an admin subscribes a real receiver on 127.0.0.1 (the
suite allows it through RACKROOM_OUTBOUND_ALLOW), sees the secret once, and follows a
stock change to its delivery. The handlers' checks are in tests/dashboard/test_admin_webhooks.py."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.seed import Seeded
from tests.e2e.test_admin import SKU, sign_in
from tests.events_support import receiver

pytestmark = pytest.mark.e2e

#: How long the app's relay and sender may take (a wait, not an assertion on speed).
PATIENCE_S = 90


def wait_until(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {PATIENCE_S} s for {what}")
        time.sleep(0.25)


def shoot(page: Page, artifacts_dir: Path, name: str) -> None:
    """The page at 1440 and 1024 px, light and dark."""
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=artifacts_dir / f"{name}-{width}-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1440, "height": 900})


def test_admin_subscribes_a_receiver_sees_the_secret_once_and_its_deliveries(
    page: Page, seeded: Seeded, artifacts_dir: Path
) -> None:
    from models.catalog import Variant, Warehouse
    from models.db import create_db_engine, transaction
    from models.stock import get_balance, receive

    engine = create_db_engine(seeded.database_url, pool_size=1)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, seeded.admin)
    page.goto("/admin/webhooks")
    expect(page.get_by_text("No webhooks yet")).to_be_visible()
    shoot(page, artifacts_dir, "admin-webhooks-empty")

    changed: list[tuple[int, int, int]] = []  # (variant, warehouse, on hand before)
    try:
        with receiver() as hook:
            page.get_by_role("button", name="New webhook").click()
            dialog = page.get_by_test_id("new-webhook-dialog")
            dialog.get_by_label("URL").fill("ftp://files.example.com/in")
            dialog.get_by_label("Events").fill("stock.changed")
            dialog.get_by_label("URL").press("Enter")
            expect(dialog.get_by_test_id("url-error")).to_contain_text("only http and https")
            dialog.get_by_label("URL").fill("http://10.20.30.40/in")
            dialog.get_by_label("URL").press("Enter")
            expect(dialog.get_by_test_id("url-error")).to_contain_text("inside the network")
            dialog.get_by_label("URL").fill(hook.url)
            dialog.get_by_label("Events").fill("stock.changed, order.paid")
            dialog.get_by_label("URL").press("Enter")
            expect(dialog.get_by_test_id("events-error")).to_contain_text(
                "'order.paid' matches no event type"
            )
            expect(dialog.get_by_test_id("url-error")).to_have_count(0)
            page.screenshot(path=artifacts_dir / "admin-webhook-new-error.png")
            dialog.get_by_label("Events").fill("stock.changed")
            dialog.get_by_label("Name").fill("Storefront")
            dialog.get_by_label("Name").press("Enter")

            reveal = page.get_by_test_id("secret-dialog")
            expect(reveal).to_contain_text("only time Rackroom shows this secret")
            secret = reveal.get_by_test_id("secret-value").inner_text()
            assert secret.startswith("whsec_") and len(secret) > 40
            shoot(page, artifacts_dir, "admin-webhook-secret")
            reveal.get_by_role("button", name="I have stored it").click()
            expect(reveal).to_have_count(0)

            row = page.get_by_test_id("webhook-row").filter(has_text="Storefront")
            expect(row.get_by_test_id("webhook-url")).to_have_text(hook.url)
            expect(row).to_contain_text("stock.changed")
            expect(row).to_contain_text("All brands")
            expect(row.get_by_test_id("webhook-state")).to_have_text("Enabled")
            expect(row.get_by_test_id("webhook-last")).to_have_text("Nothing sent yet")
            expect(page.locator("body")).not_to_contain_text(secret)
            page.reload()
            expect(row).to_be_visible()
            assert secret not in page.content()

            # A stock change goes out to the receiver, signed with that secret.
            with transaction(engine) as session:
                variant = session.scalar(select(Variant.id).where(Variant.sku == SKU))
                warehouse = session.scalar(select(Warehouse.id).order_by(Warehouse.id))
                changed.append(
                    (variant, warehouse, get_balance(session, variant, warehouse).on_hand)
                )
                receive(session, variant, warehouse, 3, actor="e2e")
            wait_until("the delivery to be recorded", lambda: _statuses(engine) == ["delivered"])
            payload = hook.verify(secret, hook.received[0])
            assert payload["type"] == "stock.changed" and payload["data"]["sku"] == SKU

            page.reload()
            expect(row.get_by_test_id("webhook-last")).to_contain_text("Delivered")
            expect(row.get_by_test_id("webhook-last")).to_contain_text("HTTP 200")
            shoot(page, artifacts_dir, "admin-webhooks")

            row.get_by_role("link", name="Storefront").click()
            expect(page).to_have_url(re.compile(r"/admin/webhooks/deliveries\?webhook=\d+$"))
            expect(page.get_by_test_id("deliveries-webhook")).to_have_text("Storefront")
            delivery = page.get_by_test_id("delivery-row")
            expect(delivery).to_have_count(1)
            expect(delivery).to_contain_text("stock.changed")
            expect(delivery.get_by_test_id("delivery-status")).to_have_text("Delivered")
            expect(delivery.get_by_test_id("delivery-code")).to_have_text("200")
            shoot(page, artifacts_dir, "admin-webhook-deliveries")

            delivery.get_by_role("button", name=re.compile("^Attempts of delivery")).click()
            attempts = page.get_by_test_id("attempts-dialog")
            expect(attempts.get_by_test_id("attempt-row")).to_have_count(1)
            expect(attempts.get_by_test_id("attempt-row")).to_contain_text("200")
            page.screenshot(path=artifacts_dir / "admin-webhook-attempts.png")
            page.keyboard.press("Escape")
            expect(attempts).to_have_count(0)

            delivery.get_by_role("button", name=re.compile("^Resend delivery")).click()
            expect(
                page.get_by_text(re.compile(r"Delivery \d+ is queued to be sent again"))
            ).to_be_visible()
            wait_until("the resent message", lambda: len(hook.received) == 2)
            assert hook.ids()[0] == hook.ids()[1]  # the same message again (same webhook-id)

            page.get_by_role("combobox", name="Delivery status").click()
            page.get_by_role("option", name="Failed").click()
            expect(page).to_have_url(re.compile(r"status=failed"))
            expect(page.get_by_text("No deliveries with this status")).to_be_visible()
            page.get_by_role("button", name="Clear filters").first.click()
            expect(page.get_by_test_id("delivery-row")).to_have_count(1)

        # Rotate from the list: a new secret, also shown once.
        page.goto("/admin/webhooks")
        page.get_by_role("button", name="Actions for Storefront").click()
        page.get_by_role("menuitem", name="Rotate secret…").click()
        page.get_by_test_id("rotate-dialog").get_by_role("button", name="Rotate secret").click()
        rotated = page.get_by_test_id("secret-dialog").get_by_test_id("secret-value").inner_text()
        assert rotated.startswith("whsec_") and rotated != secret
        # The confirmation has finished closing (while it fades out, Escape is its own).
        expect(page.get_by_test_id("rotate-dialog")).to_have_count(0)
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("secret-dialog")).to_have_count(0)
        assert rotated not in page.content()
    finally:
        _put_back(engine, changed)
    engine.dispose()


def _put_back(engine, changed: list[tuple[int, int, int]]) -> None:
    """Leave the app as the other browser tests expect it: no endpoint left sending, and
    the received units taken back out (later modules count the seeded stock)."""
    from models.db import transaction
    from models.stock import set_count
    from models.webhooks import WebhookEndpoint, delete_endpoint

    with transaction(engine) as session:
        for endpoint_id in session.scalars(select(WebhookEndpoint.id)).all():
            delete_endpoint(session, endpoint_id, actor="e2e-restore")
        for variant, warehouse, on_hand in changed:
            set_count(
                session, variant, warehouse, on_hand, actor="e2e-restore", reason="correction"
            )


def _statuses(engine) -> list[str]:
    from models.db import read_session
    from models.webhooks import WebhookDelivery

    with read_session(engine) as session:
        return list(session.scalars(select(WebhookDelivery.status)))
