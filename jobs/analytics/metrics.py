"""What sells, what sits: velocity, trend, movers, cover, sell-through, slow movers,
ageing, size curves and stock history, as polars DataFrames.

Every function takes the shared `Filters` and a keyword-only `brand_scope` with no
default: a vendor's brand id (or None for staff). `scoped` applies it before anything
is read, so a vendor cannot see another brand by choosing it in a filter (that is a
PermissionDenied) nor by leaving the brand filter empty (it becomes their brand).

Units are net: a return (qty < 0) takes a sale back. Days are UTC calendar days; a
window of N days "as of" a day ends at the end of that day. Stock figures are current
balances; "available" is on hand − reserved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import polars as pl
from sqlalchemy import Select, func, select
from sqlmodel import Session

from jobs.analytics.frames import Frames
from models.catalog import Brand, Product, Warehouse
from models.errors import InvalidQuantity, PermissionDenied
from models.snapshots import StockSnapshot

Level = Literal["brand", "product", "variant", "warehouse", "category"]
LEVELS: tuple[Level, ...] = ("brand", "product", "variant", "warehouse", "category")
VELOCITY_WINDOWS = (7, 28, 90)
DEFAULT_PERIOD_DAYS = 28
MAX_PERIOD_DAYS = 3 * 366

#: (label, lowest age in days, highest age in days or None).
AGE_BUCKETS = (
    ("0-30 days", 0, 30),
    ("31-90 days", 31, 90),
    ("91-180 days", 91, 180),
    ("181-365 days", 181, 365),
    ("over 365 days", 366, None),
)
NO_RECEIPT = "no receipt recorded"


@dataclass(frozen=True, slots=True)
class Filters:
    """The filter bar shared by every chart. Dates are inclusive UTC days."""

    brand_id: int | None = None
    category: str | None = None
    warehouse_id: int | None = None
    #: One style (product); None for all.
    product_id: int | None = None
    start: date | None = None
    end: date | None = None

    def as_of(self) -> date:
        """The last day of the period (today, UTC, unless an end is set)."""
        return self.end or datetime.now(UTC).date()

    def period(self) -> tuple[date, date]:
        end = self.as_of()
        start = self.start or end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        return start, end


def scoped(filters: Filters, brand_scope: int | None) -> Filters:
    """The filters a viewer may use: a brand-bound viewer sees only their brand."""
    start, end = filters.period()
    if start > end:
        raise InvalidQuantity("The period starts after it ends.", field="start")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidQuantity(f"A period spans at most {MAX_PERIOD_DAYS} days.", field="start")
    if brand_scope is None:
        return filters
    if filters.brand_id is not None and filters.brand_id != brand_scope:
        raise PermissionDenied("You may only see your own brand's figures.",
                               brand_id=filters.brand_id)
    return replace(filters, brand_id=brand_scope)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- filtering ---------------------------------------------------------------------------


def _product_ids(frames: Frames, category: str) -> pl.Series:
    return (
        frames.variants.lazy()
        .filter(pl.col("category").str.to_lowercase() == category.strip().lower())
        .select(pl.col("product_id").unique())
        .collect()["product_id"]
    )


def _narrow(lf: pl.LazyFrame, frames: Frames, f: Filters, *, warehouse: bool = True
            ) -> pl.LazyFrame:
    if f.brand_id is not None:
        lf = lf.filter(pl.col("brand_id") == f.brand_id)
    if f.product_id is not None:
        lf = lf.filter(pl.col("product_id") == f.product_id)
    if f.category:
        lf = lf.filter(pl.col("product_id").is_in(_product_ids(frames, f.category).implode()))
    if warehouse and f.warehouse_id is not None:
        lf = lf.filter(pl.col("warehouse_id") == f.warehouse_id)
    return lf


def sales_lines(frames: Frames, f: Filters, since: datetime, until: datetime
                ) -> pl.LazyFrame:
    """Sale lines matching the filters, sold in [since, until)."""
    lf = frames.sales.lazy().filter(pl.col("sold_at") >= since, pl.col("sold_at") < until)
    return _narrow(lf, frames, f)


def stock_lines(frames: Frames, f: Filters) -> pl.LazyFrame:
    return _narrow(frames.stock.lazy(), frames, f).with_columns(
        available=pl.col("on_hand") - pl.col("reserved")
    )


_KEYS: dict[str, list[str]] = {
    "brand": ["brand_id"],
    "product": ["product_id"],
    "variant": ["variant_id"],
    "warehouse": ["warehouse_id"],
    "category": ["category"],
}


def _keys(level: str) -> list[str]:
    if level not in _KEYS:
        raise InvalidQuantity(f"level must be one of {', '.join(LEVELS)}.", field="level")
    return _KEYS[level]


def _keyed(lf: pl.LazyFrame, frames: Frames, level: str) -> pl.LazyFrame:
    """Add the grouping column a level needs that the fact frames do not carry."""
    if level == "category":
        products = frames.variants.lazy().select("product_id", "category").unique("product_id")
        return lf.join(products, on="product_id", how="left")
    return lf


def labels(frame: pl.DataFrame, frames: Frames, level: str) -> pl.DataFrame:
    """Join the display columns of `level` (codes and names) onto an aggregated frame."""
    if level == "brand":
        return frame.join(frames.brands, on="brand_id", how="left")
    if level == "warehouse":
        return frame.join(frames.warehouses, on="warehouse_id", how="left")
    if level == "product":
        return frame.join(frames.product_labels, on="product_id", how="left")
    if level == "variant":
        return frame.join(frames.variant_labels, on="variant_id", how="left")
    return frame


_LABEL_ORDER = {
    "brand": ["brand_id", "brand", "brand_name"],
    "product": ["product_id", "brand", "style_code", "product", "category"],
    "variant": ["variant_id", "sku", "brand", "style_code", "product", "colour", "size"],
    "warehouse": ["warehouse_id", "warehouse", "warehouse_name"],
    "category": ["category"],
}


def _name(level: str) -> str:
    """The column that names a row of `level`."""
    order = _LABEL_ORDER[level]
    return order[1] if len(order) > 1 else order[0]


def _id(level: str) -> str:
    """The key column of `level`: a cheap, stable tie-break for sorting."""
    return _LABEL_ORDER[level][0]


def _ordered(frame: pl.DataFrame, level: str, values: list[str]) -> pl.DataFrame:
    return frame.select(_LABEL_ORDER[level] + values)


# --- velocity, trend, movers -------------------------------------------------------------


def sales_velocity(
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    level: Level = "variant",
    windows: tuple[int, ...] = VELOCITY_WINDOWS,
) -> pl.DataFrame:
    """Net units sold and units per day over the last 7/28/90 days, per `level`.

    Columns: the level's labels, then units_{N}d and per_day_{N}d for each window.
    Rows: everything sold in the longest window, fastest (28-day, else longest) first.
    """
    f = scoped(filters, brand_scope)
    keys = _keys(level)
    until = day_start(f.as_of() + timedelta(days=1))
    longest = max(windows)
    lf = _keyed(sales_lines(frames, f, until - timedelta(days=longest), until), frames, level)
    sums = [
        pl.col("qty").filter(pl.col("sold_at") >= until - timedelta(days=n)).sum()
        .cast(pl.Int64).alias(f"units_{n}d")
        for n in windows
    ]
    rates = [(pl.col(f"units_{n}d") / n).alias(f"per_day_{n}d") for n in windows]
    sort_by = "units_28d" if 28 in windows else f"units_{longest}d"
    result = lf.group_by(keys).agg(sums).with_columns(rates).collect()
    values = [c for n in windows for c in (f"units_{n}d", f"per_day_{n}d")]
    return _ordered(labels(result, frames, level), level, values).sort(
        [sort_by, _id(level)], descending=[True, False], nulls_last=True
    )


def sales_trend(
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    moving_average_days: int = 7,
) -> pl.DataFrame:
    """Units sold per day over the period, its trailing moving average, and last year's.

    Columns: day, units, moving_average, last_year_units, last_year_moving_average.
    Last year is 364 days earlier (52 weeks), so weekdays line up. Days without sales
    count as 0; the moving average includes the days before the period it needs. Last
    year's days before the first recorded sale (for these filters) are null, not 0:
    there is no data to compare with, which is not the same as selling nothing.
    """
    f = scoped(filters, brand_scope)
    if not 1 <= moving_average_days <= 90:
        raise InvalidQuantity("The moving average spans 1 to 90 days.", field="moving_average")
    start, end = f.period()
    lead = timedelta(days=moving_average_days - 1)
    year = timedelta(days=364)

    first_sale = _narrow(frames.sales.lazy(), frames, f).select(
        pl.col("sold_at").min().dt.date()
    ).collect().item()

    def daily(first: date, last: date, *, known_from: date | None = None) -> pl.DataFrame:
        days = pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)})
        sold = (
            sales_lines(frames, f, day_start(first), day_start(last + timedelta(days=1)))
            .group_by(pl.col("sold_at").dt.date().alias("day"))
            .agg(pl.col("qty").sum().cast(pl.Int64).alias("units"))
            .collect()
        )
        return (
            days.join(sold, on="day", how="left")
            .with_columns(
                pl.when(pl.col("day") >= known_from).then(pl.col("units").fill_null(0))
                if known_from is not None else pl.col("units").fill_null(0)
            )
            .sort("day")
            .with_columns(
                # Full windows always in the period (missing days are 0); for last
                # year a window may start where the data does.
                moving_average=pl.col("units").rolling_mean(moving_average_days,
                                                            min_samples=1)
            )
        )

    current = daily(start - lead, end).filter(pl.col("day") >= start)
    last_year = (
        daily(start - lead - year, end - year, known_from=first_sale or end + timedelta(1))
        .filter(pl.col("day") >= start - year)
        .select(
            (pl.col("day") + pl.duration(days=364)).alias("day"),
            pl.col("units").alias("last_year_units"),
            pl.col("moving_average").alias("last_year_moving_average"),
        )
    )
    return current.join(last_year, on="day", how="left").sort("day")


@dataclass(frozen=True, slots=True)
class Movers:
    """top: the best sellers of the period; bottom: what sells least while in stock."""

    top: pl.DataFrame
    bottom: pl.DataFrame


def movers(
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    level: Level = "product",
    n: int = 10,
) -> Movers:
    """Top and bottom movers of the period, with the change against the period before.

    Columns: the level's labels, units (net, this period), previous_units (the same
    number of days just before), change, available (now). Top: most units. Bottom: the
    fewest units among those with stock available, most stock first on ties.
    """
    f = scoped(filters, brand_scope)
    keys = _keys(level)
    start, end = f.period()
    length = timedelta(days=(end - start).days + 1)
    since, until = day_start(start), day_start(end + timedelta(days=1))
    sold = (
        _keyed(sales_lines(frames, f, since - length, until), frames, level)
        .group_by(keys)
        .agg(
            units=pl.col("qty").filter(pl.col("sold_at") >= since).sum().cast(pl.Int64),
            previous_units=pl.col("qty").filter(pl.col("sold_at") < since).sum()
            .cast(pl.Int64),
        )
    )
    stock = (
        _keyed(stock_lines(frames, f), frames, level)
        .group_by(keys)
        .agg(available=pl.col("available").sum().cast(pl.Int64))
    )
    both = (
        sold.join(stock, on=keys, how="full", coalesce=True)
        .with_columns(pl.col("units", "previous_units", "available").fill_null(0))
        .with_columns(change=pl.col("units") - pl.col("previous_units"))
        .collect()
    )
    values = ["units", "previous_units", "change", "available"]
    both = _ordered(labels(both, frames, level), level, values)
    name = _name(level)
    top = both.filter(pl.col("units") > 0).sort(
        ["units", name], descending=[True, False]
    ).head(n)
    bottom = both.filter(pl.col("available") > 0).sort(
        ["units", "available", name], descending=[False, True, False]
    ).head(n)
    return Movers(top, bottom)


# --- stock against sales -----------------------------------------------------------------


def weeks_of_cover(
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    level: Level = "variant",
    velocity_days: int = 28,
) -> pl.DataFrame:
    """How many weeks the available stock lasts at the recent selling rate.

    Columns: the level's labels, available, units_sold (net, last `velocity_days` up to
    the period's end), weekly_velocity (= units_sold ÷ velocity_days × 7),
    weeks_of_cover (= available ÷ weekly_velocity; null when nothing sold, i.e. no end
    in sight). Rows with stock or sales; the shortest cover first.
    """
    f = scoped(filters, brand_scope)
    keys = _keys(level)
    if not 1 <= velocity_days <= 365:
        raise InvalidQuantity("velocity_days must be 1 to 365.", field="velocity_days")
    until = day_start(f.as_of() + timedelta(days=1))
    sold = (
        _keyed(sales_lines(frames, f, until - timedelta(days=velocity_days), until), frames,
               level)
        .group_by(keys)
        .agg(units_sold=pl.col("qty").sum().cast(pl.Int64))
    )
    stock = (
        _keyed(stock_lines(frames, f), frames, level)
        .group_by(keys)
        .agg(available=pl.col("available").sum().cast(pl.Int64))
    )
    result = (
        stock.join(sold, on=keys, how="full", coalesce=True)
        .with_columns(pl.col("available", "units_sold").fill_null(0))
        .filter((pl.col("available") != 0) | (pl.col("units_sold") != 0))
        .with_columns(weekly_velocity=pl.col("units_sold") / velocity_days * 7)
        .with_columns(
            weeks_of_cover=pl.when(pl.col("weekly_velocity") > 0)
            .then(pl.col("available") / pl.col("weekly_velocity"))
            .otherwise(None)
        )
        .collect()
    )
    values = ["available", "units_sold", "weekly_velocity", "weeks_of_cover"]
    return _ordered(labels(result, frames, level), level, values).sort(
        ["weeks_of_cover", "available", _id(level)], descending=[False, True, False],
        nulls_last=True,
    )


def sell_through(
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    level: Level = "product",
) -> pl.DataFrame:
    """Share of the stock offered in the period that sold.

    sell_through = units_sold ÷ (units_sold + on_hand), with units_sold net over the
    period and on_hand the current balance (the stock that was there and did not
    sell). Columns: the level's labels, units_sold, on_hand, sell_through (null when
    both are 0). Highest sell-through first.
    """
    f = scoped(filters, brand_scope)
    keys = _keys(level)
    start, end = f.period()
    sold = (
        _keyed(sales_lines(frames, f, day_start(start), day_start(end + timedelta(days=1))),
               frames, level)
        .group_by(keys)
        .agg(units_sold=pl.col("qty").sum().cast(pl.Int64))
    )
    stock = (
        _keyed(stock_lines(frames, f), frames, level)
        .group_by(keys)
        .agg(on_hand=pl.col("on_hand").sum().cast(pl.Int64))
    )
    result = (
        sold.join(stock, on=keys, how="full", coalesce=True)
        .with_columns(pl.col("units_sold", "on_hand").fill_null(0))
        .filter((pl.col("units_sold") != 0) | (pl.col("on_hand") != 0))
        .with_columns(
            sell_through=pl.when(pl.col("units_sold").clip(0) + pl.col("on_hand") > 0)
            .then(pl.col("units_sold").clip(0) / (pl.col("units_sold").clip(0)
                                                 + pl.col("on_hand")))
            .otherwise(None)
        )
        .collect()
    )
    return _ordered(labels(result, frames, level), level,
                    ["units_sold", "on_hand", "sell_through"]).sort(
        ["sell_through", _id(level)], descending=[True, False], nulls_last=True
    )


def slow_movers(
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    days: int = 60,
    max_units: int = 0,
) -> pl.DataFrame:
    """Variants with stock on hand that sold at most `max_units` in the last `days` days.

    Columns: variant labels, on_hand, available, units_sold (net, in the window),
    last_sold_at (latest sale ever, up to the period's end), days_since_last_sale
    (null if never sold). Most stock first.
    """
    f = scoped(filters, brand_scope)
    if not 1 <= days <= 3650:
        raise InvalidQuantity("days must be 1 to 3650.", field="days")
    as_of = f.as_of()
    until = day_start(as_of + timedelta(days=1))
    since = until - timedelta(days=days)
    stock = (
        stock_lines(frames, f)
        .group_by("variant_id")
        .agg(
            on_hand=pl.col("on_hand").sum().cast(pl.Int64),
            available=pl.col("available").sum().cast(pl.Int64),
        )
        .filter(pl.col("on_hand") > 0)
    )
    sold = (
        _narrow(frames.sales.lazy().filter(pl.col("sold_at") < until), frames, f)
        .join(stock.select("variant_id"), on="variant_id", how="semi")
        .group_by("variant_id")
        .agg(
            units_sold=pl.col("qty").filter(pl.col("sold_at") >= since).sum().cast(pl.Int64),
            last_sold_at=pl.col("sold_at").filter(pl.col("qty") > 0).max(),
        )
    )
    result = (
        stock.join(sold, on="variant_id", how="left")
        .with_columns(pl.col("units_sold").fill_null(0))
        .filter(pl.col("units_sold") <= max_units)
        .with_columns(
            days_since_last_sale=(pl.lit(as_of) - pl.col("last_sold_at").dt.date())
            .dt.total_days()
        )
        .collect()
    )
    values = ["on_hand", "available", "units_sold", "last_sold_at", "days_since_last_sale"]
    return _ordered(labels(result, frames, "variant"), "variant", values).sort(
        ["on_hand", "variant_id"], descending=[True, False]
    )


def _bucket() -> pl.Expr:
    expr = pl.when(pl.col("age_days").is_null()).then(pl.lit(NO_RECEIPT))
    for label, low, high in AGE_BUCKETS:
        condition = pl.col("age_days") >= low
        if high is not None:
            condition &= pl.col("age_days") <= high
        expr = expr.when(condition).then(pl.lit(label))
    return expr.otherwise(pl.lit(NO_RECEIPT))


def stock_ageing(
    frames: Frames, filters: Filters, *, brand_scope: int | None
) -> pl.DataFrame:
    """Stock on hand by days since its last receipt (receipts and transfers in).

    One row per balance with stock: variant and warehouse labels, on_hand,
    last_receipt_at, age_days (calendar days from that receipt to the period's end;
    null when the ledger has none) and age_bucket. Oldest first.
    """
    f = scoped(filters, brand_scope)
    as_of = f.as_of()
    result = (
        stock_lines(frames, f)
        .filter(pl.col("on_hand") > 0)
        .join(frames.receipts.lazy(), on=["variant_id", "warehouse_id"], how="left")
        .with_columns(
            age_days=(pl.lit(as_of) - pl.col("last_receipt_at").dt.date()).dt.total_days()
        )
        .with_columns(age_bucket=_bucket())
        .select("variant_id", "warehouse_id", "on_hand", "last_receipt_at", "age_days",
                "age_bucket")
        .collect()
    )
    result = labels(result, frames, "variant").join(
        frames.warehouses.select("warehouse_id", "warehouse"), on="warehouse_id", how="left"
    )
    return result.select(
        "variant_id", "sku", "brand", "style_code", "product", "colour", "size",
        "warehouse_id", "warehouse", "on_hand", "last_receipt_at", "age_days", "age_bucket",
    ).sort(["age_days", "variant_id", "warehouse_id"], descending=[True, False, False],
           nulls_last=False)


def ageing_summary(
    frames: Frames, filters: Filters, *, brand_scope: int | None
) -> pl.DataFrame:
    """Units on hand and balances per age bucket (every bucket listed, youngest first)."""
    detail = stock_ageing(frames, filters, brand_scope=brand_scope)
    order = [label for label, _, _ in AGE_BUCKETS] + [NO_RECEIPT]
    buckets = pl.DataFrame({"age_bucket": order, "order": list(range(len(order)))})
    counted = detail.group_by("age_bucket").agg(
        on_hand=pl.col("on_hand").sum().cast(pl.Int64), balances=pl.len().cast(pl.Int64)
    )
    return (
        buckets.join(counted, on="age_bucket", how="left")
        .with_columns(pl.col("on_hand", "balances").fill_null(0))
        .sort("order")
        .drop("order")
    )


def size_curve(
    frames: Frames, filters: Filters, *, brand_scope: int | None
) -> pl.DataFrame:
    """Share of sales by size beside share of stock by size (for a brand, category, style).

    Columns: size_system, size, size_rank, units_sold (net, period; negatives count as
    0 in shares), on_hand, sales_share, stock_share, gap (= stock_share − sales_share:
    above 0 over-bought, below 0 under-bought). Shares are within each size system, so
    alpha sizes and waist sizes each add up to 1. Ordered as a buyer reads a size run.
    """
    f = scoped(filters, brand_scope)
    start, end = f.period()
    sizes = frames.variants.lazy().select("variant_id", "size_system", "size")
    sold = (
        sales_lines(frames, f, day_start(start), day_start(end + timedelta(days=1)))
        .join(sizes, on="variant_id")
        .group_by("size_system", "size")
        .agg(units_sold=pl.col("qty").sum().cast(pl.Int64))
    )
    stock = (
        stock_lines(frames, f)
        .join(sizes, on="variant_id")
        .group_by("size_system", "size")
        .agg(on_hand=pl.col("on_hand").sum().cast(pl.Int64))
    )
    ranks = frames.size_ranks.lazy()
    keys = ["size_system", "size"]
    result = (
        sold.join(stock, on=keys, how="full", coalesce=True)
        .with_columns(pl.col("units_sold", "on_hand").fill_null(0))
        .filter((pl.col("units_sold") != 0) | (pl.col("on_hand") != 0))
        .join(ranks, on=keys, how="left")
        .with_columns(
            _share(pl.col("units_sold").clip(0)).alias("sales_share"),
            _share(pl.col("on_hand").clip(0)).alias("stock_share"),
        )
        .with_columns(gap=pl.col("stock_share") - pl.col("sales_share"))
        .select("size_system", "size", "size_rank", "units_sold", "on_hand", "sales_share",
                "stock_share", "gap")
        .sort("size_system", "size_rank", "size")
        .collect()
    )
    return result


def _share(values: pl.Expr) -> pl.Expr:
    total = values.sum().over("size_system")
    return pl.when(total > 0).then(values / total).otherwise(0.0)


# --- stock history (snapshots) -----------------------------------------------------------


def first_snapshot_day(
    session: Session, filters: Filters, *, brand_scope: int | None
) -> date | None:
    """The day of the first stock snapshot these filters (as `brand_scope` may use them)
    cover, whatever the period; None when there is none yet."""
    f = scoped(filters, brand_scope)
    return session.scalar(_snapshots_of(select(func.min(StockSnapshot.__table__.c.day)), f))


def _snapshots_of(query: Select, f: Filters) -> Select:
    """`query` narrowed to the snapshots of the filters' brand, warehouse and category."""
    s = StockSnapshot.__table__
    if f.brand_id is not None:
        query = query.where(s.c.brand_id == f.brand_id)
    if f.warehouse_id is not None:
        query = query.where(s.c.warehouse_id == f.warehouse_id)
    if f.category:
        query = query.where(func.lower(s.c.category) == f.category.strip().lower())
    return query


def stock_history(
    session: Session,
    filters: Filters,
    *,
    brand_scope: int | None,
    by: Literal["total", "brand", "warehouse"] = "total",
) -> pl.DataFrame:
    """Units on hand per day from the nightly snapshots, in total or per brand/warehouse.

    Columns: day, series (a brand or warehouse code, or "All stock"), on_hand, reserved,
    available, incoming. Small table: read with SQL on each call.
    """
    f = scoped(filters, brand_scope)
    if by not in ("total", "brand", "warehouse"):
        raise InvalidQuantity("by must be total, brand or warehouse.", field="by")
    start, end = f.period()
    s = StockSnapshot.__table__
    series = {
        "total": None,
        "brand": Brand.__table__.c.code,
        "warehouse": Warehouse.__table__.c.code,
    }[by]
    columns = [
        s.c.day,
        func.sum(s.c.on_hand),
        func.sum(s.c.reserved),
        func.sum(s.c.incoming),
    ]
    query = select(*columns).where(s.c.day >= start, s.c.day <= end)
    if series is not None:
        query = query.add_columns(series)
        target = Brand.__table__ if by == "brand" else Warehouse.__table__
        key = s.c.brand_id if by == "brand" else s.c.warehouse_id
        query = query.join(target, target.c.id == key).group_by(s.c.day, series)
    else:
        query = query.group_by(s.c.day)
    query = _snapshots_of(query, f)
    if f.product_id is not None:
        # Snapshots are per category; a style narrows to its category at most.
        category = session.scalar(select(Product.category).where(Product.id == f.product_id))
        query = query.where(s.c.category == (category or ""))
    rows = session.execute(query).all()
    frame = pl.DataFrame(
        [(r[0], r[4] if series is not None else "All stock", r[1], r[2], r[3]) for r in rows],
        schema={"day": pl.Date, "series": pl.String, "on_hand": pl.Int64,
                "reserved": pl.Int64, "incoming": pl.Int64},
        orient="row",
    )
    return frame.with_columns(available=pl.col("on_hand") - pl.col("reserved")).select(
        "day", "series", "on_hand", "reserved", "available", "incoming"
    ).sort("series", "day")
