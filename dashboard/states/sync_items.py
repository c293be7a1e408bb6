"""What the /syncs page shows, in words: a connector's line (`BrandItem`), a line of the
run history (`RunItem`), a run's error and conflict samples, and the time words."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dashboard.formatting import exact_time, plural
from dashboard.items import Moment, item_of
from dashboard.states.sync_history import RunLine
from models.syncs import BrandSyncHealth, ConflictPolicy, SyncRunView

POLICY_CHOICES: list[tuple[str, str]] = [
    (ConflictPolicy.NEWEST.value, "Newest wins"),
    (ConflictPolicy.PLATFORM.value, "Platform corrections win"),
]
POLICY_LABELS = dict(POLICY_CHOICES)
STATUS_TONES = {
    "succeeded": "green",
    "unchanged": "gray",
    "running": "blue",
    "failed": "red",
    "abandoned": "orange",
}


# --- formatting -------------------------------------------------------------------------------


def until(moment: datetime | None, now: datetime | None = None) -> str:
    """A future time in words: "in 40 s", "in 5 min", "in 2 h", or "due now"."""
    if moment is None:
        return ""
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds < 1:
        return "due now"
    if seconds < 60:
        return f"in {int(seconds)} s"
    if seconds < 3600:
        return f"in {int(seconds // 60)} min"
    if seconds < 86_400:
        return f"in {int(seconds // 3600)} h"
    return f"in {int(seconds // 86_400)} days"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 0.1:
        return "<0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def staleness(health: BrandSyncHealth) -> tuple[str, str]:
    """(label, colour): fresh (green), late (amber: a run missed), stale (red: two
    intervals and more without success), never synced (red)."""
    if health.staleness_seconds is None:
        return "Never synced", "red"
    if health.stale:
        return "Stale", "red"
    if health.staleness_seconds > health.connector.every_seconds + 60:
        return "Late", "amber"
    return "Fresh", "green"


def feed_address(url: str) -> str:
    """A feed URL without credentials, query or fragment (what a vendor is shown)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def run_counts(run: SyncRunView) -> str:
    """ "2 pages · 1,240 items · 12 changed · 1,228 unchanged · 3 skipped"."""
    if run.status == "running":
        return "in progress"
    if run.status == "unchanged":
        return "feed not modified"
    parts = [plural(run.pages, "page"), plural(run.items, "item")]
    if run.status != "failed" or run.changed:
        parts += [f"{run.changed:,} changed", f"{run.unchanged:,} unchanged"]
    for label, value in (
        ("skipped", run.skipped),
        ("conflicts to source", run.conflicts_source),
        ("conflicts to platform", run.conflicts_platform),
        ("stale", run.stale),
        ("kept at reserved", run.clamped),
        ("retries", run.retries),
    ):
        if value:
            parts.append(f"{value:,} {label}")
    return " · ".join(parts)


@dataclasses.dataclass
class BrandItem:
    """One connector's line of the health table."""

    code: str
    name: str
    style: str
    url: str
    token_set: bool
    every: str
    policy: str
    policy_label: str
    paused: bool
    running: bool
    last_success: Moment
    freshness: str
    freshness_tone: str
    #: When the scheduler runs it next ("in 12 min", "—" while paused); exact on hover.
    next_run: str
    next_run_exact: str
    last_status: str
    last_status_tone: str
    last_counts: str
    last_message: str
    last_run_id: int
    recent_failures: int

    @classmethod
    def of(cls, health: BrandSyncHealth, now: datetime) -> BrandItem:
        connector, last = health.connector, health.last_run
        freshness, tone = staleness(health)
        return item_of(
            cls,
            connector,
            code=connector.brand_code,
            name=connector.brand_name,
            style=connector.style.upper(),
            policy_label=POLICY_LABELS.get(connector.policy, connector.policy),
            running=connector.running_since is not None,
            last_success=Moment.of(health.last_success_at, now),
            freshness=freshness,
            freshness_tone=tone,
            next_run=(
                "—"
                if connector.paused
                else until(health.next_run_at, now) or "Waiting for the scheduler"
            ),
            next_run_exact=exact_time(health.next_run_at),
            last_status=last.status if last else "",
            last_status_tone=STATUS_TONES.get(last.status, "gray") if last else "gray",
            last_counts=run_counts(last) if last else "Not run yet",
            last_message=last.message if last else "",
            last_run_id=last.id if last else 0,
            recent_failures=health.recent_failures,
        )


@dataclasses.dataclass
class RunItem:
    """One line of the recent runs: a run, or a brand's unchanged runs of one hour."""

    id: int
    brand: str
    status: str
    tone: str
    trigger: str
    started: Moment
    took: str
    counts: str
    message: str
    error_count: int
    #: How many runs the line stands for (more than 1: unchanged runs folded).
    runs: int

    @classmethod
    def of(cls, line: RunLine | SyncRunView, now: datetime) -> RunItem:
        if isinstance(line, SyncRunView):
            line = RunLine(line, triggers=[line.trigger])
        run = line.run
        item = item_of(
            cls,
            run,
            brand=run.brand_code,
            tone=STATUS_TONES.get(run.status, "gray"),
            trigger=", ".join(line.triggers) or run.trigger,
            started=Moment.of(run.started_at, now),
            took=duration(run.seconds),
            counts=run_counts(run),
            runs=line.count,
        )
        if line.folded and line.oldest_at is not None:
            item.took = ""
            item.counts = f"feed not modified · {line.count:,} runs"
            item.message = (
                f"{line.oldest_at.astimezone(UTC):%H:%M}–{run.started_at.astimezone(UTC):%H:%M}"
                " UTC, folded into one line"
            )
            item.started = dataclasses.replace(
                item.started, exact=f"{exact_time(line.oldest_at)} to {item.started.exact}"
            )
        return item


@dataclasses.dataclass
class SampleItem:
    """One error or conflict sample of a run, as text cells."""

    where: str
    sku: str
    location: str
    detail: str


def error_sample(error: dict[str, Any]) -> SampleItem:
    where = f"page {error.get('page')}" if error.get("page") is not None else ""
    if error.get("item") is not None:
        where += f", item {error['item']}"
    detail = str(error.get("reason") or "")
    if error.get("field"):
        detail = f"{error['field']}: {detail}"
    if error.get("value") not in (None, ""):
        detail += f" (got {str(error['value'])[:80]!r})"
    return SampleItem(
        where=where,
        sku=str(error.get("sku") or ""),
        location=str(error.get("location") or ""),
        detail=detail,
    )


def conflict_sample(conflict: dict[str, Any]) -> SampleItem:
    return SampleItem(
        where="conflict",
        sku=str(conflict.get("sku") or ""),
        location=str(conflict.get("location") or ""),
        detail=f"platform {conflict.get('platform')}, feed {conflict.get('source')}: "
        f"{conflict.get('won')} won",
    )
