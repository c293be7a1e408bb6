"""Markdown suggestions: per style-colour, how long its stock lasts, how much of it sold
and how old it is, turned into a suggested markdown tier (0 / 20 / 30 / 50 %) with the
sell-through that tier is expected to bring.

Figures, over a window of `weeks` (default 8) ending at the filters' end day (today,
UTC), for a style (product) in one colour, every size and warehouse together:

* on_hand, available: current balances (available = on hand − reserved).
* units_sold: net units sold in the window (returns taken off).
* weekly_sales = max(units_sold, 0) ÷ weeks.
* weeks_of_cover = on_hand ÷ weekly_sales; null when nothing sold ("no sales": no end
  in sight).
* sell_through = sold ÷ (sold + on_hand), sold = max(units_sold, 0): the share of the
  stock offered in the window (what sold, and what is still there) that sold.
* age_days: calendar days from the first receipt of any of its variants (a ledger row
  with a receipt reason, `frames.RECEIPT_REASONS`: received, or transferred in) to the
  end day; null when the ledger has none.

The tier is the first rule of `RULES` (deepest first) whose age and cover it reaches;
no sales counts as endless cover. A style-colour without a receipt has no age, so no
rule applies (tier 0, "no receipt recorded"): a markdown on a guess is not suggested.
Sell-through is not a second threshold: with one window it is a function of cover
(sell_through = weeks ÷ (weeks + weeks_of_cover)), so it would only restate the rule.

Projected sell-through assumes a constant price elasticity of demand, `ELASTICITY` (−2,
a common planning figure for fashion): a price cut of d multiplies the units sold by
(1 − d) ** ELASTICITY — `LIFT`: 1 at 0 %, 1.56 at 20 %, 2.04 at 30 %, 4 at 50 %. The
window is replayed at that rate over the same stock: projected = min(1, sell_through ×
lift), so tier 0 projects today's sell-through, and a style-colour with no sales
projects 0 (there is no rate to lift).

Only style-colours with units on hand are listed (nothing to mark down otherwise),
deepest tier first, then the longest cover (no sales first), then by brand, style and
colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from jobs.analytics.frames import Frames
from jobs.analytics.metrics import Filters, day_start, sales_lines, scoped, stock_lines
from models.errors import InvalidQuantity

DEFAULT_WEEKS = 8
MAX_WEEKS = 52
#: The tiers, in percent off.
TIERS: tuple[int, ...] = (0, 20, 30, 50)
#: Constant price elasticity of demand assumed for the projection (see the docstring).
ELASTICITY = -2.0
#: Units sold at a tier ÷ units sold at full price.
LIFT: dict[int, float] = {tier: (1 - tier / 100) ** ELASTICITY for tier in TIERS}
NO_SALES = "no sales"
NO_RECEIPT = "no receipt recorded"


@dataclass(frozen=True, slots=True)
class Rule:
    """A tier applies from `min_age_days` old with at least `min_cover_weeks` of cover."""

    tier: int
    min_age_days: int
    min_cover_weeks: float

    @property
    def reason(self) -> str:
        return f"{self.min_age_days}+ days old, {self.min_cover_weeks:g}+ weeks of cover"


#: Deepest first; the first that applies wins.
RULES: tuple[Rule, ...] = (
    Rule(50, 120, 26),
    Rule(30, 90, 16),
    Rule(20, 60, 10),
)
#: The reason of a style-colour no rule applies to (it has an age).
NO_RULE = "sells fast enough for its age"

COLUMNS = (
    "product_id", "brand", "style_code", "product", "colour", "category",
    "on_hand", "available", "units_sold", "weekly_sales", "weeks_of_cover", "sell_through",
    "first_receipt_at", "age_days", "tier", "reason", "projected_sell_through",
)
_KEYS = ["product_id", "colour"]


def _tier() -> tuple[pl.Expr, pl.Expr]:
    """The tier and its reason, from age_days and weeks_of_cover."""
    tier = pl.when(pl.col("age_days").is_null()).then(pl.lit(0))
    reason = pl.when(pl.col("age_days").is_null()).then(pl.lit(NO_RECEIPT))
    for rule in RULES:
        reached = (pl.col("age_days") >= rule.min_age_days) & (
            pl.col("weeks_of_cover").is_null()
            | (pl.col("weeks_of_cover") >= rule.min_cover_weeks)
        )
        tier = tier.when(reached).then(pl.lit(rule.tier))
        reason = reason.when(reached).then(pl.lit(rule.reason))
    return tier.otherwise(pl.lit(0)).cast(pl.Int32), reason.otherwise(pl.lit(NO_RULE))


def markdown_suggestions(
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    weeks: int = DEFAULT_WEEKS,
) -> pl.DataFrame:
    """One row per style-colour with units on hand (columns: `COLUMNS`), as the module
    docstring defines them. `filters`: brand and category (warehouse, when set, narrows
    stock, sales and receipts alike); `brand_scope`: a vendor's brand (PermissionDenied
    for any other), None for staff."""
    f = scoped(filters, brand_scope)
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidQuantity(f"weeks must be 1 to {MAX_WEEKS}, not {weeks}.", field="weeks")
    as_of = f.as_of()
    until = day_start(as_of + timedelta(days=1))
    colours = frames.variants.lazy().select("variant_id", "colour")
    stock = (
        stock_lines(frames, f)
        .join(colours, on="variant_id", how="left")
        .group_by(_KEYS)
        .agg(
            on_hand=pl.col("on_hand").sum().cast(pl.Int64),
            available=pl.col("available").sum().cast(pl.Int64),
        )
        .filter(pl.col("on_hand") > 0)
    )
    sold = (
        sales_lines(frames, f, until - timedelta(weeks=weeks), until)
        .join(colours, on="variant_id", how="left")
        .group_by(_KEYS)
        .agg(units_sold=pl.col("qty").sum().cast(pl.Int64))
    )
    receipts = frames.receipts.lazy()
    if f.warehouse_id is not None:
        receipts = receipts.filter(pl.col("warehouse_id") == f.warehouse_id)
    first = (
        receipts.filter(pl.col("first_receipt_at") < until)
        .join(frames.variants.lazy().select("variant_id", *_KEYS), on="variant_id")
        .group_by(_KEYS)
        .agg(pl.col("first_receipt_at").min())
    )
    tier, reason = _tier()
    sold_units = pl.col("units_sold").clip(0)
    result = (
        stock.join(sold, on=_KEYS, how="left")
        .join(first, on=_KEYS, how="left")
        .with_columns(pl.col("units_sold").fill_null(0))
        .with_columns(
            weekly_sales=sold_units / weeks,
            sell_through=sold_units / (sold_units + pl.col("on_hand")),
            age_days=(pl.lit(as_of) - pl.col("first_receipt_at").dt.date()).dt.total_days(),
        )
        .with_columns(
            weeks_of_cover=pl.when(pl.col("weekly_sales") > 0)
            .then(pl.col("on_hand") / pl.col("weekly_sales"))
            .otherwise(None)
        )
        .with_columns(tier=tier, reason=reason)
        .with_columns(
            projected_sell_through=(
                pl.col("sell_through")
                * pl.col("tier").replace_strict(LIFT, return_dtype=pl.Float64)
            ).clip(upper_bound=1.0)
        )
        .join(frames.product_labels.lazy(), on="product_id", how="left")
        .select(COLUMNS)
        .collect()
    )
    return result.sort(
        ["tier", "weeks_of_cover", "brand", "style_code", "colour"],
        descending=[True, True, False, False, False],
        nulls_last=[False, False, True, True, True],
    )


def export_frame(table: pl.DataFrame) -> pl.DataFrame:
    """`markdown_suggestions` as its CSV has it: labels first, shares and cover rounded,
    "no sales" for endless cover, the tier as "30 %"."""
    return table.select(
        "brand", "style_code", "product", "colour", "category", "on_hand", "available",
        "units_sold",
        pl.col("weekly_sales").round(2),
        pl.when(pl.col("weeks_of_cover").is_null()).then(pl.lit(NO_SALES))
        .otherwise(pl.col("weeks_of_cover").round(1).cast(pl.String))
        .alias("weeks_of_cover"),
        pl.col("sell_through").round(4),
        pl.col("first_receipt_at").dt.date().alias("first_receipt"),
        "age_days",
        pl.format("{} %", pl.col("tier")).alias("markdown"),
        "reason",
        pl.col("projected_sell_through").round(4),
    )
