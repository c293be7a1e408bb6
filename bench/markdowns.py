"""Markdown suggestions as a filter change pays them, vs the same result written directly
in polars.

Seeds the `--scale` dataset (large: 5M sale lines) into DATABASE_URL (a migrated, empty
PostgreSQL database), loads the analytics frames once, then measures:

* ours: `jobs.analytics.markdowns.markdown_suggestions` (scoping, filters, three
  groupings, the rule table, labels, sorting), for the biggest brand and for all brands;
* raw: the same rows in the same order (checked equal, floats to 1e-12) written as one
  polars query on the same in-memory frames, in this run, so the ratio is what our
  layer costs.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/markdowns.py [--scale small]
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import polars as pl
from _common import bench_engine, emit, parse_args
from polars.testing import assert_frame_equal

from jobs.analytics import markdowns as md
from jobs.analytics.frames import AnalyticsData, Frames
from jobs.analytics.metrics import Filters
from jobs.seed import run_seed

RUNS = 9


def timed_pair(ours, raw, runs: int = RUNS) -> tuple[float, float]:
    """Median milliseconds of each, taken in turns after one warm-up call of each."""
    ours(), raw()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for side, work in zip(samples, (ours, raw), strict=True):
            began = time.perf_counter()
            work()
            side.append((time.perf_counter() - began) * 1000)
    return sorted(samples[0])[runs // 2], sorted(samples[1])[runs // 2]


def raw_markdowns(fr: Frames, brand_id: int | None, until: datetime) -> pl.DataFrame:
    """The suggestions of the default 8 weeks, as one hand-written polars query."""
    weeks = md.DEFAULT_WEEKS
    keys = ["product_id", "colour"]
    colours = fr.variants.lazy().select("variant_id", "colour")
    stock, sales = fr.stock.lazy(), fr.sales.lazy()
    if brand_id is not None:
        stock = stock.filter(pl.col("brand_id") == brand_id)
        sales = sales.filter(pl.col("brand_id") == brand_id)
    on_hand = (
        stock.join(colours, on="variant_id", how="left").group_by(keys)
        .agg(on_hand=pl.col("on_hand").sum().cast(pl.Int64),
             available=(pl.col("on_hand") - pl.col("reserved")).sum().cast(pl.Int64))
        .filter(pl.col("on_hand") > 0)
    )
    sold = (
        sales.filter(pl.col("sold_at") >= until - timedelta(weeks=weeks),
                     pl.col("sold_at") < until)
        .join(colours, on="variant_id", how="left").group_by(keys)
        .agg(units_sold=pl.col("qty").sum().cast(pl.Int64))
    )
    first = (
        fr.receipts.lazy().filter(pl.col("first_receipt_at") < until)
        .join(fr.variants.lazy().select("variant_id", *keys), on="variant_id")
        .group_by(keys).agg(pl.col("first_receipt_at").min())
    )
    age, cover = pl.col("age_days"), pl.col("weeks_of_cover")
    tier = pl.when(age.is_null()).then(pl.lit(0))
    reason = pl.when(age.is_null()).then(pl.lit(md.NO_RECEIPT))
    for t, days, wk, why in ((50, 120, 26, "120+ days old, 26+ weeks of cover"),
                             (30, 90, 16, "90+ days old, 16+ weeks of cover"),
                             (20, 60, 10, "60+ days old, 10+ weeks of cover")):
        hit = (age >= days) & (cover.is_null() | (cover >= wk))
        tier, reason = tier.when(hit).then(pl.lit(t)), reason.when(hit).then(pl.lit(why))
    sold_units = pl.col("units_sold").clip(0)
    lift = {0: 1.0, 20: 1 / 0.8 ** 2, 30: 1 / 0.7 ** 2, 50: 1 / 0.5 ** 2}
    return (
        on_hand.join(sold, on=keys, how="left").join(first, on=keys, how="left")
        .with_columns(pl.col("units_sold").fill_null(0))
        .with_columns(
            weekly_sales=sold_units / weeks,
            sell_through=sold_units / (sold_units + pl.col("on_hand")),
            age_days=(pl.lit((until - timedelta(days=1)).date())
                      - pl.col("first_receipt_at").dt.date()).dt.total_days(),
        )
        .with_columns(weeks_of_cover=pl.when(pl.col("weekly_sales") > 0)
                      .then(pl.col("on_hand") / pl.col("weekly_sales")).otherwise(None))
        .with_columns(tier=tier.otherwise(pl.lit(0)).cast(pl.Int32),
                      reason=reason.otherwise(pl.lit(md.NO_RULE)))
        .with_columns(projected_sell_through=(
            pl.col("sell_through") * pl.col("tier").replace_strict(lift, return_dtype=pl.Float64)
        ).clip(upper_bound=1.0))
        .join(fr.product_labels.lazy(), on="product_id", how="left")
        .select(md.COLUMNS)
        .collect()
        .sort(["tier", "weeks_of_cover", "brand", "style_code", "colour"],
              descending=[True, True, False, False, False],
              nulls_last=[False, False, True, True, True])
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    engine = bench_engine(pool_size=4)
    began = time.perf_counter()
    run_seed(scale=args.scale, seed=7, if_empty=True, report=False, echo=print, engine=engine)
    print(f"seeded in {time.perf_counter() - began:.1f} s")
    data = AnalyticsData(engine, max_staleness=3600)
    began = time.perf_counter()
    frames = data.reload()
    print(f"frames loaded in {time.perf_counter() - began:.1f} s "
          f"({frames.sales.height:,} sale lines, {frames.receipts.height:,} receipts)")
    biggest = (frames.sales.group_by("brand_id").len().sort("len", descending=True)
               ["brand_id"][0])
    today = datetime.now(UTC).date()
    until = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    result: dict = {"bench": "markdowns", "scale": args.scale,
                    "sale_lines": frames.sales.height}
    ratios = []
    print(f"{'scope':<6} {'rows':>7} {'ours ms':>9} {'raw ms':>9} {'ratio':>6}")
    for scope, brand in (("brand", int(biggest)), ("all", None)):
        filters = Filters(brand_id=brand)

        def ours(f=filters) -> pl.DataFrame:
            return md.markdown_suggestions(frames, f, brand_scope=None)

        def raw(b=brand) -> pl.DataFrame:
            return raw_markdowns(frames, b, until)

        table = ours()
        try:
            # Floats to the last bits only: the rule table's lifts are computed as
            # (1 - d) ** -2 there and written as 1 / (1 - d) ** 2 here.
            assert_frame_equal(table, raw(), rel_tol=1e-12, abs_tol=0.0)
        except AssertionError as differ:
            message = f"markdowns ({scope}): ours and the direct polars differ: {differ}"
            raise SystemExit(message) from None
        ours_ms, raw_ms = timed_pair(ours, raw)
        ratio = ours_ms / raw_ms
        ratios.append(ratio)
        tiers = dict(table.group_by("tier").len().sort("tier").iter_rows())
        print(f"{scope:<6} {table.height:>7,} {ours_ms:>9.1f} {raw_ms:>9.1f} {ratio:>6.2f}"
              f"   tiers {tiers}")
        result[f"markdowns_{scope}_rows"] = table.height
        result[f"markdowns_{scope}_ms"] = round(ours_ms, 2)
        result[f"markdowns_{scope}_raw_ms"] = round(raw_ms, 2)
        result[f"markdowns_{scope}_ratio"] = round(ratio, 3)
    result["ratio"] = round(max(ratios), 3)
    print(f"worst ratio ours/raw: {result['ratio']:.2f}")
    emit(result)


if __name__ == "__main__":
    main()
