"""Product attributes (models/attributes.py): the typed shape, its checks, the audited
update, and the stock grid's tag and season filters on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy import text as sql

from models.attributes import (
    MAX_TAGS,
    InvalidAttributes,
    ProductAttributes,
    clean_attributes,
    split_tags,
    update_attributes,
)
from models.audit import AuditEntry
from models.catalog import Product, Variant, create_brand
from models.db import read_session, transaction
from models.errors import NotFound, PermissionDenied
from models.grid import GridFilter, balance_grid, size_run_grid
from models.stock_view import grid_choices
from models.users import create_user
from tests.factories import make_world


def test_tags_are_trimmed_lower_cased_and_deduplicated_in_order():
    assert split_tags(" Organic, organic ,NEW   in,, made-in-EU ") == [
        "organic",
        "new in",
        "made-in-eu",
    ]
    got = clean_attributes(
        {"fabric": "  100%  cotton ", "care": "Wash\tcold", "season": " ss26", "tags": "B, a, b"}
    )
    assert got == ProductAttributes("100% cotton", "Wash cold", "SS26", ("b", "a"))
    assert got.to_json() == {
        "fabric": "100% cotton",
        "care": "Wash cold",
        "season": "SS26",
        "tags": ["b", "a"],
    }
    assert clean_attributes({"tags": ["X", " x "]}).tags == ("x",)
    assert clean_attributes({}).to_json() == {}


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"fabric": "x" * 201}, "fabric", "at most 200"),
        ({"care": "dry\x07clean"}, "care", "control character"),
        ({"season": "SS 26"}, "season", "letters, digits"),
        ({"season": "SPRING-SUMMER-2026"}, "season", "at most 12"),
        ({"tags": ["ok", "y" * 41]}, "tags", "at most 40"),
        ({"tags": [f"t{n}" for n in range(MAX_TAGS + 1)]}, "tags", f"at most {MAX_TAGS}"),
        ({"tags": ["a,b"]}, "tags", "comma"),
        ({"tags": 5}, "tags", "list of text"),
        ({"fabric": 3}, "fabric", "must be text"),
        ({"colour": "red"}, "colour", "Unknown attribute"),
    ],
)
def test_bad_values_are_refused_naming_the_field(values, field, words):
    with pytest.raises(InvalidAttributes, match=words) as caught:
        clean_attributes(values)
    assert caught.value.details["field"] == field


def test_reading_stored_attributes_is_lenient():
    stored = {"tags": ["Organic", "organic", 3], "season": "aw", "fabric": ["?"], "origin": "PT"}
    assert ProductAttributes.read(stored) == ProductAttributes("", "", "AW", ("organic",))
    assert ProductAttributes.read({"tags": "a, B"}).tags == ("a", "b")
    merged = ProductAttributes(season="SS26").merged_into(stored, ["season", "tags"])
    assert merged == {"fabric": ["?"], "origin": "PT", "season": "SS26"}


def _product(engine: Engine) -> tuple[int, int]:
    world = make_world(engine)
    with transaction(engine) as session:
        product = session.scalar(select(Product).where(Product.brand_id == world.brand_id))
        product.attributes = {"origin": "Portugal", "tags": ["old"]}
        session.add(product)
        return product.id, world.brand_id


def test_an_update_keeps_other_keys_and_writes_one_audit_row(engine: Engine):
    product_id, _brand = _product(engine)
    with transaction(engine) as session:
        manager = create_user(session, "m@x.test", "long enough", "manager").id
    with transaction(engine) as session:
        update_attributes(
            session,
            product_id,
            {"fabric": "Linen", "season": "ss26", "tags": "Organic, Bestseller"},
            actor_id=manager,
        )
    with transaction(engine) as session:  # the same values again: nothing to record
        update_attributes(
            session, product_id, {"tags": ["organic", "bestseller"]}, actor_id=manager
        )
    with read_session(engine) as session:
        assert session.get(Product, product_id).attributes == {
            "origin": "Portugal",
            "fabric": "Linen",
            "season": "SS26",
            "tags": ["organic", "bestseller"],
        }
        entries = list(session.scalars(select(AuditEntry)))
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.action, entry.target_type, entry.target_label) == (
        "m@x.test",
        "product.attributes_changed",
        "product",
        "TEE1",
    )
    assert entry.changes == {
        "fabric": {"old": None, "new": "Linen"},
        "season": {"old": None, "new": "SS26"},
        "tags": {"old": ["old"], "new": ["organic", "bestseller"]},
    }


def test_bad_input_and_other_brands_change_nothing(engine: Engine):
    product_id, _brand = _product(engine)
    with transaction(engine) as session:
        create_brand(session, "IND", "Indigo")
        vendor = create_user(session, "v@x.test", "long enough", "vendor", brand_code="IND").id
        own = create_user(session, "o@x.test", "long enough", "vendor", brand_code="NRD").id
        gone = create_user(session, "g@x.test", "long enough", "admin")
        gone.is_active = False
        gone = gone.id
    with pytest.raises(NotFound), transaction(engine) as session:
        update_attributes(session, product_id, {"fabric": "Wool"}, actor_id=vendor)
    with pytest.raises(PermissionDenied), transaction(engine) as session:
        update_attributes(session, product_id, {"fabric": "Wool"}, actor_id=gone)
    with pytest.raises(InvalidAttributes, match="season"), transaction(engine) as session:
        update_attributes(session, product_id, {"fabric": "Wool", "season": "?"}, actor_id=own)
    with pytest.raises(NotFound), transaction(engine) as session:
        update_attributes(session, 99_999, {"fabric": "Wool"}, actor_id=own)
    with read_session(engine) as session:
        assert session.get(Product, product_id).attributes == {
            "origin": "Portugal",
            "tags": ["old"],
        }
        assert session.scalar(select(AuditEntry.id)) is None
    with transaction(engine) as session:  # a vendor edits their own brand's product
        update_attributes(session, product_id, {"fabric": "Wool"}, actor_id=own)
    with read_session(engine) as session:
        assert session.get(Product, product_id).attributes["fabric"] == "Wool"


# --- the grid's filters -------------------------------------------------------------------

#: style → attributes; each style one variant in size M.
STYLES = {
    "TEE1": {"tags": ["organic", "bestseller"], "season": "SS26"},
    "TEE2": {"tags": ["organic"], "season": "AW26"},
    "TEE3": {"tags": ["bestseller"], "season": "SS26", "fabric": "organic cotton"},
    "TEE4": {},
    "TEE5": {"tags": "organic", "season": ["SS26"]},  # not the shape: never matches
}


def _styles(engine: Engine) -> None:
    world = make_world(engine, sizes=("M",))
    with transaction(engine) as session:
        first = session.scalar(select(Product).where(Product.style_code == "TEE1"))
        first.attributes = STYLES["TEE1"]
        session.add(first)
        for style, attributes in STYLES.items():
            if style == "TEE1":
                continue
            product = Product(
                brand_id=world.brand_id, style_code=style, name=style, attributes=attributes
            )
            session.add(product)
            session.flush()
            session.add(
                Variant(
                    product_id=product.id,
                    brand_id=world.brand_id,
                    sku=f"NRD-{style}-M",
                    colour="Black",
                    size="M",
                    size_system="alpha",
                    size_rank=3,
                )
            )


def _styles_of(engine: Engine, **wanted) -> list[str]:
    with read_session(engine) as session:
        page = balance_grid(session, GridFilter(**wanted))
        runs = size_run_grid(session, GridFilter(**wanted))
    skus = [row.sku.split("-")[1] for row in page.rows]
    assert sorted({row.style_code for row in runs.rows}) == sorted(set(skus))
    return skus


def test_the_grid_filters_on_tag_and_season(engine: Engine):
    _styles(engine)
    assert _styles_of(engine, tag="organic") == ["TEE1", "TEE2"]
    assert _styles_of(engine, tag="BESTSELLER") == ["TEE1", "TEE3"]
    assert _styles_of(engine, season="ss26") == ["TEE1", "TEE3"]
    assert _styles_of(engine, tag="organic", season="SS26") == ["TEE1"]
    assert _styles_of(engine, tag="organic", search="TEE2") == ["TEE2"]
    assert _styles_of(engine, tag="organic", stock_state="out") == ["TEE1", "TEE2"]
    assert _styles_of(engine, tag="cotton") == []  # a fabric's word is not a tag
    assert _styles_of(engine, tag="organic", season="AW26", sort="product") == ["TEE2"]
    with read_session(engine) as session:  # what the season picker offers
        assert grid_choices(session).seasons == ("AW26", "SS26")


def test_tag_and_season_live_in_the_url():
    f = GridFilter.from_params({"tag": " Organic ", "season": "aw26", "page": "2"})
    assert (f.tag, f.season) == ("organic", "AW26")
    assert f.to_params() == {"tag": "organic", "season": "AW26", "page": "2"}


def test_postgres_answers_the_tag_filter_from_the_gin_index(pg_engine: Engine):
    _styles(pg_engine)
    with pg_engine.begin() as conn:
        conn.execute(sql("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                sql(
                    "EXPLAIN SELECT id FROM product WHERE attributes @> "
                    """'{"tags": ["organic"]}'::jsonb"""
                )
            )
        )
    assert "ix_product_attributes" in plan
