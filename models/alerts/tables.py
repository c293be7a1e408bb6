"""The alert tables: rules (thresholds per brand, product or variant and warehouse) and alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Integer,
    Table,
    text,
)
from sqlalchemy import Index as SAIndex
from sqlmodel import Field, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Brand, Product, Variant, Warehouse
from models.stock import StockBalance


class AlertKind(StrEnum):
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"
    BROKEN_SIZE_RUN = "broken_size_run"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class RuleLevel(StrEnum):
    BRAND = "brand"
    PRODUCT = "product"
    VARIANT = "variant"


_UNRESOLVED = text("status <> 'resolved'")


class AlertRule(SQLModel, table=True):
    """A low-stock rule for a brand, product or variant, in one warehouse or all (NULL)."""

    __tablename__ = "alert_rule"
    __table_args__ = (
        CheckConstraint("level IN ('brand', 'product', 'variant')", name="alert_rule_level"),
        CheckConstraint(
            "threshold >= 0 AND reorder_qty >= 0 AND lead_time_days >= 0 "
            "AND target_cover_days >= 0",
            name="alert_rule_not_negative",
        ),
        SAIndex(
            "uq_alert_rule_warehouse",
            "level",
            "subject_id",
            "warehouse_id",
            unique=True,
            postgresql_where=text("warehouse_id IS NOT NULL"),
            sqlite_where=text("warehouse_id IS NOT NULL"),
        ),
        SAIndex(
            "uq_alert_rule_everywhere",
            "level",
            "subject_id",
            unique=True,
            postgresql_where=text("warehouse_id IS NULL"),
            sqlite_where=text("warehouse_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    level: str = Field(max_length=16)
    #: The brand, product or variant id, per `level`.
    subject_id: int
    warehouse_id: int | None = Field(default=None, foreign_key="warehouse.id")
    #: Low stock when 0 < available ≤ threshold (0: only out-of-stock alerts).
    threshold: int = Field(default=0)
    #: Smallest quantity worth ordering (a case pack or the vendor's minimum).
    reorder_qty: int = Field(default=0)
    lead_time_days: int = Field(default=14)
    #: Days of sales an order should cover once it has arrived.
    target_cover_days: int = Field(default=28)
    updated_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlertFields(SQLModel):
    """An alert's columns, shared by the hot table and its archive."""

    kind: str = Field(max_length=24)
    #: "w<warehouse>:v<variant>" or "w<warehouse>:p<product>:<colour>".
    subject_key: str = Field(max_length=120)
    status: str = Field(default=AlertStatus.OPEN.value, max_length=16)
    brand_id: int = Field(foreign_key="brand.id")
    product_id: int = Field(foreign_key="product.id")
    variant_id: int | None = Field(default=None, foreign_key="variant.id")
    colour: str = Field(default="", max_length=60)
    warehouse_id: int = Field(foreign_key="warehouse.id")
    #: The rule that applied when it was raised (rules may change later).
    rule_id: int | None = Field(default=None)
    #: Available units when raised (variant alerts).
    available: int | None = Field(default=None)
    threshold: int | None = Field(default=None)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Alert(AlertFields, table=True):
    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('low_stock', 'out_of_stock', 'broken_size_run')", name="alert_kind"
        ),
        CheckConstraint(
            "status IN ('open', 'acknowledged', 'snoozed', 'resolved')", name="alert_status"
        ),
        SAIndex(
            "uq_alert_unresolved_subject",
            "kind",
            "subject_key",
            unique=True,
            postgresql_where=_UNRESOLVED,
            sqlite_where=_UNRESOLVED,
        ),
        SAIndex("ix_alert_status_brand", "status", "brand_id"),
        SAIndex("ix_alert_warehouse_status", "warehouse_id", "status"),
        SAIndex("ix_alert_variant", "variant_id"),
        SAIndex("ix_alert_product_colour", "product_id", "colour"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    # No foreign keys here (the archive keeps them): the scan copies these ids from the
    # catalogue rows it joins, catalogue rows are never deleted, and four row-locking key
    # checks per alert were half the first scan's cost (migration 0029).
    brand_id: int
    product_id: int
    variant_id: int | None = Field(default=None)
    warehouse_id: int


class AlertArchive(AlertFields, table=True):
    """Resolved alerts older than RACKROOM_ALERT_ARCHIVE_AFTER, moved out of the hot table
    with their ids (`models.alerts.archive`); the inbox's resolved view reads both."""

    __tablename__ = "alert_archive"
    __table_args__ = (
        CheckConstraint("status = 'resolved'", name="alert_archive_resolved"),
        SAIndex("ix_alert_archive_raised", "raised_at"),
        SAIndex("ix_alert_archive_brand", "brand_id", "raised_at"),
        SAIndex("ix_alert_archive_warehouse", "warehouse_id", "raised_at"),
    )

    #: The alert's own id (from `alert`'s sequence; never reused).
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    archived_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlertScanState(SQLModel, table=True):
    """Where the last scan left off (one row, id 1; `models.alerts.scan`)."""

    __tablename__ = "alert_scan_state"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    #: PostgreSQL: the xmin (xid8) of the last scan's first snapshot; every row version
    #: written by an older transaction was visible to that scan.
    watermark: int = Field(default=0, sa_type=BigInteger)
    scanned_at: datetime = Field(sa_type=UTCDateTime)
    full_scan_at: datetime = Field(sa_type=UTCDateTime)


class AlertRuleSeen(SQLModel, table=True):
    """The rules as the last scan applied them: a rule that differs has changed since."""

    __tablename__ = "alert_rule_seen"

    rule_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    level: str = Field(max_length=16)
    subject_id: int
    warehouse_id: int | None = Field(default=None)
    threshold: int


class VariantCore(SQLModel, table=True):
    """Persisted core-size flags (`engine._core_flags`), refreshed by the scan for the
    runs whose variants changed."""

    __tablename__ = "variant_core"
    __table_args__ = (SAIndex("ix_variant_core_run", "run_id"),)

    #: No foreign key: a cache the scan rewrites whole, and a per-row key check made
    #: rebuilding it cost more than computing it (variants are never deleted).
    variant_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    #: The run's lowest variant id.
    run_id: int
    core: int
    core_total: int


#: SQLite only (triggers in migration 0018): variants whose balances or sizing changed
#: since the last scan. PostgreSQL reads row versions' xmin instead (no trigger cost).
alert_dirty = Table(
    "alert_dirty",
    SQLModel.metadata,
    Column("variant_id", Integer, primary_key=True, autoincrement=False),
)

_rule = AlertRule.__table__
_alert = Alert.__table__
_archive = AlertArchive.__table__
_b = StockBalance.__table__
_v = Variant.__table__
_p = Product.__table__
_w = Warehouse.__table__
_brand = Brand.__table__
_state = AlertScanState.__table__
_seen = AlertRuleSeen.__table__
_vc = VariantCore.__table__

MAX_SNOOZE = timedelta(days=365)
#: Alerts one bulk action may touch (`models.alerts.bulk`).
BATCH_MAX = 500
