"""Zero is a level: when an import, a sync or a count states 0 units of a variant at a
warehouse, the balance exists at 0 (and listings show it), with no ledger row because
nothing moved; the balance still equals its ledger. Also: the API key CLI's limits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from jobs.imports import ImportOptions, apply_import
from models.catalog import Variant, Warehouse
from models.db import read_session, set_default_engine, transaction
from models.stock import LedgerEntry, StockBalance, reconcile, set_count
from models.stock_queries import page_of_balances
from tests.factories import make_world
from tests.import_support import PRODUCT_HEADERS, csv_bytes, product_row, setup_brand


def levels(engine: Engine) -> dict[tuple[str, str], int]:
    with read_session(engine) as session:
        rows = session.execute(
            select(Variant.sku, Warehouse.code, StockBalance.on_hand)
            .join(Variant, Variant.id == StockBalance.variant_id)
            .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
        )
        return {(sku, wh): qty for sku, wh, qty in rows}


def ledger_rows(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry))


def test_an_import_stating_zero_creates_the_level_at_zero(engine):
    set_default_engine(engine)
    try:
        setup_brand(engine)
        rows = [
            product_row("tee", "Tee", [("Size", "S")], sku="T-S", qty=0),
            product_row("tee", "Tee", [("Size", "M")], sku="T-M", qty=3),
        ]
        options = ImportOptions(brand_code="NRD", warehouse_code="WH1", file_name="f.csv",
                                actor="vendor", accept_warnings=True)
        applied = apply_import(csv_bytes(PRODUCT_HEADERS, rows), options)
        assert applied.status == "applied", applied.message
        found = levels(engine)
        small = next(k for k in found if k[0].endswith("-S") and k[1] == "WH1")
        medium = next(k for k in found if k[0].endswith("-M") and k[1] == "WH1")
        assert (found[small], found[medium]) == (0, 3)
        assert ledger_rows(engine) == 1  # only the 3 moved anything
        # A second file stating 0 for the same level, and 0 elsewhere, lists both.
        again = [product_row("tee", "Tee", [("Size", "S")], sku="T-S", qty=0)]
        other = ImportOptions(brand_code="NRD", warehouse_code="ST1", file_name="g.csv",
                              actor="vendor", accept_warnings=True)
        assert apply_import(csv_bytes(PRODUCT_HEADERS, again), other).status == "applied"
        assert (small[0], "ST1") in levels(engine)
        with read_session(engine) as session:
            assert reconcile(session) == []
            listed = page_of_balances(session, limit=100)
        assert {(r.sku, r.warehouse, r.on_hand) for r in listed} >= {
            (small[0], "WH1", 0), (small[0], "ST1", 0)}
    finally:
        set_default_engine(None)


def test_a_count_of_zero_where_nothing_was_creates_the_level(engine):
    world = make_world(engine)
    with transaction(engine) as session:
        before = set_count(session, world.variants["S"], world.warehouses["WH2"], 0,
                           actor="counter", expected_on_hand=0)
    assert (before.on_hand, before.reserved) == (0, 0)
    assert levels(engine) == {("NRD-TEE1-BLK-S", "WH2"): 0}
    assert ledger_rows(engine) == 0
    with read_session(engine) as session:
        assert reconcile(session) == []


def test_a_sync_stating_zero_creates_the_level(engine):
    from jobs.syncs.run import run_sync
    from models.syncs import set_connector
    from tests.jobs.test_syncs import stamp
    from tests.sync_support import FAST, DemoBrand, DemoBrandApi, DemoItem, serve_demo

    make_world(engine)
    items = [
        DemoItem("NRD-TEE1-BLK-S", "WH1", 0, stamp()),
        DemoItem("NRD-TEE1-BLK-M", "WH1", 4, stamp()),
        DemoItem("NRD-TEE1-BLK-L", "ST1", 0, stamp()),
    ]
    with serve_demo(DemoBrandApi([DemoBrand("NRD", items)])) as base:
        with transaction(engine) as session:
            set_connector(session, "NRD", style="json", url=f"{base}/brands/NRD/stock",
                          page_size=2)
        run = run_sync("NRD", engine=engine, limits=FAST)
    assert run.status == "succeeded", run
    assert levels(engine) == {
        ("NRD-TEE1-BLK-S", "WH1"): 0, ("NRD-TEE1-BLK-M", "WH1"): 4, ("NRD-TEE1-BLK-L", "ST1"): 0}
    assert ledger_rows(engine) == 1
    with read_session(engine) as session:
        assert reconcile(session) == []


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(sqlite_template, tmp_path) -> str:
    path = tmp_path / "cli.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"


def rackroom(database: str, *args: str) -> subprocess.CompletedProcess:
    import os
    import sys

    return subprocess.run(
        [str(Path(sys.executable).parent / "rackroom"), *args],
        env=os.environ | {"DATABASE_URL": database},
        capture_output=True, text=True, cwd=ROOT, check=False,
    )


def test_the_cli_sets_and_lists_a_key_rate_limit(database):
    made = rackroom(database, "apikey", "create", "shop", "--scope", "stock:read",
                    "--rate", "50/s", "--burst", "100")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("rr_")
    assert "50/s, burst 100" in made.stderr and "id 1" in made.stderr
    assert made.stdout.strip() not in made.stderr
    listed = rackroom(database, "apikey", "list")
    assert listed.stdout.split("\t")[:2] == ["1", "shop"] and "50/s burst 100" in listed.stdout
    default = rackroom(database, "apikey", "create", "plain", "--scope", "stock:read")
    assert "20/s, burst 40" in default.stderr
    for bad in (["--rate", "fast"], ["--burst", "0"], ["--rate", "0/s"]):
        refused = rackroom(database, "apikey", "create", f"bad{bad[1]}", "--scope",
                           "stock:read", *bad)
        assert refused.returncode != 0 and ("rate" in refused.stderr.lower()
                                            or "burst" in refused.stderr.lower())
