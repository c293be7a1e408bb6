"""Plotly figures for the analytics and demand tables (graph_objects: no numpy needed).

Each builder takes the DataFrame its metric returns and gives a figure with a title,
axis titles with units, and, when there is nothing to draw, an empty figure that says
so ("No sales in this period") instead of an empty grid or an error.
"""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl

from jobs.analytics.metrics import Movers

NO_SALES = "No sales in this period"
NO_STOCK = "No stock matches these filters"
NO_VOTES = "No votes in this period"
NO_SNAPSHOTS = "No stock snapshots in this period"
NO_SNAPSHOTS_YET = "No stock snapshots yet"
NO_COUNTS_YET = "No counts yet — count sheets are on /counts"
NO_COUNTS = "No counts in this period"
SNAPSHOTS_HINT = ("The nightly snapshot (00:10 UTC) records the stock of each day; the "
                  "history starts with the first one.")
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


def empty_figure(
    title: str, message: str, x_title: str = "", y_title: str = "", *, hint: str = ""
) -> go.Figure:
    """A figure with only its title and `message` in the middle (the empty state);
    `hint` says what to do about it (the card shows a generic one without)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font={"size": 16})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    _layout(fig, title, x_title, y_title)
    fig.update_layout(meta={"empty": True, "message": message, "hint": hint})
    return fig


def is_empty(fig: go.Figure) -> bool:
    """True for a figure made by `empty_figure`."""
    meta = fig.layout.meta
    return isinstance(meta, dict) and bool(meta.get("empty"))


#: What a chart calls a row of each kind of table, most specific first.
_NAME_COLUMNS = ("brand_name", "warehouse_name", "category", "label")
#: Size systems as a buyer names them, in the order the size curve shows them.
SIZE_SYSTEMS = {
    "alpha": "Letter sizes",
    "waist": "Waist sizes",
    "eu_shoe": "EU shoe sizes",
    "uk_shoe": "UK shoe sizes",
    "us_shoe": "US shoe sizes",
    "one_size": "One size",
}
#: The first two colours of the dashboard's chart colorway (sales, stock).
SALES_COLOUR, STOCK_COLOUR = "#3e63dd", "#f76b15"
#: Height of a chart with one horizontal bar per row: enough for every row's name.
BAR_ROW_PX = 26
#: A week on a date axis (plotly counts in milliseconds).
WEEK_MS = 7 * 86_400_000


def names(frame: pl.DataFrame) -> list[str]:
    """What a chart calls each row: the product's name (a variant adds its colour and
    size), else the brand, warehouse, category or answer. Codes are only added where
    two rows would otherwise share a name (a category axis would merge their bars)."""
    if "product" in frame.columns:
        parts = [frame["product"].fill_null("").cast(pl.String).to_list()]
        if "sku" in frame.columns:
            parts += [frame[c].fill_null("").cast(pl.String).to_list()
                      for c in ("colour", "size") if c in frame.columns]
        code = ["sku"] if "sku" in frame.columns else ["brand", "style_code"]
        codes = [" ".join(str(v) for v in row if v)
                 for row in frame.select([c for c in code if c in frame.columns]).rows()]
        labels = [" · ".join(p for p in row if p) or codes[i]
                  for i, row in enumerate(zip(*parts, strict=True))]
        return _distinct(labels, codes)
    for column in _NAME_COLUMNS:
        if column in frame.columns:
            labels = [str(v) for v in frame[column].to_list()]
            codes = [str(v) for v in frame[column.removesuffix("_name")].to_list()] \
                if column.endswith("_name") and column.removesuffix("_name") in frame.columns \
                else [str(i + 1) for i in range(frame.height)]
            return _distinct(labels, codes)
    return [str(i + 1) for i in range(frame.height)]


def _distinct(labels: list[str], codes: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    return [f"{label} ({code})" if seen[label] > 1 and code else label
            for label, code in zip(labels, codes, strict=True)]


def _texts(values: list, fmt: str) -> list[str]:
    """Each bar's value as the label drawn on it ("—" for none)."""
    return ["—" if v is None else fmt.format(v) for v in values]


