"""A split SKU raced by sixteen threads on PostgreSQL never oversells."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from models.db import read_session, transaction
from models.errors import InsufficientStock
from models.reservations import Reservation, reserve
from models.stock import StockBalance, reconcile
from tests.channel_support import LONDON, make_europe, stock
from tests.models.test_allocation import channel
from tests.models.test_concurrency_pg import THREADS, race

pytestmark = pytest.mark.postgres


def test_sixteen_threads_on_a_split_sku_never_oversell(pg_engine):
    world = make_europe(pg_engine)
    channel(pg_engine, strategy="nearest", allow_split=True)
    stock(pg_engine, world, LON=8, MAN=9, MAD=9, CPH=11)  # 37 units, at most 11 in one
    sku = world.variants["M"]

    def attempt(i: int) -> str:
        try:
            with transaction(pg_engine) as session:
                result = reserve(
                    session, sku, 12, channel="eu", order_ref=f"o{i}", actor="t", ship_to=LONDON
                )
            assert sum(q for _w, q in result.allocations) == 12
            return f"held 12 in {len(result.allocations)}"
        except InsufficientStock:
            return "refused"

    outcomes = Counter(race(THREADS, 160, attempt))

    # Every hold is split (no warehouse has 12); never more than there is.
    assert set(outcomes) <= {"held 12 in 2", "held 12 in 3", "refused"}
    held = 12 * (sum(outcomes.values()) - outcomes["refused"])
    assert 12 <= held <= 36
    with read_session(pg_engine) as session:
        assert session.scalar(select(func.sum(Reservation.qty))) == held
        assert session.scalar(select(func.sum(StockBalance.reserved))) == held
        assert session.scalar(select(func.min(StockBalance.on_hand - StockBalance.reserved))) >= 0
        assert reconcile(session) == []
