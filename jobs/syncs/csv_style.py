"""The CSV-over-HTTP connector style: fetch one file, hand it to the import pipeline.

The file is fetched like a JSON page (conditional, retried, bounded — by the
importer's own size limit too) and its bytes go to `jobs.imports.apply_import` with
the connector's mapping: `csv_mapping` (a saved column mapping of the brand),
`csv_format` (when the headers do not tell) and `warehouse` (for files without a
location column). The importer checks every row and applies all or nothing, with its
own `ImportRun` record and one ledger row per changed balance.

What differs from the JSON style, and why:

- Ledger rows carry the importer's reason ("import", reference "import:<id>") and the
  actor "sync:<BRAND>"; the sync run's message names the import.
- The conflict policy is not applied: CSV feeds carry no per-item source time, so the
  file's counts are applied as counts (compare-and-swap from the current balance).
- A file the brand serves again without validators is recognised by its content hash
  (the importer applies a file at most once per brand): the run is "unchanged".
- The import commits in its own transaction and the run record right after it: if the
  process died in between, the run is later marked abandoned while the import stands
  (its `ImportRun` says so), and the next run finds the same file already applied.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine

from jobs.imports import ImportOptions, apply_import
from jobs.imports.reading import DEFAULT_LIMITS
from jobs.syncs.feed import Feed, FeedConfig, Issue
from jobs.syncs.fetch import Fetcher
from jobs.syncs.record import finish_run
from models.syncs import SyncRunView, SyncStatus

MAX_ERRORS = 50


def run_csv(
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
    """One CSV-style run (fetch failures raise FetchFailed to `run_sync`, which records
    them). `policy` is not applied: see the module's docstring."""
    response = fetcher.get(
        config.url,
        headers=config.request_headers(conditional=True),
        what="the CSV file",
        max_bytes=DEFAULT_LIMITS.max_bytes,
    )
    if response.status == 304:
        return finish_run(engine, run_id, connector_id, fetcher, feed, status=SyncStatus.UNCHANGED)
    feed.pages = 1
    validators = {
        "etag": response.headers.get("etag"),
        "last_modified": response.headers.get("last-modified"),
    }
    mapping = config.mapping
    result = apply_import(
        response.body,
        ImportOptions(
            brand_code=config.brand_code,
            format=mapping.get("csv_format"),
            mapping_name=mapping.get("csv_mapping"),
            warehouse_code=mapping.get("warehouse"),
            file_name=urlsplit(config.url).path.rsplit("/", 1)[-1] or "feed.csv",
            actor=f"sync:{config.brand_code}",
            # The feed was set up and checked by staff when they configured the connector;
            # a scheduled run has nobody to confirm a dry run's warnings.
            accept_warnings=True,
        ),
        engine=engine,
    )
    counts = result.counts
    common = {"items": counts.rows}
    errors = [
        Issue(1, e.row, e.reason, e.column, e.value).to_dict() for e in result.errors[:MAX_ERRORS]
    ]
    if result.status == "applied":
        return finish_run(
            engine, run_id, connector_id, fetcher, feed,
            status=SyncStatus.SUCCEEDED,
            message=f"Applied as import {result.import_id}. {result.message}".strip(),
            counts={"changed": counts.changed_balances, "unchanged": counts.unchanged},
            validators=validators,
            **common,
        )  # fmt: skip
    if result.status == "already_applied":
        return finish_run(
            engine, run_id, connector_id, fetcher, feed,
            status=SyncStatus.UNCHANGED,
            message=f"The same file was applied as import {result.already_applied_as}; "
            "nothing changed.",
            validators=validators,
            **common,
        )  # fmt: skip
    message = result.message or "The import refused the file; nothing was applied."
    return finish_run(
        engine, run_id, connector_id, fetcher, feed,
        status=SyncStatus.FAILED,
        failure="items" if result.status == "refused" else "internal",
        message=message,
        errors=errors or [Issue(1, None, message).to_dict()],
        error_count=max(counts.errors, 1),
        **common,
    )  # fmt: skip
