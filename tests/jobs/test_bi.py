"""BI access (issue 17): `rackroom bi grant` makes a PostgreSQL login that reads the `bi`
views and nothing else — no table beneath, no personal data, no writes — against the real
local server. On SQLite the command says it needs PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from jobs.bi import BiUnavailable, grant_bi_reader
from models.db import transaction
from models.errors import Conflict, InvalidQuantity
from models.reservations import commit, reserve
from models.stock import receive
from tests.factories import make_world
from tests.jobs.test_cli import database, rackroom  # noqa: F401  (database: a fixture)

VIEWS = (
    "alerts",
    "ledger",
    "poll_votes_daily",
    "sales_daily",
    "stock_levels",
    "sync_runs",
    "transfers",
)
#: Tables holding people, secrets or credentials: the BI role must never read them.
PRIVATE_TABLES = (
    "app_user",
    "login_session",
    "api_key",
    "api_token",
    "sync_connector",
    "webhook_endpoint",
    "poll_vote",
    "audit_log",
    "stock_ledger",
)
PASSWORD = "correct-horse-battery-staple"
STAFF_EMAIL = "mia@rackroom.test"


@pytest.fixture
def bi_role(pg_engine: Engine) -> Iterator[str]:
    """A role name of this test's own; the role (roles are cluster-wide) is dropped after."""
    role = f"bi_test_{secrets.token_hex(4)}"
    yield role
    with pg_engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cursor.fetchone():
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _connect_as(pg_url: str, role: str) -> psycopg.Connection:
    url = make_url(pg_url)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        dbname=url.database,
        user=role,
        password=PASSWORD,
        autocommit=True,
    )


def _some_activity(engine: Engine) -> None:
    """Stock received by a person, then a sale through a reservation."""
    world = make_world(engine)
    with transaction(engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 10, actor=STAFF_EMAIL)
    with transaction(engine) as session:
        held = reserve(
            session,
            world.variants["M"],
            3,
            channel="web",
            order_ref="A-1",
            actor="api:shop",
            ttl=timedelta(minutes=5),
        )
    with transaction(engine) as session:
        commit(session, held.reservation.id, actor="api:shop", unit_price_cents=2500)


def test_the_bi_role_reads_every_view_and_nothing_else(
    pg_engine: Engine, pg_url: str, bi_role: str
) -> None:
    _some_activity(pg_engine)
    granted = grant_bi_reader(pg_engine, bi_role, PASSWORD)
    assert granted.created and granted.views == VIEWS

    with _connect_as(pg_url, bi_role) as connection:
        for view in VIEWS:  # every view answers, unqualified (search_path is bi)
            connection.execute(sql.SQL("SELECT * FROM {} LIMIT 5").format(sql.Identifier(view)))
        levels = connection.execute(
            "SELECT sku, warehouse, on_hand, reserved, available FROM stock_levels"
            " WHERE on_hand > 0"
        ).fetchall()
        assert levels == [("NRD-TEE1-BLK-M", "WH1", 7, 0, 7)]
        sales = connection.execute(
            "SELECT sku, warehouse, channel, units, revenue_cents, orders FROM sales_daily"
        ).fetchall()
        assert sales == [("NRD-TEE1-BLK-M", "WH1", "web", 3, 7500, 1)]
        ledger = connection.execute(
            "SELECT reason, on_hand_delta, actor_kind FROM ledger ORDER BY id"
        ).fetchall()
        assert [kind for *_, kind in ledger] == ["user", "api", "api"]
        # No view carries a person's email, whatever the column.
        for view in VIEWS:
            rows = connection.execute(
                sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(view))
            ).fetchall()
            assert not any(STAFF_EMAIL in text for (text,) in rows), view

        for table in PRIVATE_TABLES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(
                    sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(table))
                )
        # Writes are refused even after turning the session's read-only default off.
        connection.execute("SET default_transaction_read_only = off")
        denied = psycopg.errors.InsufficientPrivilege
        for statement, refusal in (
            ("UPDATE public.stock_balance SET on_hand = 0", denied),
            ("INSERT INTO public.brand (code, name, created_at) VALUES ('X', 'X', now())", denied),
            ("DELETE FROM bi.ledger", psycopg.errors.ObjectNotInPrerequisiteState),
            ("CREATE TABLE bi.mine (a int)", denied),
            ("CREATE TABLE public.mine (a int)", denied),
        ):
            with pytest.raises(refusal):
                connection.execute(statement)
    with pg_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT sum(on_hand) FROM stock_balance").scalar() == 7


def test_a_second_grant_sets_the_password_and_bad_requests_are_refused(
    pg_engine: Engine, bi_role: str
) -> None:
    assert grant_bi_reader(pg_engine, bi_role, PASSWORD).created
    assert not grant_bi_reader(pg_engine, bi_role, PASSWORD + "-2").created
    for name in ("Robert'); DROP TABLE brand; --", "pg_reader", "", "x" * 64, "has space"):
        with pytest.raises(InvalidQuantity) as refused:
            grant_bi_reader(pg_engine, name, PASSWORD)
        assert refused.value.details["field"] == "role"
    with pytest.raises(InvalidQuantity, match="at least 12"):
        grant_bi_reader(pg_engine, bi_role, "short")
    # The role Rackroom connects as, or any role that can do more than read: refused.
    with pg_engine.connect() as connection:
        own = connection.exec_driver_sql("SELECT current_user").scalar_one()
    with pytest.raises(Conflict, match="connects as"):
        grant_bi_reader(pg_engine, own, PASSWORD)
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {bi_role}_dba CREATEDB")
    try:
        with pytest.raises(Conflict, match="more than read"):
            grant_bi_reader(pg_engine, f"{bi_role}_dba", PASSWORD)
    finally:
        with pg_engine.begin() as connection:
            connection.exec_driver_sql(f"DROP ROLE {bi_role}_dba")


def test_on_sqlite_the_command_says_it_needs_postgresql(
    database: str,  # noqa: F811
    sqlite_engine: Engine,
) -> None:
    with pytest.raises(BiUnavailable, match="needs PostgreSQL"):
        grant_bi_reader(sqlite_engine, "metabase", PASSWORD)
    refused = rackroom(database, "bi", "grant", "metabase", "--password", PASSWORD)
    assert refused.returncode == 1
    assert "BI access needs PostgreSQL" in refused.stderr
