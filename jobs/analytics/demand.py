"""Customer demand beside stock: what polls say customers want, and whether we have it.

An option's signals (brand, style, size, colour, category) describe a set of variants
(`models.polls.match_options_to_variants`); demand vs stock puts each option's votes
beside those variants' available units and selling rate. The period filter selects
votes (answered in the period) and the velocity's end; the warehouse filter narrows
stock and sales; the brand filter (and a vendor's scope) selects polls about that brand,
and a vendor's matched stock never leaves their brand.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import polars as pl
from sqlalchemy import select
from sqlmodel import Session

from jobs.analytics.frames import Frames
from jobs.analytics.metrics import Filters, day_start, sales_lines, scoped, stock_lines
from models.errors import InvalidQuantity, NotFound
from models.polls import (
    Poll,
    PollOption,
    PollVote,
    brand_scope_check,
    describe_signal,
    match_options_to_variants,
    option_signals,
)


def votes_over_time(
    session: Session,
    filters: Filters,
    *,
    brand_scope: int | None,
    poll_id: int,
    bucket: Literal["day", "week"] = "day",
) -> pl.DataFrame:
    """Votes per option per day (or ISO week) of the period, normalised per bucket.

    Columns: period_start, option_id, label, votes, share (the option's votes ÷ all
    votes of that bucket; 0 when the bucket has none). Every option × bucket is listed,
    so lines do not skip days.
    """
    f = scoped(filters, brand_scope)
    if bucket not in ("day", "week"):
        raise InvalidQuantity("bucket must be day or week.", field="bucket")
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"No poll with id {poll_id}.", poll_id=poll_id)
    brand_scope_check(brand_scope, poll.brand_id, f"poll {poll_id}")
    start, end = f.period()
    options = pl.DataFrame(
        [tuple(r) for r in session.execute(
            select(PollOption.id, PollOption.label)
            .where(PollOption.poll_id == poll_id)
            .order_by(PollOption.position, PollOption.id)
        )],
        schema={"option_id": pl.Int64, "label": pl.String},
        orient="row",
    )
    v = PollVote.__table__
    votes = pl.DataFrame(
        [tuple(r) for r in session.execute(
            select(v.c.option_id, v.c.answered_at).where(
                v.c.poll_id == poll_id,
                v.c.answered_at >= day_start(start),
                v.c.answered_at < day_start(end + timedelta(days=1)),
            )
        )],
        schema={"option_id": pl.Int64, "answered_at": pl.Datetime("us", "UTC")},
        orient="row",
    )
    every = "1w" if bucket == "week" else "1d"
    first = start - timedelta(days=start.weekday()) if bucket == "week" else start
    buckets = pl.DataFrame({"period_start": pl.date_range(first, end, every, eager=True)})
    counted = votes.group_by(
        pl.col("answered_at").dt.date().dt.truncate(every).alias("period_start"), "option_id"
    ).agg(votes=pl.len().cast(pl.Int64))
    return (
        buckets.join(options, how="cross")
        .join(counted, on=["period_start", "option_id"], how="left")
        .with_columns(pl.col("votes").fill_null(0))
        .with_columns(total=pl.col("votes").sum().over("period_start"))
        .with_columns(
            share=pl.when(pl.col("total") > 0)
            .then(pl.col("votes") / pl.col("total"))
            .otherwise(0.0)
        )
        .drop("total")
        .sort("period_start", "option_id")
    )


def demand_vs_stock(
    session: Session,
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    poll_ids: list[int] | None = None,
    velocity_days: int = 28,
) -> pl.DataFrame:
    """Each poll option's votes beside the stock and selling rate of what it signals.

    Columns: poll_id, question, option_id, label, signal, votes, share (of the poll's
    votes), variants (how many variants the signals describe), on_hand, available,
    units_sold (net, last `velocity_days` to the period's end), per_day, and
    wanted_not_stocked (votes > 0 and nothing available). Most votes first.
    """
    f = scoped(filters, brand_scope)
    start, end = f.period()
    options = option_signals(
        session,
        brand_scope=brand_scope,
        poll_ids=poll_ids,
        since=day_start(start),
        until=day_start(end + timedelta(days=1)),
    )
    if f.brand_id is not None:
        options = options.filter(pl.col("poll_brand_id") == f.brand_id)
    variants = frames.variants
    if brand_scope is not None:
        variants = variants.filter(pl.col("brand_id") == brand_scope)
    matches = match_options_to_variants(
        options,
        variants.select("variant_id", "brand_id", "style_code", "size", "colour", "category"),
        frames.brands.select("brand_id", pl.col("brand").alias("code")),
    ).with_columns(pl.col("variant_id").cast(pl.Int32))
    stock_filters = Filters(warehouse_id=f.warehouse_id, brand_id=brand_scope, end=end,
                            start=start)
    stock = (
        stock_lines(frames, stock_filters)
        .group_by("variant_id")
        .agg(on_hand=pl.col("on_hand").sum(), available=pl.col("available").sum())
    )
    until = day_start(end + timedelta(days=1))
    sold = (
        sales_lines(frames, stock_filters, until - timedelta(days=velocity_days), until)
        .group_by("variant_id")
        .agg(units_sold=pl.col("qty").sum())
    )
    per_option = (
        matches.lazy()
        .join(stock, on="variant_id", how="left")
        .join(sold, on="variant_id", how="left")
        .group_by("option_id")
        .agg(
            variants=pl.len().cast(pl.Int64),
            on_hand=pl.col("on_hand").sum().cast(pl.Int64),
            available=pl.col("available").sum().cast(pl.Int64),
            units_sold=pl.col("units_sold").sum().cast(pl.Int64),
        )
        .collect()
    )
    result = (
        options.join(per_option, on="option_id", how="left")
        .with_columns(pl.col("variants", "on_hand", "available", "units_sold").fill_null(0))
        .with_columns(
            signal=pl.struct(
                "signal_brand", "signal_style", "signal_size", "signal_colour",
                "signal_category",
            ).map_elements(
                lambda s: describe_signal(
                    s["signal_brand"], s["signal_style"], s["signal_size"],
                    s["signal_colour"], s["signal_category"],
                ),
                return_dtype=pl.String,
            ),
            per_day=pl.col("units_sold") / velocity_days,
            wanted_not_stocked=(pl.col("votes") > 0) & (pl.col("available") <= 0),
        )
    )
    return result.select(
        "poll_id", "question", "option_id", "label", "signal", "votes", "share", "variants",
        "on_hand", "available", "units_sold", "per_day", "wanted_not_stocked",
    ).sort(["votes", "poll_id", "option_id"], descending=[True, False, False])


def wanted_not_stocked(
    session: Session,
    frames: Frames,
    filters: Filters,
    *,
    brand_scope: int | None,
    poll_ids: list[int] | None = None,
) -> pl.DataFrame:
    """Options customers voted for whose signalled stock is not available (or not carried).

    The rows of `demand_vs_stock` with wanted_not_stocked, most votes first; `variants`
    = 0 means we do not carry anything that matches at all.
    """
    table = demand_vs_stock(session, frames, filters, brand_scope=brand_scope,
                            poll_ids=poll_ids)
    return table.filter(pl.col("wanted_not_stocked")).drop("wanted_not_stocked")
