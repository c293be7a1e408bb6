"""Brand syncs: per-brand connectors, the record of every run, and what each source last said.

A `Connector` says where a brand's stock feed lives and how to read it. Its token is
a secret the sync must send, so it is stored as given (it cannot be hashed) and is
never shown back: views carry `token_set` only.

A `SyncRun` is one attempt to bring a brand up to date. It is written "running" when
the run starts (so a page can show it), and finished in the same transaction as the
changes it applied, so a run is either applied with its record or not applied at all.

`SyncItemState` keeps the last reading each source gave per balance (quantity and the
source's own timestamp): the conflict policies compare against it.

The functions at the end are what a page or the CLI needs: health per brand (last
success, staleness, next run, recent runs, errors), run records, and the actions
(configure, pause, resume, reschedule, ask for a run now).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    Select,
    Table,
    func,
    or_,
    select,
    update,
)
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Brand, JSONType, brand_by_code
from models.errors import DomainError, InvalidQuantity, NotFound


class ConnectorStyle(StrEnum):
    JSON = "json"
    CSV = "csv"


class ConflictPolicy(StrEnum):
    #: A feed value is applied only when its source timestamp is newer than the value
    #: it replaces, whoever set that: a platform change (its ledger time) or an earlier
    #: reading of the same feed (its source time). Stale readings lose.
    NEWEST = "newest"
    #: The brand is the authority, except for platform changes to on hand (ledger rows
    #: not from a sync) made after the item's source timestamp: those win.
    PLATFORM = "platform"


class SyncStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    #: The feed answered 304 Not Modified: nothing fetched, nothing to do.
    UNCHANGED = "unchanged"
    FAILED = "failed"
    #: The process running it died; found and closed by the scheduler later.
    ABANDONED = "abandoned"


SUCCESSFUL = (SyncStatus.SUCCEEDED.value, SyncStatus.UNCHANGED.value)


class SyncBusy(DomainError):
    code = "sync_busy"


class InvalidConnector(DomainError):
    code = "invalid_connector"


#: Keys a connector's field mapping may hold (a typo is refused, not ignored).
MAPPING_KEYS = {
    # JSON style: where things are in a page (dotted paths) and the query parameters
    "items": "path of the item list in a page (default 'items')",
    "sku": "field of an item holding the SKU (default 'sku')",
    "location": "field holding the location (default 'location')",
    "quantity": "field holding the quantity on hand (default 'quantity')",
    "updated_at": "field holding the source timestamp (default 'updated_at')",
    "next_cursor": "path of the next cursor in a page (default 'next_cursor')",
    "cursor_param": "query parameter carrying the cursor (default 'cursor')",
    "page_size_param": "query parameter carrying the page size (default 'limit')",
    # both styles
    "locations": "object: the brand's location names → our warehouse codes",
    "unknown_skus": "'skip' (default: counted and sampled) or 'error' (fails the run)",
    "conditional": "false to never send If-None-Match / If-Modified-Since",
    "auth_scheme": "prefix sent before the token in the auth header (default 'Bearer')",
    # CSV style (handed to the import pipeline)
    "csv_mapping": "name of the brand's saved CSV column mapping",
    "csv_format": "import format name, when not detected from the headers",
    "warehouse": "warehouse code for CSV files without a location column",
}


class Connector(SQLModel, table=True):
    """How to fetch one brand's stock: one connector per brand."""

    __tablename__ = "sync_connector"
    __table_args__ = (
        CheckConstraint("style IN ('json', 'csv')", name="sync_connector_style"),
        CheckConstraint("policy IN ('newest', 'platform')", name="sync_connector_policy"),
        CheckConstraint("page_size BETWEEN 1 AND 10000", name="sync_connector_page_size"),
        CheckConstraint("every_seconds >= 5", name="sync_connector_every"),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", unique=True)
    style: str = Field(max_length=8)
    url: str = Field(max_length=2000)
    #: The secret sent to the brand; never shown back (see `ConnectorView.token_set`).
    token: str | None = Field(default=None, max_length=2000)
    auth_header: str = Field(default="Authorization", max_length=100)
    page_size: int = Field(default=500)
    every_seconds: int = Field(default=900)
    policy: str = Field(default=ConflictPolicy.NEWEST.value, max_length=16)
    mapping: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    paused: bool = Field(default=False)
    #: Validators of the last applied feed, sent back as If-None-Match / If-Modified-Since.
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    #: Set while a run holds the brand (a second run is refused meanwhile).
    running_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: "Run now" asked from a page; the scheduler picks it up within seconds.
    run_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SyncRun(SQLModel, table=True):
    """One run of one brand's sync: what it fetched, what it changed, what went wrong."""

    __tablename__ = "sync_run"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'succeeded', 'unchanged', 'failed', 'abandoned')",
            name="sync_run_status",
        ),
        Index("ix_sync_run_brand_started", "brand_id", "started_at"),
        Index("ix_sync_run_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    brand_id: int = Field(foreign_key="brand.id")
    style: str = Field(max_length=8)
    policy: str = Field(max_length=16)
    #: What started it: "schedule", "manual" (a page), "cli", "bench", ...
    trigger: str = Field(max_length=16)
    status: str = Field(max_length=16)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requests: int = Field(default=0)
    retries: int = Field(default=0)
    pages: int = Field(default=0)
    bytes: int = Field(default=0)
    items: int = Field(default=0)
    changed: int = Field(default=0)
    unchanged: int = Field(default=0)
    #: Items naming SKUs the catalogue does not have (mapping `unknown_skus: skip`).
    skipped: int = Field(default=0)
    #: Both sides changed since they last agreed; who won, per the brand's policy.
    conflicts_source: int = Field(default=0)
    conflicts_platform: int = Field(default=0)
    #: Readings older than one already applied (policy `newest`): not applied.
    stale: int = Field(default=0)
    #: Feed quantities below what is reserved for orders: on hand kept at reserved.
    clamped: int = Field(default=0)
    error_count: int = Field(default=0)
    #: Where a failed run failed: config, fetch, response, items, apply, internal.
    failure: str | None = Field(default=None, max_length=16)
    message: str = Field(default="", max_length=1000)
    #: The first problems ({page, item, sku, location, field, value, reason}).
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    #: The first conflicts ({sku, location, platform, source, source_at, platform_at, won}).
    conflicts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )


