"""The run history of the /syncs page, with "not modified" runs folded.

A connector polled every minute whose feed has not changed records sixty "unchanged"
runs an hour; listed one by one they bury the runs that did something. So a brand's
unchanged runs of one (UTC) hour read as one line ("feed not modified · 58 runs"),
placed where the newest of them is; every other run keeps a line of its own.

Paging goes by lines, newest first. A page's cursor is the id below which the next
page starts, plus the (brand, hour) groups already shown: an hour's group that spans
the page break is not shown twice. Reading stops once the page's groups are complete
(the scan has passed the start of their hour), so the counts are whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session

from models.catalog import Brand
from models.errors import NotFound
from models.syncs import SyncRunView, SyncStatus, get_run, recent_runs

#: Raw runs read per query while filling a page of lines.
BATCH = 200
#: At most this many raw runs are read for one page (a safety bound, never reached
#: unless a connector ran thousands of times within one page of lines).
MAX_SCAN = 5000


def hour_key(run: SyncRunView) -> str:
    """ "NORTH@2026-12-05T07": the brand and UTC hour an unchanged run folds into."""
    return f"{run.brand_code}@{run.started_at.astimezone(UTC):%Y-%m-%dT%H}"


def _hour_of(key: str) -> str:
    return key.rpartition("@")[2]


@dataclass(slots=True)
class RunLine:
    """One line of the history: a run, or one brand's unchanged runs of one hour."""

    #: The newest run of the line (the one a click opens).
    run: SyncRunView
    #: How many runs the line stands for (1: a run of its own).
    count: int = 1
    #: When the oldest of them started.
    oldest_at: datetime | None = None
    triggers: list[str] = field(default_factory=list)
    #: The (brand, hour) of a folded line, "" for a run of its own.
    key: str = ""

    @property
    def folded(self) -> bool:
        return self.count > 1


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of lines starts: below `before_id`, without the groups in `shown`."""

    before_id: int | None = None
    shown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunPage:
    lines: list[RunLine]
    #: The next (older) page's cursor, None on the last page.
    older: Cursor | None


def fold_runs(runs: list[SyncRunView], shown: tuple[str, ...] = ()) -> list[RunLine]:
    """Runs (newest first) as lines: each brand's unchanged runs of an hour as one.

    Unchanged runs of a group in `shown` (already on a newer page) are left out.
    """
    lines: list[RunLine] = []
    groups: dict[str, RunLine] = {}
    for run in runs:
        if run.status != SyncStatus.UNCHANGED:
            lines.append(RunLine(run, oldest_at=run.started_at, triggers=[run.trigger]))
            continue
        key = hour_key(run)
        if key in shown:
            continue
        line = groups.get(key)
        if line is None:
            line = groups[key] = RunLine(
                run, oldest_at=run.started_at, triggers=[run.trigger], key=key
            )
            lines.append(line)
            continue
        line.count += 1
        line.oldest_at = run.started_at
        if run.trigger not in line.triggers:
            line.triggers.append(run.trigger)
    return lines


def _complete(lines: list[RunLine], last: SyncRunView) -> bool:
    """Whether every group among `lines` is whole once the scan reached `last`."""
    hours = [_hour_of(line.key) for line in lines if line.key]
    return not hours or f"{last.started_at.astimezone(UTC):%Y-%m-%dT%H}" < min(hours)


def read_run_lines(
    session: Session, brand_code: str | None, cursor: Cursor, *, limit: int
) -> RunPage:
    """One page of `limit` lines (of one brand, or all brands when `brand_code` is empty)."""
    runs: list[SyncRunView] = []
    before = cursor.before_id
    while True:
        batch = recent_runs(session, brand_code or None, limit=BATCH, before_id=before)
        runs += batch
        if len(batch) < BATCH or len(runs) >= MAX_SCAN:
            break
        before = batch[-1].id
        lines = fold_runs(runs, cursor.shown)
        if len(lines) > limit and _complete(lines[:limit], runs[-1]):
            break
    lines = fold_runs(runs, cursor.shown)
    if len(lines) <= limit:
        return RunPage(lines, None)
    page, first_older = lines[:limit], lines[limit].run
    # Groups of an hour older than the next page's first run cannot recur there.
    floor = f"{first_older.started_at.astimezone(UTC):%Y-%m-%dT%H}"
    shown = {k for k in cursor.shown if _hour_of(k) >= floor}
    shown |= {line.key for line in page if line.key and _hour_of(line.key) >= floor}
    return RunPage(page, Cursor(first_older.id + 1, tuple(sorted(shown))))


def brand_code_of(session: Session, brand_id: int | None) -> str:
    """The code of a vendor's brand ("" for staff, who see every brand)."""
    if brand_id is None:
        return ""
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise NotFound("Your brand no longer exists.")
    return brand.code


def read_run(session: Session, run_id: int, scope_brand_id: int | None) -> SyncRunView:
    """One run with its samples; another brand's run is "not found" for a vendor."""
    run = get_run(session, run_id)
    scope = brand_code_of(session, scope_brand_id)
    if scope and run.brand_code != scope:
        raise NotFound(f"No sync run {run_id}.", run_id=run_id)
    return run
