"""Analytics frames shared as Arrow IPC files (`jobs.analytics.shared`), on SQLite and
PostgreSQL: what other processes map gives the same answers as frames loaded in process,
a refresh reaches them, and files that do not fit the database are never used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import delete, insert

from jobs.analytics.frames import AnalyticsData
from jobs.analytics.shared import CURRENT, FRAME_NAMES, FrameStore
from models.db import transaction
from models.reservations import SaleLine
from tests.jobs.test_analytics import AS_OF, Shop, at

ROOT = Path(__file__).resolve().parents[3]

#: The answers compared: one per kind of computation (sales, stock, both, labels).
ANSWERS = textwrap.dedent("""
    from jobs.analytics import metrics as m

    def answers(frames, end):
        f = m.Filters(end=end)
        return {
            "velocity": m.sales_velocity(frames, f, brand_scope=None),
            "velocity_brand": m.sales_velocity(frames, f, brand_scope=None, level="brand"),
            "trend": m.sales_trend(frames, f, brand_scope=None),
            "cover": m.weeks_of_cover(frames, f, brand_scope=None),
            "size_curve": m.size_curve(frames, f, brand_scope=None),
            "ageing": m.stock_ageing(frames, f, brand_scope=None),
        }
""")

#: A reader process: maps the newest version on each line it is sent, writes its answers.
READER = ANSWERS + textwrap.dedent("""
    import json, sys
    from datetime import date
    from pathlib import Path
    from jobs.analytics.frames import AnalyticsData
    from jobs.analytics.shared import FrameStore
    from models.db import create_db_engine

    url, root, out, end = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    engine = create_db_engine(url)
    data = AnalyticsData(engine, max_staleness=0, store=FrameStore.for_engine(engine, root))
    for step in sys.stdin:
        frames = data.frames()
        for name, frame in answers(frames, date.fromisoformat(end)).items():
            frame.write_ipc(out / f"{step.strip()}-{name}.arrow")
        print(json.dumps({"version": data._version, "loaded": data.load_stats.seconds > 0,
                          "sale_lines": frames.sales.height}), flush=True)
