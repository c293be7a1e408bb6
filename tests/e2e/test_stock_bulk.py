"""The stock grid's bulk edit in the browser: typing with the keyboard (focus selects,
Enter moves down, arrows move across), a pasted block filling right and down (what is
beyond the grid's edge left out and said so; a block with a value that is not a count
refused whole), the review dialog, and a save where one of the two edited counts changed
behind the page's back: one saved, one conflict shown and left editable; leaving asks
first.

The cells it edits are put back to the seed's counts when it ends (the other browser
tests read the seeded figures).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select

from tests.e2e.conftest import RunningApp
from tests.e2e.seed import Seeded, on_hand_counts, put_counts_back
from tests.e2e.test_admin_webhooks import shoot
from tests.e2e.test_stock import open_stock, sign_in

pytestmark = pytest.mark.e2e

JEAN, JEAN_34, CREW_S, CREW_L = (
    "NORTH-NW-STRAIGHT-32",
    "NORTH-NW-STRAIGHT-34",
    "SOLS-SO-CREW-S",
    "SOLS-SO-CREW-L",
)


@pytest.fixture
def engine(app: RunningApp) -> Iterator[Engine]:
    """The app's database; afterwards every balance is back at the count it had."""
    from models.db import create_db_engine, transaction

    engine = create_db_engine(app.seeded.database_url, pool_size=2)
    with transaction(engine) as session:
        counts = on_hand_counts(session)
    try:
        yield engine
    finally:
        with transaction(engine) as session:
            put_counts_back(session, counts)
        engine.dispose()


