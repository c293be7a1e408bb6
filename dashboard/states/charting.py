"""Charts as the browser gets them: a plotly figure as JSON and one page of its table.

A polars DataFrame never goes into state (DESIGN.md): a chart's state is its figure
(plotly JSON, small: the builders draw at most a few hundred points) and one page of
its table, every cell already formatted (numbers with thousands separators, shares as
percentages), so the browser does no arithmetic. The table's full frame is computed
again when another page or the CSV is asked for; on in-memory frames that costs
milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Sequence
from datetime import date, datetime

import plotly.graph_objects as go
import polars as pl

from jobs.analytics.charts import is_empty

#: Rows of a chart's table sent to the browser at a time.
PAGE_ROWS = 10

#: Column → (header, kind). Kinds: text, int, num1, num2, pct, date, time, bool.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "day": ("Day", "date"),
    "period_start": ("Day", "date"),
    "series": ("Series", "text"),
    "sku": ("SKU", "text"),
    "brand": ("Brand", "text"),
    "brand_name": ("Brand name", "text"),
    "style_code": ("Style", "text"),
    "product": ("Product", "text"),
    "category": ("Category", "text"),
    "colour": ("Colour", "text"),
    "size": ("Size", "text"),
    "size_system": ("Size system", "text"),
    "warehouse": ("Warehouse", "text"),
    "warehouse_name": ("Warehouse name", "text"),
    "question": ("Poll", "text"),
    "label": ("Option", "text"),
    "signal": ("Signals", "text"),
    "age_bucket": ("Age", "text"),
    "units": ("Units", "int"),
    "previous_units": ("Period before", "int"),
    "change": ("Change", "int"),
    "moving_average": ("Moving avg (units/day)", "num1"),
    "last_year_units": ("Last year (units)", "int"),
    "last_year_moving_average": ("Last year moving avg", "num1"),
    "units_7d": ("Units 7 d", "int"),
    "per_day_7d": ("Units/day 7 d", "num2"),
    "units_28d": ("Units 28 d", "int"),
    "per_day_28d": ("Units/day 28 d", "num2"),
    "units_90d": ("Units 90 d", "int"),
    "per_day_90d": ("Units/day 90 d", "num2"),
    "units_sold": ("Units sold", "int"),
    "weekly_velocity": ("Units/week", "num1"),
    "weeks_of_cover": ("Weeks of cover", "num1"),
    "sell_through": ("Sell-through", "pct"),
    "on_hand": ("On hand", "int"),
    "reserved": ("Reserved", "int"),
    "available": ("Available", "int"),
    "incoming": ("Incoming", "int"),
    "balances": ("Balances", "int"),
    "last_sold_at": ("Last sale", "time"),
    "days_since_last_sale": ("Days since sale", "int"),
    "last_receipt_at": ("Last receipt", "time"),
    "age_days": ("Age (days)", "int"),
    "sales_share": ("Share of sales", "pct"),
    "stock_share": ("Share of stock", "pct"),
    "gap": ("Stock − sales share", "pct"),
    "votes": ("Votes", "int"),
    "share": ("Share of votes", "pct"),
    "variants": ("Variants matched", "int"),
    "per_day": ("Units/day", "num2"),
    "week": ("Week of", "date"),
    "lines": ("Lines counted", "int"),
    "exact": ("Exact", "int"),
    "within_tolerance": ("Within tolerance", "int"),
    "accuracy": ("Accuracy", "pct"),
    "tolerance_accuracy": ("Within tolerance (%)", "pct"),
}
RIGHT = {"int", "num1", "num2", "pct"}
DAY_MS = 86_400_000
NONE = "—"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', sans-serif"
#: Radix-like colours: indigo (the accent) first, then hues that stay apart in both modes.
COLORWAY = ["#3e63dd", "#f76b15", "#12a594", "#e93d82", "#8e4ec6", "#ffb224", "#46a758"]


def _template(text: str, muted: str, grid: str, zero: str) -> go.layout.Template:
    axis = {
        "gridcolor": grid,
        "linecolor": grid,
        "zerolinecolor": zero,
        "tickfont": {"color": muted},
        "title": {"font": {"color": muted, "size": 12}, "standoff": 10},
        "automargin": True,
        # Plotly's default for number and date axes measures every tick label to hide
        # one past the chart's edge (a tenth of its drawing time); the margins fit them.
        "ticklabeloverflow": "allow",
    }
    return go.layout.Template(
        layout={
            "font": {"family": FONT, "color": text, "size": 12},
            "colorway": COLORWAY,
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"font": {"color": text}},
            "hoverlabel": {"font": {"family": FONT}},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        }
    )


#: The chart templates for the light and dark colour modes (the page picks one).
LIGHT_TEMPLATE = _template("#1c2024", "#60646c", "#e8e8ec", "#cdced6")
DARK_TEMPLATE = _template("#edeef0", "#b0b4ba", "#2e3135", "#4b5057")


@dataclasses.dataclass
class ChartView:
    """One chart card's content: figure, empty message, and one page of its table."""

    key: str = ""
    title: str = ""
    empty: bool = True
    message: str = ""
    #: What to do about an empty chart (a generic hint when blank).
    hint: str = ""
    #: The figure's height (CSS): taller than the default for many named bars.
    height: str = "320px"
    figure: dict = dataclasses.field(default_factory=dict)
    columns: list[str] = dataclasses.field(default_factory=list)
    align: list[str] = dataclasses.field(default_factory=list)
    rows: list[list[str]] = dataclasses.field(default_factory=list)
    page: int = 1
    pages: int = 1
    total_rows: int = 0
    range_label: str = ""
    #: The filters (their URL query, "" for none) the figures are for: the card's
    #: `data-filter-key`, so a test or benchmark can tell an answer for the current
    #: filters from the one it replaces.
    filter_key: str = ""