""")


def answers(frames, end=AS_OF) -> dict[str, pl.DataFrame]:
    scope: dict = {}
    exec(ANSWERS, scope)
    return scope["answers"](frames, end)


def store_for(engine, root: Path) -> FrameStore:
    store = FrameStore.for_engine(engine, root)
    assert store is not None
    return store


@pytest.fixture
def shop(engine) -> Shop:
    return Shop(engine)


def add_sale(shop: Shop, qty: int, days_before: int) -> None:
    v, wh = shop.nrd.variants, shop.nrd.warehouses
    with transaction(shop.engine) as session:
        session.execute(insert(SaleLine.__table__), [{
            "variant_id": v["L"], "warehouse_id": wh["WH1"], "qty": qty, "channel": "web",
            "order_ref": f"new{qty}", "sold_at": at(days_before), "unit_price_cents": 2500,
        }])


class Reader:
    """Another process reading the shared files (`READER`)."""

    def __init__(self, url: str, root: Path, out: Path) -> None:
        self.out = out
        out.mkdir()
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, url, str(root), str(out), AS_OF.isoformat()],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def ask(self, step: str) -> tuple[dict, dict[str, pl.DataFrame]]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(step + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the reader process ended ({self.process.wait()})"
        found = {p.name.removeprefix(f"{step}-").removesuffix(".arrow"): pl.read_ipc(p)
                 for p in self.out.glob(f"{step}-*.arrow")}
        return json.loads(line), found

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def assert_same(got: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    assert set(got) == set(expected)
    for name, frame in expected.items():
        assert got[name].equals(frame), name


def test_two_processes_on_the_shared_files_answer_as_in_process_and_follow_refreshes(
    shop, tmp_path
):
    # The leader's job, publishing at once (its interval is RACKROOM_ANALYTICS_PUBLISH_INTERVAL).
    writer = AnalyticsData(shop.engine, max_staleness=0, store=store_for(shop.engine, tmp_path))
    first = writer.lead(publish_every=0)
    assert first is not None
    url = shop.engine.url.render_as_string(hide_password=False)
    readers = [Reader(url, tmp_path, tmp_path / f"out{i}") for i in range(2)]
    try:
        expected = answers(AnalyticsData(shop.engine, max_staleness=0).frames())
        assert expected["velocity"].height > 0
        for reader in readers:
            info, got = reader.ask("first")
            # Mapped the published version; did not load from the database.
            assert info["version"] == first and not info["loaded"]
            assert_same(got, expected)

        # The leader refreshes and publishes: both move to the new version.
        add_sale(shop, 11, days_before=2)
        second = writer.lead(publish_every=0)
        assert second is not None and second != first
        expected = answers(AnalyticsData(shop.engine, max_staleness=0).frames())
        for reader in readers:
            info, got = reader.ask("second")
            assert info["version"] == second and not info["loaded"]
            assert_same(got, expected)
        assert got["velocity"].filter(pl.col("sku") == "NRD-TEE1-BLK-L")["units_7d"][0] == 11

        # A change the leader has seen but not yet published (its tick moved): each
        # reader catches up from the database itself.
        add_sale(shop, 13, days_before=1)
        assert writer.lead(publish_every=3600) is None
        expected = answers(AnalyticsData(shop.engine, max_staleness=0).frames())
        for reader in readers:
            info, got = reader.ask("third")
            assert info["version"] == second and not info["loaded"]
            assert_same(got, expected)
    finally:
        for reader in readers:
            reader.close()


def test_mapped_frames_equal_the_frames_written(shop, tmp_path):
    store = store_for(shop.engine, tmp_path)
    writer = AnalyticsData(shop.engine, store=store)
    loaded = writer.frames()
    version = writer.publish()
    assert version is not None and store.current() == version
    published = store.open(version)
    assert published is not None
    for name in FRAME_NAMES:
        assert getattr(published.frames, name).equals(getattr(loaded, name)), name
    # Unchanged since: nothing new to write.
    assert writer.publish() is None


def test_a_process_without_files_loads_itself(shop, tmp_path):
    data = AnalyticsData(shop.engine, max_staleness=0, store=store_for(shop.engine, tmp_path))
    expected = answers(AnalyticsData(shop.engine, max_staleness=0).frames())
    assert_same(answers(data.frames()), expected)
    assert data._version is None and data.load_stats.seconds > 0


def test_files_of_another_life_of_the_database_are_ignored(shop, tmp_path):
    store = store_for(shop.engine, tmp_path)
    AnalyticsData(shop.engine, store=store).publish()
    # The rows the files were made from are gone (as after TRUNCATE and a new load).
    with transaction(shop.engine) as session:
        session.execute(delete(SaleLine))
    add_sale(shop, 3, days_before=1)
    data = AnalyticsData(shop.engine, max_staleness=0, store=store)
    assert data.frames().sales.height == 1
    assert data.load_stats.seconds > 0


def test_a_version_is_complete_before_current_names_it(shop, tmp_path):
    store = store_for(shop.engine, tmp_path)
    writer = AnalyticsData(shop.engine, store=store)
    versions = [writer.publish()]
    for qty in (1, 2, 3):
        add_sale(shop, qty, days_before=1)
        versions.append(writer.publish())
    current = (store.folder / CURRENT).read_text()
    assert current == versions[-1]
    kept = sorted(p.name for p in store.folder.iterdir())
    # The newest and the one before it; no temporary files left behind.
    assert kept == [CURRENT, *versions[-2:]]
    assert sorted(p.name for p in (store.folder / current).iterdir()) == sorted(
        [*(f"{n}.arrow" for n in FRAME_NAMES), "meta.json"]
    )


def test_memory_databases_share_nothing(sqlite_engine):
    from models.db import create_db_engine

    assert FrameStore.for_engine(create_db_engine("sqlite://")) is None
    assert FrameStore.for_engine(sqlite_engine) is not None


def test_a_reader_in_step_with_the_leaders_tick_does_not_ask_the_database(shop, tmp_path):
    from sqlalchemy import event

    store = store_for(shop.engine, tmp_path)
    leader = AnalyticsData(shop.engine, store=store)
    leader.lead(publish_every=0)
    # A sale line whose id skips two: the leader re-asks for those on every refresh
    # (they may commit late), which changes nothing while they do not turn up.
    newest = int(leader.frames().sales["id"].max())
    v, wh = shop.nrd.variants, shop.nrd.warehouses
    with transaction(shop.engine) as session:
        session.execute(insert(SaleLine.__table__), [{
            "id": newest + 3, "variant_id": v["S"], "warehouse_id": wh["WH1"], "qty": 1,
            "channel": "web", "order_ref": "skip", "sold_at": at(1), "unit_price_cents": 100,
        }])
    leader.lead(publish_every=3600)
    assert leader._sales_tail.gaps
    reader = AnalyticsData(shop.engine, max_staleness=0, store=store)
    reader.frames()
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(shop.engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            leader.lead(publish_every=3600)  # nothing new: the count stays
            statements.clear()
            reader.frames()
            assert statements == []
        add_sale(shop, 5, days_before=1)
        leader.lead(publish_every=3600)
        statements.clear()
        assert reader.frames().sales.height == leader.frames().sales.height
        assert statements  # the count moved: the reader caught up itself
    finally:
        event.remove(shop.engine, "before_cursor_execute", seen)