class SyncItemState(SQLModel, table=True):
    """The last reading a brand's feed gave for one balance, as applied (or agreed).

    Derived data, written for every item of a first sync: it has no foreign keys, whose
    per-row checks cost four times the insert itself (184 vs 36 ms per 10,000 rows on
    PostgreSQL). Variants, warehouses and brands are never deleted, so nothing dangles.
    """

    __tablename__ = "sync_item_state"
    __table_args__ = (Index("ix_sync_item_state_brand", "brand_id"),)

    variant_id: int = Field(primary_key=True)
    warehouse_id: int = Field(primary_key=True)
    brand_id: int
    source_quantity: int
    source_updated_at: datetime = Field(sa_type=UTCDateTime)
    #: When we recorded the reading (our clock): platform changes after it are conflicts.
    synced_at: datetime = Field(sa_type=UTCDateTime)
    run_id: int = Field(sa_type=BigIntId)


# --- schedules ------------------------------------------------------------------------

_EVERY = re.compile(r"(\d+)\s*(d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
MIN_EVERY_SECONDS = 5
MAX_EVERY_SECONDS = 7 * 86400


def parse_every(text: str | int) -> int:
    """Seconds from "15m", "1h30m", "45s", "2d" or a plain number of seconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        raw = str(text).strip().lower().replace(" ", "")
        if raw.isdigit():
            seconds = int(raw)
        else:
            parts = _EVERY.findall(raw)
            if not parts or "".join(n + u for n, u in parts) != raw:
                raise InvalidConnector(
                    f"Schedule {text!r} is not like 15m, 1h, 1h30m or 45s.", field="every"
                )
            seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if not MIN_EVERY_SECONDS <= seconds <= MAX_EVERY_SECONDS:
        raise InvalidConnector(
            f"A sync can run at most every {MIN_EVERY_SECONDS}s and at least every 7d; "
            f"got {format_every(seconds) if seconds > 0 else text!r}.",
            field="every",
        )
    return seconds


def format_every(seconds: int) -> str:
    """900 → "15m", 5400 → "1h30m", 45 → "45s"."""
    out = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"


# --- validation -----------------------------------------------------------------------


def check_url(url: str) -> str:
    """The URL trimmed, or InvalidConnector unless it is http(s) with a host."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        shown = parts.scheme or "none"
        raise InvalidConnector(
            f"Connector URLs must be http or https (scheme: {shown}).", field="url", url=url
        )
    if not parts.hostname:
        raise InvalidConnector("The connector URL has no host.", field="url", url=url)
    if parts.username or parts.password:
        raise InvalidConnector(
            "Put credentials in --token, not in the URL (URLs are shown in the UI).", field="url"
        )
    if len(url) > 2000:
        raise InvalidConnector("The connector URL is over 2,000 characters.", field="url")
    return url


def check_mapping(mapping: dict[str, Any] | None) -> dict[str, Any]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InvalidConnector("The field mapping must be a JSON object.", field="mapping")
    unknown = sorted(set(mapping) - set(MAPPING_KEYS))
    if unknown:
        raise InvalidConnector(
            f"Unknown mapping key(s): {', '.join(unknown)}. Known: {', '.join(MAPPING_KEYS)}.",
            field="mapping",
        )
    for key, value in mapping.items():
        if key == "locations":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise InvalidConnector("mapping.locations must map names to codes.")
        elif key == "conditional":
            if not isinstance(value, bool):
                raise InvalidConnector("mapping.conditional must be true or false.")
        elif key == "unknown_skus":
            if value not in ("skip", "error"):
                raise InvalidConnector("mapping.unknown_skus must be 'skip' or 'error'.")
        elif not isinstance(value, str) or not value.strip():
            raise InvalidConnector(f"mapping.{key} must be a non-empty string.")
    return dict(mapping)


# --- views (plain data: no session, no secrets) ----------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class ConnectorView:
    brand_code: str
    brand_name: str
    style: str
    url: str
    #: Whether a token is stored; the token itself is never read back out.
    token_set: bool
    auth_header: str
    page_size: int
    every_seconds: int
    policy: str
    mapping: dict[str, Any]
    paused: bool
    etag: str | None
    last_modified: str | None
    running_since: datetime | None
    run_requested_at: datetime | None
    updated_at: datetime

    @property
    def every(self) -> str:
        return format_every(self.every_seconds)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["every"] = self.every
        for key in ("running_since", "run_requested_at", "updated_at"):
            data[key] = _iso(data[key])
        return data


def _connector_view(connector: Connector, brand: Brand) -> ConnectorView:
    return ConnectorView(
        brand_code=brand.code,
        brand_name=brand.name,
        style=connector.style,
        url=connector.url,
        token_set=bool(connector.token),
        auth_header=connector.auth_header,
        page_size=connector.page_size,
        every_seconds=connector.every_seconds,
        policy=connector.policy,
        mapping=dict(connector.mapping or {}),
        paused=connector.paused,
        etag=connector.etag,
        last_modified=connector.last_modified,
        running_since=connector.running_since,
        run_requested_at=connector.run_requested_at,
        updated_at=connector.updated_at,
    )


@dataclass(frozen=True, slots=True)
class SyncRunView:
    """A run record as plain values (to_dict() is JSON-ready)."""

    id: int
    brand_code: str
    style: str
    policy: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    requests: int
    retries: int
    pages: int
    bytes: int
    items: int
    changed: int
    unchanged: int
    skipped: int
    conflicts_source: int
    conflicts_platform: int
    stale: int
    clamped: int
    error_count: int
    failure: str | None
    message: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in SUCCESSFUL

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = _iso(self.started_at)
        data["finished_at"] = _iso(self.finished_at)
        data["seconds"] = None if self.seconds is None else round(self.seconds, 3)
        data["ok"] = self.ok
        return data

    def summary(self) -> str:
        """One line for a person."""
        head = f"sync #{self.id} {self.brand_code}: {self.status}"
        if self.status == SyncStatus.UNCHANGED:
            return f"{head} ({self.message or 'feed not modified'}; {self.requests} request)"
        counts = (
            f"{self.pages} page(s), {self.items:,} item(s): {self.changed:,} changed, "
            f"{self.unchanged:,} unchanged"
        )
        extras = [
            f"{label} {value:,}"
            for label, value in (
                ("skipped", self.skipped),
                ("conflicts won by source", self.conflicts_source),
                ("conflicts won by platform", self.conflicts_platform),
                ("stale", self.stale),
                ("kept at reserved", self.clamped),
                ("retries", self.retries),
            )
            if value
        ]
        line = f"{head}; {counts}" + (f"; {', '.join(extras)}" if extras else "")
        if self.message:
            line += f" — {self.message}"
        return line


def _run_view(run: SyncRun, brand_code: str, *, details: bool = True) -> SyncRunView:
    return SyncRunView(
        id=run.id,
        brand_code=brand_code,
        style=run.style,
        policy=run.policy,
        trigger=run.trigger,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        requests=run.requests,
        retries=run.retries,
        pages=run.pages,
        bytes=run.bytes,
        items=run.items,
        changed=run.changed,
        unchanged=run.unchanged,
        skipped=run.skipped,
        conflicts_source=run.conflicts_source,
        conflicts_platform=run.conflicts_platform,
        stale=run.stale,
        clamped=run.clamped,
        error_count=run.error_count,
        failure=run.failure,
        message=run.message,
        errors=list(run.errors or []) if details else [],
        conflicts=list(run.conflicts or []) if details else [],
    )


@dataclass(frozen=True, slots=True)
class BrandSyncHealth:
    """One line of the /syncs page: is this brand's stock current, and if not, why."""

    connector: ConnectorView
    last_run: SyncRunView | None
    last_success_at: datetime | None
    #: Seconds since the last successful run (None: never succeeded).
    staleness_seconds: float | None
    #: No success within two intervals (plus a minute), or never.
    stale: bool
    next_run_at: datetime | None
    #: Failed runs among the brand's last `recent` runs.
    recent_failures: int
    last_error: str | None

    @property
    def brand_code(self) -> str:
        return self.connector.brand_code

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector.to_dict(),
            "last_run": self.last_run.to_dict() if self.last_run else None,
            "last_success_at": _iso(self.last_success_at),
            "staleness_seconds": self.staleness_seconds,
            "stale": self.stale,
            "next_run_at": _iso(self.next_run_at),
            "recent_failures": self.recent_failures,
            "last_error": self.last_error,
        }


