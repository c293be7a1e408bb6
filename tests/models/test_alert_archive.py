"""Resolved alerts move to `alert_archive` (`models.alerts.archive`), on SQLite and
PostgreSQL; the inbox's resolved view still lists them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from jobs.alert_scan import run_alert_archive
from models.alerts import Alert, acknowledge_alert, archive_resolved, list_alerts
from models.alerts.tables import AlertArchive
from models.base import utcnow
from models.db import read_session, transaction
from models.errors import InvalidTransition
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
