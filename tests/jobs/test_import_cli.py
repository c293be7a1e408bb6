"""`rackroom import` as a real process against a real (SQLite) database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.import_support import (
    INVENTORY_HEADERS,
    PRODUCT_HEADERS,
    SAMPLE,
    csv_bytes,
    inventory_row,
    product_row,
    sample_with,
)

RACKROOM = [sys.executable, "-m", "jobs.cli"]


@pytest.fixture
def database(sqlite_template, tmp_path) -> str:
    path = tmp_path / "cli.db"
    path.write_bytes(Path(sqlite_template).read_bytes())
    url = f"sqlite:///{path}"
    for args in (
        ("brand", "create", "DEMO", "--name", "Demo"),
        ("warehouse", "create", "WH1", "--name", "Main"),
    ):
        assert rackroom(url, *args).returncode == 0
    return url


def rackroom(database: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RACKROOM, *args],
        env=os.environ | {"DATABASE_URL": database},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dry_run_apply_and_reapply_of_the_sample(database):
    args = ("import", str(SAMPLE), "--brand", "demo", "--warehouse", "WH1")
    planned = rackroom(database, *args, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "dry run (nothing written)" in planned.stdout
    assert "new products 20 · new variants 22 · new aliases 0 · changed balances 22" in (
        planned.stdout
    )
    assert "row 3: Classic Varsity Top — DEMO-CLASSIC-VARSITY-TOP-S (S) @ WH1: 0 → 1" in (
        planned.stdout
    )
    assert "The Vendor column names another brand than DEMO (Demo): 'partners-demo'" in (
        planned.stdout
    )

    refused = rackroom(database, *args, "--actor", "ops@example")
    assert refused.returncode == 1 and "refused: nothing written" in refused.stdout
    assert "--accept-warnings" in refused.stdout

    applied = rackroom(database, *args, "--actor", "ops@example", "--accept-warnings")
    assert applied.returncode == 0 and "applied as import 1" in applied.stdout

    again = rackroom(database, *args, "--json")
    assert again.returncode == 0
    result = json.loads(again.stdout)
    assert result["status"] == "already_applied" and result["already_applied_as"] == 1
    assert rackroom(database, "reconcile").returncode == 0


def test_errors_exit_non_zero_unless_skipped(database, tmp_path):
    feed = tmp_path / "stock.csv"
    feed.write_bytes(
        csv_bytes(
            INVENTORY_HEADERS,
            [
                inventory_row("tee", [("Size", "M")], "T-M", "WH1", 4),
                inventory_row("tee", [("Size", "L")], "T-L", "Nowhere", 2),
                inventory_row("tee", [("Size", "S")], "T-S", "Main", "=2+2"),
            ],
        )
    )
    args = ("import", str(feed), "--brand", "DEMO")
    planned = rackroom(database, *args, "--dry-run")
    assert planned.returncode == 1
    assert "row 3, Location 'Nowhere': unknown location" in planned.stdout
    assert "row 4, On hand '=2+2': quantity is not a number" in planned.stdout

    refused = rackroom(database, *args, "--json")
    assert refused.returncode == 1
    result = json.loads(refused.stdout)
    assert result["status"] == "refused" and len(result["errors"]) == 2
    assert result["errors"][0] == {
        "row": 3,
        "column": "Location",
        "value": "Nowhere",
        "reason": "unknown location: no warehouse has this code or name",
    }

    skipped = rackroom(database, *args, "--skip-invalid", "--accept-warnings")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "Skipped 2 invalid row(s)" in skipped.stdout and "changed balances 1" in skipped.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"Handle,Title,Variant SKU\n", "header row but no data rows"),
        (b"\x00\x01\x02binary\x00", "looks binary"),
        (",".join(f"c{i}" for i in range(10_000)).encode() + b"\n1\n", "10,000 columns"),
    ],
)
def test_bad_files_are_refused_with_a_message(database, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = rackroom(database, "import", str(path), "--brand", "DEMO", "--warehouse", "WH1")
    assert result.returncode == 1
    assert message in result.stdout


def test_a_file_over_the_limit_is_refused_before_reading(database, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.truncate(200 * 1024 * 1024)
    result = rackroom(database, "import", str(path), "--brand", "DEMO")
    assert result.returncode == 1
    assert "200.0 MB; the limit is 50 MB" in result.stderr


def test_unknown_brand_is_refused(database):
    result = rackroom(database, "import", str(SAMPLE), "--brand", "NOPE", "--warehouse", "WH1")
    assert result.returncode == 1 and "No brand with code 'NOPE'" in result.stdout


def test_revert_an_import_from_the_command_line(database):
    args = ("import", str(SAMPLE), "--brand", "DEMO", "--warehouse", "WH1", "--accept-warnings")
    assert rackroom(database, *args).returncode == 0
    reverted = rackroom(database, "import", "revert", "1", "--actor", "ops@example")
    assert reverted.returncode == 0, reverted.stderr
    assert "Reverted import 1 (DEMO): 22 balance(s) put back" in reverted.stdout
    assert "attributes" not in reverted.stdout  # every product was new
    again = rackroom(database, "import", "revert", "1")
    assert again.returncode == 1
    assert "error: Import 1 was already reverted by ops@example" in again.stderr
    missing = rackroom(database, "import", "revert", "7")
    assert missing.returncode == 1 and "There is no import 7." in missing.stderr
    assert rackroom(database, "reconcile").returncode == 0


def test_the_revert_of_a_reimport_says_it_put_the_attributes_back(database, tmp_path):
    args = ("--brand", "DEMO", "--warehouse", "WH1", "--accept-warnings")
    assert rackroom(database, "import", str(SAMPLE), *args).returncode == 0
    retagged = tmp_path / "retagged.csv"
    retagged.write_bytes(sample_with("floral-white-top", tags="women, summer", qty=3))
    assert rackroom(database, "import", str(retagged), *args).returncode == 0
    reverted = rackroom(database, "import", "revert", "2")
    assert reverted.returncode == 0, reverted.stderr
    assert reverted.stdout.strip() == (
        "Reverted import 2 (DEMO): 1 balance(s) and the attributes of 1 product(s) put back "
        "as they were before it."
    )
    with sqlite3.connect(database.removeprefix("sqlite:///")) as db:
        [(tags,)] = db.execute(
            "SELECT json_extract(attributes, '$.tags') FROM product "
            "WHERE style_code = 'floral-white-top'"
        ).fetchall()
    assert json.loads(tags) == ["women"]


def _variants(database: str) -> list[tuple[str, str, int]]:
    with sqlite3.connect(database.removeprefix("sqlite:///")) as db:
        return db.execute(
            "SELECT size, size_system, size_rank FROM variant ORDER BY size_rank"
        ).fetchall()


def test_encoding_option_reads_as_chosen_and_refuses_what_it_cannot_read(database, tmp_path):
    feed = tmp_path / "excel.csv"
    feed.write_bytes(
        csv_bytes(
            PRODUCT_HEADERS,
            [product_row("tee", "Tee", [("Colour", "Café"), ("Size", "M")], sku="T-M", qty=2)],
            encoding="cp1252",
        )
    )
    args = ("import", str(feed), "--brand", "DEMO", "--warehouse", "WH1")
    refused = rackroom(database, *args, "--encoding", "utf-8", "--json")
    assert refused.returncode == 1
    result = json.loads(refused.stdout)
    assert result["status"] == "refused"
    assert "cannot be read as utf-8: byte E9 at offset" in result["message"]
    assert "(line 2)" in result["message"]

    unknown = rackroom(database, *args, "--encoding", "ebcdic")
    assert unknown.returncode == 2 and "'ebcdic' is not one of 'auto'" in unknown.stderr

    applied = rackroom(database, *args, "--encoding", "cp1252", "--accept-warnings", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert json.loads(applied.stdout)["encoding"] == "cp1252"
    with sqlite3.connect(database.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT colour FROM variant").fetchall() == [("Café",)]


def test_a_shoe_brand_reads_bare_numbers_as_eu_shoe_sizes(database, tmp_path):
    made = rackroom(
        database, "brand", "create", "kicks", "--name", "Kicks", "--size-hint", "eu_shoe"
    )
    assert made.returncode == 0, made.stderr
    assert "created brand KICKS (Kicks), size system hint eu_shoe" in made.stdout
    bad = rackroom(database, "brand", "update", "KICKS", "--size-hint", "shoes")
    assert bad.returncode == 2 and "'shoes' is not one of" in bad.stderr
    missing = rackroom(database, "brand", "update", "NOPE", "--size-hint", "waist")
    assert missing.returncode == 1 and "No brand with code 'NOPE'" in missing.stderr

    feed = tmp_path / "shoes.csv"
    sizes = ["42", "41/42", "40.5", "W32/L34"]
    feed.write_bytes(
        csv_bytes(
            PRODUCT_HEADERS,
            [
                product_row("runner", "Runner", [("Size", s)], sku=f"R-{i}", qty=1)
                for i, s in enumerate(sizes)
            ],
        )
    )
    args = ("import", str(feed), "--brand", "kicks", "--warehouse", "WH1", "--accept-warnings")
    assert rackroom(database, *args).returncode == 0
    assert _variants(database) == [
        ("W32 L34", "waist", 3234),  # W/L spelt out stays waist and leg
        ("EU 40.5", "eu_shoe", 4050),
        ("EU 41/42", "eu_shoe", 4150),
        ("EU 42", "eu_shoe", 4200),
    ]

    # The hint is the brand's: cleared, a jeans-style "42" reads as waist again.
    cleared = rackroom(database, "brand", "update", "kicks", "--size-hint", "auto")
    assert cleared.returncode == 0 and "size system hint auto" in cleared.stdout
    feed.write_bytes(
        csv_bytes(PRODUCT_HEADERS, [product_row("jean", "Jean", [("Size", "42")], sku="J", qty=1)])
    )
    assert rackroom(database, *args).returncode == 0
    assert ("W42", "waist", 4200) in _variants(database)
