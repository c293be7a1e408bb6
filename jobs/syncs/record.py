"""A sync run's record: finishing it (counts, errors, validators) and reading it back.

Every connector style ends a run through `finish_run` (its own transaction) or
`write_finish` (inside the transaction that applied the items, so a run is applied
with its record or not at all). `jobs.syncs.run` owns the run's start; the styles'
runners (`json_style`, `csv_style`) only ever call into this module, never back into
`run`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from jobs.syncs.apply import ApplyResult
from jobs.syncs.feed import Feed
from jobs.syncs.fetch import Fetcher
from models.base import utcnow
from models.catalog import Brand
from models.db import read_session, transaction
from models.events import EventType, emit
from models.syncs import SyncRun, SyncRunView, SyncStatus, get_run, release_connector

log = logging.getLogger("rackroom.syncs")


def write_finish(
    session: Session,
    run_id: int,
    connector_id: int,
    fetcher: Fetcher,
    feed: Feed,
    *,
    status: SyncStatus,
    result: ApplyResult | None = None,
    failure: str | None = None,
    message: str = "",
    errors: list[dict[str, Any]] | None = None,
    error_count: int = 0,
    validators: dict[str, str | None] | None = None,
    items: int | None = None,
    counts: dict[str, int] | None = None,
) -> None:
    """Finish run `run_id` in `session`: its status, counts and errors, the feed's
    validators (for the next conditional request), and release the brand's claim."""
    values: dict[str, Any] = {
        "status": status.value,
        "finished_at": utcnow(),
        "requests": fetcher.stats.requests,
        "retries": fetcher.stats.retries,
        "pages": feed.pages,
        "bytes": fetcher.stats.bytes,
        "items": len(feed.items) + feed.issue_count if items is None else items,
        "failure": failure,
        "error_count": error_count,
        "errors": errors or [],
    }
    values.update(counts or {})
    if result is not None:
        values.update(
            changed=result.changed,
            unchanged=result.unchanged,
            skipped=result.skipped,
            conflicts_source=result.conflicts_source,
            conflicts_platform=result.conflicts_platform,
            stale=result.stale,
            clamped=result.clamped,
            conflicts=result.conflicts,
        )
        if result.skipped:
            values["errors"] = result.skipped_samples
            first = ", ".join(s["sku"] for s in result.skipped_samples[:3])
            message = message or (
                f"{result.skipped:,} item(s) skipped: SKUs not in the catalogue (e.g. {first})."
            )
    values["message"] = message[:1000]
    run = SyncRun.__table__
    brand_id, code, trigger = session.execute(
        update(run)
        .where(run.c.id == run_id)
        .values(**values)
        .returning(
            run.c.brand_id,
            select(Brand.code).where(Brand.id == run.c.brand_id).scalar_subquery(),
            run.c.trigger,
        )
    ).one()
    release_connector(session, connector_id, **(validators or {}))
    count_names = ("requests", "pages", "items", "changed", "unchanged", "skipped", "stale")
    emit(
        session,
        EventType.SYNC_FINISHED,
        {
            "run_id": run_id,
            "brand": code,
            "status": status.value,
            "trigger": trigger,
            "counts": {name: values[name] for name in count_names if name in values},
            "error_count": error_count,
            "failure": failure,
            "message": values["message"],
        },
        brand_id=brand_id,
        now=values["finished_at"],
    )


def finish_run(
    engine: Engine, run_id: int, connector_id: int, fetcher: Fetcher, feed: Feed, **kw
) -> SyncRunView:
    """`write_finish` in a transaction of its own; returns the finished record (logged)."""
    with transaction(engine) as session:
        write_finish(session, run_id, connector_id, fetcher, feed, **kw)
    view = run_view(engine, run_id)
    level = logging.WARNING if view.status == SyncStatus.FAILED else logging.INFO
    log.log(level, "%s", view.summary())
    return view


def run_view(engine: Engine, run_id: int) -> SyncRunView:
    """The record of run `run_id`, as pages and the CLI show it."""
    with read_session(engine) as session:
        return get_run(session, run_id)
