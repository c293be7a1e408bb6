"""Syncs: every brand connector's health (last success, staleness, next run, last run),
the recent runs with their errors, and the actions (run now, pause, resume, schedule).

Who may do what (every handler checks on the server first):

- admins, merchandisers and managers see the page;
- admins and merchandisers may "run now" (it brings stock up to date from the brand's
  own feed, like a count correction, and changes no configuration);
- only admins pause, resume and change a connector's schedule or conflict policy;
- vendors have no access (connectors hold other brands' URLs and schedules).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx

from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard
from dashboard.states.listing import db_read, db_write, query_param
from models.errors import DomainError
from models.syncs import (
    BrandSyncHealth,
    ConflictPolicy,
    SyncRunView,
    get_run,
    pause_sync,
    recent_runs,
    resume_sync,
    set_connector,
    sync_health,
)
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/syncs"
VIEWERS = (Role.ADMIN, Role.MERCHANDISER, Role.MANAGER)
RUNNERS = (Role.ADMIN, Role.MERCHANDISER)
MANAGERS = (Role.ADMIN,)
ALL_BRANDS = "all"
RUNS_PAGE = 15
#: While the page is open its figures are re-read this often (scheduled runs land).
WATCH_SECONDS = 5.0
#: While a "run now" is in flight, the page is re-read this often (shows it running).
PROGRESS_SECONDS = 1.0
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
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."


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

    code: str = ""
    name: str = ""
    style: str = ""
    url: str = ""
    token_set: bool = False
    every: str = ""
    policy: str = ""
    policy_label: str = ""
    paused: bool = False
    running: bool = False
    last_success: str = ""
    last_success_exact: str = ""
    freshness: str = ""
    freshness_tone: str = "gray"
    next_run: str = ""
    next_run_exact: str = ""
    last_status: str = ""
    last_status_tone: str = "gray"
    last_counts: str = ""
    last_message: str = ""
    last_run_id: int = 0
    recent_failures: int = 0

    @classmethod
    def of(cls, health: BrandSyncHealth, now: datetime) -> BrandItem:
        connector, last = health.connector, health.last_run
        freshness, tone = staleness(health)
        return cls(
            code=connector.brand_code,
            name=connector.brand_name,
            style=connector.style.upper(),
            url=connector.url,
            token_set=connector.token_set,
            every=connector.every,
            policy=connector.policy,
            policy_label=POLICY_LABELS.get(connector.policy, connector.policy),
            paused=connector.paused,
            running=connector.running_since is not None,
            last_success=relative_time(health.last_success_at, now),
            last_success_exact=exact_time(health.last_success_at),
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
    """One run in the recent runs list."""

    id: int = 0
    brand: str = ""
    status: str = ""
    tone: str = "gray"
    trigger: str = ""
    started: str = ""
    started_exact: str = ""
    took: str = ""
    counts: str = ""
    message: str = ""
    error_count: int = 0

    @classmethod
    def of(cls, run: SyncRunView, now: datetime) -> RunItem:
        return cls(
            id=run.id,
            brand=run.brand_code,
            status=run.status,
            tone=STATUS_TONES.get(run.status, "gray"),
            trigger=run.trigger,
            started=relative_time(run.started_at, now),
            started_exact=exact_time(run.started_at),
            took=duration(run.seconds),
            counts=run_counts(run),
            message=run.message,
            error_count=run.error_count,
        )


@dataclasses.dataclass
class SampleItem:
    """One error or conflict sample of a run, as text cells."""

    where: str = ""
    sku: str = ""
    location: str = ""
    detail: str = ""


def _error_sample(error: dict[str, Any]) -> SampleItem:
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


def _conflict_sample(conflict: dict[str, Any]) -> SampleItem:
    return SampleItem(
        where="conflict",
        sku=str(conflict.get("sku") or ""),
        location=str(conflict.get("location") or ""),
        detail=f"platform {conflict.get('platform')}, feed {conflict.get('source')}: "
        f"{conflict.get('won')} won",
    )


class ScheduleForm(TypedDict, total=False):
    every: str
    policy: str


def _read_page(brand: str, before: int | None) -> tuple[list[BrandSyncHealth], list[SyncRunView]]:
    """The health of every connector and one page of runs (one extra: is there more?)."""
    from models.db import read_session

    with read_session() as session:
        health = sync_health(session)
        runs = recent_runs(session, brand or None, limit=RUNS_PAGE + 1, before_id=before)
    return health, runs


def _run_sync(code: str) -> SyncRunView:
    from jobs.syncs.run import run_sync

    return run_sync(code, trigger="manual")


class SyncsState(RoleGuard, rx.State):
    brands: list[BrandItem] = []
    runs: list[RunItem] = []
    brand_filter: str = ALL_BRANDS
    loaded: bool = False
    load_error: str = ""
    #: What the page offers (a courtesy: every handler checks the role again).
    can_run: bool = False
    can_manage: bool = False
    #: Brands whose "run now" this tab started and is waiting for.
    in_flight: list[str] = []
    runs_page: int = 1
    runs_more: bool = False

    #: The open dialog: "", "schedule", "run".
    dialog: str = ""
    target_code: str = ""
    target_label: str = ""
    form_every: str = ""
    form_policy: str = ConflictPolicy.NEWEST.value
    form_error: str = ""
    saving: bool = False
    run_title: str = ""
    run_summary: str = ""
    run_message: str = ""
    run_samples: list[SampleItem] = []
    run_more_errors: str = ""

    _cursors: list[int] = []
    _generation: int = 0

    @rx.var
    def brand_choices(self) -> list[list[str]]:
        return [[b.code, f"{b.name} ({b.code})"] for b in self.brands]

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        stale = sum(1 for b in self.brands if b.freshness_tone == "red")
        paused = sum(1 for b in self.brands if b.paused)
        parts = [plural(len(self.brands), "connector")]
        if stale:
            parts.append(f"{stale:,} stale")
        if paused:
            parts.append(f"{paused:,} paused")
        return " · ".join(parts)

    # --- reading --------------------------------------------------------------------------

    @rx.event(background=True)
    async def load(self):
        """on_load: the brand filter comes from the URL; then keep the figures current."""
        async with self:
            access = await self.require_role(*VIEWERS, action="see brand syncs")
            if not access or access.user is None:
                self._clear()
                return access.page_refusal
            brand = query_param(self.router.url.query_parameters, "brand").upper()
            self.brand_filter = brand or ALL_BRANDS
            self.can_run = access.user.role in RUNNERS
            self.can_manage = access.user.role in MANAGERS
            self._cursors = []
            self.runs_page = 1
            self.dialog = ""
            self._generation += 1
            generation = self._generation
        await self._refresh()
        return SyncsState.watch(generation)

    @rx.event(background=True)
    async def watch(self, generation: int):
        """Re-read the page every few seconds while it is open (scheduled runs, the
        staleness clock); ends when the page reloads, the tab leaves, or access ends."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            async with self:
                # Any client can send this event: the role is checked before every read.
                access = await self.require_role(*VIEWERS, action="see brand syncs")
                if not access:
                    self._clear()
                    return access.refusal
                if generation != self._generation or self.router.url.path.rstrip("/") != ROUTE:
                    return None
            await self._refresh(quiet=True)

    @rx.event
    async def refresh(self):
        access = await self.require_role(*VIEWERS, action="see brand syncs")
        if not access:
            return access.refusal
        await self._refresh()
        return None

    @rx.event
    async def filter_brand(self, brand: str):
        """Picking a brand filters the runs at once; the filter lives in the URL."""
        access = await self.require_role(*VIEWERS, action="see brand syncs")
        if not access:
            return access.refusal
        brand = brand.strip().upper()
        if brand and brand != ALL_BRANDS.upper():
            return rx.redirect(f"{ROUTE}?{urlencode({'brand': brand[:40]})}")
        return rx.redirect(ROUTE)

    @rx.event
    async def older_runs(self):
        access = await self.require_role(*VIEWERS, action="see brand syncs")
        if not access:
            return access.refusal
        if not self.runs_more or not self.runs:
            return None
        self._cursors = [*self._cursors, self.runs[-1].id]
        self.runs_page += 1
        await self._refresh()
        return None

    @rx.event
    async def newer_runs(self):
        access = await self.require_role(*VIEWERS, action="see brand syncs")
        if not access:
            return access.refusal
        if not self._cursors:
            return None
        self._cursors = self._cursors[:-1]
        self.runs_page = max(1, self.runs_page - 1)
        await self._refresh()
        return None

    async def _refresh(self, quiet: bool = False) -> None:
        """Read the page off the event loop; works in plain and background handlers."""
        async with self:
            brand = "" if self.brand_filter == ALL_BRANDS else self.brand_filter
            before = self._cursors[-1] if self._cursors else None
        try:
            health, runs = await rx.run_in_thread(functools.partial(_read_page, brand, before))
        except Exception:
            log.exception("syncs: reading the page failed")
            async with self:
                if not quiet or not self.loaded:
                    self.load_error = (
                        "The syncs could not be read. Refresh to try again; if it keeps "
                        "failing, check that the database is reachable."
                    )
            return
        now = datetime.now(UTC)
        async with self:
            self.load_error = ""
            self.brands = [BrandItem.of(h, now) for h in health]
            self.runs_more = len(runs) > RUNS_PAGE
            self.runs = [RunItem.of(r, now) for r in runs[:RUNS_PAGE]]
            self.loaded = True

    def _clear(self) -> None:
        self.brands = []
        self.runs = []
        self.loaded = False
        self.can_run = self.can_manage = False
        self._cursors = []
        self.runs_page = 1
        self.runs_more = False
        self._generation += 1
        self._close()

    # --- run now --------------------------------------------------------------------------

    def _brand(self, code: str) -> BrandItem | None:
        code = (code or "").strip().upper()
        return next((b for b in self.brands if b.code == code), None)

    @rx.event(background=True)
    async def run_now(self, code: str):
        """Sync one brand now, off the event loop; progress on the page, result as a toast."""
        async with self:
            access = await self.require_role(*RUNNERS, action="run brand syncs")
            refusal: Any = None
            brand = self._brand(code) if access else None
            if not access or access.user is None:
                refusal = access.refusal
            elif brand is None:
                refusal = rx.toast.error("That brand has no connector any more. Refresh the page.")
            elif brand.code in self.in_flight:
                refusal = rx.toast.info(f"{brand.name} is syncing already.")
            else:
                self.in_flight = [*self.in_flight, brand.code]
                who = access.user.email
        if refusal is not None:
            yield refusal
            return
        log.info("%s asked for a sync of %s now", who, brand.code)
        yield rx.toast.info(
            f"Syncing {brand.name}…",
            description="Fetching the brand's feed; the result shows here when it is done.",
        )
        task = asyncio.ensure_future(rx.run_in_thread(functools.partial(_run_sync, brand.code)))
        while not task.done():
            await asyncio.wait({task}, timeout=PROGRESS_SECONDS)
            if not task.done():
                await self._refresh(quiet=True)
        try:
            result: SyncRunView | None = task.result()
            why = ""
        except DomainError as error:  # another run holds the brand, or it was removed
            result, why = None, error.message
        except Exception:
            log.exception("syncs: run now of %s failed", brand.code)
            result, why = None, "The sync could not be started. Try again in a moment."
        async with self:
            self.in_flight = [c for c in self.in_flight if c != brand.code]
        await self._refresh(quiet=True)
        if result is None:
            yield rx.toast.error(f"{brand.name} was not synced", description=why)
        elif result.status == "succeeded":
            yield rx.toast.success(
                f"{brand.name} synced: {result.changed:,} changed",
                description=run_counts(result) + (f". {result.message}" if result.message else ""),
            )
        elif result.status == "unchanged":
            yield rx.toast.success(
                f"{brand.name} is up to date",
                description="The feed has not changed since the last sync; nothing to apply.",
            )
        else:
            yield rx.toast.error(
                f"{brand.name} sync failed",
                description=f"{result.message} Open the run for its errors.",
            )

    # --- pause, resume, schedule -------------------------------------------------------

    @rx.event
    async def pause(self, code: str):
        access = await self.require_role(*MANAGERS, action="pause brand syncs")
        if not access or access.user is None:
            return access.refusal
        return await self._switch(code, paused=True, who=access.user.email)

    @rx.event
    async def resume(self, code: str):
        access = await self.require_role(*MANAGERS, action="resume brand syncs")
        if not access or access.user is None:
            return access.refusal
        return await self._switch(code, paused=False, who=access.user.email)

    async def _switch(self, code: str, *, paused: bool, who: str) -> Any:
        brand = self._brand(code)
        if brand is None:
            return rx.toast.error("That brand has no connector any more. Refresh the page.")
        try:
            await db_write(pause_sync if paused else resume_sync, brand.code)
        except DomainError as error:
            return rx.toast.error(error.message)
        except Exception:
            log.exception("syncs: pausing/resuming %s failed", brand.code)
            return rx.toast.error(UNEXPECTED)
        log.info("%s %s the sync of %s", who, "paused" if paused else "resumed", brand.code)
        await self._refresh()
        if paused:
            return rx.toast.success(
                f"{brand.name}: scheduled syncs paused",
                description="Run now still works. Resume to sync on the schedule again.",
            )
        return rx.toast.success(
            f"{brand.name}: syncs resumed", description=f"Every {brand.every} from now on."
        )

    @rx.event
    async def open_schedule(self, code: str):
        access = await self.require_role(*MANAGERS, action="change sync schedules")
        if not access:
            return access.refusal
        brand = self._brand(code)
        if brand is None:
            return rx.toast.error("That brand has no connector any more. Refresh the page.")
        self._close()
        self.target_code, self.target_label = brand.code, brand.name
        self.form_every = brand.every
        self.form_policy = brand.policy
        self.dialog = "schedule"
        return None

    @rx.event
    async def save_schedule(self, form: ScheduleForm):
        access = await self.require_role(*MANAGERS, action="change sync schedules")
        if not access or access.user is None:
            return access.refusal
        if self.dialog != "schedule" or not self.target_code:
            return None
        every = (form.get("every") or "").strip()
        if not every:
            self.form_error = "Say how often, like 15m, 1h or 1h30m."
            return None
        self.saving = True
        try:
            view = await db_write(
                set_connector, self.target_code, every=every, policy=self.form_policy
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("syncs: saving the schedule of %s failed", self.target_code)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info(
            "%s set the sync of %s to every %s, policy %s",
            access.user.email,
            view.brand_code,
            view.every,
            view.policy,
        )
        name = self.target_label
        self._close()
        await self._refresh()
        return rx.toast.success(
            f"{name} syncs every {view.every}",
            description=f"Conflicts: {POLICY_LABELS.get(view.policy, view.policy).lower()}. "
            "The scheduler picks this up within seconds.",
        )

    # --- a run's details ----------------------------------------------------------------

    @rx.event
    async def open_run(self, run_id: int):
        access = await self.require_role(*VIEWERS, action="see brand syncs")
        if not access:
            return access.refusal
        try:
            run = await db_read(get_run, int(run_id))
        except DomainError as error:
            return rx.toast.error(error.message)
        except Exception:
            log.exception("syncs: reading run %s failed", run_id)
            return rx.toast.error("The run could not be read. Try again in a moment.")
        self._close()
        self.dialog = "run"
        self.run_title = f"Run #{run.id} · {run.brand_code} · {run.status}"
        took = duration(run.seconds)
        self.run_summary = (
            f"Started {exact_time(run.started_at)} ({run.trigger})"
            + (f", took {took}" if took else "")
            + f". {run_counts(run)}; {plural(run.requests, 'request')}."
        )
        self.run_message = run.message
        samples = [_error_sample(e) for e in run.errors] + [
            _conflict_sample(c) for c in run.conflicts
        ]
        self.run_samples = samples[:50]
        shown = min(len(run.errors), 50)
        self.run_more_errors = (
            f"Showing {shown:,} of {run.error_count:,} errors." if run.error_count > shown else ""
        )
        return None

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self._close()

    @rx.event
    def set_form_policy(self, policy: str) -> None:
        """The policy picked in the schedule dialog (saved only with Save). No data."""
        if policy in POLICY_LABELS:
            self.form_policy = policy

    def _close(self) -> None:
        self.dialog = ""
        self.form_error = ""
        self.saving = False
        self.target_code = self.target_label = ""
        self.run_title = self.run_summary = self.run_message = self.run_more_errors = ""
        self.run_samples = []
