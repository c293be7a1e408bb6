"""One sync run of one brand, recorded from start to finish; and many brands at once.

A run:

1. claims the brand's connector (a second run of the same brand is refused while one
   holds it) and writes its `SyncRun` row as "running" — committed, so a page sees it;
2. fetches every page (no database transaction is open meanwhile);
3. applies the items in ONE transaction that also finishes the run row, stores the
   feed's validators (ETag / Last-Modified) and releases the claim; a refusal or any
   failure rolls all of that back and records the failure in a transaction of its own.

Nothing raises out of `run_sync` for a failed run: the failure is in the returned
record (status "failed", `failure` saying where, `errors` with samples). The only
exceptions are refusals before a run exists (no connector: NotFound; the brand is
being synced already: SyncBusy).
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, update

from jobs.syncs.apply import ApplyResult, ItemsRefused, apply_items
from jobs.syncs.feed import Feed, FeedConfig, Issue, fetch_json_feed, shown
from jobs.syncs.fetch import DEFAULT_LIMITS, Fetcher, FetchFailed, FetchLimits
from models.base import utcnow
from models.db import get_engine, read_session, transaction
from models.errors import DomainError, StaleCount
from models.syncs import (
    ConnectorStyle,
    SyncBusy,
    SyncRun,
    SyncRunView,
    SyncStatus,
    _connector_for,
    claim_connector,
    get_run,
    release_connector,
)

log = logging.getLogger("rackroom.syncs")

#: A claim this much older than the run time limit belongs to a dead process.
CLAIM_GRACE = timedelta(minutes=5)
APPLY_ATTEMPTS = 3
USER_AGENT = "Rackroom-sync/1.0"


def run_sync(
    brand_code: str,
    *,
    engine: Engine | None = None,
    trigger: str = "manual",
    limits: FetchLimits | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncRunView:
    """Sync one brand now and return its run record (failed runs included)."""
    engine = engine or get_engine()
    limits = limits or DEFAULT_LIMITS
    started = utcnow()
    with transaction(engine) as session:
        connector, brand = _connector_for(session, brand_code)
        stale_after = timedelta(seconds=limits.max_run_seconds) + CLAIM_GRACE
        if not claim_connector(session, connector.id, now=started, stale_after=stale_after):
            raise SyncBusy(
                f"A sync of {brand.code} is already running (since "
                f"{connector.running_since:%Y-%m-%d %H:%M:%S} UTC).",
                brand=brand.code,
            )
        run = SyncRun(
            brand_id=brand.id,
            style=connector.style,
            policy=connector.policy,
            trigger=trigger[:16],
            status=SyncStatus.RUNNING.value,
            started_at=started,
        )
        session.add(run)
        session.flush()
        run_id = run.id
        config = FeedConfig(
            brand_code=brand.code,
            style=connector.style,
            url=connector.url,
            token=connector.token,
            auth_header=connector.auth_header,
            page_size=connector.page_size,
            mapping=dict(connector.mapping or {}),
            etag=connector.etag,
            last_modified=connector.last_modified,
        )
        connector_id, brand_id, policy = connector.id, brand.id, connector.policy
    log.info("sync %s started (run %s, %s)", brand.code, run_id, trigger)
    own_client = client is None
    if own_client:
        client = httpx.Client(
            follow_redirects=False, headers={"User-Agent": USER_AGENT}, verify=_ssl_context()
        )
    fetcher = Fetcher(client, limits, sleep=sleep)
    feed = Feed()
    try:
        if config.style == ConnectorStyle.CSV.value:
            from jobs.syncs.csv_style import run_csv

            return run_csv(
                engine,
                config,
                fetcher,
                run_id=run_id,
                connector_id=connector_id,
                brand_id=brand_id,
                started=started,
            )
        fetch_json_feed(fetcher, config, now=started, feed=feed)
        if feed.unchanged:
            return _finish(engine, run_id, connector_id, fetcher, feed, status=SyncStatus.UNCHANGED)
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
                    _write_finish(
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
        return _view(engine, run_id)
    except ItemsRefused as refused:
        plural = "s" if refused.count != 1 else ""
        return _finish(
            engine,
            run_id,
            connector_id,
            fetcher,
            feed,
            status=SyncStatus.FAILED,
            failure="items",
            message=f"{refused.count} item{plural} cannot be applied "
            f"({_top_reasons(refused.issues)}); nothing was applied.",
            errors=[i.to_dict() for i in refused.issues],
            error_count=refused.count,
        )
    except FetchFailed as failed:
        issue = Issue(feed.pages + 1, None, failed.message, value=failed.value or "")
        return _finish(
            engine,
            run_id,
            connector_id,
            fetcher,
            feed,
            status=SyncStatus.FAILED,
            failure=failed.kind,
            message=failed.message + " Nothing was applied.",
            errors=[issue.to_dict()],
            error_count=1,
        )
    except StaleCount as error:
        return _finish(
            engine,
            run_id,
            connector_id,
            fetcher,
            feed,
            status=SyncStatus.FAILED,
            failure="apply",
            message=f"{error.message} Stock kept changing while the feed was applied; "
            "the next run will try again.",
            error_count=1,
        )
    except Exception as error:  # a run must never take the scheduler down
        log.exception("sync %s (run %s) failed unexpectedly", config.brand_code, run_id)
        if isinstance(error, DomainError):
            text = error.message
        else:
            text = f"{type(error).__name__}: {shown(str(error), 300)}"
        return _finish(
            engine,
            run_id,
            connector_id,
            fetcher,
            feed,
            status=SyncStatus.FAILED,
            failure="internal",
            message=f"Unexpected error: {text}. Nothing was applied.",
            error_count=1,
        )
    finally:
        if own_client:
            client.close()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every run (loading the CA bundle costs ~20 ms each time)."""
    return ssl.create_default_context()


def _top_reasons(issues: list[Issue]) -> str:
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue.reason] = counts.get(issue.reason, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    return "; ".join(f"{reason} ×{n}" if n > 1 else reason for reason, n in top)


def _write_finish(
    session,
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
    session.execute(
        update(SyncRun.__table__).where(SyncRun.__table__.c.id == run_id).values(**values)
    )
    release_connector(session, connector_id, **(validators or {}))


def _finish(
    engine: Engine, run_id: int, connector_id: int, fetcher: Fetcher, feed: Feed, **kw
) -> SyncRunView:
    with transaction(engine) as session:
        _write_finish(session, run_id, connector_id, fetcher, feed, **kw)
    view = _view(engine, run_id)
    level = logging.WARNING if view.status == SyncStatus.FAILED else logging.INFO
    log.log(level, "%s", view.summary())
    return view


def _view(engine: Engine, run_id: int) -> SyncRunView:
    with read_session(engine) as session:
        return get_run(session, run_id)


def run_syncs(
    brand_codes: Iterable[str],
    *,
    engine: Engine | None = None,
    concurrency: int = 4,
    trigger: str = "manual",
    limits: FetchLimits | None = None,
) -> list[SyncRunView | DomainError]:
    """Sync several brands, at most `concurrency` at a time; results in the given order."""
    codes = list(brand_codes)

    def one(code: str) -> SyncRunView | DomainError:
        try:
            return run_sync(code, engine=engine, trigger=trigger, limits=limits)
        except DomainError as error:
            return error

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sync") as pool:
        return list(pool.map(one, codes))


__all__ = ["DEFAULT_LIMITS", "FetchLimits", "run_sync", "run_syncs"]