# --- configuration and actions --------------------------------------------------------


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


#: Pass as `token` to keep the stored one.
UNCHANGED: Any = _Unchanged()


def set_connector(
    session: Session,
    brand_code: str,
    *,
    style: ConnectorStyle | str | None = None,
    url: str | None = None,
    token: str | _Unchanged | None = UNCHANGED,
    every: str | int | None = None,
    policy: ConflictPolicy | str | None = None,
    page_size: int | None = None,
    mapping: dict[str, Any] | None = None,
    auth_header: str | None = None,
) -> ConnectorView:
    """Create or update a brand's connector; what is not given stays as it was.

    A new connector needs `style` and `url`. Changing the URL, style or mapping forgets
    the stored ETag / Last-Modified, since they described another feed.
    """
    brand = brand_by_code(session, brand_code.strip().upper())
    connector = session.scalar(select(Connector).where(Connector.brand_id == brand.id))
    creating = connector is None
    if creating:
        if style is None or url is None:
            raise InvalidConnector(
                f"Brand {brand.code} has no connector yet: give --style and --url.",
                brand=brand.code,
            )
        connector = Connector(brand_id=brand.id, style=ConnectorStyle(style).value, url="")
    reset_validators = False
    if style is not None:
        try:
            value = ConnectorStyle(style).value
        except ValueError:
            raise InvalidConnector(f"Style must be json or csv, not {style!r}.") from None
        reset_validators |= value != connector.style
        connector.style = value
    if url is not None:
        value = check_url(url)
        reset_validators |= value != connector.url
        connector.url = value
    if not isinstance(token, _Unchanged):
        token = (token or "").strip() or None
        if token is not None and (len(token) > 2000 or any(c in token for c in "\r\n")):
            raise InvalidConnector("The token must be one line of at most 2,000 characters.")
        connector.token = token
    if every is not None:
        connector.every_seconds = parse_every(every)
    if policy is not None:
        try:
            connector.policy = ConflictPolicy(policy).value
        except ValueError:
            raise InvalidConnector(f"Policy must be newest or platform, not {policy!r}.") from None
    if page_size is not None:
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not (1 <= page_size <= 10_000)
        ):
            raise InvalidQuantity("Page size must be 1 to 10,000.", field="page_size")
        connector.page_size = page_size
    if mapping is not None:
        value = check_mapping(mapping)
        reset_validators |= value != (connector.mapping or {})
        connector.mapping = value
    if auth_header is not None:
        header = auth_header.strip()
        if not re.fullmatch(r"[A-Za-z0-9-]{1,100}", header):
            raise InvalidConnector(f"{auth_header!r} is not a header name.", field="auth_header")
        connector.auth_header = header
    if reset_validators:
        connector.etag = None
        connector.last_modified = None
    connector.updated_at = utcnow()
    session.add(connector)
    session.flush()
    return _connector_view(connector, brand)


