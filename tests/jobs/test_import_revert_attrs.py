"""Reverting an import also puts back the product attributes it changed (SQLite and
PostgreSQL): compare-and-swap on what the import wrote, refused naming the product when it
was edited since (on the product page or by a later import), all or nothing with stock."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, select

from jobs.imports import apply_import, revert_import
from models.attributes import update_attributes
from models.audit import AuditEntry
from models.catalog import Product, Variant
from models.db import read_session, transaction
from models.errors import DomainError
from models.imports import ImportAttributeChange
from models.stock import StockBalance, receive, reconcile, set_count
from models.users import create_user
from tests.import_support import SAMPLE, sample_with, snapshot
from tests.jobs.test_import_apply import ids, options

__all__ = ["ids"]  # the fixture, shared with the apply tests

FLORAL = "floral-white-top"
ORIGINAL = {"vendor": "partners-demo", "tags": ["women"]}
SUMMER = {"vendor": "partners-demo", "tags": ["women", "summer"]}


def floral(engine: Engine) -> tuple[dict, int]:
    """The Floral White Top's attributes and its one variant's stock at WH1."""
    with read_session(engine) as session:
        product = session.scalar(select(Product).where(Product.style_code == FLORAL))
        on_hand = session.scalar(
            select(StockBalance.on_hand)
            .join(Variant, Variant.id == StockBalance.variant_id)
            .where(Variant.product_id == product.id)
        )
        return dict(product.attributes), on_hand


def floral_variant(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.scalar(
            select(Variant.id).join(Product).where(Product.style_code == FLORAL)
        )


def apply(data: bytes, name: str) -> int:
    result = apply_import(data, options(file_name=name))
    assert result.status == "applied", result.message
    assert result.import_id is not None
    return result.import_id


def test_a_revert_puts_back_the_tags_a_shopify_reimport_changed(engine, ids):
    apply(SAMPLE.read_bytes(), "apparel.csv")
    assert floral(engine) == (ORIGINAL, 1)
    retag = apply(sample_with(FLORAL, tags="women, summer", qty=4), "retagged.csv")
    assert floral(engine) == (SUMMER, 4)
    with read_session(engine) as session:
        recorded = session.scalars(select(ImportAttributeChange)).all()
        assert [(r.import_id, r.before, r.after) for r in recorded] == [
            (retag, ORIGINAL, SUMMER)
        ]

    result = revert_import(retag, actor="max@nrd")
    assert (result.balances, result.products) == (1, 1)
    assert result.message == (
        f"Reverted import {retag} (NRD): 1 balance(s) and the attributes of 1 product(s) put "
        "back as they were before it."
    )
    assert floral(engine) == (ORIGINAL, 1)
    with read_session(engine) as session:
        assert reconcile(session) == []
        [audit] = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.revert"))
        assert audit.changes == {"brand": "NRD", "balances": 1, "products": 1}

    before = snapshot(engine)
    with pytest.raises(DomainError, match=f"Import {retag} was already reverted"):
        revert_import(retag, actor="max@nrd")
    assert snapshot(engine) == before


def test_a_product_edited_since_refuses_the_revert_naming_it_and_nothing_changes(engine, ids):
    apply(SAMPLE.read_bytes(), "apparel.csv")
    retag = apply(sample_with(FLORAL, tags="women, summer", qty=4), "retagged.csv")
    with read_session(engine) as session:
        product_id = session.scalar(select(Product.id).where(Product.style_code == FLORAL))
    with transaction(engine) as session:
        manager = create_user(session, "m@nrd.test", "long enough", "manager").id
    with transaction(engine) as session:  # the product page
        update_attributes(session, product_id, {"tags": "women, summer, sale"}, actor_id=manager)

    before = snapshot(engine)
    with pytest.raises(DomainError) as refused:
        revert_import(retag, actor="max@nrd")
    assert refused.value.message == (
        f"Import {retag} was not reverted: 1 of the 1 products whose attributes it changed "
        "were edited since. floral-white-top (Floral White Top): tags changed since the "
        "import. Correct them by hand (product page) instead."
    )
    assert refused.value.details["edited"] == [
        "floral-white-top (Floral White Top): tags changed since the import"
    ]
    assert snapshot(engine) == before  # the stock it set (4) is untouched too
    assert floral(engine) == ({**SUMMER, "tags": ["women", "summer", "sale"]}, 4)

    # Stock moved as well: the refusal names the balance and the product.
    with transaction(engine) as session:
        receive(session, floral_variant(engine), ids["WH1"], 2, actor="dock")
    with pytest.raises(DomainError) as refused:
        revert_import(retag, actor="max@nrd")
    message = refused.value.message
    assert "1 of the 1 balances it set have moved since and 1 of the 1 products" in message
    assert "@ WH1: the import set 4, now 6; floral-white-top (Floral White Top)" in message
    assert message.endswith("(stock page and product page) instead.")

    # Both put back by hand to what the import set: now the revert goes through.
    with transaction(engine) as session:
        update_attributes(session, product_id, {"tags": "women, summer"}, actor_id=manager)
        set_count(session, floral_variant(engine), ids["WH1"], 4, actor="ops", reason="correction")
    assert revert_import(retag, actor="max@nrd").products == 1
    assert floral(engine) == (ORIGINAL, 1)


def test_a_later_import_of_the_same_product_is_reverted_first(engine, ids):
    apply(SAMPLE.read_bytes(), "apparel.csv")
    first = apply(sample_with(FLORAL, tags="women, summer"), "summer.csv")
    second = apply(sample_with(FLORAL, tags="women, autumn"), "autumn.csv")
    before = snapshot(engine)
    with pytest.raises(DomainError, match="floral-white-top \\(Floral White Top\\): tags"):
        revert_import(first)
    assert snapshot(engine) == before

    assert revert_import(second).products == 1
    assert floral(engine)[0] == SUMMER
    result = revert_import(first)
    assert (result.balances, result.products) == (0, 1)
    assert floral(engine)[0] == ORIGINAL


def test_an_import_without_recorded_attribute_changes_reverts_stock_only(engine, ids):
    """As an import applied before migration 0026: nothing recorded, tags stay."""
    apply(SAMPLE.read_bytes(), "apparel.csv")
    retag = apply(sample_with(FLORAL, tags="women, summer", qty=4), "retagged.csv")
    with transaction(engine) as session:
        session.execute(delete(ImportAttributeChange))
    result = revert_import(retag)
    assert (result.balances, result.products) == (1, 0)
    assert "attributes" not in result.message
    assert floral(engine) == (SUMMER, 1)