def figure_title(fig: go.Figure) -> str:
    title = fig.layout.title
    return (title.text or "") if title is not None else ""


def figure_json(fig: go.Figure, *, height: int = 320) -> dict:
    """The figure as the browser's plotly gets it: no template (the page supplies the
    light or dark one), no title (the card's heading is the title), a legend on top."""
    data = json.loads(fig.to_json())
    layout = data.setdefault("layout", {})
    for key in ("template", "title", "meta"):
        layout.pop(key, None)
    traces = data.get("data", [])
    for name, settings in _axis_types(traces).items():
        own = layout.get(name, {})
        layout[name] = {**own, **settings}
        if settings["type"] == "date":
            days = {str(v)[:10] for t in traces for v in (t.get(name[0]) or [])}
            # Else plotly ticks every 12 hours, naming days twice (a weekly chart sets its own).
            if len(days) <= 14 and "dtick" not in own:
                layout[name]["dtick"] = DAY_MS
        elif all(t.get("type") == "bar" for t in traces):
            categories = {v for t in traces for v in (t.get(name[0]) or [])}
            if len(categories) <= 3:  # a bar or two should not fill the whole chart
                layout["bargap"] = 0.75 if len(categories) == 1 else 0.55
    for name in ("xaxis", "yaxis"):
        if layout.get(name, {}).get("type") not in ("category", "date"):
            layout[name] = {"rangemode": "tozero", **layout.get(name, {})}
    layout.update(
        height=layout.get("height") or height,
        autosize=True,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        # Room on the right for the values written past the longest horizontal bar.
        margin={"l": 8, "r": 56 if _values_past_bars(traces) else 8, "t": 36, "b": 8},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "xanchor": "left"},
    )
    return data


def _values_past_bars(traces: list[dict]) -> bool:
    return any(t.get("type") == "bar" and t.get("orientation") == "h" and t.get("text")
               and t.get("textposition") == "outside" for t in traces)


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _axis_types(data: list[dict]) -> dict[str, dict]:
    """Axis settings plotly cannot guess: sizes such as "30" and "S" on one axis are
    categories (not numbers, which would drop "S"), days are dates shown as days."""
    axes: dict[str, dict] = {}
    for axis in ("x", "y"):
        values = [v for trace in data for v in (trace.get(axis) or [])]
        if not values or not all(isinstance(v, str) for v in values):
            continue
        if all(_ISO_DAY.match(v) for v in values):
            axes[f"{axis}axis"] = {
                "type": "date", "tickformat": "%-d %b", "hoverformat": "%a %-d %b %Y"
            }
        else:
            axes[f"{axis}axis"] = {"type": "category"}
    return axes


def format_cell(value: object, kind: str) -> str:
    """A table cell as text: thousands separators, fixed decimals, percentages."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    if kind == "bool" or isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == "int" and isinstance(value, int | float):
        return f"{round(value):,}"
    if kind == "num1" and isinstance(value, int | float):
        return f"{value:,.1f}"
    if kind == "num2" and isinstance(value, int | float):
        return f"{value:,.2f}"
    if kind == "pct" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def table_columns(frame: pl.DataFrame, wanted: Sequence[str] | None = None) -> list[str]:
    """The columns a table shows: `wanted` (or every labelled column) the frame has."""
    names = wanted if wanted is not None else list(frame.columns)
    return [name for name in names if name in frame.columns and name in COLUMN_LABELS]


def clamp_page(page: int, total_rows: int) -> int:
    pages = max(1, math.ceil(total_rows / PAGE_ROWS))
    return min(max(1, page), pages)


def chart_view(
    key: str,
    fig: go.Figure | None,
    frame: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    page: int = 1,
    title: str = "",
    empty_message: str = "Nothing to show for these filters",
) -> ChartView:
    """A chart card's state: `fig` (None for a table-only card) and page `page` of
    `frame`'s `columns`."""
    shown = table_columns(frame, columns)
    total = frame.height
    page = clamp_page(page, total)
    first = (page - 1) * PAGE_ROWS
    rows = frame.slice(first, PAGE_ROWS).select(shown).rows() if shown else []
    kinds = [COLUMN_LABELS[name][1] for name in shown]
    if fig is not None:
        empty = is_empty(fig)
        meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
        message = str(meta.get("message", "")) if empty else ""
        hint = str(meta.get("hint", "") or "") if empty else ""
        title = title or figure_title(fig)
        height = f"{int(fig.layout.height or 320)}px"
    else:
        empty = total == 0
        message = empty_message if empty else ""
        hint, height = "", "320px"
    return ChartView(
        key=key,
        title=title,
        empty=empty,
        message=message,
        hint=hint,
        height=height,
        figure={} if fig is None or empty else figure_json(fig),
        columns=[COLUMN_LABELS[name][0] for name in shown],
        align=["end" if kind in RIGHT else "start" for kind in kinds],
        rows=[[format_cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in rows],
        page=page,
        pages=max(1, math.ceil(total / PAGE_ROWS)),
        total_rows=total,
        range_label=(
            f"{first + 1:,}–{first + len(rows):,} of {total:,}" if total else "No rows"
        ),
    )