def _bars(categories: list[str], values: list, *, fmt: str = "{:,.0f}",
          horizontal: bool = False, **props) -> go.Bar:
    """Bars with their value written on each one (outside the bar, never clipped)."""
    axis = {"y": categories, "x": values, "orientation": "h"} if horizontal \
        else {"x": categories, "y": values}
    return go.Bar(**axis, text=_texts(values, fmt), textposition="outside",
                  cliponaxis=False, **props)


def _every_tick(fig: go.Figure, axis: str = "x") -> go.Figure:
    """Name every category on `axis` (plotly skips names when they crowd)."""
    settings = {"type": "category", "tickmode": "linear", "dtick": 1, "tick0": 0}
    if axis == "x":
        fig.update_xaxes(**settings)
    else:
        fig.update_yaxes(**settings)
    return fig


def _ranked(fig: go.Figure, rows: int) -> go.Figure:
    """Horizontal bars: first row on top, every name shown, tall enough for each."""
    _every_tick(fig, "y")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(320, rows * BAR_ROW_PX + 110))
    return fig


def velocity_chart(velocity: pl.DataFrame, *, window: int = 28) -> go.Figure:
    """The fastest sellers: units per day over the window, one named bar each (top 20)."""
    title = f"Sales velocity, last {window} days"
    column = f"per_day_{window}d"
    if velocity.is_empty() or column not in velocity.columns \
            or velocity[f"units_{window}d"].abs().sum() == 0:
        return empty_figure(title, NO_SALES)
    top = velocity.sort(column, descending=True, maintain_order=True).head(TOP_N)
    fig = go.Figure(_bars(names(top), top[column].to_list(), fmt="{:,.2f}", horizontal=True,
                          name="units/day",
                          hovertemplate="%{y}: %{x:.2f} units/day<extra></extra>"))
    return _ranked(_layout(fig, title, "Units per day", ""), top.height)


def trend_chart(trend: pl.DataFrame) -> go.Figure:
    """Units sold per day (bars), their moving average, and last year's moving average
    where last year has data (days before the first recorded sale are gaps, and no
    last-year line at all when none of the period's last year has data)."""
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
            and trend["last_year_moving_average"].drop_nulls().len() > 0:
        fig.add_trace(go.Scatter(x=days, y=trend["last_year_moving_average"].to_list(),
                                 name="Last year (moving average)", mode="lines",
                                 line={"dash": "dot"}, connectgaps=False))
    return _layout(fig, title, "Day (UTC)", "Units")


def movers_chart(result: Movers) -> go.Figure:
    """Top movers' units this period beside the period before."""
    title = "Top movers: units this period vs the period before"
    top = result.top
    if top.is_empty():
        return empty_figure(title, NO_SALES)
    rows = names(top)
    fig = go.Figure([
        _bars(rows, top["units"].to_list(), horizontal=True, name="This period"),
        _bars(rows, top["previous_units"].to_list(), horizontal=True, name="Period before"),
    ])
    fig.update_layout(barmode="group")
    return _ranked(_layout(fig, title, "Units", ""), top.height * 2)


def bottom_movers_chart(result: Movers) -> go.Figure:
    """What sells least while in stock: units this period beside units available."""
    title = "Bottom movers: units sold vs units available"
    bottom = result.bottom
    if bottom.is_empty():
        return empty_figure(title, NO_STOCK)
    rows = names(bottom)
    fig = go.Figure([
        _bars(rows, bottom["units"].to_list(), horizontal=True, name="Units sold"),
        _bars(rows, bottom["available"].to_list(), horizontal=True, name="Units available"),
    ])
    fig.update_layout(barmode="group")
    return _ranked(_layout(fig, title, "Units", ""), bottom.height * 2)


def cover_chart(cover: pl.DataFrame) -> go.Figure:
    """Weeks of cover of the 20 shortest-covered rows (horizontal bars)."""
    title = "Weeks of cover (shortest first)"
    rows = cover.filter(pl.col("weeks_of_cover").is_not_null()).head(TOP_N)
    if rows.is_empty():
        message = NO_SALES if not cover.is_empty() else NO_STOCK
        return empty_figure(title, message)
    fig = go.Figure(_bars(names(rows), rows["weeks_of_cover"].to_list(), fmt="{:,.1f}",
                          horizontal=True,
                          hovertemplate="%{y}: %{x:.1f} weeks<extra></extra>"))
    return _ranked(_layout(fig, title, "Weeks of cover", ""), rows.height)


