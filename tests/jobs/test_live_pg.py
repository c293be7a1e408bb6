"""Live change notifications on PostgreSQL: the relay's NOTIFY reaches a listener, which
survives losing its connection."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from jobs.events.relay import Relay
from jobs.live import Change, Listener, psycopg_dsn
from models.db import transaction
from models.stock import receive
from tests.factories import make_world

pytestmark = pytest.mark.postgres


def test_changes_parse_and_match_what_a_page_shows():
    assert Change.parse("stock:3,5").concerns("stock", [5, 9])
    assert not Change.parse("stock:3,5").concerns("stock", [4])
    assert Change.parse("stock:*").concerns("stock", [4])
    assert not Change.parse("transfer:1").concerns("stock", None)
    assert Change.parse("alert").concerns("alert", None)


def test_a_listener_hears_the_relay_and_reconnects_after_losing_its_connection(pg_engine):
    world = make_world(pg_engine)
    m, s, wh = world.variants["M"], world.variants["S"], world.warehouses["WH1"]
    relay = Relay(pg_engine)

    def change(variant: int) -> None:
        with transaction(pg_engine) as session:
            receive(session, variant, wh, 1, actor="t")
        relay.run_once()

    async def scenario() -> None:
        listener = Listener(psycopg_dsn(pg_engine.url.render_as_string(hide_password=False)))
        listener.start()
        await asyncio.wait_for(listener.connected.wait(), 30)
        loop = asyncio.get_running_loop()
        # Another variant's change does not wake a page showing only M ...
        waiting = asyncio.ensure_future(listener.wait_for("stock", [m], timeout=30))
        await asyncio.sleep(0.1)
        await loop.run_in_executor(None, change, s)
        await asyncio.sleep(0.5)
        assert not waiting.done()
        # ... its own does.
        await loop.run_in_executor(None, change, m)
        assert await waiting is True
        # The server drops the listener's connection: it comes back and hears again.
        with pg_engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'rackroom-live'"
                )
            )
        listener.connected.clear()
        await asyncio.wait_for(listener.connected.wait(), 30)
        again = asyncio.ensure_future(listener.wait_for("stock", [m], timeout=30))
        await asyncio.sleep(0.1)
        await loop.run_in_executor(None, change, m)
        assert await again is True
        await listener.stop()

    asyncio.run(scenario())
