"""An id watermark for append-only tables whose ids are handed out before commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, bindparam, or_

#: How far below the newest id read a skipped id is remembered as a gap, and for how long.
GAP_WINDOW = 10_000
GAP_TTL = timedelta(minutes=10)


class IdTail:
    """An id watermark that remembers recently skipped ids (see the module docstring)."""

    def __init__(self) -> None:
        self.mark = 0
        self.gaps: dict[int, float] = {}

    def where(self, column):
        """The WHERE clause that asks for everything new and every open gap."""
        condition = column > bindparam("mark", self.mark, type_=BigInteger)
        if self.gaps:
            condition = or_(condition, column.in_(sorted(self.gaps)))
        return condition

    def advance(self, seen: pl.Series, now: float) -> None:
        if len(seen):
            for found in set(self.gaps).intersection(seen.to_list()) if self.gaps else ():
                del self.gaps[found]
            newest = int(seen.max())
            if newest > self.mark:
                low = max(self.mark, newest - GAP_WINDOW)
                recent = seen.filter(seen > low)
                expected = pl.int_range(low + 1, newest + 1, eager=True, dtype=pl.Int64)
                known = recent.cast(pl.Int64).implode()
                for missing in expected.filter(~expected.is_in(known)).to_list():
                    self.gaps[missing] = now
                self.mark = newest
        ttl = GAP_TTL.total_seconds()
        self.gaps = {i: t for i, t in self.gaps.items() if now - t < ttl}

    def export(self, now: float, wall: float) -> dict[str, Any]:
        """The watermark and gaps for another process (gap times as wall-clock times)."""
        return {"mark": self.mark, "gaps": {str(i): wall - (now - t) for i, t in self.gaps.items()}}

    @classmethod
    def restored(cls, data: dict[str, Any], now: float, wall: float) -> IdTail:
        """A tail as `export` wrote it, on this process's clock."""
        tail = cls()
        tail.mark = int(data["mark"])
        tail.gaps = {int(i): now - (wall - t) for i, t in data["gaps"].items()}
        return tail
