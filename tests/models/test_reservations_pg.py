"""Reservations in one statement on PostgreSQL (`models.reservations_pg`).

What the one statement writes must equal what the general path writes (balance, ledger
row, both events); it must write nothing when it does not reserve; and it must stay one
statement (BEGIN, the statement, COMMIT).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import DataError

from models.api_keys import create_api_key, revoke_api_key
from models.catalog import SkuAlias, Warehouse
from models.db import read_session, transaction
from models.events import Event
from models.reservations import Reservation, reserve, reserve_by_key
from models.stock import LedgerEntry, get_balance, receive, reconcile
from models.users import ApiKey, hash_secret
from tests.factories import make_world

pytestmark = pytest.mark.postgres
SCOPE = "reservations:write"


@pytest.fixture
def world(pg_engine):
    world = make_world(pg_engine)
    make_world(pg_engine, brand="OTH", warehouses=())
    with transaction(pg_engine) as session:
        for code in ("WH1", "WH2"):
            receive(session, world.variants["M"], world.warehouses[code], 5, actor="setup")
    return world


def _key(engine, name: str, *scopes: str, brand: str | None = None) -> str:
    with transaction(engine) as session:
        return create_api_key(session, name, list(scopes), brand_code=brand)[1]


def _by_key(engine, secret: str, sku: str = "NRD-TEE1-BLK-M", order: str = "o1", **kwargs):
    with transaction(engine) as session:
        return reserve_by_key(
            session, hash_secret(secret), SCOPE, sku, 2, channel="web", order_ref=order, **kwargs
        )


@contextmanager
def _statements(engine) -> Iterator[list[str]]:
    """The statements sent to the database in the block (BEGIN and COMMIT are not)."""
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _written(engine) -> tuple[int, int, int]:
    with read_session(engine) as session:
        return tuple(
            len(list(session.scalars(select(table.id))))
            for table in (Reservation, LedgerEntry, Event)
        )


def test_a_reservation_is_one_statement_and_writes_what_the_general_path_writes(pg_engine, world):
    with _statements(pg_engine) as sent, transaction(pg_engine) as session:
        result = reserve(
            session, world.variants["M"], 2, channel="web", order_ref="o1", actor="shop"
        )
    assert len(sent) == 1
    held = result.reservation
    assert held.warehouse_id == world.warehouses["WH1"]  # priority 10 beats 20
    with read_session(pg_engine) as session:
        assert get_balance(session, world.variants["M"], held.warehouse_id).reserved == 2
        ledger = session.scalars(select(LedgerEntry).where(LedgerEntry.reason == "reserve")).one()
        assert (ledger.reserved_delta, ledger.reference, ledger.actor) == (
            2,
            f"reservation:{held.id}",
            "shop",
        )
        events = {e.type: e for e in session.scalars(select(Event).where(Event.id > 0))}
        stock = events["stock.changed"]
        assert stock.id == ledger.id
        assert stock.data["reference"] == f"reservation:{held.id}"
        assert (stock.data["reserved"], stock.data["available"]) == (2, 3)
        created = events["reservation.created"].data
        assert created["reservation_id"] == held.id
        assert (created["qty"], created["order_ref"], created["sku"]) == (2, "o1", held_sku())
        assert created["warehouse"] == "WH1" and created["status"] == "active"
        assert reconcile(session) == []


def held_sku() -> str:
    return "NRD-TEE1-BLK-M"


def test_by_key_reserves_in_one_statement_and_names_the_key_and_warehouse(pg_engine, world):
    secret = _key(pg_engine, "shop", SCOPE)
    with _statements(pg_engine) as sent:
        held = _by_key(pg_engine, secret, warehouse_code="WH2")
    assert held is not None
    assert len(sent) == 1  # the key check, the SKU and the hold (its last use: the caller)
    assert (held.key_name, held.sku, held.warehouse_code) == ("shop", held_sku(), "WH2")
    with read_session(pg_engine) as session:
        reservation = session.get(Reservation, held.reservation_id)
        assert (reservation.actor, reservation.qty) == ("api:shop", 2)
        assert get_balance(session, world.variants["M"], world.warehouses["WH2"]).reserved == 2
        ledger = session.scalars(select(LedgerEntry).where(LedgerEntry.reason == "reserve")).one()
        assert ledger.actor == "api:shop"
        assert reconcile(session) == []


@pytest.mark.parametrize(
    "case", ["revoked", "no scope", "other brand", "alias", "retry", "too much", "inactive"]
)
def test_by_key_writes_nothing_when_the_general_path_must_answer(pg_engine, world, case):
    secret = _key(
        pg_engine,
        "shop",
        *(["stock:read"] if case == "no scope" else [SCOPE]),
        brand="OTH" if case == "other brand" else None,
    )
    kwargs: dict = {}
    sku = held_sku()
    with transaction(pg_engine) as session:
        if case == "revoked":
            revoke_api_key(session, "shop")
        elif case == "alias":
            variant = world.variants["M"]
            session.add(
                SkuAlias(code="ALIAS-M", kind="legacy", variant_id=variant, brand_id=world.brand_id)
            )
            sku = "ALIAS-M"
        elif case == "retry":
            reserve(session, world.variants["M"], 2, channel="web", order_ref="o1", actor="x")
        elif case == "too much":
            kwargs["warehouse_code"] = "ST1"  # nothing received there
        elif case == "inactive":
            session.execute(update(Warehouse).values(is_active=False))
    before = _written(pg_engine)
    assert _by_key(pg_engine, secret, sku=sku, ttl=timedelta(minutes=5), **kwargs) is None
    assert _written(pg_engine) == before


def test_revoking_a_key_refuses_its_next_reservation(pg_engine, world):
    secret = _key(pg_engine, "shop", SCOPE)
    assert _by_key(pg_engine, secret, order="o1") is not None
    with transaction(pg_engine) as session:
        revoke_api_key(session, "shop")
    assert _by_key(pg_engine, secret, order="o2") is None
    with read_session(pg_engine) as session:
        key = session.scalars(select(ApiKey)).one()
        assert key.revoked_at is not None


def test_the_returned_reservation_is_the_row_the_statement_wrote(pg_engine, world):
    with transaction(pg_engine) as session:
        held = reserve(
            session, world.variants["M"], 2, channel="web", order_ref="o9", actor="shop"
        ).reservation
    with read_session(pg_engine) as session:
        assert session.get(Reservation, held.id).model_dump() == held.model_dump()


def test_a_database_error_in_the_one_statement_comes_as_sqlalchemys(pg_engine, world):
    # The statement runs on psycopg directly; its errors must look as they did through
    # SQLAlchemy (callers and the API's error handlers catch those), and write nothing.
    with pytest.raises(DataError), transaction(pg_engine) as session:
        reserve(session, world.variants["M"], 2, channel="web", order_ref="o1", actor="x" * 300)
    assert _written(pg_engine)[0] == 0