def sell_through_chart(table: pl.DataFrame) -> go.Figure:
    title = "Sell-through in the period"
    rows = table.filter(pl.col("sell_through").is_not_null()).head(TOP_N)
    if rows.is_empty() or table["units_sold"].abs().sum() == 0:
        return empty_figure(title, NO_SALES)
    fig = go.Figure(_bars(names(rows), (rows["sell_through"] * 100).to_list(), fmt="{:.0f}%",
                          horizontal=True,
                          hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    fig.update_xaxes(range=[0, 110])
    return _ranked(_layout(fig, title, "Sell-through (%)", ""), rows.height)


def slow_movers_chart(slow: pl.DataFrame, *, days: int = 60) -> go.Figure:
    """Units on hand of the slow movers (top 20 by stock), days since last sale on hover."""
    title = f"Slow movers: stock with no sales in {days} days"
    if slow.is_empty():
        return empty_figure(title, NO_STOCK)
    rows = slow.head(TOP_N)
    since = [("never sold" if d is None else f"last sale {d} days ago")
             for d in rows["days_since_last_sale"].to_list()]
    fig = go.Figure(_bars(
        names(rows), rows["on_hand"].to_list(), horizontal=True, customdata=since,
        hovertemplate="%{y}: %{x:,} units on hand, %{customdata}<extra></extra>",
    ))
    return _ranked(_layout(fig, title, "Units on hand", ""), rows.height)


def ageing_chart(summary: pl.DataFrame) -> go.Figure:
    """Units on hand per age bucket (days since last receipt)."""
    title = "Stock by days since last receipt"
    if summary.is_empty() or summary["on_hand"].sum() == 0:
        return empty_figure(title, NO_STOCK)
    fig = go.Figure(_bars(summary["age_bucket"].to_list(), summary["on_hand"].to_list()))
    return _every_tick(_layout(fig, title, "Days since last receipt", "Units on hand"))


#: The fewest sizes a size-curve panel is given the width of.
_MIN_PANEL_SIZES = 3


def size_curve_chart(curve: pl.DataFrame) -> go.Figure:
    """Share of sales beside share of stock, per size, one panel per size system (letter
    and waist sizes never share an axis), each in size-run order."""
    title = "Size curve: share of sales vs share of stock"
    if curve.is_empty():
        return empty_figure(title, NO_STOCK)
    if curve["units_sold"].clip(0).sum() == 0:
        title += f" ({NO_SALES.lower()})"
    order = list(SIZE_SYSTEMS)
    systems = sorted(curve["size_system"].unique().to_list(),
                     key=lambda s: (order.index(s) if s in order else len(order), s))
    counts = [curve.filter(pl.col("size_system") == s).height for s in systems]
    gap = 0.06 if len(systems) > 1 else 0.0
    # A panel's width follows its sizes, but one or two sizes still get room for the
    # system's name beneath them (else "One size" runs into its neighbour's name).
    width = (1 - gap * (len(systems) - 1)) / sum(max(c, _MIN_PANEL_SIZES) for c in counts)
    fig = go.Figure()
    left = 0.0
    for n, (system, count) in enumerate(zip(systems, counts, strict=True)):
        rows = curve.filter(pl.col("size_system") == system)
        axis = "x" if n == 0 else f"x{n + 1}"
        sizes = [str(s) for s in rows["size"].to_list()]
        for column, name, colour in (("sales_share", "Share of sales", SALES_COLOUR),
                                     ("stock_share", "Share of stock", STOCK_COLOUR)):
            fig.add_trace(_bars(
                sizes, (rows[column] * 100).to_list(), fmt="{:.0f}%", name=name,
                xaxis=axis, marker={"color": colour}, legendgroup=column,
                showlegend=n == 0, offsetgroup=column,
                hovertemplate="%{x}: %{y:.1f}%<extra>" + name + "</extra>",
            ))
        right = left + width * max(count, _MIN_PANEL_SIZES)
        fig.update_layout({f"xaxis{'' if n == 0 else n + 1}": {
            "domain": [left, min(right, 1.0)], "anchor": "y", "type": "category",
            "tickmode": "linear", "dtick": 1, "tick0": 0,
            "title": {"text": SIZE_SYSTEMS.get(system, system)},
        }})
        left = right + gap
    fig.update_layout(barmode="group")
    _layout(fig, title, SIZE_SYSTEMS.get(systems[0], systems[0]), "Share (%)")
    fig.update_yaxes(range=[0, 110])
    return fig


def stock_history_chart(history: pl.DataFrame, *, first_day: date | None = None) -> go.Figure:
    """Units on hand per day, one line per series (total, brand or warehouse).

    `first_day` is the day of the first snapshot this viewer may see (None: none yet),
    so an empty chart says why: no snapshot taken yet, or a period before the first.
    """
    title = "Stock on hand over time"
    if history.is_empty():
        if first_day is None:
            return empty_figure(title, NO_SNAPSHOTS_YET, "Day (UTC)", "Units on hand",
                                hint=SNAPSHOTS_HINT)
        return empty_figure(
            title, NO_SNAPSHOTS, "Day (UTC)", "Units on hand",
            hint=f"Stock history starts on {first_day:%-d %b %Y}, the first nightly "
            "snapshot; pick a period that ends on or after it, or fewer filters.",
        )
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
    answers = _distinct([f"{label} ({signal})" for label, signal in
                         zip(rows["label"].to_list(), rows["signal"].to_list(), strict=True)],
                        [str(q) for q in rows["question"].to_list()])
    fig = go.Figure([
        _bars(answers, rows["votes"].to_list(), name="Votes", yaxis="y", offsetgroup=0),
        _bars(answers, rows["available"].to_list(), name="Units available", yaxis="y2",
              offsetgroup=1),
    ])
    _every_tick(fig)
    fig.update_layout(
        barmode="group",
        yaxis2={"title": {"text": "Units available"}, "overlaying": "y", "side": "right"},
    )
    return _layout(fig, title, "", "Votes")


def count_accuracy_chart(table: pl.DataFrame, *, first_day: date | None = None) -> go.Figure:
    """Count accuracy (%) per week, one line per warehouse; the within-tolerance share
    and the lines counted on hover. `first_day` is the first submitted count these
    filters cover (None: none yet), so an empty chart says which it is."""
    title, x_title, y_title = "Count accuracy", "Week (Monday, UTC)", "Exact counts (%)"
    if table.is_empty():
        if first_day is None:
            return empty_figure(title, NO_COUNTS_YET, x_title, y_title,
                                hint="A sheet counts here once it is submitted.")
        return empty_figure(
            title, NO_COUNTS, x_title, y_title,
            hint=f"The first count these filters cover was on {first_day:%-d %b %Y}; count "
            "sheets are on /counts. Pick a longer period or fewer filters.",
        )
    fig = go.Figure()
    for (_code,), rows in table.sort("week").group_by(["warehouse"], maintain_order=True):
        extra = list(zip((rows["tolerance_accuracy"] * 100).to_list(), rows["exact"].to_list(),
                         rows["lines"].to_list(), strict=True))
        fig.add_trace(go.Scatter(
            x=rows["week"].to_list(), y=(rows["accuracy"] * 100).to_list(),
            name=names(rows.head(1))[0], mode="lines+markers", customdata=extra,
            hovertemplate="Week of %{x}: %{y:.0f}% exact (%{customdata[1]} of "
            "%{customdata[2]} lines), %{customdata[0]:.0f}% within tolerance<extra></extra>",
        ))
    _layout(fig, title, x_title, y_title)
    fig.update_xaxes(dtick=WEEK_MS, tick0=str(table["week"].min()))
    fig.update_layout(showlegend=True)  # name the warehouse even when it is the only one
    fig.update_yaxes(range=[0, 105], ticksuffix="%")
    return fig
