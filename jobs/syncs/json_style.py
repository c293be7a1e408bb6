"""The JSON connector style: page through the brand's feed, apply every item in one go.

The items are applied in ONE transaction that also finishes the run's record, so a run
is applied with its record or not at all. A balance someone changed while the items
were being applied (a compare-and-swap miss) makes the whole apply start again, up to
`APPLY_ATTEMPTS` times.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from jobs.syncs.apply import ApplyResult, apply_items
from jobs.syncs.feed import Feed, FeedConfig, fetch_json_feed
from jobs.syncs.fetch import Fetcher
from jobs.syncs.record import finish_run, run_view, write_finish
from models.db import transaction
from models.errors import StaleCount
from models.syncs import SyncRunView, SyncStatus

log = logging.getLogger("rackroom.syncs")

APPLY_ATTEMPTS = 3


def run_json(
    engine: Engine,
    config: FeedConfig,
    fetcher: Fetcher,
    feed: Feed,
    *,
    run_id: int,
    connector_id: int,
    brand_id: int,
    policy: str,
    started: datetime,
) -> SyncRunView:
    """One JSON-style run. Fetch failures, refused items and repeated compare-and-swap
    misses raise to `jobs.syncs.run.run_sync`, which records them."""
    fetch_json_feed(fetcher, config, now=started, feed=feed)
    if feed.unchanged:
        return finish_run(engine, run_id, connector_id, fetcher, feed, status=SyncStatus.UNCHANGED)
    result = ApplyResult()
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        try:
            with transaction(engine) as session:
                result = apply_items(
                    session,
                    brand_id=brand_id,
                    brand_code=config.brand_code,
                    policy=policy,
                    mapping=config.mapping,
                    items=feed.items,
                    run_id=run_id,
                    fetched_at=started,
                    feed_issues=feed.issues,
                    feed_issue_count=feed.issue_count,
                )
                write_finish(
                    session,
                    run_id,
                    connector_id,
                    fetcher,
                    feed,
                    status=SyncStatus.SUCCEEDED,
                    result=result,
                    validators={"etag": feed.etag, "last_modified": feed.last_modified},
                )
            break
        except StaleCount:
            if attempt == APPLY_ATTEMPTS:
                raise
            log.info("sync %s: balances changed while applying; retrying", config.brand_code)
    return run_view(engine, run_id)
