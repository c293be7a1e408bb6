"""Plotly figures for the analytics and demand tables (graph_objects: no numpy needed).

Each builder takes the DataFrame its metric returns and gives a figure with a title,
axis titles with units, and, when there is nothing to draw, an empty figure that says
so ("No sales in this period") instead of an empty grid or an error.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from jobs.analytics.metrics import Movers

NO_SALES = "No sales in this period"
NO_STOCK = "No stock matches these filters"
NO_VOTES = "No votes in this period"
NO_SNAPSHOTS = "No stock snapshots in this period"
TOP_N = 20


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title={"text": title},
        xaxis_title=x_title,
        yaxis_title=y_title,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.2},
        separators=".,",
    )
    return fig


def empty_figure(title: str, message: str, x_title: str = "", y_title: str = "") -> go.Figure:
    """A figure with only its title and `message` in the middle (the empty state)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font={"size": 16})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    _layout(fig, title, x_title, y_title)
    fig.update_layout(meta={"empty": True, "message": message})
    return fig


def is_empty(fig: go.Figure) -> bool:
    """True for a figure made by `empty_figure`."""
    meta = fig.layout.meta
    return isinstance(meta, dict) and bool(meta.get("empty"))


def _label(frame: pl.DataFrame) -> list[str]:
    for column in ("sku", "style_code", "brand", "warehouse", "category", "label"):
        if column in frame.columns:
            return [str(v) for v in frame[column].to_list()]
    return [str(i) for i in range(frame.height)]


def velocity_chart(velocity: pl.DataFrame, *, window: int = 28) -> go.Figure:
    """The fastest sellers: units per day over the window, one bar each (top 20)."""
    title = f"Sales velocity, last {window} days"
    column = f"per_day_{window}d"
    if velocity.is_empty() or column not in velocity.columns \
            or velocity[f"units_{window}d"].abs().sum() == 0:
        return empty_figure(title, NO_SALES)
    top = velocity.sort(column, descending=True).head(TOP_N)
    fig = go.Figure(go.Bar(x=_label(top), y=top[column].to_list(), name="units/day",
                           hovertemplate="%{x}: %{y:.2f} units/day<extra></extra>"))
    return _layout(fig, title, "", "Units per day")


def trend_chart(trend: pl.DataFrame) -> go.Figure:
    """Units sold per day (bars), their moving average, and last year's moving average."""
    title = "Units sold per day"
    if trend.is_empty() or trend["units"].abs().sum() == 0:
        return empty_figure(title, NO_SALES, "Day (UTC)", "Units")
    days = trend["day"].to_list()
    fig = go.Figure()
    fig.add_trace(go.Bar(x=days, y=trend["units"].to_list(), name="Units sold",
                         marker={"opacity": 0.45}))
    fig.add_trace(go.Scatter(x=days, y=trend["moving_average"].to_list(),
                             name="Moving average", mode="lines"))
    if "last_year_moving_average" in trend.columns \
            and trend["last_year_units"].fill_null(0).abs().sum() > 0:
        fig.add_trace(go.Scatter(x=days, y=trend["last_year_moving_average"].to_list(),
                                 name="Last year (moving average)", mode="lines",
                                 line={"dash": "dot"}))
    return _layout(fig, title, "Day (UTC)", "Units")


def movers_chart(result: Movers) -> go.Figure:
    """Top movers' units this period beside the period before."""
    title = "Top movers: units this period vs the period before"
    top = result.top
    if top.is_empty():
        return empty_figure(title, NO_SALES)
    names = _label(top)
    fig = go.Figure([
        go.Bar(x=names, y=top["units"].to_list(), name="This period"),
        go.Bar(x=names, y=top["previous_units"].to_list(), name="Period before"),
    ])
    fig.update_layout(barmode="group")
    return _layout(fig, title, "", "Units")


def bottom_movers_chart(result: Movers) -> go.Figure:
    """What sells least while in stock: units this period beside units available."""
    title = "Bottom movers: units sold vs units available"
    bottom = result.bottom
    if bottom.is_empty():
        return empty_figure(title, NO_STOCK)
    rows = bottom.reverse()
    names = _label(rows)
    fig = go.Figure([
        go.Bar(y=names, x=rows["units"].to_list(), name="Units sold", orientation="h"),
        go.Bar(y=names, x=rows["available"].to_list(), name="Units available",
               orientation="h"),
    ])
    fig.update_layout(barmode="group")
    return _layout(fig, title, "Units", "")


def cover_chart(cover: pl.DataFrame) -> go.Figure:
    """Weeks of cover of the 20 shortest-covered rows (horizontal bars)."""
    title = "Weeks of cover (shortest first)"
    rows = cover.filter(pl.col("weeks_of_cover").is_not_null()).head(TOP_N)
    if rows.is_empty():
        message = NO_SALES if not cover.is_empty() else NO_STOCK
        return empty_figure(title, message)
    rows = rows.reverse()
    fig = go.Figure(go.Bar(x=rows["weeks_of_cover"].to_list(), y=_label(rows), orientation="h",
                           hovertemplate="%{y}: %{x:.1f} weeks<extra></extra>"))
    return _layout(fig, title, "Weeks of cover", "")


