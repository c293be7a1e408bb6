"""Live screens without polling: each web worker LISTENs on PostgreSQL for "what changed".

The relay NOTIFYs `rackroom_live` with topics for the events it reads
(`models.events.live_topics`: `stock:<variant ids>`, `transfer:<ids>`, either `:*`
past 200 ids, `alert`, `import`, `sync`). The pages follow through
`dashboard/states/live.py`. One listener per process (an asyncio task on the web
worker's loop, started by the first waiter) keeps a dedicated autocommit connection,
reconnects with backoff when it drops, and wakes every waiter whose interest matches.
After a reconnect it wakes everyone: what changed while it was away is unknown.

On SQLite there is nothing to listen to: `wait_for` simply sleeps the poll interval and
the caller checks for changes itself, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.engine import make_url

from models.events import LIVE_CHANNEL
from models.settings import settings

log = logging.getLogger("rackroom.live")


@dataclass(frozen=True, slots=True)
class Change:
    """One notification: `kind` (stock, transfer, alert, import, sync) and the ids it
    names (None: any, e.g. `stock:*`, or a reconnect)."""

    kind: str
    ids: frozenset[int] | None

    @classmethod
    def parse(cls, payload: str) -> Change:
        kind, _, rest = payload.partition(":")
        if not rest or rest == "*":
            return cls(kind, None)
        ids = frozenset(int(p) for p in rest.split(",") if p.strip().isdigit())
        return cls(kind, ids)

    def concerns(self, kind: str, ids: Iterable[int] | None) -> bool:
        if self.kind not in (kind, "*"):
            return False
        return ids is None or self.ids is None or not self.ids.isdisjoint(ids)


@dataclass(eq=False)
class _Waiter:
    kind: str
    ids: frozenset[int] | None
    woken: asyncio.Event = field(default_factory=asyncio.Event)


class Listener:
    """LISTEN on one connection; `wait_for` returns when a matching change arrives."""

    def __init__(self, dsn: str, *, max_backoff: float = 10.0) -> None:
        self.dsn = dsn
        self.max_backoff = max_backoff
        self._waiters: set[_Waiter] = set()
        self._task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="live-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(
        self, kind: str, ids: Iterable[int] | None = None, *, timeout: float
    ) -> bool:
        """True when a change of `kind` touching `ids` (any, when None) arrived; False
        when `timeout` passed first."""
        self.start()
        waiter = _Waiter(kind, None if ids is None else frozenset(ids))
        self._waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter.woken.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)

    def _dispatch(self, change: Change) -> None:
        for waiter in list(self._waiters):
            if change.concerns(waiter.kind, waiter.ids):
                waiter.woken.set()

    async def _run(self) -> None:
        backoff = 0.5
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, application_name="rackroom-live"
                ) as connection:
                    await connection.execute(f"LISTEN {LIVE_CHANNEL}")
                    self.connected.set()
                    if not first:  # changes may have been missed while away
                        self._dispatch(Change("*", None))
                    first, backoff = False, 0.5
                    async for notice in connection.notifies():
                        self._dispatch(Change.parse(notice.payload))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.connected.clear()
                log.warning(
                    "live listener lost its connection (%s); again in %.1fs", error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(self.max_backoff, backoff * 2)


def psycopg_dsn(url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


_listeners: dict[int, Listener] = {}


def listener() -> Listener | None:
    """This event loop's listener (made on first use), or None on SQLite."""
    url = settings().effective_database_url
    if not url.startswith("postgresql"):
        return None
    loop = asyncio.get_running_loop()
    found = _listeners.get(id(loop))
    if found is None:
        found = _listeners[id(loop)] = Listener(psycopg_dsn(url))
    return found


async def wait_for_change(
    kind: str, ids: Iterable[int] | None, *, poll_seconds: float, timeout: float = 30.0
) -> bool:
    """Wait until something of `kind` (touching `ids`) may have changed.

    PostgreSQL: until the relay says so, or `timeout` (a safety net: the caller checks
    anyway). SQLite, or while the listener is not connected: `poll_seconds`."""
    found = listener()
    if found is not None:
        found.start()
    if found is None or not found.connected.is_set():  # SQLite, or not listening (yet)
        await asyncio.sleep(poll_seconds)
        return True
    await found.wait_for(kind, ids, timeout=timeout)
    return True
