"""Brand syncs against a real HTTP server on 127.0.0.1 (the demo brand API), on both databases.

Every failure case checks three things: the run's status and recorded errors, and that
nothing was half-applied (balances, ledger and the connector's validators as before).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from jobs.syncs.fetch import FetchLimits
from jobs.syncs.run import run_sync, run_syncs
from models.catalog import Variant, Warehouse
from models.db import read_session, transaction
from models.errors import NotFound
from models.reservations import reserve
from models.stock import LedgerEntry, StockBalance, reconcile
from models.syncs import (
    Connector,
    InvalidConnector,
    SyncBusy,
    SyncRun,
    get_connector,
    get_run,
    pause_sync,
    recent_runs,
    request_sync,
    reschedule_sync,
    resume_sync,
    set_connector,
    sync_health,
)
from tests.factories import make_world
from tests.sync_support import FAST, DemoBrand, DemoBrandApi, DemoItem, serve_demo

SIZES = ("S", "M", "L")
WAREHOUSES = ("WH1", "WH2", "ST1")


def stamp(minutes_ago: float = 60) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes_ago)


def nrd_items(base: int = 10) -> list[DemoItem]:
    """9 items: every size in every warehouse, quantities base, base+1, …"""
    return [
        DemoItem(f"NRD-TEE1-BLK-{size}", wh, base + i, stamp())
        for i, (size, wh) in enumerate((s, w) for s in SIZES for w in WAREHOUSES)
    ]


class Brand:
    def __init__(self, engine, api: DemoBrandApi, base: str) -> None:
        self.engine, self.api, self.base = engine, api, base

    def connect(self, **options) -> None:
        options = {
            "style": "json",
            "url": f"{self.base}/brands/NRD/stock",
            "page_size": 2,
        } | options
        with transaction(self.engine) as session:
            set_connector(session, "NRD", **options)

    def sync(self, limits: FetchLimits = FAST):
        return run_sync("NRD", engine=self.engine, limits=limits)

    def stock(self) -> dict[tuple[str, str], int]:
        with read_session(self.engine) as session:
            rows = session.execute(
                select(Variant.sku, Warehouse.code, StockBalance.on_hand)
                .join(Variant, Variant.id == StockBalance.variant_id)
                .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
            )
            return {(sku, wh): q for sku, wh, q in rows}

    def ledger(self) -> list[tuple[str, str | None, str | None]]:
        with read_session(self.engine) as session:
            return [
                tuple(r)
                for r in session.execute(
                    select(LedgerEntry.reason, LedgerEntry.reference, LedgerEntry.note).order_by(
                        LedgerEntry.id
                    )
                )
            ]

    def state(self):
        """Everything a failed run must leave as it was."""
        with read_session(self.engine) as session:
            connector = session.scalar(select(Connector))
            validators = (connector.etag, connector.last_modified, connector.running_since)
        return self.stock(), self.ledger(), validators


@pytest.fixture
def world(engine):
    return make_world(engine, warehouses=tuple((w, 10 * i) for i, w in enumerate(WAREHOUSES)))


@pytest.fixture
def brand(engine, world):
    api = DemoBrandApi([DemoBrand("NRD", nrd_items())])
    with serve_demo(api) as base:
        brand = Brand(engine, api, base)
        brand.connect()
        yield brand


def expected_stock(base: int = 10) -> dict[tuple[str, str], int]:
    return {(i.sku, i.location): i.quantity for i in nrd_items(base)}


# --- the happy paths -------------------------------------------------------------------


def test_paging_fetches_every_page_and_applies_them_in_one_run(brand):
    run = brand.sync()
    assert (run.status, run.pages, run.items, run.changed, run.unchanged) == (
        "succeeded",
        5,
        9,
        9,
        0,
    )
    assert run.requests == 5 and run.retries == 0 and run.error_count == 0
    assert brand.stock() == expected_stock()
    ledger = brand.ledger()
    assert len(ledger) == 9
    assert {(reason, reference) for reason, reference, _note in ledger} == {
        ("sync", f"sync-run:{run.id}")
    }
    assert all("NRD feed:" in note for _r, _ref, note in ledger)
    with read_session(brand.engine) as session:
        assert reconcile(session) == []
    assert brand.api.requests["NRD"] == 5


def test_an_unchanged_feed_costs_one_request_etag_then_if_modified_since(brand):
    brand.sync()
    before = brand.api.requests["NRD"]
    again = brand.sync()
    assert (again.status, again.requests, again.pages, again.changed) == ("unchanged", 1, 0, 0)
    assert brand.api.requests["NRD"] == before + 1

    # Without an ETag the Last-Modified date alone still gets a 304.
    with transaction(brand.engine) as session:
        session.execute(update(Connector).values(etag=None))
    assert brand.sync().status == "unchanged"

    brand.api.set_quantity("NRD", "NRD-TEE1-BLK-M", "WH2", 99)
    changed = brand.sync()
    assert (changed.status, changed.changed, changed.unchanged) == ("succeeded", 1, 8)
    assert brand.stock()[("NRD-TEE1-BLK-M", "WH2")] == 99


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_on_429_and_503(brand, status):
    brand.api.add_fault(kind="status", status=status, retry_after="1")
    began = time.monotonic()
    run = brand.sync()
    assert run.status == "succeeded" and run.retries == 1
    assert time.monotonic() - began >= 1.0
    assert brand.stock() == expected_stock()


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_beyond_the_run_limits_fails_without_waiting(brand, status):
    before = brand.state()
    brand.api.add_fault(kind="status", status=status, retry_after="3600")
    run = brand.sync()
    assert run.status == "failed" and run.failure == "fetch"
    assert f"3600s ({status} Retry-After)" in run.message
    assert run.requests == 1  # refused at once: no second try, no hour-long sleep
    assert brand.state() == before


def test_5xx_then_success(brand):
    brand.api.add_fault(kind="status", status=503, times=2)
    run = brand.sync()
    assert (run.status, run.retries, run.changed) == ("succeeded", 2, 9)
    assert brand.stock() == expected_stock()


def test_5xx_that_never_ends_fails_after_the_attempts(brand):
    before = brand.state()
    brand.api.add_fault(kind="status", status=500, times=-1)
    run = brand.sync()
    assert run.status == "failed" and run.failure == "fetch"
    assert "after 3 attempts: 500 Internal Server Error" in run.message
    assert run.requests == 3
    assert brand.state() == before


def test_a_slow_answer_times_out_and_is_retried(brand):
    brand.api.add_fault(kind="slow", seconds=2.5)  # read timeout is 1 s
    run = brand.sync()
    assert run.status == "succeeded" and run.retries == 1
    assert brand.stock() == expected_stock()


def test_a_server_that_always_times_out_fails_the_run(brand):
    before = brand.state()
    brand.api.add_fault(kind="slow", seconds=2.5, times=-1)
    run = brand.sync()
    assert run.status == "failed" and "timed out" in run.message
    assert brand.state() == before


def test_the_maximum_run_time_stops_a_run(brand):
    before = brand.state()
    brand.api.add_fault(kind="slow", seconds=0.6, times=-1)
    limits = FetchLimits(read_timeout=2, max_run_seconds=1.5, backoff_base=0.05)
    began = time.monotonic()
    run = brand.sync(limits)
    assert run.status == "failed" and "time limit (1.5s)" in run.message
    assert time.monotonic() - began < 3.5
    assert brand.state() == before


# --- bad answers -----------------------------------------------------------------------


def test_malformed_json_fails_with_a_sample_and_changes_nothing(brand):
    brand.sync()
    brand.api.set_quantity("NRD", "NRD-TEE1-BLK-S", "WH1", 1)
    before = brand.state()
    brand.api.add_fault(kind="malformed", page=1)
    run = brand.sync()
    assert run.status == "failed" and run.failure == "response"
    assert "Page 1 is not valid JSON" in run.message
    assert run.errors[0]["value"]  # the text around the error
    assert brand.state() == before


def test_an_html_page_instead_of_json_is_named_as_such(brand):
    before = brand.state()
    brand.api.add_fault(kind="html")
    run = brand.sync()
    assert run.status == "failed"
    assert "Page 1 is an HTML page (Maintenance), not JSON" in run.message
    assert brand.state() == before


def test_a_page_missing_mid_run_applies_nothing_not_even_the_pages_before(brand):
    before = brand.state()
    brand.api.add_fault(kind="missing", page=3)
    run = brand.sync()
    assert run.status == "failed" and run.failure == "fetch"
    assert "page 3 of the feed is missing (404" in run.message.lower()
    assert run.pages == 2  # pages 1 and 2 came, and were not applied
    assert brand.state() == before
    # The validators did not advance: the next run fetches and applies everything.
    assert brand.sync().changed == 9


def test_a_response_over_the_size_limit_is_cut_off(brand):
    before = brand.state()
    brand.api.add_fault(kind="huge", bytes=8 * 1024 * 1024)
    limits = FetchLimits(max_page_bytes=1024 * 1024, backoff_base=0.05)
    began = time.monotonic()
    run = brand.sync(limits)
    assert run.status == "failed" and run.failure == "response"
    assert "larger than 1 MB" in run.message
    assert time.monotonic() - began < 5
    assert brand.state() == before


def test_another_brands_skus_fail_the_run_and_say_whose_they_are(engine, brand):
    make_world(engine, brand="OTH", warehouses=())
    items = nrd_items()
    items.insert(4, DemoItem("OTH-TEE1-BLK-M", "WH1", 500, stamp()))
    brand.api.set_items("NRD", items)
    before = brand.state()
    run = brand.sync()
    assert run.status == "failed" and run.failure == "items"
    assert run.error_count == 1
    assert run.errors[0]["reason"] == "SKU belongs to brand OTH, not NRD"
    assert (run.errors[0]["page"], run.errors[0]["item"]) == (3, 0)
    assert brand.state() == before


def test_every_bad_item_is_reported_and_none_applied(brand):
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    bad = [
        DemoItem("NRD-TEE1-BLK-S", "WH1", -4, stamp()),
        DemoItem("NRD-TEE1-BLK-M", "MOON", 3, stamp()),
        DemoItem("NRD-TEE1-BLK-L", "WH1", 2.5, stamp()),
        DemoItem("NRD-TEE1-BLK-S", "WH2", 3, "2026-11-01T10:00:00"),
        DemoItem("NRD-TEE1-BLK-M", "WH2", 3, future),
        DemoItem("", "WH1", 3, stamp()),
        DemoItem("NRD-TEE1-BLK-L", "WH2", "lots", stamp()),
    ]
    brand.api.set_items("NRD", [*bad, *nrd_items()[7:]])
    before = brand.state()
    run = brand.sync()
    assert run.status == "failed" and run.error_count == 7
    assert [e["reason"] for e in run.errors] == [
        "quantity cannot be negative",
        "unknown location (not a warehouse code, and not in the mapping's locations)",
        "quantity must be a whole number",
        "updated_at has no time zone (add Z or +00:00)",
        "updated_at is in the future",
        "SKU is missing",
        "quantity is not a number",
    ]
    assert brand.state() == before


def test_unknown_skus_are_skipped_and_counted_unless_the_mapping_says_error(brand):
    brand.api.set_items("NRD", [*nrd_items(), DemoItem("NRD-NEW-1", "WH1", 4, stamp())])
    run = brand.sync()
    assert (run.status, run.changed, run.skipped) == ("succeeded", 9, 1)
    assert run.errors[0]["sku"] == "NRD-NEW-1" and "skipped" in run.errors[0]["reason"]
    assert run.error_count == 0

    brand.connect(mapping={"unknown_skus": "error"})
    strict = brand.sync()
    assert strict.status == "failed" and strict.error_count == 1


def test_aliases_and_location_names_resolve_through_the_mapping(engine, brand):
    with transaction(engine) as session:
        from models.catalog import SkuAlias

        variant = session.scalar(select(Variant).where(Variant.sku == "NRD-TEE1-BLK-M"))
        session.add(
            SkuAlias(
                variant_id=variant.id, brand_id=variant.brand_id, kind="brand", code="N-0001-M"
            )
        )
    brand.api.add_brand(
        DemoBrand(
            "NRD",
            [DemoItem("N-0001-M", "amsterdam", 42, stamp())],
            shape="nested",
        )
    )
    brand.connect(
        mapping={
            "items": "data.stock",
            "sku": "variant_sku",
            "location": "warehouse",
            "quantity": "available",
            "updated_at": "modified",
            "next_cursor": "paging.next",
            "locations": {"Amsterdam": "WH2"},
        }
    )
    run = brand.sync()
    assert (run.status, run.changed) == ("succeeded", 1)
    assert brand.stock() == {("NRD-TEE1-BLK-M", "WH2"): 42}


def test_quantities_below_what_is_reserved_keep_the_reserved_units(engine, world, brand):
    brand.sync()
    with transaction(engine) as session:
        reserve(
            session,
            world.variants["M"],
            5,
            channel="web",
            order_ref="o1",
            actor="t",
            warehouse_id=world.warehouses["WH1"],
        )
    brand.api.set_quantity("NRD", "NRD-TEE1-BLK-M", "WH1", 2)
    run = brand.sync()
    assert (run.status, run.clamped) == ("succeeded", 1)
    assert brand.stock()[("NRD-TEE1-BLK-M", "WH1")] == 5
    assert [c["won"] for c in run.conflicts] == ["reserved"]


# --- configuration, tokens, refusals ---------------------------------------------------


def test_the_token_is_sent_and_never_shown_back(engine, brand):
    brand.api.brands["NRD"].token = "s3cret-token"
    refused = brand.sync()
    assert refused.status == "failed" and "refused our credentials" in refused.message
    brand.connect(token="s3cret-token")
    run = brand.sync()
    assert run.status == "succeeded"
    with read_session(engine) as session:
        view = get_connector(session, "NRD")
        health = sync_health(session)
    assert view.token_set is True
    for shown in (view.to_dict(), health[0].to_dict(), run.to_dict(), refused.to_dict()):
        assert "s3cret-token" not in repr(shown)


def test_non_http_urls_are_refused_when_set_and_when_run(engine, brand):
    for url in ("file:///etc/passwd", "ftp://example.com/feed", "javascript:alert(1)", "/stock"):
        with pytest.raises(InvalidConnector), transaction(engine) as session:
            set_connector(session, "NRD", url=url)
    with transaction(engine) as session:  # a row written some other way
        session.execute(update(Connector).values(url="file:///etc/passwd"))
    run = brand.sync()
    assert run.status == "failed" and run.failure == "config"
    assert "only http and https" in run.message
    assert brand.stock() == {}


def test_a_second_run_of_the_same_brand_is_refused_while_one_runs(brand):
    brand.api.add_fault(kind="slow", seconds=0.8)
    first: list = []
    thread = threading.Thread(target=lambda: first.append(brand.sync()))
    thread.start()
    time.sleep(0.3)
    with pytest.raises(SyncBusy, match="already running"):
        brand.sync()
    thread.join()
    assert first[0].status == "succeeded"
    assert brand.sync().status == "unchanged"  # the claim was released


def test_no_connector_is_a_clear_refusal(engine, world):
    with pytest.raises(NotFound, match="has no connector"):
        run_sync("NRD", engine=engine)


def test_brands_sync_concurrently_up_to_the_limit(engine, world):
    codes = ["NRD", "AAA", "BBB", "CCC"]
    for code in codes[1:]:
        make_world(engine, brand=code, warehouses=())
    api = DemoBrandApi(
        [DemoBrand(code, [DemoItem(f"{code}-TEE1-BLK-S", "WH1", 3, stamp())]) for code in codes]
    )
    api.add_fault(kind="slow", seconds=0.4, times=-1)
    with serve_demo(api) as base:
        with transaction(engine) as session:
            for code in codes:
                set_connector(session, code, style="json", url=f"{base}/brands/{code}/stock")
        runs = run_syncs(codes, engine=engine, concurrency=2, limits=FAST)
    assert [r.status for r in runs] == ["succeeded"] * 4
    assert api.max_in_flight == 2


# --- what a /syncs page reads ----------------------------------------------------------


def test_health_runs_and_actions_for_the_syncs_page(engine, brand):
    brand.sync()
    brand.api.add_fault(kind="html")
    brand.api.set_quantity("NRD", "NRD-TEE1-BLK-S", "WH1", 1)
    failed = brand.sync()
    with read_session(engine) as session:
        (health,) = sync_health(session)
        runs = recent_runs(session, "NRD")
        detail = get_run(session, failed.id)
    assert health.brand_code == "NRD"
    assert health.last_run.id == failed.id and health.last_run.status == "failed"
    assert health.last_success_at is not None and health.staleness_seconds < 60
    assert health.stale is False and health.recent_failures == 1
    assert "HTML page" in health.last_error
    assert [r.status for r in runs] == ["failed", "succeeded"]
    assert runs[0].errors == [] and detail.errors  # samples only in the detail

    with transaction(engine) as session:
        assert pause_sync(session, "NRD").paused is True
        assert resume_sync(session, "NRD").paused is False
        assert reschedule_sync(session, "NRD", "1h30m").every == "1h30m"
        assert request_sync(session, "NRD").run_requested_at is not None
        with pytest.raises(InvalidConnector):
            reschedule_sync(session, "NRD", "every now and then")
    ok = brand.sync()
    with read_session(engine) as session:
        assert get_connector(session, "NRD").run_requested_at is None  # taken by the run
        assert sync_health(session)[0].last_run.id == ok.id


# --- the CSV style: the import pipeline behind an HTTP fetch ---------------------------


def test_csv_style_fetches_the_file_and_applies_it_through_the_importer(engine, world, brand):
    from jobs.imports import MappingSpec, save_mapping
    from models.imports import ImportRun

    with transaction(engine) as session:
        save_mapping(
            session,
            world.brand_id,
            "feed",
            MappingSpec(columns={"sku": "SKU", "location": "Location", "quantity": "Quantity"}),
        )
    brand.connect(
        style="csv", url=f"{brand.base}/brands/NRD/stock.csv", mapping={"csv_mapping": "feed"}
    )
    run = brand.sync()
    assert (run.status, run.items, run.changed, run.pages) == ("succeeded", 9, 9, 1)
    assert "Applied as import" in run.message
    assert brand.stock() == expected_stock()
    assert {r[0] for r in brand.ledger()} == {"import"}  # the importer's own ledger rows
    assert brand.sync().status == "unchanged"  # 304

    # A bad row: the importer refuses the whole file, nothing applied.
    brand.api.set_quantity("NRD", "NRD-TEE1-BLK-S", "WH2", -2)
    before = brand.state()
    refused = brand.sync()
    assert refused.status == "failed" and refused.failure == "items"
    assert refused.errors[0]["reason"] == "quantity cannot be negative"
    assert brand.state() == before

    # Without validators, the same bytes are recognised by their hash: nothing changes.
    brand.api.set_quantity("NRD", "NRD-TEE1-BLK-S", "WH2", 42)
    assert brand.sync().changed == 1
    with transaction(engine) as session:
        session.execute(update(Connector).values(etag=None, last_modified=None))
    again = brand.sync()
    assert again.status == "unchanged"
    assert "was applied as import" in again.message
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ImportRun)) == 3


# --- the small rules ---------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    import random as _random

    import httpx

    from jobs.syncs.fetch import Fetcher

    limits = FetchLimits(backoff_base=0.5, backoff_cap=4.0)
    with httpx.Client() as client:
        fetcher = Fetcher(client, limits, rng=_random.Random(1))
        for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)):
            delays = [fetcher.backoff(attempt) for _ in range(200)]
            assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
            assert len({round(d, 6) for d in delays}) > 150  # jittered, not lockstep


def test_retry_after_in_seconds_or_as_an_http_date():
    from email.utils import format_datetime

    from jobs.syncs.fetch import retry_after_seconds

    assert retry_after_seconds("7") == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 30
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_a_run_whose_process_died_is_closed_and_its_brand_can_sync_again(engine, brand):
    from models.syncs import close_abandoned_runs

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with transaction(engine) as session:
        connector = session.scalar(select(Connector))
        session.add(
            SyncRun(
                brand_id=connector.brand_id,
                style="json",
                policy="newest",
                trigger="schedule",
                status="running",
                started_at=long_ago,
            )
        )
        session.execute(update(Connector).values(running_since=long_ago))
    # A claim older than the run time limit (+ grace) is taken over by the next run…
    assert brand.sync().status == "succeeded"
    # … and the scheduler's watch closes the dead run.
    with transaction(engine) as session:
        assert close_abandoned_runs(session, older_than=datetime.now(UTC) - timedelta(hours=1)) == 1
    with read_session(engine) as session:
        statuses = [r.status for r in recent_runs(session, "NRD")]
    assert statuses == ["succeeded", "abandoned"]