def _connector_for(session: Session, brand_code: str) -> tuple[Connector, Brand]:
    brand = brand_by_code(session, brand_code.strip().upper())
    connector = session.scalar(select(Connector).where(Connector.brand_id == brand.id))
    if connector is None:
        raise NotFound(
            f"Brand {brand.code} has no connector: rackroom connector set {brand.code} "
            "--style json --url URL",
            brand=brand.code,
        )
    return connector, brand


def get_connector(session: Session, brand_code: str) -> ConnectorView:
    connector, brand = _connector_for(session, brand_code)
    return _connector_view(connector, brand)


def list_connectors(session: Session) -> list[ConnectorView]:
    rows = session.execute(
        select(Connector, Brand).join(Brand, Brand.id == Connector.brand_id).order_by(Brand.code)
    ).all()
    return [_connector_view(c, b) for c, b in rows]


def pause_sync(session: Session, brand_code: str) -> ConnectorView:
    """Stop scheduled runs (a run in progress finishes); "run now" still works."""
    connector, brand = _connector_for(session, brand_code)
    connector.paused = True
    connector.updated_at = utcnow()
    session.flush()
    return _connector_view(connector, brand)


def resume_sync(session: Session, brand_code: str) -> ConnectorView:
    connector, brand = _connector_for(session, brand_code)
    connector.paused = False
    connector.updated_at = utcnow()
    session.flush()
    return _connector_view(connector, brand)


