"""Vendor feed imports: the history of every run, and saved per-brand column mappings.

An `ImportRun` is written in the same transaction as the changes it applied (with an
`ImportAttributeChange` per product whose attributes it changed), so a
run that dies half-way leaves no row behind (and no changes). Refused and failed
applies are recorded afterwards in a transaction of their own, so the history says
who tried what and why it was refused.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.catalog import JSONType


class ImportStatus(StrEnum):
    DRY_RUN = "dry_run"
    APPLIED = "applied"
    FAILED = "failed"
    REFUSED = "refused"


class ImportRun(SQLModel, table=True):
    """One upload of one file for one brand: what it was, who sent it, what it did."""

    __tablename__ = "import_run"
    __table_args__ = (
        CheckConstraint(
            "status IN ('dry_run', 'applied', 'failed', 'refused')", name="import_status"
        ),
        Index("ix_import_run_brand_sha256", "brand_id", "sha256"),
        Index("ix_import_run_brand_created", "brand_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id")
    actor: str = Field(max_length=200)
    file_name: str = Field(default="", max_length=255)
    #: Hex SHA-256 of the file's bytes: the same content is applied at most once per brand.
    sha256: str = Field(max_length=64)
    format: str = Field(max_length=32)
    mapping_name: str | None = Field(default=None, max_length=100)
    warehouse_id: int | None = Field(default=None, foreign_key="warehouse.id")
    status: str = Field(max_length=16)
    skip_invalid: bool = Field(default=False)
    rows: int = Field(default=0)
    new_products: int = Field(default=0)
    new_variants: int = Field(default=0)
    new_aliases: int = Field(default=0)
    changed_balances: int = Field(default=0)
    unchanged: int = Field(default=0)
    error_count: int = Field(default=0)
    invalid_rows: int = Field(default=0)
    message: str = Field(default="", max_length=1000)
    #: The first errors (row, column, value, reason) as JSON; `error_count` has the total.
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: An applied import undone by compensating ledger rows (jobs.imports.revert).
    reverted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reverted_by: str | None = Field(default=None, max_length=200)


class ImportAttributeChange(SQLModel, table=True):
    """A product whose attributes an applied import changed: the whole JSON object before
    and after, so its revert can put them back (compare-and-swap on `after`)."""

    __tablename__ = "import_attribute_change"

    import_id: int = Field(foreign_key="import_run.id", primary_key=True)
    product_id: int = Field(foreign_key="product.id", primary_key=True)
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class ColumnMapping(SQLModel, table=True):
    """A brand's saved recipe for reading its own CSV layout (see jobs.imports.mappings)."""

    __tablename__ = "column_mapping"
    __table_args__ = (UniqueConstraint("brand_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id")
    name: str = Field(max_length=100)
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
