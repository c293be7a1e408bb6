"""Product attributes: an index for the stock grid's tag and season filters.

On PostgreSQL a GIN index (jsonb_path_ops) on `product.attributes` answers
`attributes @> '{"tags": ["organic"]}'` and `@> '{"season": "SS26"}'` without reading
every product. SQLite gets a plain index of the same name (its filters use json_each),
so the schema is the same on both. Existing seasons and tags are normalised to the
shape `models/attributes.py` keeps (season upper-case, tags lower-case).

Revision ID: 0024_attrs
Revises: 0023_channels
Create Date: 2026-12-07 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0024_attrs"
down_revision: str | None = "0023_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_product_attributes",
            "product",
            ["attributes"],
            postgresql_using="gin",
            postgresql_ops={"attributes": "jsonb_path_ops"},
        )
        op.execute(
            "UPDATE product SET attributes = jsonb_set(attributes, '{season}', "
            "to_jsonb(upper(attributes->>'season'))) "
            "WHERE jsonb_typeof(attributes->'season') = 'string' "
            "AND attributes->>'season' <> upper(attributes->>'season')"
        )
        op.execute(
            "UPDATE product SET attributes = jsonb_set(attributes, '{tags}', "
            "lower(attributes->>'tags')::jsonb) "
            "WHERE jsonb_typeof(attributes->'tags') = 'array' "
            "AND attributes->>'tags' <> lower(attributes->>'tags')"
        )
    else:
        op.create_index("ix_product_attributes", "product", ["attributes"])
        op.execute(
            "UPDATE product SET attributes = json_set(attributes, '$.season', "
            "upper(json_extract(attributes, '$.season'))) "
            "WHERE json_type(attributes, '$.season') = 'text' "
            "AND json_extract(attributes, '$.season') <> upper(json_extract(attributes, '$.season'))"
        )
        op.execute(
            "UPDATE product SET attributes = json_set(attributes, '$.tags', "
            "json(lower(json_extract(attributes, '$.tags')))) "
            "WHERE json_type(attributes, '$.tags') = 'array' "
            "AND json_extract(attributes, '$.tags') <> lower(json_extract(attributes, '$.tags'))"
        )


def downgrade() -> None:
    op.drop_index("ix_product_attributes", table_name="product")
