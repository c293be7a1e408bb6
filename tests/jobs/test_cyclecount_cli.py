"""`rackroom cyclecount …` as a real process against a real (SQLite) database."""

from __future__ import annotations

from models.db import create_db_engine
from tests.jobs.test_cli import database, rackroom  # noqa: F401 (the fixture)
from tests.transfer_support import make_staff, stocked_world


def test_plan_start_count_submit_and_approve(database):  # noqa: F811
    engine = create_db_engine(database, pool_size=1)
    try:
        world = stocked_world(engine, units=10)
        make_staff(engine, world.brand_id)
    finally:
        engine.dispose()
    plan = rackroom(database, "cyclecount", "plan", "WH1")
    assert plan.returncode == 0 and "A\tevery 30 days\ttolerance 2" in plan.stdout
    refused = rackroom(
        database, "cyclecount", "plan", "WH1", "--class", "A", "--every", "7",
        "--as", "merch@rackroom.test",
    )  # fmt: skip
    assert refused.returncode == 1 and "Only admins or managers" in refused.stderr
    changed = rackroom(
        database, "cyclecount", "plan", "WH1", "--class", "A", "--every", "7",
        "--as", "manager@rackroom.test",
    )  # fmt: skip
    assert "A\tevery 7 days" in changed.stdout
    assert (
        rackroom(database, "cyclecount", "start", "WH1", "--as", "vendor@rackroom.test").returncode
        == 1
    )
    started = rackroom(database, "cyclecount", "start", "WH1", "--as", "merch@rackroom.test")
    assert started.returncode == 0, started.stderr
    lines = [row.split("\t") for row in started.stdout.splitlines()[1:]]
    assert len(lines) == 1 and lines[0][3] == "-"  # all C (no sales): one a day; no expected
    line_id = lines[0][0]
    for value in ("-3", "3.5", "three"):
        bad = rackroom(
            database, "cyclecount", "count", "--as", "merch@rackroom.test", "--", line_id, value
        )
        assert bad.returncode == 1 and "counted must be" in bad.stderr
    unknown = rackroom(database, "cyclecount", "count", "999", "3", "--as", "merch@rackroom.test")
    assert unknown.returncode == 1 and "No count line 999" in unknown.stderr
    rackroom(database, "cyclecount", "count", line_id, "4", "--as", "merch@rackroom.test")
    submitted = rackroom(database, "cyclecount", "submit", "1", "--as", "merch@rackroom.test")
    assert submitted.stdout == "applied 0, waiting for approval 1\n"
    pending = rackroom(database, "cyclecount", "pending", "--as", "manager@rackroom.test")
    assert "expected 10\tcounted 4" in pending.stdout
    approved = rackroom(database, "cyclecount", "approve", line_id, "--as", "manager@rackroom.test")
    assert approved.stdout == f"line {line_id}: applied\n"
    assert rackroom(database, "reconcile").returncode == 0
