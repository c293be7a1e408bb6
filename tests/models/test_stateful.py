"""Random operation sequences (hypothesis) keep every stock invariant, on both databases.

The machine mirrors what it asked for in a plain Python model and checks after each
step that the database agrees: 0 ≤ reserved ≤ on hand, balances equal their ledger,
reserved equals the active reservations, and every reservation has exactly one status.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from models.base import utcnow
from models.db import create_db_engine, read_session, transaction
from models.errors import DomainError
from models.reservations import (
    Reservation,
    SaleLine,
    commit,
    expire_due,
    record_return,
    release,
    reserve,
)
from models.stock import StockBalance, adjust, get_balance, receive, reconcile, set_count
from tests.conftest import _truncate_all
from tests.factories import make_world

SIZES = ("S", "M")
WAREHOUSES = (("WH1", 1), ("WH2", 2))


def make_machine(new_engine):
    class StockMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.engine = new_engine()
            world = make_world(self.engine, warehouses=WAREHOUSES, sizes=SIZES)
            self.variants = list(world.variants.values())
            self.warehouses = list(world.warehouses.values())
            self.clock = utcnow()
            self.on_hand = Counter()
            self.holds: dict[
                int, tuple[int, int, int]
            ] = {}  # active id → (variant, warehouse, qty)
            self.created = 0
            self.orders: list[tuple[str, int]] = []  # committed (order_ref, variant)

        def teardown(self) -> None:
            self.engine.dispose()

        def reserved(self, key) -> int:
            return sum(q for v, w, q in self.holds.values() if (v, w) == key)

        keys = st.tuples(st.integers(0, len(SIZES) - 1), st.integers(0, len(WAREHOUSES) - 1))

        def key(self, pick) -> tuple[int, int]:
            return self.variants[pick[0]], self.warehouses[pick[1]]

        @rule(pick=keys, qty=st.integers(1, 20))
        def receive(self, pick, qty):
            key = self.key(pick)
            with transaction(self.engine) as session:
                receive(session, *key, qty, actor="fuzz")
            self.on_hand[key] += qty

        @rule(pick=keys, delta=st.integers(-15, 15).filter(bool))
        def adjust(self, pick, delta):
            key = self.key(pick)
            allowed = self.on_hand[key] + delta >= self.reserved(key)
            try:
                with transaction(self.engine) as session:
                    adjust(session, *key, delta, reason="correction", actor="fuzz")
            except DomainError:
                assert not allowed
            else:
                assert allowed
                self.on_hand[key] += delta

        @rule(pick=keys, count=st.integers(0, 30), stale=st.booleans())
        def count(self, pick, count, stale):
            key = self.key(pick)
            expected = self.on_hand[key] + (1 if stale else 0)
            allowed = not stale and count >= self.reserved(key)
            try:
                with transaction(self.engine) as session:
                    set_count(session, *key, count, expected_on_hand=expected, actor="fuzz")
            except DomainError:
                assert not allowed
            else:
                assert allowed
                self.on_hand[key] = count

        @rule(
            variant=st.integers(0, len(SIZES) - 1),
            qty=st.integers(1, 8),
            ttl=st.integers(1, 120),
            order=st.integers(0, 30),
        )
        def reserve(self, variant, qty, ttl, order):
            variant_id = self.variants[variant]
            try:
                with transaction(self.engine) as session:
                    result = reserve(
                        session,
                        variant_id,
                        qty,
                        channel="web",
                        order_ref=f"o{order}",
                        actor="fuzz",
                        ttl=timedelta(minutes=ttl),
                        now=self.clock,
                    )
            except DomainError:
                return
            held = result.reservation
            if result.created:
                self.created += 1
                key = (variant_id, held.warehouse_id)
                assert self.on_hand[key] - self.reserved(key) >= qty
                self.holds[held.id] = (variant_id, held.warehouse_id, qty)

        @precondition(lambda self: self.holds)
        @rule(data=st.data(), to_commit=st.booleans())
        def close(self, data, to_commit):
            reservation_id = data.draw(st.sampled_from(sorted(self.holds)))
            try:
                with transaction(self.engine) as session:
                    if to_commit:
                        held = commit(session, reservation_id, actor="fuzz", now=self.clock)
                        self.orders.append((held.order_ref, held.variant_id))
                    else:
                        release(session, reservation_id, actor="fuzz", now=self.clock)
            except DomainError:
                return  # overdue: the sweep will expire it
            variant_id, warehouse_id, qty = self.holds.pop(reservation_id)
            if to_commit:
                self.on_hand[(variant_id, warehouse_id)] -= qty

        @rule(minutes=st.integers(1, 90))
        def time_passes_and_expiry_runs(self, minutes):
            self.clock += timedelta(minutes=minutes)
            with transaction(self.engine) as session:
                expire_due(session, now=self.clock)
            with read_session(self.engine) as session:
                active = set(
                    session.scalars(select(Reservation.id).where(Reservation.status == "active"))
                )
            self.holds = {i: h for i, h in self.holds.items() if i in active}

        @precondition(lambda self: self.orders)
        @rule(data=st.data(), warehouse=st.integers(0, len(WAREHOUSES) - 1))
        def customer_returns_one(self, data, warehouse):
            order_ref, variant_id = data.draw(st.sampled_from(self.orders))
            key = (variant_id, self.warehouses[warehouse])
            try:
                with transaction(self.engine) as session:
                    record_return(session, *key, 1, order_ref=order_ref, actor="fuzz")
            except DomainError:
                return
            self.on_hand[key] += 1

        @invariant()
        def database_agrees_with_the_model(self):
            with read_session(self.engine) as session:
                assert reconcile(session) == []
                for variant_id in self.variants:
                    for warehouse_id in self.warehouses:
                        key = (variant_id, warehouse_id)
                        balance = get_balance(session, *key)
                        assert 0 <= balance.reserved <= balance.on_hand
                        assert balance.on_hand == self.on_hand[key]
                        assert balance.reserved == self.reserved(key)
                statuses = dict(
                    session.execute(
                        select(Reservation.status, func.count()).group_by(Reservation.status)
                    ).all()
                )
                assert sum(statuses.values()) == self.created
                assert statuses.get("active", 0) == len(self.holds)
                lowest = session.scalar(
                    select(func.min(StockBalance.on_hand - StockBalance.reserved))
                )
                assert lowest is None or lowest >= 0
                sold = session.scalar(select(func.coalesce(func.sum(SaleLine.qty), 0)))
                assert sold >= 0

    return StockMachine


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_random_operation_sequences_keep_stock_invariants(database, request, tmp_path):
    if database == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        counter = iter(range(10_000))

        def new_engine():
            path = tmp_path / f"run-{next(counter)}.db"
            shutil.copyfile(template, path)
            return create_db_engine(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_url")

        def new_engine():
            engine = create_db_engine(url, pool_size=2)
            _truncate_all(engine)
            return engine

    run_state_machine_as_test(
        make_machine(new_engine),
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