def ids(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    from models.catalog import Variant, Warehouse
    from models.db import read_session

    with read_session(engine) as session:
        return (
            {v.sku: v.id for v in session.scalars(select(Variant))},
            {w.code: w.id for w in session.scalars(select(Warehouse))},
        )


def on_hand(engine: Engine, variant_id: int, warehouse_id: int) -> int:
    from models.db import read_session
    from models.stock import get_balance

    with read_session(engine) as session:
        return get_balance(session, variant_id, warehouse_id).on_hand


def paste(page: Page, label: str, text: str) -> None:
    """A paste of `text` into the cell, as from a spreadsheet's copied cells."""
    page.get_by_label(label).evaluate(
        """(el, text) => {
            el.focus();
            const data = new DataTransfer();
            data.setData("text/plain", text);
            el.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                          cancelable: true}));
        }""",
        text,
    )


def test_a_bulk_edit_with_one_conflicting_cell(
    page: Page, seeded: Seeded, engine: Engine, artifacts_dir: Path
) -> None:
    from models.db import transaction
    from models.stock import set_count

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    variants, warehouses = ids(engine)
    ldn = warehouses["LDN"]
    jean_seen = on_hand(engine, variants[JEAN], ldn)
    crew_seen = on_hand(engine, variants[CREW_S], ldn)
    cell = {sku: f"On hand of {sku} at LDN" for sku in (JEAN, JEAN_34, CREW_S, CREW_L)}

    sign_in(page, seeded.merchandiser)
    open_stock(page)
    page.get_by_test_id("bulk-toggle").click()
    bar = page.get_by_test_id("bulk-bar")
    expect(bar.get_by_test_id("bulk-summary")).to_have_text("No changes yet")
    jean = page.get_by_label(cell[JEAN])
    expect(jean).to_have_value(str(jean_seen))  # on hand, not available

    # Typing replaces (focus selects the figure); Enter moves down, arrows across.
    jean.click()
    page.keyboard.type(str(jean_seen - 5))
    page.keyboard.press("Enter")
    expect(page.get_by_label(cell[JEAN_34])).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label(f"On hand of {JEAN_34} at MCR")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_label(f"On hand of {JEAN} at MCR")).to_be_focused()
    crew = page.get_by_label(cell[CREW_S])
    crew.click()
    page.keyboard.type(str(crew_seen - 20))
    expect(jean).to_have_attribute("data-mark", "changed")
    expect(bar.get_by_test_id("bulk-summary")).to_have_text("2 changed")

    # A pasted block fills right and down from the cell (L then M, LDN then MCR); its
    # third column is beyond the grid's edge: left out, and the toast says so.
    summary = bar.get_by_test_id("bulk-summary")
    crew_m = "SOLS-SO-CREW-M"
    block = {
        (sku, code): page.get_by_label(f"On hand of {sku} at {code}")
        for sku in (CREW_L, crew_m)
        for code in ("LDN", "MCR")
    }
    seen = {at: on_hand(engine, variants[at[0]], warehouses[at[1]]) for at in block}
    pasted = {at: str(count + 3) for at, count in seen.items()}
    paste(
        page,
        cell[CREW_L],
        "".join(
            f"{pasted[sku, 'LDN']}\t{pasted[sku, 'MCR']}\t99\r\n" for sku in (CREW_L, crew_m)
        ),
    )
    for at, box in block.items():
        expect(box).to_have_value(pasted[at])
        expect(box).to_have_attribute("data-mark", "changed")
    expect(summary).to_have_text("6 changed")
    expect(
        page.get_by_text("Pasted 4 values; 2 values beyond the grid's edge were left out.")
    ).to_be_visible()
    page.mouse.move(0, 0)
    shoot(page, artifacts_dir, "stock-bulk-paste")

    # A block holding anything but counts is refused whole, naming the cells and values.
    paste(page, cell[CREW_L], "8\t-1\nabc\t8")
    expect(page.get_by_text("Nothing was pasted: 2 values are not a count")).to_be_visible()
    expect(
        page.get_by_text(f"{CREW_L} at MCR: '-1'; {crew_m} at LDN: 'abc'.", exact=False)
    ).to_be_visible()
    for at, box in block.items():
        expect(box).to_have_value(pasted[at])
    expect(summary).to_have_text("6 changed")

    # Pasting the seen figures back undoes those edits.
    paste(
        page,
        cell[CREW_L],
        "\n".join(f"{seen[sku, 'LDN']}\t{seen[sku, 'MCR']}" for sku in (CREW_L, crew_m)),
    )
    expect(summary).to_have_text("2 changed")
    expect(page.get_by_text("Pasted 4 values", exact=True)).to_be_visible()
    for at, box in block.items():
        expect(box).to_have_value(str(seen[at]))
        expect(box).to_have_attribute("data-mark", "")

    # Someone else counts the jean while the page is open.
    with transaction(engine) as session:
        set_count(
            session,
            variants[JEAN],
            ldn,
            jean_seen - 2,
            actor="another-user",
            expected_on_hand=jean_seen,
        )

    bar.get_by_test_id("bulk-review").click()
    dialog = page.get_by_test_id("bulk-review-dialog")
    changes = dialog.get_by_test_id("bulk-change")
    expect(changes).to_have_count(2)
    expect(changes.filter(has_text=JEAN)).to_contain_text(f"{jean_seen}{jean_seen - 5}")
    expect(changes.filter(has_text=CREW_S)).to_contain_text(f"{crew_seen}{crew_seen - 20}")
    dialog.get_by_label("Note").fill("Bulk recount, aisle 4")
    page.wait_for_timeout(300)  # the dialog's fade-in, for the picture
    page.screenshot(path=artifacts_dir / "stock-bulk-review.png")
    dialog.get_by_role("button", name="Save counts").click()

    expect(dialog).to_have_count(0)
    conflicts = page.get_by_test_id("bulk-conflict")
    expect(conflicts).to_have_count(1)
    expect(conflicts).to_contain_text(JEAN)
    expect(conflicts).to_contain_text(
        f"now {jean_seen - 2} on hand, not the {jean_seen} you saw (you entered {jean_seen - 5})"
    )
    expect(jean).to_have_attribute("data-mark", "conflict")
    expect(jean).to_have_value(str(jean_seen - 5))  # still what was typed, still editable
    expect(crew).to_have_attribute("data-mark", "saved")
    expect(crew).to_have_value(str(crew_seen - 20))
    assert on_hand(engine, variants[CREW_S], ldn) == crew_seen - 20
    assert on_hand(engine, variants[JEAN], ldn) == jean_seen - 2
    expect(bar.get_by_test_id("bulk-summary")).to_have_text("1 changed")
    page.mouse.move(0, 0)
    shoot(page, artifacts_dir, "stock-bulk")

    # Leaving with the conflict unsaved asks first: a link (the browser's confirm,
    # dismissed here: the page stays) and the mode's toggle (discarding leaves the mode).
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("link", name="Transfers").click()
    expect(page.get_by_test_id("bulk-bar")).to_be_visible()
    assert asked == ["Leave bulk edit? 1 unsaved change(s) will be lost."]
    assert page.url.endswith("/stock")
    page.get_by_test_id("bulk-toggle").click()
    leave = page.get_by_test_id("bulk-leave-dialog")
    expect(leave).to_contain_text("1 changed")
    leave.get_by_role("button", name="Discard edits").click()
    expect(bar).to_have_count(0)
    expect(page.get_by_role("button", name=f"Correct {CREW_S} at LDN")).to_be_visible()
    assert on_hand(engine, variants[JEAN], ldn) == jean_seen - 2
    assert errors == []
