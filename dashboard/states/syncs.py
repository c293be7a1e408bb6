"""Syncs: every brand connector's health (last success, staleness, next run, last run),
the recent runs with their errors, and the actions (run now, pause, resume, schedule).

Who may do what (every handler checks on the server first, `models.policy`):

- every role sees the page (`syncs.read`), but a vendor only their own brand's feed:
  each read is scoped to the vendor's brand from the session, never from the page;
- admins and merchandisers may "run now" (`syncs.run`: it brings stock up to date from
  the brand's own feed, like a count correction, and changes no configuration);
- only admins pause, resume and change a connector's schedule or conflict policy.
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
from reflex.event import EventSpec

from dashboard.formatting import exact_time, plural
from dashboard.states.auth import RoleGuard, SessionUser, requires, signed_in_user
from dashboard.states.dialogs import UNEXPECTED, DialogState
from dashboard.states.listing import LoadStatus, db_read, db_write, query_param
from dashboard.states.sync_history import (
    Cursor,
    RunPage,
    brand_code_of,
    read_run,
    read_run_lines,
)
from dashboard.states.sync_items import (
    POLICY_CHOICES,
    POLICY_LABELS,
    BrandItem,
    RunItem,
    SampleItem,
    conflict_sample,
    duration,
    error_sample,
    feed_address,
    run_counts,
    until,
)
from models.errors import DomainError
from models.policy import allows
from models.syncs import (
    BrandSyncHealth,
    ConflictPolicy,
    ConnectorView,
    SyncRunView,
    pause_sync,
    resume_sync,
    set_connector,
    sync_health,
)

log = logging.getLogger(__name__)

#: The page's items and words live in `sync_items`; named here for the page and tests.
__all__ = [
    "ALL_BRANDS",
    "POLICY_CHOICES",
    "BrandItem",
    "RunItem",
    "SampleItem",
    "SyncsState",
    "duration",
    "until",
]

ROUTE = "/syncs"
ALL_BRANDS = "all"
RUNS_PAGE = 15
#: While the page is open its figures are re-read this often (scheduled runs land).
WATCH_SECONDS = 5.0
#: While a "run now" is in flight, the page is re-read this often (shows it running).
PROGRESS_SECONDS = 1.0


class ScheduleForm(TypedDict, total=False):
    every: str
    policy: str


@dataclasses.dataclass(frozen=True, slots=True)
class PageData:
    health: list[BrandSyncHealth]
    runs: RunPage
    #: The vendor's brand code the page was scoped to, "" for staff.
    scope: str


def _read_page(scope_brand_id: int | None, brand: str, cursor: Cursor) -> PageData:
    """The health of the connectors the user may see, and one page of run lines."""
    from models.db import read_session

    with read_session() as session:
        scope = brand_code_of(session, scope_brand_id)
        health = sync_health(session)
        if scope:
            health, brand = [h for h in health if h.brand_code == scope], scope
        runs = read_run_lines(session, brand or None, cursor, limit=RUNS_PAGE)
    return PageData(health, runs, scope)


def _run_sync(code: str) -> SyncRunView:
    from jobs.syncs.run import run_sync

    return run_sync(code, trigger="manual")


def _as_cursor(saved: list) -> Cursor:
    return Cursor(saved[0], tuple(saved[1])) if saved else Cursor()


NO_CONNECTOR = "That brand has no connector any more. Refresh the page."


class SyncsState(RoleGuard, DialogState, LoadStatus, rx.State):
    brands: list[BrandItem] = []
    runs: list[RunItem] = []
    brand_filter: str = ALL_BRANDS
    #: What the page offers (a courtesy: every handler checks the role again).
    can_run: bool = False
    can_manage: bool = False
    #: A vendor's page: their own brand only, nothing to change.
    scoped: bool = False
    #: Brands whose "run now" this tab started and is waiting for.
    in_flight: list[str] = []
    runs_page: int = 1
    runs_more: bool = False

    #: The open dialog (DialogState.dialog): "", "schedule", "run".
    target_code: str = ""
    target_label: str = ""
    form_every: str = ""
    form_policy: str = ConflictPolicy.NEWEST.value
    run_title: str = ""
    run_summary: str = ""
    run_message: str = ""
    run_samples: list[SampleItem] = []
    run_more_errors: str = ""

    #: The cursors of the newer pages of runs ([before_id, shown groups]), newest first.
    _cursors: list[list] = []
    _older: list = []
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
    @requires("syncs.read", background=True)
    async def load(self):
        """on_load: the brand filter comes from the URL; then keep the figures current."""
        user = signed_in_user()
        async with self:
            brand = query_param(self.router.url.query_parameters, "brand").upper()
            self.brand_filter = brand or ALL_BRANDS
            self.can_run = allows(user.role, "syncs.run")
            self.can_manage = allows(user.role, "syncs.manage")
            self._cursors, self._older, self.runs_page = [], [], 1
            self._close_dialog()
            self._generation += 1
            generation = self._generation
        await self._refresh(user)
        return SyncsState.watch(generation)

    @rx.event(background=True)
    async def watch(self, generation: int):
        """Re-read the page every few seconds while it is open (scheduled runs, the
        staleness clock); ends when the page reloads, the tab leaves, or access ends."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            async with self:
                # Any client can send this event: the role is checked before every read.
                access = await self.require("syncs.read")
                if not access or access.user is None:
                    self._clear()
                    return access.refusal
                if generation != self._generation or self.router.url.path.rstrip("/") != ROUTE:
                    return None
            await self._refresh(access.user, quiet=True)

    @rx.event
    @requires("syncs.read")
    async def refresh(self) -> None:
        await self._refresh(signed_in_user())

    @rx.event
    @requires("syncs.read")
    async def filter_brand(self, brand: str):
        """Picking a brand filters the runs at once; the filter lives in the URL."""
        brand = brand.strip().upper()
        if self.scoped or signed_in_user().brand_scope is not None:
            return None  # a vendor's page shows their brand only
        if brand and brand != ALL_BRANDS.upper():
            return rx.redirect(f"{ROUTE}?{urlencode({'brand': brand[:40]})}")
        return rx.redirect(ROUTE)

    @rx.event
    @requires("syncs.read")
    async def older_runs(self) -> None:
        if not self.runs_more or not self._older:
            return
        self._cursors = [*self._cursors, self._older]
        self.runs_page += 1
        await self._refresh(signed_in_user())

    @rx.event
    @requires("syncs.read")
    async def newer_runs(self) -> None:
        if not self._cursors:
            return
        self._cursors = self._cursors[:-1]
        self.runs_page = max(1, self.runs_page - 1)
        await self._refresh(signed_in_user())

    async def _refresh(self, user: SessionUser, quiet: bool = False) -> None:
        """Read the page off the event loop, scoped to what `user` may see; works in
        plain and background handlers."""
        async with self:
            brand = "" if self.brand_filter == ALL_BRANDS else self.brand_filter
            cursor = _as_cursor(self._cursors[-1] if self._cursors else [])
        try:
            data = await rx.run_in_thread(
                functools.partial(_read_page, user.brand_scope, brand, cursor)
            )
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
            self.scoped = bool(data.scope)
            if data.scope:
                self.brand_filter = data.scope
            self.brands = [BrandItem.of(h, now) for h in data.health]
            if data.scope:  # a vendor sees where the feed is read, not its parameters
                for item in self.brands:
                    item.url = feed_address(item.url)
            older = data.runs.older
            self.runs_more = older is not None
            self._older = [older.before_id, list(older.shown)] if older else []
            self.runs = [RunItem.of(line, now) for line in data.runs.lines]
            self.loaded = True

    def _clear(self) -> None:
        self.brands = []
        self.runs = []
        self.loaded = self.scoped = False
        self.can_run = self.can_manage = False
        self._cursors, self._older = [], []
        self.runs_page = 1
        self.runs_more = False
        self._generation += 1
        self._close_dialog()

    async def _refetch(self) -> None:
        await self._refresh(signed_in_user())

    # --- run now --------------------------------------------------------------------------

    def _brand(self, code: str) -> BrandItem | None:
        code = (code or "").strip().upper()
        return next((b for b in self.brands if b.code == code), None)

    @rx.event(background=True)
    @requires("syncs.run", background=True)
    async def run_now(self, code: str):
        """Sync one brand now, off the event loop; progress on the page, result as a toast."""
        user = signed_in_user()
        async with self:
            refusal: Any = None
            brand = self._brand(code)
            if brand is None:
                refusal = rx.toast.error(NO_CONNECTOR)
            elif brand.code in self.in_flight:
                refusal = rx.toast.info(f"{brand.name} is syncing already.")
            else:
                self.in_flight = [*self.in_flight, brand.code]
        if refusal is not None or brand is None:
            yield refusal
            return
        log.info("%s asked for a sync of %s now", user.email, brand.code)
        yield rx.toast.info(
            f"Syncing {brand.name}…",
            description="Fetching the brand's feed; the result shows here when it is done.",
        )
        task = asyncio.ensure_future(rx.run_in_thread(functools.partial(_run_sync, brand.code)))
        while not task.done():
            await asyncio.wait({task}, timeout=PROGRESS_SECONDS)
            if not task.done():
                await self._refresh(user, quiet=True)
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
        await self._refresh(user, quiet=True)
        yield _run_result(brand, result, why)

    # --- pause, resume, schedule -------------------------------------------------------

    @rx.event
    @requires("syncs.manage")
    async def pause(self, code: str):
        return await self._switch(code, paused=True)

    @rx.event
    @requires("syncs.manage")
    async def resume(self, code: str):
        return await self._switch(code, paused=False)

    async def _switch(self, code: str, *, paused: bool) -> Any:
        brand = self._brand(code)
        if brand is None:
            return rx.toast.error(NO_CONNECTOR)
        try:
            await db_write(
                pause_sync if paused else resume_sync, brand.code, actor=signed_in_user().email
            )
        except DomainError as error:
            return rx.toast.error(error.message)
        except Exception:
            log.exception("syncs: pausing/resuming %s failed", brand.code)
            return rx.toast.error(UNEXPECTED)
        who = signed_in_user().email
        log.info("%s %s the sync of %s", who, "paused" if paused else "resumed", brand.code)
        await self._refetch()
        if paused:
            return rx.toast.success(
                f"{brand.name}: scheduled syncs paused",
                description="Run now still works. Resume to sync on the schedule again.",
            )
        return rx.toast.success(
            f"{brand.name}: syncs resumed", description=f"Every {brand.every} from now on."
        )

    @rx.event
    @requires("syncs.manage")
    async def open_schedule(self, code: str):
        brand = self._brand(code)
        if brand is None:
            return rx.toast.error(NO_CONNECTOR)
        self._open_dialog("schedule")
        self.target_code, self.target_label = brand.code, brand.name
        self.form_every, self.form_policy = brand.every, brand.policy
        return None

    @rx.event
    @requires("syncs.manage")
    async def save_schedule(self, form: ScheduleForm):
        if self.dialog != "schedule" or not self.target_code:
            return None
        every = (form.get("every") or "").strip()
        if not every:
            self.form_error = "Say how often, like 15m, 1h or 1h30m."
            return None
        code, name, who = self.target_code, self.target_label, signed_in_user().email

        def done(view: ConnectorView) -> str:
            log.info(
                "%s set the sync of %s to every %s, policy %s",
                who,
                code,
                view.every,
                view.policy,
            )
            return f"{name} syncs every {view.every}"

        return await self._attempt(
            db_write(set_connector, code, every=every, policy=self.form_policy, actor=who),
            done=done,
            description=lambda view: (
                f"Conflicts: {POLICY_LABELS.get(view.policy, view.policy).lower()}. "
                "The scheduler picks this up within seconds."
            ),
        )

    # --- a run's details ----------------------------------------------------------------

    @rx.event
    @requires("syncs.read")
    async def open_run(self, run_id: int):
        try:
            run = await db_read(read_run, int(run_id), signed_in_user().brand_scope)
        except (DomainError, ValueError, TypeError) as error:
            return rx.toast.error(getattr(error, "message", f"No sync run {run_id!r}."))
        except Exception:
            log.exception("syncs: reading run %s failed", run_id)
            return rx.toast.error("The run could not be read. Try again in a moment.")
        self._open_dialog("run")
        self.run_title = f"Run #{run.id} · {run.brand_code} · {run.status}"
        took = duration(run.seconds)
        self.run_summary = (
            f"Started {exact_time(run.started_at)} ({run.trigger})"
            + (f", took {took}" if took else "")
            + f". {run_counts(run)}; {plural(run.requests, 'request')}."
        )
        self.run_message = run.message
        samples = [error_sample(e) for e in run.errors] + [
            conflict_sample(c) for c in run.conflicts
        ]
        self.run_samples = samples[:50]
        shown = min(len(run.errors), 50)
        self.run_more_errors = (
            f"Showing {shown:,} of {run.error_count:,} errors." if run.error_count > shown else ""
        )
        return None

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def set_form_policy(self, policy: str) -> None:
        """The policy picked in the schedule dialog (saved only with Save). No data."""
        if policy in POLICY_LABELS:
            self.form_policy = policy

    def _close_dialog(self) -> None:
        super()._close_dialog()
        self.target_code = self.target_label = ""
        self.run_title = self.run_summary = self.run_message = self.run_more_errors = ""
        self.run_samples = []


def _run_result(brand: BrandItem, result: SyncRunView | None, why: str) -> EventSpec:
    """The toast that ends a "run now"."""
    if result is None:
        return rx.toast.error(f"{brand.name} was not synced", description=why)
    if result.status == "succeeded":
        return rx.toast.success(
            f"{brand.name} synced: {result.changed:,} changed",
            description=run_counts(result) + (f". {result.message}" if result.message else ""),
        )
    if result.status == "unchanged":
        return rx.toast.success(
            f"{brand.name} is up to date",
            description="The feed has not changed since the last sync; nothing to apply.",
        )
    return rx.toast.error(
        f"{brand.name} sync failed",
        description=f"{result.message} Open the run for its errors.",
    )
