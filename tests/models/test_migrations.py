"""Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from alembic import command
from models.db import PROJECT_ROOT, create_db_engine
from tests.conftest import migrate


def _config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("pg_databases").create("rackroom_migrate")


def test_upgrade_head_matches_the_models_and_downgrade_removes_everything(fresh_url):
    migrate(fresh_url)
    engine = create_db_engine(fresh_url, pool_size=1)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
            assert set(SQLModel.metadata.tables) <= set(inspect(conn).get_table_names())
        command.downgrade(_config(fresh_url), "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_0025_recomputes_ranks_of_sizes_the_new_ladder_knows(fresh_url):
    """Variants stored before 0025 ranked 4XL, S/M and dress size 8 as unknown (999);
    the migration gives them their place in the size order and leaves known ranks."""
    command.upgrade(_config(fresh_url), "0024_attrs")
    engine = create_db_engine(fresh_url, pool_size=1)
    old = {"S": 20, "4XL": 999, "S/M": 999, "XXXXL": 999, "8": 999, "W32 L34": 3234}
    now = "2026-12-01 00:00:00+00:00"
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO brand (id, code, name, created_at) VALUES (1, 'B', 'B', :t)"),
                {"t": now},
            )
            conn.execute(
                text(
                    "INSERT INTO product (id, brand_id, style_code, name, category, attributes,"
                    " created_at) VALUES (1, 1, 'S1', 'Style', '', '{}', :t)"
                ),
                {"t": now},
            )
            for i, (size, rank) in enumerate(old.items()):
                system = "waist" if size.startswith("W") else "alpha"
                conn.execute(
                    text(
                        "INSERT INTO variant (product_id, brand_id, sku, colour, size,"
                        " size_system, size_rank, price_cents, created_at)"
                        " VALUES (1, 1, :sku, '', :size, :system, :rank, 0, :t)"
                    ),
                    {"sku": f"B-{i}", "size": size, "system": system, "rank": rank, "t": now},
                )
        migrate(fresh_url)
        with engine.connect() as conn:
            ranks = dict(conn.execute(text("SELECT size, size_rank FROM variant")).all())
        assert ranks == {"S": 20, "4XL": 80, "S/M": 25, "XXXXL": 80, "8": 1080, "W32 L34": 3234}
    finally:
        engine.dispose()
