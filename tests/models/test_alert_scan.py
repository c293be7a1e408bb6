"""The incremental alert scan (`models.alerts.scan`) against the full scan, on SQLite and
PostgreSQL: after random stock, rule and catalogue changes, a steady scan leaves the inbox
exactly as a full scan would."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import delete, func, select, update

import models.alerts.full as full_module
import models.alerts.scan as scan_module
from models.alerts import Alert, AlertRule, delete_rule
from models.catalog import Variant
from models.db import read_session, transaction
from models.events import Event
from models.sizes import normalise_size, size_rank
from models.stock import LedgerReason, StockBalance, adjust, ensure_balances, receive
from tests.factories import make_world
from tests.models.test_alerts import _rule as _set_rule
from tests.models.test_alerts import _scan
from tests.transfer_support import add_style, make_staff

ALPHA = ("XS", "S", "M", "L", "XL")


@pytest.fixture
def world(engine, monkeypatch):
    """A brand with alpha and numeric runs in three warehouses, stocked thinly; the
    steady scan never falls back to a full diff (the world is small)."""
    monkeypatch.setattr(scan_module, "FULL_SCAN_SHARE", 2.0)
    world = make_world(engine, sizes=ALPHA)
    staff = make_staff(engine, world.brand_id)
    add_style(engine, world.brand_id, "TEE1", "Navy", ALPHA)
    add_style(engine, world.brand_id, "JEAN", "Blue", ("28", "30", "32", "34", "36", "38"))
    add_style(engine, world.brand_id, "CAP", "Red", ("S", "M"))
    rng = random.Random(16)
    with transaction(engine) as session:
        variants = list(session.scalars(select(Variant.id).order_by(Variant.id)))
        for variant_id in variants:
            for warehouse_id in world.warehouses.values():
                units = rng.choice((0, 0, 1, 2, 3, 5))
                if units:
                    receive(session, variant_id, warehouse_id, units, actor="setup")
                elif rng.random() < 0.5:
                    ensure_balances(session, [(variant_id, warehouse_id)])
    _set_rule(engine, staff, "brand", world.brand_id, None, 2)
    return engine, world, staff


def _inbox(engine) -> set[tuple[str, str]]:
    with read_session(engine) as session:
        return set(
            session.execute(
                select(Alert.kind, Alert.subject_key).where(Alert.status != "resolved")
            ).all()
        )


def _assert_full_scan_changes_nothing(engine) -> None:
    before = _inbox(engine)
    changes = _scan(engine, full=True)
    assert (changes.raised, changes.resolved) == (0, 0), "the steady scan missed something"
    assert _inbox(engine) == before


def _random_changes(engine, world, staff, rng: random.Random) -> None:
    warehouses = list(world.warehouses.values())
    with transaction(engine) as session:
        variants = list(session.scalars(select(Variant.id).order_by(Variant.id)))
        for _ in range(6):
            variant_id, warehouse_id = rng.choice(variants), rng.choice(warehouses)
            balance = session.get(StockBalance, (variant_id, warehouse_id))
            available = 0 if balance is None else balance.on_hand - balance.reserved
            delta = rng.randint(-min(available, 3), 3)
            if delta:
                adjust(
                    session,
                    variant_id,
                    warehouse_id,
                    delta,
                    reason=LedgerReason.COUNT,
                    actor="test",
                )
            else:
                ensure_balances(session, [(variant_id, warehouse_id)])
        # A writer that keeps no ledger (reserved set directly): the scan must see it too.
        variant_id, warehouse_id = rng.choice(variants), rng.choice(warehouses)
        session.execute(
            update(StockBalance)
            .where(
                StockBalance.variant_id == variant_id,
                StockBalance.warehouse_id == warehouse_id,
            )
            .values(reserved=StockBalance.on_hand)
        )
        products = list(session.scalars(select(Variant.product_id).distinct()))
    what = rng.random()
    if what < 0.3:
        product, variant = rng.choice(products), rng.choice(variants)
        level, subject = rng.choice(
            [("brand", world.brand_id), ("product", product), ("variant", variant)]
        )
        place = rng.choice([None, *warehouses])
        _set_rule(engine, staff, level, subject, place, rng.randint(0, 4))
    elif what < 0.45:
        with transaction(engine) as session:
            rules = list(session.scalars(select(AlertRule.id).order_by(AlertRule.id)))
            if len(rules) > 1:
                delete_rule(session, rng.choice(rules[1:]), actor_id=staff.merch)
    elif what < 0.6:
        # A size relabelled (its place in the run and so the core sizes move).
        label = rng.choice(("XXS", "XXL", "M", "40"))
        system, size = normalise_size(label)
        with transaction(engine) as session:
            session.execute(
                update(Variant)
                .where(Variant.id == rng.choice(variants))
                .values(size=size, size_system=system.value, size_rank=size_rank(system, size))
            )
    elif what < 0.7:
        # A size moved to another colour: it leaves one run and joins another.
        with transaction(engine) as session:
            session.execute(
                update(Variant)
                .where(Variant.id == rng.choice(variants))
                .values(colour=rng.choice(("Black", "Navy", "Green")))
            )
    elif what < 0.8:
        sizes = ("S", "M", "L", "XL")
        ids = add_style(engine, world.brand_id, f"NEW{rng.randint(0, 10_000)}", "Grey", sizes)
        with transaction(engine) as session:
            for variant_id in ids.values():
                place = rng.choice(warehouses)
                receive(session, variant_id, place, rng.randint(1, 3), actor="test")


def test_a_steady_scan_after_random_changes_equals_a_full_scan(world):
    engine, world, staff = world
    first = _scan(engine)
    assert first.raised > 0
    rng = random.Random(7)
    for _ in range(12):
        _random_changes(engine, world, staff, rng)
        _scan(engine)
        _assert_full_scan_changes_nothing(engine)


def test_a_changed_rule_rescans_its_scope(world):
    engine, world, staff = world
    _scan(engine)
    before = _inbox(engine)
    with read_session(engine) as session:
        jeans = list(
            session.execute(
                select(Variant.id, Variant.product_id).where(Variant.sku.like("X-JEAN-%"))
            )
        )
    product = jeans[0].product_id
    rule = _set_rule(engine, staff, "product", product, None, 5)
    raised = _scan(engine)
    new = _inbox(engine) - before
    assert raised.raised == len(new) > 0
    # Only the jeans' balances and run moved: the rule's scope, nothing else.
    assert all(
        f":p{product}:" in key
        if kind == "broken_size_run"
        else int(key.split(":v")[1]) in {j.id for j in jeans}
        for kind, key in new
    )
    _assert_full_scan_changes_nothing(engine)
    with transaction(engine) as session:
        delete_rule(session, rule, actor_id=staff.merch)
    gone = _scan(engine)
    assert gone.resolved > 0
    assert _inbox(engine) == before
    _assert_full_scan_changes_nothing(engine)


def test_a_steady_scan_with_nothing_changed_reads_nothing(world, monkeypatch):
    engine, _, _ = world
    _scan(engine)
    calls = []
    monkeypatch.setattr(scan_module, "_check", lambda *a, **k: calls.append(a))
    assert _scan(engine).raised == 0
    assert calls == []


def test_the_first_scan_leaves_out_a_twin_raised_meanwhile(world, monkeypatch):
    """PostgreSQL's first scan inserts without ON CONFLICT; a twin raised by a stock
    operation's check in the meantime makes it insert again ignoring twins, with an
    `alert.raised` event for each alert it did raise."""
    engine, _world, _staff = world
    if engine.dialect.name != "postgresql":
        pytest.skip("the one-statement first scan is PostgreSQL's")
    first = _scan(engine, full=True)
    inbox = _inbox(engine)
    assert first.raised == len(inbox) > 1
    with transaction(engine) as session:
        kept = session.scalar(select(func.min(Alert.id)))
        session.execute(delete(Alert).where(Alert.id != kept))
        events = session.scalar(select(func.count()).select_from(Event))
    # As if the twin had been raised after the scan found the inbox empty.
    monkeypatch.setattr(full_module, "_inbox_empty", lambda session: True)
    again = _scan(engine, full=True)
    assert (again.raised, again.resolved) == (first.raised - 1, 0)
    assert _inbox(engine) == inbox
    with read_session(engine) as session:
        raised = session.scalars(
            select(Event.order_key).where(Event.type == "alert.raised").order_by(Event.id)
        ).all()
        total = session.scalar(select(func.count()).select_from(Event))
        ids = session.scalars(select(Alert.id).where(Alert.id != kept).order_by(Alert.id)).all()
    assert total == events + len(ids)
    assert raised[-len(ids) :] == [f"alert:{i}" for i in ids]
