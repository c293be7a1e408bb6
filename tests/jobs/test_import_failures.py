"""A failing apply leaves the database exactly as it was, on SQLite and PostgreSQL.

Three ways to fail: a bad row deep in a 100,000-row file (all-or-nothing refuses the
lot), an error while the balances are being written, and the process killed with
SIGKILL in the middle of its transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import Engine, select

from jobs.imports import ImportOptions, apply_import
from models.catalog import Variant
from models.db import PROJECT_ROOT, read_session, set_default_engine, transaction
from models.imports import ImportRun
from models.reservations import reserve
from models.stock import get_balance, reconcile
from tests.import_support import PRODUCT_HEADERS, csv_bytes, product_row, setup_brand, snapshot

SIZES = ("XS", "S", "M", "L", "XL")


@pytest.fixture
def ids(engine: Engine):
    set_default_engine(engine)
    yield setup_brand(engine)
    set_default_engine(None)


def big_feed(rows: int, *, bad_row: int | None = None, qty_offset: int = 0) -> bytes:
    """A Shopify product export: rows/5 styles × 5 sizes; spreadsheet row `bad_row` is -1."""
    out = []
    for i in range(rows):
        style, size = divmod(i, len(SIZES))
        qty: object = (i + qty_offset) % 17 + 1
        if bad_row is not None and i + 2 == bad_row:
            qty = -1
        title = f"Style {style}" if size == 0 else ""
        out.append(product_row(f"style-{style:05d}", title, [("Size", SIZES[size])], qty=qty))
    return csv_bytes(PRODUCT_HEADERS, out)


def options(**kw) -> ImportOptions:
    return ImportOptions(
        **({"brand_code": "NRD", "warehouse_code": "WH1", "file_name": "big.csv",
            "accept_warnings": True} | kw)
    )


def assert_reconciled(engine: Engine) -> None:
    with read_session(engine) as session:
        assert reconcile(session) == []


def without_history(tables: dict[str, list]) -> dict[str, list]:
    return {name: rows for name, rows in tables.items() if name != "import_run"}


def test_an_error_in_row_90000_of_100000_refuses_the_whole_file(engine, ids):
    apply_import(big_feed(500), options(file_name="first.csv"))  # some stock to keep intact
    before = snapshot(engine)
    result = apply_import(big_feed(100_000, bad_row=90_000, qty_offset=3), options())
    assert result.status == "refused", result.message
    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (90_000, "Variant Inventory Qty", "-1", "quantity cannot be negative")
    ]
    assert result.counts.rows == 100_000 and result.counts.new_variants == 99_499
    after = snapshot(engine)
    assert without_history(after) == without_history(before)
    assert len(after["import_run"]) == len(before["import_run"]) + 1
    with read_session(engine) as session:
        last = session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
        assert (last.status, last.error_count, last.rows) == ("refused", 1, 100_000)
    assert_reconciled(engine)


def test_an_error_while_writing_rolls_back_everything(engine, ids):
    apply_import(big_feed(200), options(file_name="first.csv"))
    before = snapshot(engine)

    def explode(phase: str, fraction: float) -> None:
        # After every balance and its ledger row is written, before the commit.
        if phase == "writing" and fraction >= 0.8:
            raise RuntimeError("disk on fire")

    result = apply_import(big_feed(1_000, qty_offset=5), options(), progress=explode)
    assert result.status == "failed" and "disk on fire" in result.message
    after = snapshot(engine)
    assert without_history(after) == without_history(before)
    with read_session(engine) as session:
        last = session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
        assert last.status == "failed" and last.id == result.import_id
    assert_reconciled(engine)
    # Nothing of the failed attempt counts as applied: the same file goes in afterwards.
    again = apply_import(big_feed(1_000, qty_offset=5), options())
    assert again.status == "applied" and again.counts.new_variants == 800


_KILLABLE = """
import sys, time
from jobs.imports import ImportOptions, apply_import
from models.db import create_db_engine

def stall(phase, fraction):
    if phase == "writing" and fraction >= 0.8:
        print("KILL ME", flush=True)
        time.sleep(120)

data = open(sys.argv[2], "rb").read()
options = ImportOptions(
    brand_code="NRD", warehouse_code="WH1", file_name="big.csv", accept_warnings=True
)
apply_import(data, options, engine=create_db_engine(sys.argv[1], pool_size=1), progress=stall)
print("NOT KILLED", flush=True)
"""


def test_a_process_killed_mid_apply_leaves_the_database_as_before(engine, ids, tmp_path):
    apply_import(big_feed(300), options(file_name="first.csv"))
    before = snapshot(engine)
    feed = tmp_path / "big.csv"
    feed.write_bytes(big_feed(5_000, qty_offset=7))
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE, url, str(feed)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        line = process.stdout.readline()
        assert line.strip() == "KILL ME", process.stderr.read()
        # Catalogue, balances and ledger rows are written; the transaction is still open.
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    assert snapshot(engine) == before  # history included: the run row died with the rest
    assert_reconciled(engine)
    with read_session(engine) as session:
        assert len(session.scalars(select(Variant.id)).all()) == 300
    again = apply_import(feed.read_bytes(), options())
    assert again.status == "applied" and again.counts.new_variants == 4_700
    assert_reconciled(engine)


def test_a_reservation_during_the_apply_waits_and_is_never_overwritten(engine, ids):
    apply_import(big_feed(5), options(file_name="first.csv"))  # XS..XL, on hand 1..5
    with read_session(engine) as session:
        variant_id = session.scalar(select(Variant.id).where(Variant.size == "XL"))
    planned, go = threading.Event(), threading.Event()
    done: list[str] = []

    def hold(phase: str, fraction: float) -> None:
        if phase == "planning" and fraction == 1.0:  # balances read (PostgreSQL: locked)
            planned.set()
            go.wait(10)

    feed = csv_bytes(PRODUCT_HEADERS, [product_row("style-00000", "", [("Size", "XL")], qty=9)])
    importer = threading.Thread(
        target=lambda: done.append(apply_import(feed, options(), progress=hold).status)
    )
    importer.start()
    assert planned.wait(10)

    def checkout() -> None:
        with transaction(engine) as session:
            reserve(
                session,
                variant_id,
                4,
                channel="web",
                order_ref="o-4",
                actor="shop",
                warehouse_id=ids["WH1"],
            )
        done.append("reserved")

    # 4 of the 5 on hand: the checkout's guarded UPDATE matches the row and must wait
    # for the import's lock (PostgreSQL) or write lock (SQLite), then see the new count.
    shopper = threading.Thread(target=checkout)
    shopper.start()
    time.sleep(0.5)
    assert done == []  # the checkout waits for the import's locks
    go.set()
    importer.join(20)
    shopper.join(20)
    assert done == ["applied", "reserved"]
    with read_session(engine) as session:
        balance = get_balance(session, variant_id, ids["WH1"])
    assert (balance.on_hand, balance.reserved) == (9, 4)
    assert_reconciled(engine)
