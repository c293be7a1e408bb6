"""The state behind pages of chart panels (Analytics, Demand): compute, page, export.

`ChartPanels` is a state mixin. The concrete state names its charts (`CHARTS`), its
permissions (`READ`, `EXPORT`) and says how to compute (`_work`) and show (`_show`)
them; the mixin runs that work in background events on the analytics thread pool,
taking the tab's state lock only to read the filters and to write the answer, never
while polars or the database works. The charts at the top (`FIRST_WAVE`) are computed
and shown first (in one update: they fill the first screen), then the rest. A state
that keeps each chart in a state of its own (`ONE_AT_A_TIME`, Analytics: `_put` and
`_fetch_charts`) computes and shows the rest one chart at a time, in page order, each
answer re-sending, and the browser re-rendering, that chart alone (whatever reads a
state re-renders when any of its vars changes); with one `charts` dict (Demand) every
answer would re-send every figure, so the rest come in one wave. Each chart
remembers the newest computation asked of it: a slower, older answer (a filter changed
meanwhile) is dropped, not shown, and a wave an overtaken computation had not reached
yet is not computed at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import polars as pl
import reflex as rx

from dashboard.formatting import plural
from dashboard.states.analytics_filters import Replies
from dashboard.states.charting import ChartView
from dashboard.states.downloads import download, export_href
from dashboard.states.listing import LoadStatus
from models.errors import DomainError, InvalidQuantity, PermissionDenied

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Analytics' own workers: a slow chart never queues behind (or holds up) other pages'
#: database calls in the default executor.
POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="analytics")
EXPORT_FAILED = "The export failed. Try again in a moment."
#: The most rows one chart export holds; a larger table is refused, never cut short.
EXPORT_MAX_ROWS = 100_000


def export_size(frame: pl.DataFrame, max_rows: int | None = None) -> int:
    """The rows of an export of `frame`; InvalidQuantity when over the limit."""
    limit = EXPORT_MAX_ROWS if max_rows is None else max_rows
    if frame.height > limit:
        raise InvalidQuantity(
            f"The table has {frame.height:,} rows; an export holds at most {limit:,}. "
            "Narrow the filters and export again.",
            field="filter",
            rows=frame.height,
            max_rows=limit,
        )
    return frame.height


async def off_loop(fn: Callable[[], T]) -> T:
    """`fn()` on the analytics thread pool; the event loop (and the tab) stay free."""
    return await asyncio.get_running_loop().run_in_executor(POOL, fn)


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """One computation: what it computes, and the blocking call that does it."""

    keys: tuple[str, ...]
    run: Callable[[], Any]


class ChartPanels(LoadStatus, mixin=True):
    """Loading, paging and CSV export of a page's chart panels.

    The concrete state also mixes in `RoleGuard` and `FilterBar` (for `refusal`,
    `filter_error` and `_params`) and declares `charts: dict[str, ChartView]` with one
    empty `ChartView` per key of `CHARTS`.
    """

    #: The page's charts, in the order they are shown.
    CHARTS: ClassVar[tuple[str, ...]] = ()
    #: Computed and shown before the rest (the charts at the top of the page).
    FIRST_WAVE: ClassVar[tuple[str, ...]] = ()
    EXPORT: ClassVar[str] = "analytics.export"
    #: The export endpoint's route, `{chart}` standing for a key of CHARTS.
    EXPORT_ROUTE: ClassVar[str] = ""
    UNEXPECTED: ClassVar[str] = "The figures could not be computed. Refresh to try again."
    #: After the first wave, compute and show each chart on its own (the state
    #: overrides `_put` and `_fetch_charts` to keep each chart in a state of its own);
    #: else the rest together.
    ONE_AT_A_TIME: ClassVar[bool] = False

    loading: bool = True
    _pages: dict[str, int] = {}
    #: Per chart: the number of the newest computation asked of it.
    _asked: dict[str, int] = {}
    _running: int = 0

    # --- what the concrete state supplies (called under the state lock) --------------------

    def _work(self, brand_scope: int | None, keys: tuple[str, ...]) -> Callable[[], Any]:
        """The blocking call computing `keys` for the current filters and choices."""
        raise NotImplementedError

    def _show(self, result: Any, brand_scope: int | None, keys: tuple[str, ...]) -> None:
        """Put the result of `_work` into the state (only `keys` are still wanted)."""
        raise NotImplementedError

    def _table(self, key: str, brand_scope: int | None
               ) -> Callable[[], tuple[str, pl.DataFrame]] | None:
        """The blocking call giving (file name, frame) of one chart's whole table, as
        its export has it (None: nothing to export). The export endpoint calls the same
        function for the link's query."""
        raise NotImplementedError

    def _export_params(self, key: str) -> dict[str, str]:
        """The export link's query for chart `key`: the page's filters and the chart's
        own choices (parsed back by `dashboard/api/exports/charts.py`)."""
        raise NotImplementedError

    def _put(self, views: Mapping[str, ChartView]) -> None:
        """Show `views` (by chart key) in place of what the charts showed."""
        self.charts = {**self.charts, **views}

    async def _fetch_charts(self, keys: tuple[str, ...] | None = None) -> None:
        """Under the lock, before `_put`: load the states holding the views of `keys`
        (None: every chart), for a state keeping them in states of their own
        (Analytics); nothing by default."""

    def _clear(self) -> None:
        self._put({key: ChartView(key=key) for key in self.CHARTS})
        self._pages = {}
        self.loaded = False
        self.period_text = ""

    # --- computing ------------------------------------------------------------------------

    async def _access(self, action: str) -> Any:
        """The permission check, taking the state lock just for it (background events)."""
        async with self:
            return await self.require(action)

    def _start(self, brand_scope: int | None, keys: tuple[str, ...]) -> tuple[Job, dict]:
        """Under the lock: number a computation of `keys` and build it from the state."""
        jobs, asked = self._plan(brand_scope, [keys])
        return jobs[0], asked

    def _plan(self, brand_scope: int | None, waves: list[tuple[str, ...]]
              ) -> tuple[list[Job], dict]:
        """Under the lock: number a computation and build its waves from the state."""
        asked = {key: self._asked.get(key, 0) + 1 for wave in waves for key in wave}
        self._asked = {**self._asked, **asked}
        self._running += 1
        self.loading, self.load_error = True, ""
        return [Job(wave, self._work(brand_scope, wave)) for wave in waves], asked

    def _finish(self) -> None:
        self._running = max(0, self._running - 1)
        self.loading = self._running > 0

    def _arrive(self, result: Any, asked: dict[str, int], brand_scope: int | None
                ) -> tuple[str, ...]:
        """Under the lock: show the charts of `result` nothing newer was asked of since
        (a filter or choice changed while it was computed); the keys shown."""
        current = tuple(k for k, number in asked.items() if self._asked.get(k) == number)
        if current:
            # Set only what changes: a var set is re-sent (and re-renders what reads
            # the state) even when equal.
            for name, value in (("refusal", ""), ("filter_error", ""), ("loaded", True)):
                if getattr(self, name) != value:
                    setattr(self, name, value)
            self._show(result, brand_scope, current)
        return current

    async def _compute(self, brand_scope: int | None, keys: tuple[str, ...],
                       prepare: Callable[[], None] | None = None) -> Replies:
        """Compute `keys` off the loop and show them (or say why not), the first wave
        first so the top of the page answers sooner. `prepare` runs first under the
        same lock (one state update to the browser, not two)."""
        first = tuple(key for key in keys if key in self.FIRST_WAVE)
        rest = tuple(k for k in keys if k not in first)
        later = [(key,) for key in rest] if self.ONE_AT_A_TIME else [rest]
        waves = [wave for wave in (first, *later) if wave]
        async with self:
            if prepare is not None:
                prepare()
            jobs, asked = self._plan(brand_scope, waves)
        for job in jobs:
            async with self:
                # Taken over by a newer computation (a filter changed): not computed.
                wanted = any(self._asked.get(key) == asked[key] for key in job.keys)
            if not wanted:
                continue
            try:
                result = await off_loop(job.run)
            except PermissionDenied as refused:
                async with self:
                    await self._fetch_charts()
                    self._finish()
                    self._clear()
                    self.refusal, self.filter_error = refused.message, ""
                yield rx.toast.error(refused.message, description="No figures were read.")
                return
            except DomainError as error:  # an unknown code or a bad date in the URL
                async with self:
                    await self._fetch_charts()
                    self._finish()
                    self._clear()
                    self.refusal, self.filter_error = "", error.message
                return
            except Exception:
                log.exception("%s: computing %s failed", type(self).__name__,
                              ", ".join(job.keys))
                async with self:
                    self._finish()
                    self.load_error = self.UNEXPECTED
                return
            async with self:
                await self._fetch_charts(job.keys)
                self._arrive(result, {key: asked[key] for key in job.keys}, brand_scope)
        async with self:
            self._finish()

    async def _load_page(self) -> Replies:
        """A page's on_load: check, read the URL (`_from_url`), compute every chart."""
        access = await self._access(self.READ)
        if not access or access.user is None:
            async with self:
                await self._fetch_charts()
                self._clear()
                self.loading = False
            yield access.page_refusal
            return

        def from_url() -> None:
            self._from_url(self.router.url.query_parameters)
            self._pages = {}
            # Whatever an earlier visit left running (or lost) is overtaken now.
            self._running = 0

        async for event in self._compute(access.user.brand_scope, self.CHARTS, from_url):
            yield event

    def _from_url(self, query: Mapping[str, str]) -> None:
        """Under the lock: the filters (and page choices) from the URL's query."""
        raise NotImplementedError

    async def _choose(self, keys: tuple[str, ...], change: Callable[[], None]) -> Replies:
        """A per-chart choice: check, apply `change` under the lock, recompute `keys`."""
        access = await self._access(self.READ)
        if not access or access.user is None:
            yield access.refusal
            return
        async with self:
            change()
        async for event in self._compute(access.user.brand_scope, keys):
            yield event

    async def _pick(self, name: str, value: object, allowed: tuple[str, ...], chart: str
                    ) -> Replies:
        """A chart's own choice (`name` set to `value` when allowed) and that chart again."""

        def change() -> None:
            if isinstance(value, str) and value in allowed:
                setattr(self, name, value)

        async for event in self._choose((chart,), change):
            yield event

    # --- handlers -------------------------------------------------------------------------

    @rx.event(background=True)
    async def table_page(self, key: str, page: int) -> Replies:
        """Another page of a chart's table."""
        keys = (key,) if key in self.CHARTS else ()

        def turn() -> None:
            if keys:
                self._pages = {**self._pages, key: max(1, int(page))}

        async for event in self._choose(keys, turn):
            yield event

    @rx.event(background=True)
    async def export_csv(self, key: str) -> AsyncIterator[Any]:
        """The chart's whole table as CSV (spreadsheet-safe), for the current filters:
        the size is checked here, then the browser fetches the file from
        `dashboard/api/exports/charts.py`, which checks the session and scope itself."""
        access = await self._access(self.EXPORT)
        if not access or access.user is None:
            yield access.refusal
            return
        async with self:
            run = self._table(key, access.user.brand_scope) if key in self.CHARTS else None
            params = self._export_params(key) if run is not None else {}
        if run is None:
            return
        try:
            name, frame = await off_loop(run)
            rows = export_size(frame)
        except DomainError as error:
            yield rx.toast.error(error.message, description="Nothing was exported.")
            return
        except Exception:
            log.exception("%s: exporting %s failed", type(self).__name__, key)
            yield rx.toast.error(EXPORT_FAILED)
            return
        yield [
            download(export_href(self.EXPORT_ROUTE.format(chart=key), params)),
            rx.toast.success(f"Exporting {name} ({plural(rows, 'row')})", duration=2500),
        ]
