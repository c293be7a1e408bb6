"""Reverting an applied import on SQLite and PostgreSQL: compensating ledger rows put
back every balance it set; refused — nothing changed — when stock moved since, when a
reservation would no longer be covered, when already reverted, or not applied."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from jobs.imports import ImportOptions, apply_import, list_imports, revert_import
from models.audit import AuditEntry
from models.catalog import Variant
from models.db import read_session, set_default_engine, transaction
from models.errors import DomainError, NotFound
from models.imports import ImportRun
from models.reservations import reserve
from models.stock import LedgerEntry, StockBalance, receive, reconcile
from tests.import_support import PRODUCT_HEADERS, csv_bytes, product_row, setup_brand, snapshot


@pytest.fixture
def ids(engine: Engine):
    set_default_engine(engine)
    yield setup_brand(engine)
    set_default_engine(None)


def options(**kw) -> ImportOptions:
    base = {"brand_code": "NRD", "warehouse_code": "WH1", "file_name": "feed.csv",
            "actor": "ana@nrd", "accept_warnings": True}
    return ImportOptions(**(base | kw))


def feed(s: int, m: int, l_: int | None = None) -> bytes:
    rows = [
        product_row("tee", "Tee", [("Colour", "Navy"), ("Size", "S")], "T-S", s, vendor="NRD"),
        product_row("tee", "", [("Colour", "Navy"), ("Size", "M")], "T-M", m),
    ]
    if l_ is not None:
        rows.append(product_row("tee", "", [("Colour", "Navy"), ("Size", "L")], "T-L", l_))
    return csv_bytes(PRODUCT_HEADERS, rows)


def stock(engine: Engine) -> dict[str, int]:
    with read_session(engine) as session:
        rows = session.execute(
            select(Variant.sku, StockBalance.on_hand).join(
                Variant, Variant.id == StockBalance.variant_id
            )
        )
        return dict(rows.all())


def variant_id(engine: Engine, sku: str) -> int:
    with read_session(engine) as session:
        return session.scalar(select(Variant.id).where(Variant.sku == sku))


def test_a_revert_puts_back_every_balance_the_import_set(engine, ids):
    first = apply_import(feed(3, 4), options(file_name="first.csv"))
    assert first.status == "applied", first.message
    second = apply_import(feed(10, 4, 7), options(file_name="second.csv"))
    assert second.status == "applied", second.message
    assert stock(engine) == {"NRD-TEE-NAVY-S": 10, "NRD-TEE-NAVY-M": 4, "NRD-TEE-NAVY-L": 7}

    result = revert_import(second.import_id, actor="max@nrd")
    assert result.balances == 2 and "Reverted import" in result.message
    # S back to the first import's 3, L (new in the second) back to 0; M was unchanged.
    assert stock(engine) == {"NRD-TEE-NAVY-S": 3, "NRD-TEE-NAVY-M": 4, "NRD-TEE-NAVY-L": 0}
    with read_session(engine) as session:
        rows = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.reason == "import_revert")
            .order_by(LedgerEntry.id)
        ).all()
        assert sorted((r.on_hand_delta, r.reference, r.actor) for r in rows) == [
            (-7, f"import:{second.import_id}", "max@nrd"),
            (-7, f"import:{second.import_id}", "max@nrd"),
        ]
        assert reconcile(session) == []
        run = session.get(ImportRun, second.import_id)
        assert run.reverted_by == "max@nrd" and run.reverted_at is not None
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.revert"))
        assert [(a.actor, a.target_id, a.changes["balances"]) for a in audit] == [
            ("max@nrd", str(second.import_id), 2)
        ]
        history = {h.id: h for h in list_imports(session)}
    assert history[second.import_id].reverted_by == "max@nrd"
    assert history[first.import_id].reverted_at is None

    # Twice: refused, nothing changed.
    before = snapshot(engine)
    with pytest.raises(DomainError, match=f"Import {second.import_id} was already reverted"):
        revert_import(second.import_id, actor="max@nrd")
    assert snapshot(engine) == before

    # The reverted file may be applied again (it is no longer "already applied").
    again = apply_import(feed(10, 4, 7), options(file_name="second-again.csv"))
    assert again.status == "applied", again.message
    assert stock(engine)["NRD-TEE-NAVY-L"] == 7


def test_a_revert_is_refused_naming_every_balance_that_moved(engine, ids):
    applied = apply_import(feed(3, 4, 5), options())
    with transaction(engine) as session:
        receive(session, variant_id(engine, "NRD-TEE-NAVY-S"), ids["WH1"], 2, actor="dock")
        receive(session, variant_id(engine, "NRD-TEE-NAVY-L"), ids["WH1"], 1, actor="dock")
    before = snapshot(engine)
    with pytest.raises(DomainError) as refused:
        revert_import(applied.import_id, actor="max@nrd")
    message = refused.value.message
    assert "2 of the 3 balances it set have moved since" in message
    assert "NRD-TEE-NAVY-S @ WH1: the import set 3, now 5" in message
    assert "NRD-TEE-NAVY-L @ WH1: the import set 5, now 6" in message
    assert "NRD-TEE-NAVY-M" not in message
    assert snapshot(engine) == before  # nothing changed, not the untouched M either


def test_a_revert_that_would_uncover_a_reservation_is_refused(engine, ids):
    applied = apply_import(feed(6, 4), options())
    with transaction(engine) as session:
        reserve(session, variant_id(engine, "NRD-TEE-NAVY-S"), 5, channel="web",
                order_ref="o-1", actor="shop", warehouse_id=ids["WH1"])
    before = snapshot(engine)
    with pytest.raises(DomainError, match="putting back 0 would go below the 5 reserved"):
        revert_import(applied.import_id, actor="max@nrd")
    assert snapshot(engine) == before


def test_only_applied_imports_of_the_callers_brand_can_be_reverted(engine, ids):
    refused = apply_import(feed(-1, 4), options(accept_warnings=False))
    assert refused.status == "refused" and refused.import_id is not None
    before = snapshot(engine)
    with pytest.raises(DomainError, match="was refused, not applied"):
        revert_import(refused.import_id)
    with pytest.raises(NotFound, match="There is no import 999"):
        revert_import(999)
    assert snapshot(engine) == before
    applied = apply_import(feed(3, 4), options())
    other = setup_brand(engine, "SOLS", warehouses=())["brand"]
    before = snapshot(engine)
    with pytest.raises(NotFound):
        revert_import(applied.import_id, brand_scope=other)  # a vendor of another brand
    assert snapshot(engine) == before
    assert revert_import(applied.import_id, brand_scope=ids["brand"]).balances == 2
