"""Product attributes through imports: Shopify's Tags from the real sample, mapped fabric /
care / season / tags columns, changes shown by the dry run and written by the apply."""

from __future__ import annotations

from sqlalchemy import Engine, select

from jobs.imports import MappingSpec, apply_import, dry_run, save_mapping
from jobs.imports.mappings import suggest_mapping
from models.catalog import Product
from models.db import read_session, transaction
from tests.import_support import SAMPLE, csv_bytes, sample_with, snapshot
from tests.jobs.test_import_apply import ids, options

__all__ = ["ids"]  # the fixture, shared with the apply tests


def attributes(engine: Engine) -> dict[str, dict]:
    with read_session(engine) as session:
        return dict(session.execute(select(Product.style_code, Product.attributes)).all())


def test_shopify_tags_become_tags_and_a_reimport_changes_them(engine, ids):
    applied = apply_import(SAMPLE.read_bytes(), options(file_name="apparel.csv"))
    assert applied.status == "applied", applied.message
    assert applied.counts.changed_products == 0  # every product is new
    stored = attributes(engine)
    assert stored["floral-white-top"] == {"vendor": "partners-demo", "tags": ["women"]}
    assert stored["zipped-jacket"]["tags"] == ["men"]

    changed = sample_with("floral-white-top", tags="Women, Summer ,summer, Linen Blend")
    before = snapshot(engine)
    planned = dry_run(changed, options(file_name="apparel-retagged.csv"))
    assert planned.status == "dry_run" and planned.ok, planned.message
    assert planned.counts.changed_products == 1
    assert planned.counts.changed_balances == 0  # the same counts as the first time
    [diff] = planned.attribute_sample
    assert (diff.product, diff.field, diff.old, diff.new) == (
        "Floral White Top",
        "tags",
        "women",
        "women, summer, linen blend",
    )
    assert snapshot(engine) == before  # a dry run writes nothing

    again = apply_import(changed, options(file_name="apparel-retagged.csv"))
    assert again.status == "applied", again.message
    assert attributes(engine)["floral-white-top"] == {
        "vendor": "partners-demo",
        "tags": ["women", "summer", "linen blend"],
    }
    assert attributes(engine)["zipped-jacket"] == stored["zipped-jacket"]


MAPPING = MappingSpec(
    columns={
        "handle": "Style",
        "sku": "SKU",
        "size": "Size",
        "quantity": "Qty",
        "fabric": "Material",
        "season": "Season",
        "tags": "Keywords",
    },
    defaults={"care": "Machine wash 30"},
)
HEADERS = ["Style", "SKU", "Size", "Qty", "Material", "Season", "Keywords"]


def test_mapped_columns_set_fabric_care_season_and_tags(engine, ids):
    with transaction(engine) as session:
        save_mapping(session, ids["brand"], "attrs", MAPPING)
    rows = [
        ["KNIT1", "K-1", "S", "1", "Merino wool", "aw26", "Knit; Warm"],
        ["KNIT1", "K-2", "M", "2", "", "", ""],  # the product's first row decides
    ]
    result = apply_import(csv_bytes(HEADERS, rows), options(mapping_name="attrs"))
    assert result.status == "applied", result.message
    assert attributes(engine)["KNIT1"] == {
        "fabric": "Merino wool",
        "care": "Machine wash 30",
        "season": "AW26",
        "tags": ["knit; warm"],
    }
    with transaction(engine) as session:  # a key the file does not carry is kept
        product = session.scalar(select(Product).where(Product.style_code == "KNIT1"))
        product.attributes = {**product.attributes, "origin": "Scotland"}
        session.add(product)
    rows[0][5:7] = ["SS27", "knit, sale"]
    planned = dry_run(csv_bytes(HEADERS, rows), options(mapping_name="attrs"))
    assert planned.counts.changed_products == 1
    assert {(d.field, d.old, d.new) for d in planned.attribute_sample} == {
        ("season", "AW26", "SS27"),
        ("tags", "knit; warm", "knit, sale"),
    }
    apply_import(csv_bytes(HEADERS, rows), options(mapping_name="attrs"))
    assert attributes(engine)["KNIT1"]["origin"] == "Scotland"
    assert attributes(engine)["KNIT1"]["tags"] == ["knit", "sale"]


def test_a_bad_attribute_is_a_row_error_naming_the_column_and_nothing_is_applied(engine, ids):
    with transaction(engine) as session:
        save_mapping(session, ids["brand"], "attrs", MAPPING)
    rows = [
        ["KNIT2", "K-3", "S", "1", "Cotton", "Spring 2026", ""],
        ["KNIT3", "K-4", "S", "1", "x" * 201, "SS26", ""],
    ]
    before = snapshot(engine)
    result = apply_import(csv_bytes(HEADERS, rows), options(mapping_name="attrs"))
    assert result.status == "refused"
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (2, "Season", "Spring 2026"),
        (3, "Material", "x" * 201),
    ]
    assert "letters, digits" in result.errors[0].reason
    assert "at most 200" in result.errors[1].reason
    assert {k: v for k, v in snapshot(engine).items() if k != "import_run"} == {
        k: v for k, v in before.items() if k != "import_run"
    }


def test_the_mapping_editor_offers_and_suggests_the_attribute_fields():
    assert suggest_mapping(["SKU", "Material", "Care instructions", "Season", "Tags"]) == {
        "sku": "SKU",
        "fabric": "Material",
        "care": "Care instructions",
        "season": "Season",
        "tags": "Tags",
    }
