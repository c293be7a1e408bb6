"""Count accuracy per warehouse and week, from the submitted cycle-count sheets.

Definition: a line of a submitted sheet is *exact* when what was counted equals the
`expected` number (the system's on hand when the sheet started); it is *within
tolerance* when it was not held for a manager on submit (its variance was within the
class's tolerance at that time: a pending line, or one a manager decided, was above
it). Accuracy is the share of exact lines per warehouse and week (Monday to Sunday, by
the sheet's count day); the tolerance share beside it.

Count data is small, so it is read with one SQL query per call (no frame) and shaped
by the pure `count_accuracy`.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Select, func, select
from sqlmodel import Session

from jobs.analytics.metrics import Filters, scoped
from models.catalog import Product, Variant, Warehouse
from models.cycle_counts import CountLine, CountSheet, LineStatus, SheetStatus, VarianceDecision

#: The lines `count_lines` returns, one row per counted line of a submitted sheet.
LINE_SCHEMA = {
    "count_date": pl.Date,
    "warehouse": pl.String,
    "warehouse_name": pl.String,
    "expected": pl.Int64,
    "counted": pl.Int64,
    "held": pl.Boolean,
}
#: The columns of `count_accuracy`, its table and CSV.
ACCURACY_COLUMNS = [
    "week", "warehouse", "warehouse_name", "lines", "exact", "within_tolerance", "accuracy",
    "tolerance_accuracy",
]


def _submitted(query: Select, f: Filters) -> Select:
    """`query` over count lines narrowed to submitted sheets and the filters' brand,
    style, category and warehouse (not the period)."""
    line, sheet, variant = CountLine.__table__, CountSheet.__table__, Variant.__table__
    query = (
        query.join(sheet, sheet.c.id == line.c.sheet_id)
        .join(variant, variant.c.id == line.c.variant_id)
        .where(sheet.c.status == SheetStatus.SUBMITTED.value, line.c.counted.is_not(None))
    )
    if f.brand_id is not None:
        query = query.where(variant.c.brand_id == f.brand_id)
    if f.product_id is not None:
        query = query.where(variant.c.product_id == f.product_id)
    if f.category:
        product = Product.__table__
        query = query.join(product, product.c.id == variant.c.product_id).where(
            func.lower(product.c.category) == f.category.strip().lower()
        )
    if f.warehouse_id is not None:
        query = query.where(sheet.c.warehouse_id == f.warehouse_id)
    return query


def count_lines(session: Session, filters: Filters, *, brand_scope: int | None) -> pl.DataFrame:
    """Every counted line of the sheets submitted in the period that the filters (as
    `brand_scope` may use them: a vendor only their brand's variants) cover."""
    f = scoped(filters, brand_scope)
    start, end = f.period()
    line, sheet, warehouse = CountLine.__table__, CountSheet.__table__, Warehouse.__table__
    decision = VarianceDecision.__table__
    query = (
        select(sheet.c.count_date, warehouse.c.code, warehouse.c.name, line.c.expected,
               line.c.counted, line.c.status, decision.c.id)
        .select_from(line)
        .outerjoin(decision, decision.c.line_id == line.c.id)
    )
    query = _submitted(query, f).join(warehouse, warehouse.c.id == sheet.c.warehouse_id).where(
        sheet.c.count_date >= start, sheet.c.count_date <= end
    )
    rows = [
        (day, code, name, expected, counted,
         status == LineStatus.PENDING.value or decided is not None)
        for day, code, name, expected, counted, status, decided in session.execute(query).all()
    ]
    return pl.DataFrame(rows, schema=LINE_SCHEMA, orient="row")


def first_count_day(session: Session, filters: Filters, *, brand_scope: int | None
                    ) -> date | None:
    """The day of the first submitted count the filters cover, whatever the period."""
    f = scoped(filters, brand_scope)
    query = select(func.min(CountSheet.__table__.c.count_date)).select_from(CountLine.__table__)
    return session.scalar(_submitted(query, f))


def count_accuracy(lines: pl.DataFrame) -> pl.DataFrame:
    """Per warehouse and week (its Monday): lines counted, exact, within tolerance, and
    their shares. Pure; `lines` has the columns of LINE_SCHEMA."""
    if lines.is_empty():
        return pl.DataFrame(schema={
            "week": pl.Date, "warehouse": pl.String, "warehouse_name": pl.String,
            "lines": pl.Int64, "exact": pl.Int64, "within_tolerance": pl.Int64,
            "accuracy": pl.Float64, "tolerance_accuracy": pl.Float64,
        })
    return (
        lines.lazy()
        .with_columns(week=pl.col("count_date").dt.truncate("1w"))
        .group_by("week", "warehouse", "warehouse_name")
        .agg(
            lines=pl.len().cast(pl.Int64),
            exact=(pl.col("counted") == pl.col("expected")).sum().cast(pl.Int64),
            within_tolerance=(~pl.col("held")).sum().cast(pl.Int64),
        )
        .with_columns(
            accuracy=pl.col("exact") / pl.col("lines"),
            tolerance_accuracy=pl.col("within_tolerance") / pl.col("lines"),
        )
        .select(ACCURACY_COLUMNS)
        .sort("warehouse", "week")
        .collect()
    )
