"""Catalogue: brands, their styles (products), variants and SKU aliases; warehouses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, Session, SQLModel

from models.base import UTCDateTime, utcnow
from models.errors import Conflict, NotFound
from models.geo import place

JSONType = JSON().with_variant(JSONB(), "postgresql")


def _trigram_index(name: str, *columns: str) -> Index:
    """A GIN trigram index for substring search on PostgreSQL (a plain b-tree elsewhere).

    Created by revision 0006_grid_search, which falls back to a b-tree of the same
    name when pg_trgm is not available.
    """
    return Index(
        name,
        *columns,
        postgresql_using="gin",
        postgresql_ops=dict.fromkeys(columns, "gin_trgm_ops"),
    )


class Brand(SQLModel, table=True):
    __tablename__ = "brand"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: How a bare size number of this brand reads ("42": EU shoes, not waist 42):
    #: a `models.sizes.SizeSystem` value, or None to guess from the label.
    size_system_hint: str | None = Field(default=None, max_length=20)


class Product(SQLModel, table=True):
    """A brand's style, e.g. "Selvedge Straight Jean"."""

    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("brand_id", "style_code"),
        _trigram_index("ix_product_search_trgm", "name", "style_code"),
        # The grid's tag and season filters (`attributes @> ...`), migration 0024. On
        # SQLite a plain index of the same name (the filters scan with json_each there).
        Index(
            "ix_product_attributes",
            "attributes",
            postgresql_using="gin",
            postgresql_ops={"attributes": "jsonb_path_ops"},
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    style_code: str = Field(max_length=64)
    name: str = Field(max_length=300)
    category: str = Field(default="", max_length=100, index=True)
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Variant(SQLModel, table=True):
    """A sellable colour × size of a product. `sku` is canonical and unique across brands."""

    __tablename__ = "variant"
    __table_args__ = (
        Index("ix_variant_brand_product", "brand_id", "product_id"),
        UniqueConstraint("product_id", "colour", "size"),
        # The stock grid: one brand's variants in SKU order, and text search.
        Index("ix_variant_brand_sku", "brand_id", "sku"),
        _trigram_index("ix_variant_search_trgm", "sku", "barcode"),
        # A barcode names one variant of its brand (NULLs are not compared).
        Index("ux_variant_brand_barcode", "brand_id", "barcode", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id")
    #: Same as the product's brand; kept here so stock queries filter without a join.
    brand_id: int = Field(foreign_key="brand.id")
    sku: str = Field(max_length=64, unique=True)
    colour: str = Field(default="", max_length=60)
    size: str = Field(default="One Size", max_length=30)
    size_system: str = Field(default="one_size", max_length=20)
    size_rank: int = Field(default=0)
    barcode: str | None = Field(default=None, max_length=32, index=True)
    price_cents: int = Field(default=0, ge=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AliasKind(StrEnum):
    BRAND = "brand"
    LEGACY = "legacy"
    SHOPIFY = "shopify"
    BARCODE = "barcode"


class SkuAlias(SQLModel, table=True):
    """Another code that names a variant: the brand's own SKU, a legacy or Shopify SKU."""

    __tablename__ = "sku_alias"
    __table_args__ = (
        UniqueConstraint("brand_id", "code"),
        CheckConstraint("kind IN ('brand', 'legacy', 'shopify', 'barcode')", name="alias_kind"),
        _trigram_index("ix_sku_alias_search_trgm", "code"),
        # An alias names one variant across every brand: another brand's import cannot
        # take a code a storefront already looks up.
        Index("ux_sku_alias_code", "code", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    variant_id: int = Field(foreign_key="variant.id", index=True)
    brand_id: int = Field(foreign_key="brand.id")
    kind: str = Field(max_length=16)
    code: str = Field(max_length=64, index=True)


class WarehouseKind(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"


class Warehouse(SQLModel, table=True):
    """A place that holds stock. Lower `priority` is allocated from first."""

    __tablename__ = "warehouse"
    __table_args__ = (
        CheckConstraint("kind IN ('warehouse', 'store')", name="warehouse_kind"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="warehouse_latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="warehouse_longitude_range"),
        CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)", name="warehouse_coordinates_paired"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(default=WarehouseKind.WAREHOUSE.value, max_length=16)
    priority: int = Field(default=100)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: ISO 3166-1 alpha-2; None for warehouses made before channels (migration 0021).
    country: str | None = Field(default=None, max_length=2)
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)


# --- lookups and creation -------------------------------------------------------------


def brand_by_code(session: Session, code: str) -> Brand:
    brand = session.scalar(select(Brand).where(Brand.code == code))
    if brand is None:
        raise NotFound(f"No brand with code {code!r}.", brand=code)
    return brand


def warehouse_by_code(session: Session, code: str) -> Warehouse:
    warehouse = session.scalar(select(Warehouse).where(Warehouse.code == code))
    if warehouse is None:
        raise NotFound(f"No warehouse with code {code!r}.", warehouse=code)
    return warehouse


def variant_by_sku(session: Session, sku: str, *, brand_id: int | None = None) -> Variant:
    """Find a variant by canonical SKU, alias or barcode (within one brand if given)."""
    query = select(Variant).where(Variant.sku == sku)
    if brand_id is not None:
        query = query.where(Variant.brand_id == brand_id)
    variant = session.scalar(query)
    if variant is not None:
        return variant
    alias_query = (
        select(Variant)
        .join(SkuAlias, SkuAlias.variant_id == Variant.id)
        .where(SkuAlias.code == sku)
    )
    if brand_id is not None:
        alias_query = alias_query.where(SkuAlias.brand_id == brand_id)
    matches = list(session.scalars(alias_query.limit(2)))
    if len(matches) > 1:
        raise Conflict(
            f"SKU {sku!r} is an alias in more than one brand; ask with a canonical SKU.",
            sku=sku,
        )
    if matches:
        return matches[0]
    if brand_id is None:
        variant = session.scalar(select(Variant).where(Variant.barcode == sku).limit(1))
        if variant is not None:
            return variant
    raise NotFound(f"No variant with SKU, alias or barcode {sku!r}.", sku=sku)


def create_brand(session: Session, code: str, name: str) -> Brand:
    code = code.strip().upper()
    if not code or not code.replace("-", "").isalnum():
        raise Conflict(f"Brand code {code!r} must be letters, digits or '-'.", code=code)
    if session.scalar(select(Brand).where(Brand.code == code)) is not None:
        raise Conflict(f"Brand {code!r} already exists.", code=code)
    brand = Brand(code=code, name=name.strip() or code)
    session.add(brand)
    session.flush()
    return brand


def create_warehouse(
    session: Session,
    code: str,
    name: str,
    *,
    kind: WarehouseKind | str = WarehouseKind.WAREHOUSE,
    priority: int = 100,
    country: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Warehouse:
    """A new warehouse; country and coordinates (both or neither) are checked."""
    where = place(country, latitude, longitude)
    code = code.strip().upper()
    if not code or not code.replace("-", "").isalnum():
        raise Conflict(f"Warehouse code {code!r} must be letters, digits or '-'.", code=code)
    kind = WarehouseKind(kind)
    if session.scalar(select(Warehouse).where(Warehouse.code == code)) is not None:
        raise Conflict(f"Warehouse {code!r} already exists.", code=code)
    warehouse = Warehouse(
        code=code,
        name=name.strip() or code,
        kind=kind.value,
        priority=priority,
        country=where.country,
        latitude=where.lat,
        longitude=where.lon,
    )
    session.add(warehouse)
    session.flush()
    return warehouse
