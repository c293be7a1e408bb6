"""Conflict policies with hand-made source timestamps, on both databases.

One balance, NRD-TEE1-BLK-M @ WH1, goes through the same story under each policy:

1. the brand says 10 as of T1 (a fixed past time)          → 10 (no conflict)
2. a merchandiser counts 7 on the platform, at P (now)       → 7
3. the brand says 12 as of T1 + 1h (before P)                → a conflict
4. the brand says 12 as of P + 1 ms (after P)               → a conflict
5. the brand says 5 as of T1 (older than its reading in 4)   → stale or not?

`newest`: 3 → the platform wins (its change is newer); 4 → the source wins; 5 → stale,
not applied (older than the reading already applied).
`platform`: 3 → the platform wins (its correction came after the source time); 4 → the
source wins; 5 → applied (no platform correction after it: the brand is trusted).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.syncs.run import run_sync
from models.db import read_session, transaction
from models.stock import LedgerEntry, adjust, get_balance
from models.syncs import set_connector
from tests.factories import make_world
from tests.sync_support import FAST, DemoBrand, DemoBrandApi, DemoItem, at, serve_demo

SKU = "NRD-TEE1-BLK-M"
T1 = at("2026-01-05 10:00")


@pytest.fixture
def story(engine):
    world = make_world(engine)
    api = DemoBrandApi([DemoBrand("NRD", [])])
    with serve_demo(api) as base:

        def sync(quantity, ts, policy):
            api.set_items("NRD", [DemoItem(SKU, "WH1", quantity, ts)])
            with transaction(engine) as session:
                set_connector(
                    session, "NRD", style="json", url=f"{base}/brands/NRD/stock", policy=policy
                )
            run = run_sync("NRD", engine=engine, limits=FAST)
            assert run.status == "succeeded", run.message
            with read_session(engine) as session:
                on_hand = get_balance(session, world.variants["M"], world.warehouses["WH1"]).on_hand
            return run, on_hand

        def correct(delta):
            with transaction(engine) as session:
                adjust(
                    session,
                    world.variants["M"],
                    world.warehouses["WH1"],
                    delta,
                    reason="count",
                    actor="merch@example.com",
                )
                return session.scalar(
                    select(LedgerEntry.created_at).order_by(LedgerEntry.id.desc()).limit(1)
                )

        yield sync, correct


def outcome(run):
    return (
        run.changed,
        run.conflicts_source,
        run.conflicts_platform,
        run.stale,
        [c["won"] for c in run.conflicts],
    )


@pytest.mark.parametrize("policy", ["newest", "platform"])
def test_conflict_policies_with_hand_made_timestamps(story, policy):
    sync, correct = story

    run, on_hand = sync(10, T1, policy)
    assert (on_hand, outcome(run)) == (10, (1, 0, 0, 0, []))

    corrected_at = correct(-3)  # the platform's own correction, at P

    run, on_hand = sync(12, T1 + timedelta(hours=1), policy)
    assert (on_hand, outcome(run)) == (7, (0, 0, 1, 0, ["platform"]))
    (conflict,) = run.conflicts
    assert conflict["platform"] == 7 and conflict["source"] == 12
    assert conflict["platform_at"] == corrected_at.isoformat()
    assert conflict["source_at"] == (T1 + timedelta(hours=1)).isoformat()

    run, on_hand = sync(12, corrected_at + timedelta(milliseconds=1), policy)
    assert (on_hand, outcome(run)) == (12, (1, 1, 0, 0, ["source"]))

    run, on_hand = sync(5, T1, policy)
    if policy == "newest":
        assert (on_hand, outcome(run)) == (12, (0, 0, 0, 1, ["stale"]))
    else:
        assert (on_hand, outcome(run)) == (5, (1, 0, 0, 0, []))


@pytest.mark.parametrize("policy", ["newest", "platform"])
def test_without_platform_changes_newer_readings_simply_apply(story, policy):
    sync, _correct = story
    assert sync(10, T1, policy)[1] == 10
    run, on_hand = sync(8, T1 + timedelta(days=1), policy)
    assert (on_hand, outcome(run)) == (8, (1, 0, 0, 0, []))
    # A feed without timestamps is taken as of the moment it was fetched.
    run, on_hand = sync(6, None, policy)
    assert (on_hand, outcome(run)) == (6, (1, 0, 0, 0, []))
