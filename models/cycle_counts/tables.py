"""The cycle-count tables: the plan, each variant's class, count sheets, their lines and
the variances waiting for a manager."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow


class AbcClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


#: Days between counts and the tolerance (units either way) when a warehouse has no plan row.
DEFAULT_INTERVAL_DAYS = {AbcClass.A: 30, AbcClass.B: 91, AbcClass.C: 365}
DEFAULT_TOLERANCE = 2


class SheetStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"


class LineStatus(StrEnum):
    OPEN = "open"  # not submitted yet (counted or not)
    APPLIED = "applied"  # within tolerance, or approved: the count was set
    PENDING = "pending"  # above tolerance: waits for a manager
    REJECTED = "rejected"  # a manager refused the variance: recount
    CONFLICT = "conflict"  # stock moved since the sheet started: nothing set, recount


class CountPlan(SQLModel, table=True):
    """How often one class is counted at one warehouse, and its tolerance."""

    __tablename__ = "cycle_count_plan"
    __table_args__ = (
        CheckConstraint("abc_class IN ('A', 'B', 'C')", name="cycle_count_plan_class"),
        CheckConstraint("interval_days > 0", name="cycle_count_plan_interval_positive"),
        CheckConstraint("tolerance >= 0", name="cycle_count_plan_tolerance_not_negative"),
    )

    warehouse_id: int = Field(foreign_key="warehouse.id", primary_key=True)
    abc_class: str = Field(max_length=1, primary_key=True)
    interval_days: int
    tolerance: int = Field(default=DEFAULT_TOLERANCE)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CountItem(SQLModel, table=True):
    """A variant's class at a warehouse (from units sold) and when it was last counted."""

    __tablename__ = "cycle_count_item"
    __table_args__ = (
        CheckConstraint("abc_class IN ('A', 'B', 'C')", name="cycle_count_item_class"),
        Index("ix_cycle_count_item_warehouse_class", "warehouse_id", "abc_class"),
    )

    warehouse_id: int = Field(foreign_key="warehouse.id", primary_key=True)
    variant_id: int = Field(foreign_key="variant.id", primary_key=True)
    abc_class: str = Field(max_length=1)
    units_sold: int = Field(default=0)
    classified_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_counted_on: date | None = Field(default=None)


class CountSheet(SQLModel, table=True):
    """One day's count at one warehouse."""

    __tablename__ = "count_sheet"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'submitted')", name="count_sheet_status"),
        Index("ix_count_sheet_warehouse_status", "warehouse_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouse.id")
    count_date: date
    status: str = Field(default=SheetStatus.OPEN.value, max_length=16)
    created_by_id: int = Field(foreign_key="app_user.id")
    submitted_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CountLine(SQLModel, table=True):
    """One variant to count. `expected` is on hand when the sheet started: never shown to
    the counter, and the compare-and-swap's "from" when the count is applied."""

    __tablename__ = "count_line"
    __table_args__ = (
        UniqueConstraint("sheet_id", "variant_id", name="uq_count_line_variant"),
        CheckConstraint("expected >= 0", name="count_line_expected_not_negative"),
        CheckConstraint("counted IS NULL OR counted >= 0", name="count_line_counted_not_negative"),
        CheckConstraint(
            "status IN ('open', 'applied', 'pending', 'rejected', 'conflict')",
            name="count_line_status",
        ),
        Index("ix_count_line_status", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sheet_id: int = Field(foreign_key="count_sheet.id", index=True)
    variant_id: int = Field(foreign_key="variant.id")
    position: int
    abc_class: str = Field(max_length=1)
    expected: int
    counted: int | None = Field(default=None)
    status: str = Field(default=LineStatus.OPEN.value, max_length=16)
    counted_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class VarianceDecision(SQLModel, table=True):
    """A manager's decision on a variance above tolerance (one per line at most)."""

    __tablename__ = "count_variance_decision"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    line_id: int = Field(foreign_key="count_line.id", unique=True)
    approved: bool
    outcome: str = Field(max_length=16)  # applied | rejected | conflict
    decided_by_id: int = Field(foreign_key="app_user.id")
    note: str = Field(default="", max_length=1000)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