def sell_through_chart(table: pl.DataFrame) -> go.Figure:
    title = "Sell-through in the period"
    rows = table.filter(pl.col("sell_through").is_not_null()).head(TOP_N)
    if rows.is_empty() or table["units_sold"].abs().sum() == 0:
        return empty_figure(title, NO_SALES)
    fig = go.Figure(go.Bar(x=_label(rows), y=(rows["sell_through"] * 100).to_list(),
                           hovertemplate="%{x}: %{y:.1f}%<extra></extra>"))
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, title, "", "Sell-through (%)")


def slow_movers_chart(slow: pl.DataFrame, *, days: int = 60) -> go.Figure:
    """Units on hand of the slow movers (top 20 by stock), days since last sale on hover."""
    title = f"Slow movers: stock with no sales in {days} days"
    if slow.is_empty():
        return empty_figure(title, NO_STOCK)
    rows = slow.head(TOP_N).reverse()
    since = [("never sold" if d is None else f"last sale {d} days ago")
             for d in rows["days_since_last_sale"].to_list()]
    fig = go.Figure(go.Bar(
        x=rows["on_hand"].to_list(), y=_label(rows), orientation="h", customdata=since,
        hovertemplate="%{y}: %{x:,} units on hand, %{customdata}<extra></extra>",
    ))
    return _layout(fig, title, "Units on hand", "")


def ageing_chart(summary: pl.DataFrame) -> go.Figure:
    """Units on hand per age bucket (days since last receipt)."""
    title = "Stock by days since last receipt"
    if summary.is_empty() or summary["on_hand"].sum() == 0:
        return empty_figure(title, NO_STOCK)
    fig = go.Figure(go.Bar(x=summary["age_bucket"].to_list(), y=summary["on_hand"].to_list()))
    return _layout(fig, title, "Days since last receipt", "Units on hand")


def size_curve_chart(curve: pl.DataFrame) -> go.Figure:
    """Share of sales beside share of stock, per size, in size-run order."""
    title = "Size curve: share of sales vs share of stock"
    if curve.is_empty():
        return empty_figure(title, NO_STOCK)
    if curve["units_sold"].clip(0).sum() == 0:
        title += f" ({NO_SALES.lower()})"
    sizes = curve["size"].to_list()
    fig = go.Figure([
        go.Bar(x=sizes, y=(curve["sales_share"] * 100).to_list(), name="Share of sales"),
        go.Bar(x=sizes, y=(curve["stock_share"] * 100).to_list(), name="Share of stock"),
    ])
    fig.update_layout(barmode="group")
    return _layout(fig, title, "Size", "Share (%)")


def stock_history_chart(history: pl.DataFrame) -> go.Figure:
    """Units on hand per day, one line per series (total, brand or warehouse)."""
    title = "Stock on hand over time"
    if history.is_empty():
        return empty_figure(title, NO_SNAPSHOTS, "Day (UTC)", "Units on hand")
    fig = go.Figure()
    for (series,), rows in history.sort("day").group_by(["series"], maintain_order=True):
        fig.add_trace(go.Scatter(x=rows["day"].to_list(), y=rows["on_hand"].to_list(),
                                 name=str(series), mode="lines+markers"))
    return _layout(fig, title, "Day (UTC)", "Units on hand")


def votes_over_time_chart(votes: pl.DataFrame, question: str = "") -> go.Figure:
    """Each option's share of the votes per day or week (normalised lines)."""
    title = f"Votes over time: {question}" if question else "Votes over time"
    if votes.is_empty() or votes["votes"].sum() == 0:
        return empty_figure(title, NO_VOTES, "Day (UTC)", "Share of votes (%)")
    fig = go.Figure()
    for (label,), rows in votes.group_by(["label"], maintain_order=True):
        fig.add_trace(go.Scatter(
            x=rows["period_start"].to_list(), y=(rows["share"] * 100).to_list(),
            name=str(label), mode="lines+markers",
            customdata=rows["votes"].to_list(),
            hovertemplate="%{x}: %{y:.0f}% (%{customdata} votes)<extra></extra>",
        ))
    return _layout(fig, title, "Day (UTC)", "Share of votes (%)")


def demand_vs_stock_chart(table: pl.DataFrame) -> go.Figure:
    """Votes per option beside the units available of what it signals (top 20 by votes)."""
    title = "Demand vs stock: votes beside units available"
    rows = table.filter(pl.col("votes") > 0).head(TOP_N)
    if rows.is_empty():
        return empty_figure(title, NO_VOTES)
    names = [f"{label} ({signal})" for label, signal in
             zip(rows["label"].to_list(), rows["signal"].to_list(), strict=True)]
    fig = go.Figure([
        go.Bar(x=names, y=rows["votes"].to_list(), name="Votes", yaxis="y", offsetgroup=0),
        go.Bar(x=names, y=rows["available"].to_list(), name="Units available", yaxis="y2",
               offsetgroup=1),
    ])
    fig.update_layout(
        barmode="group",
        yaxis2={"title": {"text": "Units available"}, "overlaying": "y", "side": "right"},
    )
    return _layout(fig, title, "", "Votes")