def reschedule_sync(session: Session, brand_code: str, every: str | int) -> ConnectorView:
    connector, brand = _connector_for(session, brand_code)
    connector.every_seconds = parse_every(every)
    connector.updated_at = utcnow()
    session.flush()
    return _connector_view(connector, brand)


def request_sync(session: Session, brand_code: str) -> ConnectorView:
    """Ask the scheduler (wherever it runs) to sync this brand within seconds."""
    connector, brand = _connector_for(session, brand_code)
    connector.run_requested_at = utcnow()
    session.flush()
    return _connector_view(connector, brand)


def delete_connector(session: Session, brand_code: str) -> None:
    """Remove the connector; its run history stays."""
    connector, _brand = _connector_for(session, brand_code)
    session.delete(connector)
    session.flush()


# --- claiming a brand for one run -----------------------------------------------------

_connector = Connector.__table__
_run = SyncRun.__table__


def claim_connector(
    session: Session, connector_id: int, *, now: datetime, stale_after: timedelta
) -> bool:
    """Mark the connector as running unless another run holds it (one guarded UPDATE).

    A claim older than `stale_after` (its process died) may be taken over.
    """
    result = session.execute(
        update(_connector)
        .where(
            _connector.c.id == connector_id,
            or_(
                _connector.c.running_since.is_(None),
                _connector.c.running_since < now - stale_after,
            ),
        )
        .values(running_since=now, run_requested_at=None)
    )
    return result.rowcount == 1


