"""Live pages in the browser: what one session does shows in another's open pages
without a reload.

A merchandiser's submitted transfer is open on their detail page and on the list (two
tabs); a manager, in another browser context, approves it and then cancels it: the
merchandiser's tabs follow each step. The Overview's figures follow a stock change made
outside the browser. The e2e app runs on SQLite, so this is the polling path of
`dashboard/states/live.py`; NOTIFY on PostgreSQL is proven in tests/dashboard/test_live_pages.py.

The module leaves the seeded data as it found it (the transfer deleted, counts put
back), so the other browser tests' figures hold whatever order they run in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, delete, func, select

from tests.e2e.seed import MANAGER, MERCHANDISER, Login, Seeded

pytestmark = pytest.mark.e2e

OVERVIEW_URL = re.compile(r"://[^/]+/$")


def sign_in(page: Page, login: Login) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(OVERVIEW_URL)


@dataclass
class Db:
    engine: Engine
    transfers: list[int] = field(default_factory=list)


@pytest.fixture
def db(seeded: Seeded) -> Iterator[Db]:
    """The app's database and a manager; afterwards the transfers made here are deleted,
    every count is put back, and a manager made here is removed."""
    from models.db import create_db_engine, transaction
    from models.stock import StockBalance, set_count
    from models.transfers import Transfer, TransferEvent, TransferLine
    from models.users import LoginSession, User, create_user

    engine = create_db_engine(seeded.database_url, pool_size=2)
    with transaction(engine) as session:
        made_manager = session.scalar(select(User).where(User.email == MANAGER.email)) is None
        if made_manager:
            create_user(session, MANAGER.email, MANAGER.password, "manager", name=MANAGER.name)
        counts = {
            (b.variant_id, b.warehouse_id): b.on_hand for b in session.scalars(select(StockBalance))
        }
    found = Db(engine)
    try:
        yield found
    finally:
        with transaction(engine) as session:
            for model in (TransferEvent, TransferLine):
                session.execute(delete(model).where(model.transfer_id.in_(found.transfers)))
            session.execute(delete(Transfer).where(Transfer.id.in_(found.transfers)))
            for balance in session.scalars(select(StockBalance)).all():
                seeded_count = counts.get((balance.variant_id, balance.warehouse_id), 0)
                if balance.on_hand != seeded_count:
                    set_count(
                        session,
                        balance.variant_id,
                        balance.warehouse_id,
                        seeded_count,
                        actor="e2e-restore",
                        reason="correction",
                    )
            manager = session.scalar(select(User).where(User.email == MANAGER.email))
            if made_manager and manager is not None:
                session.execute(delete(LoginSession).where(LoginSession.user_id == manager.id))
                session.delete(manager)
        engine.dispose()


def _ids(db: Db, merch_email: str = MERCHANDISER.email) -> tuple[int, int, int, int]:
    """The merchandiser's user id, a variant, London's and Manchester's warehouse ids."""
    from models.catalog import Variant, Warehouse
    from models.db import read_session
    from models.users import User

    with read_session(db.engine) as session:
        merch = session.scalar(select(User.id).where(User.email == merch_email))
        variant = session.scalar(select(Variant.id).where(Variant.sku == "NORTH-NW-STRAIGHT-32"))
        ldn = session.scalar(select(Warehouse.id).where(Warehouse.code == "LDN"))
        mcr = session.scalar(select(Warehouse.id).where(Warehouse.code == "MCR"))
    return merch, variant, ldn, mcr


def _submitted_transfer(db: Db) -> int:
    """A transfer the merchandiser drafted and submitted (made outside the browser)."""
    from models.db import transaction
    from models.transfers import create_transfer, submit_transfer

    merch, variant, ldn, mcr = _ids(db)
    with transaction(db.engine) as session:
        t = create_transfer(
            session,
            source_warehouse_id=ldn,
            dest_warehouse_id=mcr,
            lines=[(variant, 3)],
            actor_id=merch,
            note="Live follow",
        )
        submit_transfer(session, t.id, actor_id=merch)
        db.transfers.append(t.id)
        return t.id


def test_the_drafters_open_pages_follow_a_managers_steps_without_a_reload(
    page: Page, seeded: Seeded, db: Db, browser: Browser
) -> None:
    transfer_id = _submitted_transfer(db)
    sign_in(page, seeded.merchandiser)
    page.goto(f"/transfers/detail?id={transfer_id}")
    status = page.get_by_test_id("status")
    expect(status).to_have_text("Waiting for approval")
    expect(page.get_by_test_id("live")).to_be_visible()
    timeline = page.get_by_test_id("timeline-entry")
    expect(timeline).to_have_count(2)
    # The list, in a second tab of the same browser.
    listing = page.context.new_page()
    listing.goto("/transfers")
    row = listing.get_by_test_id("transfer-row").filter(has_text=f"#{transfer_id}")
    expect(row).to_contain_text("Waiting for approval")
    expect(listing.get_by_test_id("live")).to_be_visible()
    # Marks that vanish on a reload: seeing them afterwards proves no reload happened.
    for tab in (page, listing):
        tab.evaluate("window.__notReloaded = true")

    boss_context = browser.new_context(
        base_url=page.url.split("/transfers")[0], viewport={"width": 1360, "height": 860}
    )
    try:
        boss = boss_context.new_page()
        sign_in(boss, MANAGER)
        boss.goto(f"/transfers/detail?id={transfer_id}")
        expect(boss.get_by_test_id("status")).to_have_text("Waiting for approval")
        boss.get_by_role("button", name="Approve").click()
        expect(boss.get_by_test_id("status")).to_have_text("Approved")

        # The drafter's open pages follow, by themselves.
        expect(status).to_have_text("Approved")
        expect(timeline).to_have_count(3)
        expect(timeline.nth(2)).to_contain_text(MANAGER.email)
        expect(page.get_by_text("Approved: a merchandiser at the source picks")).to_be_visible()
        expect(row).to_contain_text("Approved")

        boss.get_by_role("button", name="Cancel transfer").click()
        boss.get_by_test_id("cancel-dialog").get_by_role("button", name="Cancel transfer").click()
        expect(boss.get_by_test_id("status")).to_have_text("Cancelled")
    finally:
        boss_context.close()

    expect(status).to_have_text("Cancelled")
    expect(timeline).to_have_count(4)
    expect(row).to_contain_text("Cancelled")
    for tab in (page, listing):
        assert tab.evaluate("window.__notReloaded === true")
    listing.close()


def test_the_overview_figures_follow_a_stock_change(page: Page, seeded: Seeded, db: Db) -> None:
    from models.db import read_session, transaction
    from models.stock import StockBalance, receive

    with read_session(db.engine) as session:
        before = int(session.scalar(select(func.sum(StockBalance.on_hand))) or 0)
    sign_in(page, seeded.merchandiser)  # lands on the Overview
    on_hand = page.get_by_test_id("stat-on-hand")
    expect(on_hand).to_have_text(f"{before:,}")
    expect(page.get_by_test_id("live")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    _, variant, ldn, _ = _ids(db)
    with transaction(db.engine) as session:
        receive(session, variant, ldn, 7, actor="e2e-live")

    expect(on_hand).to_have_text(f"{before + 7:,}")
    assert page.evaluate("window.__notReloaded === true")
