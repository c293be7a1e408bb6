"""Resolved alerts move to `alert_archive` (`models.alerts.archive`), on SQLite and
PostgreSQL; the inbox's resolved view still lists them. And the full diff's bulk raise
(foreign keys dropped and validated once) leaves the same alerts, events and keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

import models.alerts.full as full_module
from jobs.alert_scan import run_alert_archive
from models.alerts import Alert, acknowledge_alert, archive_resolved, list_alerts
from models.alerts.tables import AlertArchive
from models.base import utcnow
from models.db import read_session, transaction
from models.errors import InvalidTransition
from models.events import Event
from models.stock import receive
from tests.factories import make_world
from tests.models.test_alerts import ALPHA, _rule, _scan, _stock
from tests.transfer_support import make_staff


@pytest.fixture
def resolved(engine):
    """Two low-stock alerts resolved (stock came in) and one still open."""
    world = make_world(engine, sizes=ALPHA)
    staff = make_staff(engine, world.brand_id)
    wh1 = world.warehouses["WH1"]
    for size in ("S", "M", "L"):
        _rule(engine, staff, "variant", world.variants[size], None, 5)
        _stock(engine, world.variants[size], wh1, 2)
    assert _scan(engine).raised == 3
    with transaction(engine) as session:
        for size in ("S", "M"):
            receive(session, world.variants[size], wh1, 10, actor="t")
    assert _scan(engine).resolved == 2
    return engine, world, staff


def _ids(engine, table) -> set[int]:
    with read_session(engine) as session:
        return set(session.scalars(select(table.id)))


def test_resolved_alerts_older_than_the_setting_move_with_their_ids(resolved):
    engine, world, staff = resolved
    before = _ids(engine, Alert)
    with read_session(engine) as session:
        resolved_ids = set(session.scalars(select(Alert.id).where(Alert.status == "resolved")))
        listed = list_alerts(session, view="resolved")
    assert len(resolved_ids) == 2 and listed.total == 2

    with transaction(engine) as session:  # not old enough yet
        assert archive_resolved(session) == 0
    later = utcnow() + timedelta(days=31)
    with transaction(engine) as session:
        assert archive_resolved(session, now=later) == 2
    assert _ids(engine, AlertArchive) == resolved_ids
    assert _ids(engine, Alert) == before - resolved_ids
    with read_session(engine) as session:
        archived = session.get(AlertArchive, min(resolved_ids))
        assert (archived.status, archived.kind) == ("resolved", "low_stock")
        assert archived.archived_at == later and archived.resolved_at is not None
        # the inbox's resolved view still lists them, with their facts
        after = list_alerts(session, view="resolved")
        assert after.total == 2
        assert {r.id for r in after.rows} == resolved_ids
        assert {r.sku for r in after.rows} == {"NRD-TEE1-BLK-S", "NRD-TEE1-BLK-M"}
        assert (
            list_alerts(session, view="resolved", warehouse_id=world.warehouses["WH2"]).total == 0
        )
        assert list_alerts(session, view="active").total == 1
    # an archived alert cannot be worked, and says why
    with pytest.raises(InvalidTransition, match="resolved"), transaction(engine) as session:
        acknowledge_alert(session, min(resolved_ids), actor_id=staff.merch)
    with transaction(engine) as session:  # nothing left to move
        assert archive_resolved(session, now=later) == 0


def test_the_archive_job_uses_the_setting(resolved, monkeypatch):
    engine, _world, _staff = resolved
    monkeypatch.setenv("RACKROOM_ALERT_ARCHIVE_AFTER", "0s")
    from models.settings import settings

    settings.cache_clear()
    try:
        assert run_alert_archive(engine) == 2
    finally:
        monkeypatch.delenv("RACKROOM_ALERT_ARCHIVE_AFTER")
        settings.cache_clear()
    assert len(_ids(engine, AlertArchive)) == 2


def test_the_archive_holds_only_resolved_alerts_of_real_subjects(resolved):
    engine, world, _staff = resolved
    wh1 = world.warehouses["WH1"]
    row = {
        "id": 99_999,
        "kind": "low_stock",
        "subject_key": "w1:v1",
        "status": "open",
        "brand_id": world.brand_id,
        "product_id": 1,
        "variant_id": world.variants["M"],
        "colour": "",
        "warehouse_id": wh1,
        "raised_at": utcnow(),
        "archived_at": utcnow(),
    }
    with transaction(engine) as session:
        row["product_id"] = session.scalar(select(Alert.product_id).limit(1))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(insert(AlertArchive.__table__).values(**row))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(
            insert(AlertArchive.__table__).values(**{**row, "status": "resolved", "brand_id": 777})
        )


@pytest.mark.postgres
def test_a_bulk_raise_checks_its_foreign_keys_once_and_keeps_them(pg_engine, monkeypatch):
    """Over BULK_RAISE new alerts the full diff drops the alert table's keys and indexes
    and puts them back (keys validated): same alerts and events as row by row, and the
    keys and indexes still hold."""
    engine = pg_engine
    monkeypatch.setattr(full_module, "BULK_RAISE", 1)
    world = make_world(engine, sizes=ALPHA)
    staff = make_staff(engine, world.brand_id)
    _rule(engine, staff, "brand", world.brand_id, None, 5)
    for size, units in zip(ALPHA, (0, 1, 2, 3, 0), strict=True):
        _stock(engine, world.variants[size], world.warehouses["WH1"], units)
    changes = _scan(engine)
    assert changes.raised == 5  # 2 out of stock, 3 low (S, M, L in stock: no broken run)
    with read_session(engine) as session:
        keys = session.execute(
            text(
                "SELECT conname, convalidated FROM pg_constraint"
                " WHERE conrelid = 'alert'::regclass AND contype = 'f' ORDER BY conname"
            )
        ).all()
        events = session.scalars(
            select(Event.data).where(Event.type == "alert.raised").order_by(Event.id)
        ).all()
        alerts = session.scalars(select(Alert.id).order_by(Alert.id)).all()
    assert keys == [
        ("alert_brand_id_fkey", True),
        ("alert_product_id_fkey", True),
        ("alert_variant_id_fkey", True),
        ("alert_warehouse_id_fkey", True),
    ]
    assert [e["alert_id"] for e in events] == alerts  # one each, in id order
    with read_session(engine) as session:
        indexes = session.scalars(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'alert' ORDER BY 1")
        ).all()
    assert indexes == [
        "alert_pkey",
        "ix_alert_product_colour",
        "ix_alert_status_brand",
        "ix_alert_variant",
        "ix_alert_warehouse_status",
        "uq_alert_unresolved_subject",
    ]
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(
            text("UPDATE alert SET warehouse_id = 424242 WHERE id = :i"), {"i": alerts[0]}
        )
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 5


@pytest.mark.postgres
def test_a_bulk_raise_keeps_the_keys_when_their_tables_are_busy(pg_engine, monkeypatch):
    """If the tables cannot be locked at once, the keys stay and check row by row."""
    engine = pg_engine
    monkeypatch.setattr(full_module, "BULK_RAISE", 1)
    world = make_world(engine, sizes=ALPHA)
    staff = make_staff(engine, world.brand_id)
    _rule(engine, staff, "brand", world.brand_id, None, 5)
    _stock(engine, world.variants["M"], world.warehouses["WH1"], 1)
    with engine.connect() as reader:
        reader.execute(text("SELECT 1 FROM variant LIMIT 1"))  # holds a lock on variant
        changes = _scan(engine)
        reader.rollback()
    assert changes.raised >= 1
    with read_session(engine) as session:
        keys = "SELECT count(*) FROM pg_constraint WHERE conrelid = 'alert'::regclass"
        assert session.scalar(text(keys + " AND contype = 'f'")) == 4
