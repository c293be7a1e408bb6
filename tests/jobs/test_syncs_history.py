"""The /syncs run history: unchanged ("not modified") runs folded into one line per brand
and hour, paged by lines without losing or repeating a run (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from dashboard.states import sync_history
from dashboard.states.sync_history import Cursor, read_run_lines
from dashboard.states.syncs import RunItem
from models.catalog import create_brand
from models.db import read_session, transaction
from models.syncs import SyncRun

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _runs(engine: Engine, *runs: tuple[str, str, datetime]) -> list[int]:
    """Record runs (brand code, status, started at) in this order; their ids."""
    ids = []
    with transaction(engine) as session:
        brands = {code: create_brand(session, code, code.title()).id for code in ("NORTH", "SOUTH")}
        for code, status, at in runs:
            run = SyncRun(
                brand_id=brands[code],
                style="json",
                policy="newest",
                trigger="scheduled",
                status=status,
                started_at=at,
                finished_at=at + timedelta(seconds=1),
            )
            session.add(run)
            session.flush()
            ids.append(run.id)
    return ids


def _lines(engine: Engine, brand: str | None = None, limit: int = 15, cursor=Cursor()):
    with read_session(engine) as session:
        return read_run_lines(session, brand, cursor, limit=limit)


def test_unchanged_runs_fold_into_one_line_per_brand_and_hour(sqlite_engine: Engine):
    minute = timedelta(minutes=1)
    history = [("NORTH", "unchanged", T0 + i * minute) for i in range(0, 20)]  # 09:00–09:19
    history += [("SOUTH", "unchanged", T0 + i * minute + timedelta(seconds=30)) for i in range(5)]
    history.sort(key=lambda run: run[2])
    history += [("NORTH", "succeeded", T0 + 30 * minute)]
    history += [("NORTH", "unchanged", T0 + (31 + i) * minute) for i in range(40)]  # to 10:10
    history += [("NORTH", "failed", T0 + 75 * minute)]
    _runs(sqlite_engine, *history)

    page = _lines(sqlite_engine)

    shown = [(line.run.brand_code, line.run.status, line.count) for line in page.lines]
    assert shown == [
        ("NORTH", "failed", 1),
        ("NORTH", "unchanged", 11),  # 10:00–10:10
        ("NORTH", "unchanged", 49),  # all of 09:xx, placed at the newest (09:59)
        ("NORTH", "succeeded", 1),  # a run that did something keeps its own line
        ("SOUTH", "unchanged", 5),
    ]
    assert page.older is None
    assert sum(line.count for line in page.lines) == len(history)

    item = RunItem.of(page.lines[1], T0 + timedelta(hours=2))
    assert (item.status, item.runs) == ("unchanged", 11)
    assert item.counts == "feed not modified · 11 runs"
    assert item.message.startswith("10:00–10:10 UTC")
    single = RunItem.of(page.lines[0], T0 + timedelta(hours=2))
    assert single.runs == 1 and single.counts != "feed not modified"

    # One brand: the other's runs are not there.
    north = _lines(sqlite_engine, "NORTH")
    assert {line.run.brand_code for line in north.lines} == {"NORTH"}
    assert sum(line.count for line in north.lines) == len(history) - 5


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_paging_by_lines_loses_and_repeats_no_run(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, limit: int
):
    monkeypatch.setattr(sync_history, "BATCH", 7)  # several reads per page
    second = timedelta(seconds=50)
    history = []
    for i in range(120):  # two brands, 50 s apart, mostly unchanged, across three hours
        status = "succeeded" if i % 17 == 0 else "failed" if i % 29 == 0 else "unchanged"
        history.append(("NORTH" if i % 3 else "SOUTH", status, T0 + i * second))
    ids = _runs(sqlite_engine, *history)

    seen: list[int] = []
    groups: set[tuple[str, str]] = set()
    cursor, pages = Cursor(), 0
    while True:
        page = _lines(sqlite_engine, limit=limit, cursor=cursor)
        pages += 1
        assert 0 < len(page.lines) <= limit
        for line in page.lines:
            seen.append(line.run.id)
            if line.run.status == "unchanged":
                key = (line.run.brand_code, sync_history.hour_key(line.run))
                assert key not in groups, "a brand's hour shown twice"
                groups.add(key)
        if page.older is None:
            break
        cursor = page.older
    # Every run is on exactly one line: counted once, in its brand's hour or alone.
    with read_session(sqlite_engine) as session:
        everything = read_run_lines(session, None, Cursor(), limit=1000)
    assert sum(line.count for line in everything.lines) == len(ids)
    assert seen == [line.run.id for line in everything.lines]
    assert pages == -(-len(everything.lines) // limit)
