"""Analytics frames shared between processes as Arrow IPC files.

The scheduler's leader publishes its frames after each refresh (the `publish_analytics`
job); every other process memory-maps the newest version (pyarrow maps the files and
polars takes their buffers without copying: polars 2 reads IPC into its own memory), so
N web workers share one copy in the page cache and a new worker is ready as soon as the
files are mapped. A reader then catches up on what changed since from the database, as
`AnalyticsData` always did, until the next version appears.

One folder per database under `settings().analytics_dir` (default var/analytics):

    <database key>/CURRENT                  name of the newest complete version
    <database key>/TICK                     the leader's count of changes, and when
    <database key>/v<seq>-<pid>-<random>/   <frame>.arrow per frame of `Frames`, meta.json

A version is written into a hidden temporary folder and renamed into place whole; only
then is CURRENT replaced (write temp + rename), so a reader never sees half a refresh.
Older versions are removed; a process still mapping one keeps it (an unlinked file lives
while mapped) until it moves to the newest.

Between versions the leader refreshes every second and writes TICK: how many of its
refreshes found changes. A reader whose frames are as fresh as that count does not ask
the database anything (N workers do not each probe it); when the count moves, or the
leader is gone (TICK older than `TICK_FRESH`), it catches up from the database itself.

meta.json carries the refresh state (id watermarks and open gaps, see `frames`) and a
canary: the rows at those watermarks as the writer read them. A reader re-reads them and
ignores files that belong to another life of the database (dropped and created again
under the same name, tables truncated by a test), falling back to loading itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.ipc
from sqlalchemy import Engine, select, text

from jobs.analytics.frames import Frames, shared_analytics
from models.catalog import Variant
from models.db import read_session
from models.reservations import SaleLine
from models.settings import private_dir, settings
from models.stock import LedgerEntry

log = logging.getLogger("rackroom.analytics")

#: 2: receipts carry first_receipt_at (markdowns' age) beside last_receipt_at.
FORMAT = 2
CURRENT = "CURRENT"
TICK = "TICK"
#: A tick older than this and the leader is taken for gone: readers ask the database.
TICK_FRESH = 5.0
#: How often the leader refreshes (`refresh_analytics`).
TICK_EVERY = 1.0
#: Seconds between two warnings that the files cannot be written.
DISK_WARNING_EVERY = 600.0
_disk_warned = [-DISK_WARNING_EVERY]
#: The frames of `Frames` written as files (refreshed_at goes in meta.json).
FRAME_NAMES = tuple(f.name for f in fields(Frames) if f.name != "refreshed_at")
#: Versions kept besides the newest (a reader switching over meanwhile still finds its own).
KEEP_OLDER = 1


@dataclass(frozen=True, slots=True)
class Published:
    """One version as a reader maps it: the frames, the writer's refresh state, canary."""

    version: str
    frames: Frames
    state: dict[str, Any]
    canary: list[str | None]


def database_key(engine: Engine) -> str | None:
    """A folder name for this database's files (None: an in-memory database, nothing to
    share). The URL alone is not enough: a database dropped and created again under the
    same name gets a new PostgreSQL oid, a copied SQLite file a new inode."""
    url = engine.url
    if engine.dialect.name == "sqlite":
        if not url.database or url.database == ":memory:" or "mode=memory" in str(url):
            return None
        try:
            stat = os.stat(url.database)
        except OSError:
            return None
        life = f"{stat.st_dev}:{stat.st_ino}"
    else:
        with read_session(engine) as session:
            life = str(session.scalar(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ))
    name = f"{url.render_as_string(hide_password=True)}|{life}"
    return hashlib.sha256(name.encode()).hexdigest()[:20]


def canary(engine: Engine, state: dict[str, Any]) -> list[str | None]:
    """The rows at the watermarks of `state`, as text: the same for the same data (rows
    are append-only), different after the tables were emptied and refilled."""
    s, ledger, v = SaleLine.__table__, LedgerEntry.__table__, Variant.__table__
    probe = select(
        select(s.c.sold_at).where(s.c.id == state["sales_mark"]).scalar_subquery(),
        select(ledger.c.created_at).where(ledger.c.id == state["ledger_mark"])
        .scalar_subquery(),
        select(v.c.sku).where(v.c.id == state["variant_mark"]).scalar_subquery(),
    )
    with read_session(engine) as session:
        row = session.execute(probe).one()
    return [_text(value) for value in row]


def _text(value: object) -> str | None:
    if isinstance(value, datetime):
        # SQLite gives naive UTC, PostgreSQL aware: the same instant reads the same.
        if value.utcoffset() is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat()
    return None if value is None else str(value)


