"""One sync run of one brand, recorded from start to finish; and many brands at once.

A run:

1. claims the brand's connector (a second run of the same brand is refused while one
   holds it) and writes its `SyncRun` row as "running" — committed, so a page sees it;
2. fetches every page (no database transaction is open meanwhile);
3. hands the rest to the connector style's runner (`RUNNERS`: `json_style.run_json`,
   `csv_style.run_csv`), which applies the items in ONE transaction that also finishes
   the run row (`jobs.syncs.record`), stores the feed's validators (ETag /
   Last-Modified) and releases the claim; a refusal or any failure rolls all of that
   back, and this module records the failure in a transaction of its own.

Nothing raises out of `run_sync` for a failed run: the failure is in the returned
record (status "failed", `failure` saying where, `errors` with samples). The only
exceptions are refusals before a run exists (no connector: NotFound; the brand is
being synced already: SyncBusy).
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import Engine

from jobs.outbound import GuardedTransport
from jobs.syncs.apply import ItemsRefused
from jobs.syncs.csv_style import run_csv
from jobs.syncs.feed import Feed, FeedConfig, Issue, shown
from jobs.syncs.fetch import DEFAULT_LIMITS, Fetcher, FetchFailed, FetchLimits
from jobs.syncs.json_style import run_json
from jobs.syncs.record import finish_run
from models.base import utcnow
from models.db import get_engine, transaction
from models.errors import DomainError, StaleCount
from models.syncs import (
    ConnectorStyle,
    SyncBusy,
    SyncRun,
    SyncRunView,
    SyncStatus,
    claim_connector,
    connector_for,
)

log = logging.getLogger("rackroom.syncs")

#: One runner per connector style; each fetches, applies and finishes the run record.
RUNNERS = {ConnectorStyle.JSON: run_json, ConnectorStyle.CSV: run_csv}

#: A claim this much older than the run time limit belongs to a dead process.
CLAIM_GRACE = timedelta(minutes=5)
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
        connector, brand = connector_for(session, brand_code)
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
        # Guarded (jobs/outbound.py): a connector's URL cannot point inside the network.
        client = httpx.Client(
            transport=GuardedTransport(verify=_ssl_context()),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
    fetcher = Fetcher(client, limits, sleep=sleep)
    feed = Feed()
    try:
        runner = RUNNERS[ConnectorStyle(config.style)]
        return runner(
            engine,
            config,
            fetcher,
            feed,
            run_id=run_id,
            connector_id=connector_id,
            brand_id=brand_id,
            policy=policy,
            started=started,
        )
    except ItemsRefused as refused:
        plural = "s" if refused.count != 1 else ""
        return finish_run(
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
        return finish_run(
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
        return finish_run(
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
        return finish_run(
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


_SSL_LOCK = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every run (loading the CA bundle costs 20-60 ms each time).
    Locked: `run_syncs` starts its runs at once, and each would load it otherwise."""
    with _SSL_LOCK:
        return _load_ssl_context()


@functools.cache
def _load_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _top_reasons(issues: list[Issue]) -> str:
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue.reason] = counts.get(issue.reason, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    return "; ".join(f"{reason} ×{n}" if n > 1 else reason for reason, n in top)


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