def release_connector(session: Session, connector_id: int, **values: Any) -> None:
    session.execute(
        update(_connector)
        .where(_connector.c.id == connector_id)
        .values(running_since=None, **values)
    )


def close_abandoned_runs(session: Session, *, older_than: datetime) -> int:
    """Runs still "running" that started before `older_than`: their process died."""
    result = session.execute(
        update(_run)
        .where(_run.c.status == SyncStatus.RUNNING.value, _run.c.started_at < older_than)
        .values(
            status=SyncStatus.ABANDONED.value,
            finished_at=utcnow(),
            failure="internal",
            message="The process running this sync stopped before it finished.",
        )
    )
    session.execute(
        update(_connector).where(_connector.c.running_since < older_than).values(running_since=None)
    )
    return result.rowcount


# --- queries --------------------------------------------------------------------------


#: The APScheduler job id of a brand's sync.
def sync_job_id(brand_code: str) -> str:
    return f"sync:{brand_code}"


def _next_runs(session: Session, job_ids: list[str]) -> dict[str, datetime | None]:
    """Next run times straight from the scheduler's job store (any process may own it)."""
    jobs: Table | None = SQLModel.metadata.tables.get("apscheduler_jobs")
    if jobs is None or not job_ids:
        return {}
    rows = session.execute(
        select(jobs.c.id, jobs.c.next_run_time).where(jobs.c.id.in_(job_ids))
    ).all()
    return {
        job_id: datetime.fromtimestamp(ts, UTC) if ts is not None else None for job_id, ts in rows
    }


