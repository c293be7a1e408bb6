"""`rackroom connector …` and `rackroom sync BRAND`, run as real processes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models.db import create_db_engine, read_session
from models.syncs import Connector
from tests.factories import make_world
from tests.jobs.test_cli import rackroom
from tests.sync_support import DemoBrand, DemoBrandApi, DemoItem, serve_demo


@pytest.fixture
def database(sqlite_template, tmp_path) -> str:
    path = tmp_path / "cli.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    make_world(engine)
    engine.dispose()
    return url


@pytest.fixture
def feed():
    now = datetime.now(UTC)
    api = DemoBrandApi(
        [DemoBrand("NRD", [DemoItem(f"NRD-TEE1-BLK-{s}", "WH1", 4, now) for s in "SML"])]
    )
    with serve_demo(api) as base:
        yield api, f"{base}/brands/NRD/stock"


def test_connector_set_and_show_never_print_the_token(database, feed):
    _api, url = feed
    made = rackroom(
        database,
        "connector",
        "set",
        "nrd",
        "--style",
        "json",
        "--url",
        url,
        "--token",
        "s3cret",
        "--every",
        "15m",
        "--policy",
        "platform",
    )
    assert made.returncode == 0, made.stderr
    assert "NRD: json" in made.stdout and "every 15m, policy platform" in made.stdout
    assert "token: set" in made.stdout
    shown = rackroom(database, "connector", "show", "NRD", "--json")
    listed = rackroom(database, "connector", "list")
    for out in (made.stdout, shown.stdout, listed.stdout):
        assert "s3cret" not in out
    assert json.loads(shown.stdout)["token_set"] is True

    # From stdin, to keep it out of the shell history; then cleared.
    rackroom(database, "connector", "set", "NRD", "--token", "-", stdin="other-secret\n")
    engine = create_db_engine(database)
    with read_session(engine) as session:
        assert session.scalar(select(Connector.token)) == "other-secret"
    cleared = rackroom(database, "connector", "set", "NRD", "--no-token")
    assert "token: not set" in cleared.stdout
    engine.dispose()


def test_connector_set_refuses_bad_input(database, feed):
    _api, url = feed
    for args, message in [
        (("--style", "json", "--url", "file:///etc/passwd"), "must be http or https"),
        (("--url", url), "has no connector yet: give --style and --url"),
        (("--style", "json", "--url", url, "--every", "soon"), "is not like 15m"),
        (("--style", "json", "--url", url, "--mapping", '{"itemz": "x"}'), "Unknown mapping"),
    ]:
        refused = rackroom(database, "connector", "set", "NRD", *args)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
    unknown = rackroom(database, "connector", "set", "XYZ", "--style", "json", "--url", url)
    assert unknown.returncode == 1 and "No brand with code 'XYZ'" in unknown.stderr


def test_sync_prints_the_run_and_exits_non_zero_when_it_failed(database, feed):
    api, url = feed
    rackroom(database, "connector", "set", "NRD", "--style", "json", "--url", url)
    ok = rackroom(database, "sync", "NRD", "--json")
    assert ok.returncode == 0, ok.stderr
    record = json.loads(ok.stdout)
    assert (record["status"], record["changed"], record["items"], record["ok"]) == (
        "succeeded",
        3,
        3,
        True,
    )
    again = rackroom(database, "sync", "NRD")
    assert again.returncode == 0 and "unchanged" in again.stdout

    api.set_items("NRD", [DemoItem("NRD-TEE1-BLK-S", "MOON", -1, None)])
    failed = rackroom(database, "sync", "NRD")
    assert failed.returncode == 1
    assert "failed" in failed.stdout
    assert "page 1, item 0: sku 'NRD-TEE1-BLK-S' location 'MOON': quantity cannot be negative" in (
        failed.stdout
    )
    failed_json = json.loads(rackroom(database, "sync", "NRD", "--json").stdout)
    assert failed_json["status"] == "failed" and failed_json["error_count"] == 1

    missing = rackroom(database, "sync", "OTH")
    assert missing.returncode == 1 and "No brand with code 'OTH'" in missing.stderr
