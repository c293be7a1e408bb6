"""Demand per variant: which variants each option's signal names, and their votes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl
from sqlalchemy import (
    func,
    select,
)
from sqlmodel import Session

from models.catalog import Brand, Product, Variant
from models.polls.tables import Poll, PollOption, PollVote

# --- demand per variant (for replenishment) ------------------------------------------------


def option_signals(
    session: Session,
    *,
    brand_scope: int | None,
    poll_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """One row per option the viewer may see, with its poll, signals and votes.

    Columns: poll_id, question, poll_brand_id, option_id, label, signal_brand,
    signal_style, signal_size, signal_colour, signal_category, votes, poll_votes,
    share (votes ÷ poll_votes).
    """
    p, o, v = Poll.__table__, PollOption.__table__, PollVote.__table__
    join_on = (v.c.option_id == o.c.id) & (v.c.poll_id == o.c.poll_id)
    if since is not None:
        join_on &= v.c.answered_at >= since
    if until is not None:
        join_on &= v.c.answered_at < until
    query = (
        select(
            p.c.id.label("poll_id"),
            p.c.question,
            p.c.brand_id.label("poll_brand_id"),
            o.c.id.label("option_id"),
            o.c.label,
            o.c.signal_brand,
            o.c.signal_style,
            o.c.signal_size,
            o.c.signal_colour,
            o.c.signal_category,
            func.count(v.c.id).label("votes"),
        )
        .select_from(p.join(o, o.c.poll_id == p.c.id).outerjoin(v, join_on))
        .group_by(p.c.id, o.c.id)
        .order_by(p.c.id, o.c.position, o.c.id)
    )
    if brand_scope is not None:
        query = query.where(p.c.brand_id == brand_scope)
    if poll_ids is not None:
        query = query.where(p.c.id.in_(list(poll_ids)))
    rows = session.execute(query).all()
    schema = {
        "poll_id": pl.Int64,
        "question": pl.String,
        "poll_brand_id": pl.Int64,
        "option_id": pl.Int64,
        "label": pl.String,
        "signal_brand": pl.String,
        "signal_style": pl.String,
        "signal_size": pl.String,
        "signal_colour": pl.String,
        "signal_category": pl.String,
        "votes": pl.Int64,
    }
    frame = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    return frame.with_columns(
        poll_votes=pl.col("votes").sum().over("poll_id"),
    ).with_columns(
        share=pl.when(pl.col("poll_votes") > 0)
        .then(pl.col("votes") / pl.col("poll_votes"))
        .otherwise(0.0)
    )


def match_options_to_variants(
    options: pl.DataFrame, variants: pl.DataFrame, brands: pl.DataFrame
) -> pl.DataFrame:
    """(option_id, variant_id) for every variant an option's signals describe.

    `variants` needs variant_id, brand_id, style_code, size, colour, category;
    `brands` needs brand_id, code. An option's brand is its own brand signal, else the
    poll's brand, else any brand. Sizes compare in their normalised spelling, colours and
    categories case-insensitively. An option with no signal matches nothing.
    """
    empty = pl.DataFrame(schema={"option_id": pl.Int64, "variant_id": pl.Int64})
    if options.is_empty() or variants.is_empty():
        return empty
    code_to_id = dict(zip(brands["code"].to_list(), brands["brand_id"].to_list(), strict=True))
    pieces = []
    lowered = variants.with_columns(
        colour_key=pl.col("colour").str.to_lowercase(),
        category_key=pl.col("category").str.to_lowercase(),
    )
    for opt in options.iter_rows(named=True):
        signals = [
            opt[k]
            for k in (
                "signal_brand",
                "signal_style",
                "signal_size",
                "signal_colour",
                "signal_category",
            )
        ]
        if not any(signals):
            continue
        condition = pl.lit(True)
        if opt["signal_brand"]:
            brand_id = code_to_id.get(opt["signal_brand"])
            if brand_id is None:
                continue
            condition &= pl.col("brand_id") == brand_id
        elif opt["poll_brand_id"] is not None:
            condition &= pl.col("brand_id") == opt["poll_brand_id"]
        if opt["signal_style"]:
            condition &= pl.col("style_code").str.to_uppercase() == opt["signal_style"]
        if opt["signal_size"]:
            condition &= pl.col("size") == opt["signal_size"]
        if opt["signal_colour"]:
            condition &= pl.col("colour_key") == opt["signal_colour"].lower()
        if opt["signal_category"]:
            condition &= pl.col("category_key") == opt["signal_category"].lower()
        matched = lowered.filter(condition).select(
            pl.lit(opt["option_id"], dtype=pl.Int64).alias("option_id"),
            pl.col("variant_id").cast(pl.Int64),
        )
        pieces.append(matched)
    return pl.concat(pieces) if pieces else empty


def demand_by_variant(
    session: Session,
    *,
    brand_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """The customer-demand signal per variant, for a replenishment column.

    Columns: variant_id, demand_votes (votes for options that describe the variant,
    summed over polls), demand_score (the same as shares of each poll's votes, so a
    poll with many respondents does not drown the others). Only variants with a vote
    appear; join on variant_id and fill nulls with 0. `brand_id` limits to one brand's
    variants (every poll whose options describe them counts).
    """
    schema = {"variant_id": pl.Int64, "demand_votes": pl.Int64, "demand_score": pl.Float64}
    options = option_signals(session, brand_scope=None, since=since, until=until).filter(
        pl.col("votes") > 0
    )
    if options.is_empty():
        return pl.DataFrame(schema=schema)
    v, p, b = Variant.__table__, Product.__table__, Brand.__table__
    query = select(
        v.c.id.label("variant_id"),
        v.c.brand_id,
        p.c.style_code,
        v.c.size,
        v.c.colour,
        p.c.category,
    ).join(p, p.c.id == v.c.product_id)
    if brand_id is not None:
        query = query.where(v.c.brand_id == brand_id)
    variants = pl.DataFrame(
        [tuple(r) for r in session.execute(query)],
        schema={
            "variant_id": pl.Int64,
            "brand_id": pl.Int64,
            "style_code": pl.String,
            "size": pl.String,
            "colour": pl.String,
            "category": pl.String,
        },
        orient="row",
    )
    brands = pl.DataFrame(
        [tuple(r) for r in session.execute(select(b.c.id, b.c.code))],
        schema={"brand_id": pl.Int64, "code": pl.String},
        orient="row",
    )
    matches = match_options_to_variants(options, variants, brands)
    return (
        matches.join(options.select("option_id", "votes", "share"), on="option_id")
        .group_by("variant_id")
        .agg(demand_votes=pl.col("votes").sum(), demand_score=pl.col("share").sum())
        .sort("variant_id")
        .cast(schema)
    )