def sync_health(
    session: Session, *, now: datetime | None = None, recent: int = 10
) -> list[BrandSyncHealth]:
    """Every brand with a connector: last success, staleness, next run, recent errors."""
    now = now or utcnow()
    rows = session.execute(
        select(Connector, Brand).join(Brand, Brand.id == Connector.brand_id).order_by(Brand.code)
    ).all()
    if not rows:
        return []
    brand_ids = [b.id for _c, b in rows]
    last_ids = dict(
        session.execute(
            select(SyncRun.brand_id, func.max(SyncRun.id))
            .where(SyncRun.brand_id.in_(brand_ids))
            .group_by(SyncRun.brand_id)
        ).all()
    )
    last_success = dict(
        session.execute(
            select(SyncRun.brand_id, func.max(SyncRun.finished_at))
            .where(SyncRun.brand_id.in_(brand_ids), SyncRun.status.in_(SUCCESSFUL))
            .group_by(SyncRun.brand_id)
        ).all()
    )
    last_runs = {
        r.brand_id: r
        for r in session.scalars(select(SyncRun).where(SyncRun.id.in_(list(last_ids.values()))))
    }
    next_runs = _next_runs(session, [sync_job_id(b.code) for _c, b in rows])
    health = []
    for connector, brand in rows:
        recent_runs = session.execute(
            select(SyncRun.status, SyncRun.message)
            .where(SyncRun.brand_id == brand.id)
            .order_by(SyncRun.id.desc())
            .limit(recent)
        ).all()
        failures = [m for s, m in recent_runs if s in ("failed", "abandoned")]
        success_at = last_success.get(brand.id)
        staleness = (now - success_at).total_seconds() if success_at else None
        allowed = 2 * connector.every_seconds + 60
        last = last_runs.get(brand.id)
        health.append(
            BrandSyncHealth(
                connector=_connector_view(connector, brand),
                last_run=_run_view(last, brand.code, details=False) if last else None,
                last_success_at=success_at,
                staleness_seconds=staleness,
                stale=staleness is None or staleness > allowed,
                next_run_at=None if connector.paused else next_runs.get(sync_job_id(brand.code)),
                recent_failures=len(failures),
                last_error=failures[0] if failures else None,
            )
        )
    return health


def recent_runs(
    session: Session,
    brand_code: str | None = None,
    *,
    limit: int = 20,
    status: str | None = None,
    before_id: int | None = None,
) -> list[SyncRunView]:
    """Newest first; `before_id` pages further back. Error samples are left out (see get_run)."""
    query = select(SyncRun, Brand.code).join(Brand, Brand.id == SyncRun.brand_id)
    if brand_code:
        query = query.where(Brand.code == brand_code.strip().upper())
    if status:
        query = query.where(SyncRun.status == status)
    if before_id is not None:
        query = query.where(SyncRun.id < before_id)
    rows = session.execute(query.order_by(SyncRun.id.desc()).limit(limit)).all()
    return [_run_view(run, code, details=False) for run, code in rows]


def get_run(session: Session, run_id: int) -> SyncRunView:
    """One run with its error and conflict samples."""
    row = session.execute(
        select(SyncRun, Brand.code)
        .join(Brand, Brand.id == SyncRun.brand_id)
        .where(SyncRun.id == run_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"No sync run {run_id}.", run_id=run_id)
    return _run_view(row[0], row[1])


def fast_rows(session: Session, statement: Select) -> list[tuple]:
    """All rows of a Core SELECT as plain tuples, cheaply for tens of thousands of rows.

    On PostgreSQL straight through the psycopg cursor (it already returns aware
    datetimes for timestamptz); elsewhere through SQLAlchemy, whose type processing
    SQLite needs (UTCDateTime makes its naive values aware).
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return [tuple(row) for row in connection.execute(statement)]
    compiled = statement.compile(dialect=connection.dialect)
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), compiled.params)
        return cursor.fetchall()
    finally:
        cursor.close()


def brand_item_states(
    session: Session, brand_id: int
) -> dict[tuple[int, int], tuple[int, datetime, datetime]]:
    """(variant, warehouse) → (source quantity, source time, synced at) for one brand."""
    state = SyncItemState.__table__
    rows = fast_rows(
        session,
        select(
            state.c.variant_id,
            state.c.warehouse_id,
            state.c.source_quantity,
            state.c.source_updated_at,
            state.c.synced_at,
        ).where(state.c.brand_id == brand_id),
    )
    return {(v, w): (q, ts, at) for v, w, q, ts, at in rows}


__all__ = [
    "SUCCESSFUL",
    "UNCHANGED",
    "BrandSyncHealth",
    "ConflictPolicy",
    "Connector",
    "ConnectorStyle",
    "ConnectorView",
    "InvalidConnector",
    "SyncBusy",
    "SyncItemState",
    "SyncRun",
    "SyncRunView",
    "SyncStatus",
]
