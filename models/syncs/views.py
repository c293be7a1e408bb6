"""Plain views of connectors and runs (no session, no secrets): what pages and the CLI show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from models.catalog import Brand
from models.syncs.config import format_every
from models.syncs.tables import SUCCESSFUL, Connector, SyncRun, SyncStatus

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
