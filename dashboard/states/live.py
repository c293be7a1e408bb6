"""Live pages: one loop that keeps an open page fresh, for every page that follows changes.

A page's load shows what it read, then chains a background event whose body is
`follow(self, generation, ...)`. The loop waits on `jobs.live` (PostgreSQL: until the
relay NOTIFYs a matching topic; SQLite: the poll interval), then asks the page, in
three small steps, whether what it shows moved:

- `_live_watch()` (holding the tab's state): what to check, as a `Watch` (the ids to
  wait on and a token, e.g. a marker and the request), or None to stop;
- `_live_read(token)` (not holding it: database reads in a worker thread): the fresh
  data when the marker moved, None when nothing did;
- `_live_show(fresh, user)` (holding it again): show what was read.

The state lock is never held while waiting or reading, so the tab's other events go
on. The loop ends when the tab loads another page or this page again (the generation
moves: `_next_generation()`), navigates away (the route differs), or the session no
longer allows the page (re-checked every `RECHECK_EVERY` wake-ups).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from dashboard.states.auth import SessionUser
from jobs.live import wait_for_change

__all__ = ["POLL_SECONDS", "RECHECK_EVERY", "LiveFollow", "Watch", "follow", "same_route"]

log = logging.getLogger(__name__)

#: How often an open page asks whether what it shows moved when nothing tells it (SQLite,
#: or the listener reconnecting), and how many wake-ups between session re-checks (each
#: is a database read).
POLL_SECONDS = 2.0
RECHECK_EVERY = 15

Events = EventSpec | list[EventSpec] | None


@dataclass(frozen=True, slots=True)
class Watch:
    """What a live page waits on: `kind` of `jobs.live` topic, the `ids` it shows (None:
    any of that kind), and `token`, whatever `_live_read` needs to tell whether they moved
    (read under the state lock, used without it)."""

    kind: str
    ids: tuple[int, ...] | None
    token: Any = None


def same_route(path: str, route: str) -> bool:
    """Whether the tab's `path` is still the page at `route` ("/x/" is "/x"; "" is "/")."""
    return (path.rstrip("/") or "/") == (route.rstrip("/") or "/")


class LiveFollow(rx.State, mixin=True):
    """A page that follows changes while open. Override the `_live_*` hooks; the page's
    background event returns `await follow(self, generation, route=..., permission=...)`."""

    #: "Live · checked 02:14:05 UTC": when the page last knew it was current (the indicator).
    live_label: str = ""
    #: Counts the page's loads: a loop follows only the load that started it.
    _generation: int = 0

    def _next_generation(self) -> int:
        """A new load (or a cleared page): loops following an older one stop."""
        self._generation += 1
        return self._generation

    def _mark_live(self) -> None:
        self.live_label = "Live · checked " + datetime.now(UTC).strftime("%H:%M:%S UTC")

    def _live_watch(self) -> Watch | None:
        """Under the lock: what to wait on and check next; None stops following."""
        return None

    async def _live_read(self, token: Any) -> Any | None:
        """Without the lock (touch no state): the fresh data when what `token` describes
        moved, else None."""
        return None

    def _live_show(self, fresh: Any, user: SessionUser) -> None:
        """Under the lock: show `fresh` (what `_live_read` returned)."""

    def _live_refused(self) -> None:
        """Under the lock: the session no longer allows the page; forget what it shows."""
        self._next_generation()


async def follow(
    state: LiveFollow,
    generation: int,
    *,
    route: str,
    permission: str,
    poll_seconds: float | None = None,
    recheck_every: int | None = None,
    settle_seconds: float = 0.0,
) -> Events:
    """The body of a page's live background event: wait, check, refetch, until the page
    is left, reloaded, or no longer allowed. Returns the refusal's events, if any.

    `state` is the background event's `self`; the lock (`async with state`) is taken only
    to read or write the state, never across a wait or a database read. `settle_seconds`
    spaces out refreshes of pages whose read is heavy (the overview scans every balance):
    a burst of changes then costs one read, not one per NOTIFY."""

    poll = POLL_SECONDS if poll_seconds is None else poll_seconds
    recheck = RECHECK_EVERY if recheck_every is None else recheck_every

    def here() -> bool:
        return generation == state._generation and same_route(state.router.url.path, route)

    async with state:
        # Any client can send the event: the session and role come first.
        access = await state.require(permission)  # type: ignore[attr-defined]
        if not access or access.user is None:
            state._live_refused()
            return access.refusal
        if not here():
            return None
        user: SessionUser = access.user
        watch = state._live_watch()
    ticks = 0
    while watch is not None:
        await wait_for_change(watch.kind, watch.ids, poll_seconds=poll)
        ticks += 1
        async with state:
            if not here():
                return None
            if ticks % recheck == 0:
                access = await state.require(permission)  # type: ignore[attr-defined]
                if not access or access.user is None:
                    state._live_refused()
                    return access.refusal
                user = access.user
            watch = state._live_watch()
        if watch is None:
            return None
        try:
            fresh = await state._live_read(watch.token)
        except Exception:
            log.exception("%s: live refresh failed; trying again shortly", type(state).__name__)
            continue
        if fresh is None:
            continue
        async with state:
            if not here():
                return None
            state._live_show(fresh, user)
            watch = state._live_watch()
        if settle_seconds:
            await asyncio.sleep(settle_seconds)
    return None
