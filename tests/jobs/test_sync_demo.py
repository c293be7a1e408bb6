"""The demo out of the box: the seeded demo brands served by the demo brand API and synced
through the connectors `rackroom connector demo` configures (JSON, nested JSON, CSV)."""

from __future__ import annotations

import random

import httpx
import pytest
from sqlalchemy import func, select

from jobs.demo_brand_api import DemoBrandApi, brands_from_database, synthetic_brands
from jobs.seed import run_seed
from jobs.syncs.demo import configure_demo_connectors
from jobs.syncs.run import run_syncs
from models.db import create_db_engine, read_session, transaction
from models.stock import LedgerEntry, reconcile
from models.syncs import list_connectors
from tests.conftest import migrate
from tests.sync_support import FAST, serve_demo


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    migrate(url)
    engine = create_db_engine(url)
    run_seed(
        scale="demo", seed=7, if_empty=False, report=False, echo=lambda _l: None, engine=engine
    )
    engine.dispose()
    return url


def test_demo_brands_sync_from_the_demo_brand_api(demo_url):
    engine = create_db_engine(demo_url)
    api = DemoBrandApi(brands_from_database(engine))
    with serve_demo(api) as base:
        with transaction(engine) as session:
            views = configure_demo_connectors(session, base)
        assert {v.style for v in views} == {"json", "csv"} and len(views) == 7
        assert all(v.token_set for v in views)
        with transaction(engine) as session:  # --if-missing: nothing added twice
            assert configure_demo_connectors(session, base) == []

        codes = [v.brand_code for v in views]
        first = run_syncs(codes, engine=engine, limits=FAST)
        assert [r.status for r in first] == ["succeeded"] * 7, [r.message for r in first]
        assert sum(r.changed for r in first) == 0  # the demo API starts from our own stock
        assert all(r.items > 0 for r in first)

        rng = random.Random(3)
        for code in ("NRD", "HLM", "FLK"):  # default shape, nested shape, CSV
            api.drift(rng, 0.05, code)
        second = {r.brand_code: r for r in run_syncs(codes, engine=engine, limits=FAST)}
        for code in ("NRD", "HLM", "FLK"):
            assert second[code].status == "succeeded" and second[code].changed > 0, code
        assert {second[c].status for c in codes if c not in ("NRD", "HLM", "FLK")} == {"unchanged"}
    with read_session(engine) as session:
        assert reconcile(session) == []
        assert (
            session.scalar(select(func.count()).where(LedgerEntry.reason == "sync"))
            == second["NRD"].changed + second["HLM"].changed
        )
        assert len(list_connectors(session)) == 7
    engine.dispose()


def test_drift_of_nothing_changes_nothing_and_a_bad_fraction_is_refused():
    """A zero drift is a warm-up (the sync benchmark's): no quantity and no ETag moves."""
    api = DemoBrandApi(synthetic_brands(2, 50, ["WH1"]))
    before = {b.code: ([i.quantity for i in b.items], b.etag) for b in api.brands.values()}
    assert api.drift(random.Random(1), 0.0, "B01") == 0
    with serve_demo(api) as base:
        assert httpx.post(f"{base}/_demo/drift", params={"fraction": "0"}).json() == {"changed": 0}
        for bad in ("x", "-0.5", "2", "nan"):
            answer = httpx.post(f"{base}/_demo/drift", params={"fraction": bad})
            assert answer.status_code == 400, bad
    after = {b.code: ([i.quantity for i in b.items], b.etag) for b in api.brands.values()}
    assert after == before
    assert api.drift(random.Random(1), 0.1, "B02") == 5
    assert [i.quantity for i in api.brands["B02"].items] != before["B02"][0]