class FrameStore:
    """The versions of one database's frames in `folder` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def for_engine(cls, engine: Engine, root: Path | None = None) -> FrameStore | None:
        """The store of `engine`'s database under `root` (default: the setting)."""
        key = database_key(engine)
        if key is None:
            return None
        return cls((root or settings().analytics_dir) / key)

    # --- reading ----------------------------------------------------------------------

    def current(self) -> str | None:
        """The newest complete version's name, or None when nothing was published."""
        try:
            return (self.folder / CURRENT).read_text().strip() or None
        except FileNotFoundError:
            return None

    def open(self, version: str) -> Published | None:
        """Map `version` (None when it is gone or unreadable: the caller loads itself)."""
        where = self.folder / version
        try:
            meta = json.loads((where / "meta.json").read_text())
            if meta.get("format") != FORMAT:
                return None
            mapped = {name: _map(where / f"{name}.arrow") for name in FRAME_NAMES}
        except (OSError, ValueError, pa.ArrowException):
            log.warning("analytics: shared version %s unreadable; loading here", version,
                        exc_info=True)
            return None
        frames = Frames(refreshed_at=datetime.fromisoformat(meta["refreshed_at"]), **mapped)
        return Published(version, frames, meta["state"], meta["canary"])

    def tick(self, max_age: float | None = TICK_FRESH) -> int | None:
        """The leader's count of refreshes that found changes, when it wrote it within
        `max_age` seconds (None: no leader refreshing; ask the database)."""
        try:
            count, at = (self.folder / TICK).read_text().split()
            if max_age is not None and time.time() - float(at) > max_age:
                return None
            return int(count)
        except (OSError, ValueError):
            return None

    # --- writing ----------------------------------------------------------------------

    def write_tick(self, count: int) -> None:
        """Say that the leader refreshed just now and has seen `count` changes."""
        private_dir(self.folder)
        self._replace(TICK, f"{count} {time.time()}")

    def _replace(self, name: str, content: str) -> None:
        """Write `name` whole or not at all (a temporary file renamed over it)."""
        temporary = self.folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        temporary.write_text(content)
        temporary.replace(self.folder / name)

    def write(self, frames: Frames, state: dict[str, Any], canary: list[str | None]) -> str:
        """Publish `frames` as the newest version; its name."""
        private_dir(self.folder)
        previous = self.current()
        sequence = int(previous[1:].split("-")[0]) + 1 if previous else 1
        version = f"v{sequence:09d}-{os.getpid()}-{secrets.token_hex(4)}"
        temporary = self.folder / f".{version}.tmp"
        temporary.mkdir(mode=0o700)
        try:
            for name in FRAME_NAMES:
                frame: pl.DataFrame = getattr(frames, name)
                # One record batch: a mapped frame is then one chunk (fast to scan).
                frame.write_ipc(temporary / f"{name}.arrow", compression="uncompressed",
                                record_batch_size=max(frame.height, 1))
            meta = {"format": FORMAT, "refreshed_at": frames.refreshed_at.isoformat(),
                    "state": state, "canary": canary}
            (temporary / "meta.json").write_text(json.dumps(meta))
            temporary.rename(self.folder / version)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        self._replace(CURRENT, version)
        self._prune(version)
        return version

    def _prune(self, newest: str) -> None:
        versions = sorted(p.name for p in self.folder.iterdir()
                          if p.name.startswith("v") and p.is_dir())
        older = [v for v in versions if v < newest]
        for version in older[: max(0, len(older) - KEEP_OLDER)]:
            shutil.rmtree(self.folder / version, ignore_errors=True)
        for leftover in self.folder.glob(".v*.tmp"):
            # A writer that died mid-version (the leader's job runs one at a time).
            shutil.rmtree(leftover, ignore_errors=True)


def _map(path: Path) -> pl.DataFrame:
    """`path` as a frame over the mapped file: no copy (the buffers keep the map open)."""
    table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def refresh_analytics() -> str | None:
    """The scheduler job (every `TICK_EVERY` s on the leader): refresh this process's
    frames, tick, and publish them every RACKROOM_ANALYTICS_PUBLISH_INTERVAL when they
    changed; the version written (None: nothing new, or nothing to share)."""
    from jobs.housekeeping import job_engine

    data = shared_analytics(job_engine())
    try:
        return data.lead(settings().analytics_publish_interval.total_seconds())
    except OSError as error:
        # A full or read-only disk: the workers load for themselves meanwhile. Said once
        # in a while, not as a failed run every second.
        now = time.monotonic()
        if now - _disk_warned[0] > DISK_WARNING_EVERY:
            _disk_warned[0] = now
            log.warning("analytics: cannot write the shared files (%s); each process "
                        "loads its own frames", error)
        return None

