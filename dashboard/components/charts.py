"""Chart cards: a titled plotly figure with a table view, paging and CSV export.

A card shows a `ChartView` (dashboard/states/charting.py). Chart and table are tabs
switched in the browser (no round trip); the table holds one page of rows, already
formatted. When a period has nothing to draw the card says so in words, in place of
an empty grid.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import plotly.graph_objects as go
import reflex as rx
from reflex.vars import VarData

from dashboard.components.blocks import button, column, inline
from dashboard.components.figures import HEADER, NUMERIC
from dashboard.components.filters import choice_items, clear_filters, filter_select
from dashboard.states.analytics_filters import PERIOD_CHOICES
from dashboard.states.auth import AuthState
from dashboard.states.charting import DARK_TEMPLATE, FONT, LIGHT_TEMPLATE

CHART_HEIGHT = "320px"
#: The plotly toolbar, trimmed to what a manager uses.
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toImage"],
}


#: Plotly's `automargin` grows a margin to fit the tick labels and axis title, then draws
#: the figure again: two draws for every figure whose labels changed (the names beside a
#: bar chart's bars). This sets the left and bottom margins the labels need, measured
#: in the chart's font (a canvas: no layout), so the first draw fits and automargin,
#: still on, only corrects a miss. The pads are plotly's (tick label gap, title and its
#: standoff), as measured on its output.
MARGINS_JS = """const rackroomMargins = (figure) => {
  const layout = figure?.layout;
  if (!layout?.margin || !Array.isArray(figure.data) || figure.data.length === 0) {
    return figure;
  }
  // The function is declared in the component's body (a hook): keep one context.
  globalThis.rackroomChartText ??= document.createElement("canvas").getContext("2d");
  const context = globalThis.rackroomChartText;
  context.font = "12px " + __FONT__;
  const width = (text) => context.measureText(String(text)).width;
  const titled = (axis) => (axis?.title?.text ? 28 : 0);
  const values = (key) => figure.data.flatMap((trace) => trace[key] ?? []);
  const number = (found) => {
    const numbers = found.filter((v) => typeof v === "number" && Number.isFinite(v));
    const top = Math.max(0, ...numbers.map(Math.abs));
    const text = top >= 1e4 ? `${Math.round(top / 1e3)}k`
      : top >= 10 ? `${Math.round(top)}` : top.toFixed(1);
    return width((Math.min(0, ...numbers) < 0 ? "\u2212" : "") + text);
  };
  const y = layout.yaxis ?? {};
  const left = y.type === "category"
    ? Math.max(0, ...values("y").map(width)) + 33 + titled(y)
    : number([...values("y"), ...(y.range ?? [])]) + 27;
  const bottom = 18 + titled(layout.xaxis);
  const margin = layout.margin;
  return {...figure, layout: {...layout, margin: {...margin,
    l: Math.max(margin.l ?? 0, Math.ceil(left)),
    b: Math.max(margin.b ?? 0, Math.ceil(bottom))}}};
};""".replace("__FONT__", json.dumps(FONT))


def _with_margins(figure: rx.Var) -> rx.Var:
    """`figure` with the margins its labels need (`MARGINS_JS`)."""
    return rx.Var(
        _js_expr=f"rackroomMargins({figure!s})",
        _var_type=go.Figure,
        _var_data=VarData.merge(figure._get_all_var_data(), VarData(hooks={MARGINS_JS: None})),
    )


@rx.memo
def chart_figure(figure: rx.Var[dict], height: rx.Var[str]) -> rx.Component:
    """The figure (plotly's basic bundle: bars and lines), themed for the colour mode.

    A memo (React.memo): it renders again only when its figure, height or the colour
    mode changes. Inline, every state change re-rendered the page's every plot, and the
    template merged into the figure is a new object each render, so plotly re-drew
    all of them (a third of a second a change on /analytics, for each of its updates).
    """
    return rx.plotly.basic(
        data=_with_margins(figure),
        template=rx.color_mode_cond(light=LIGHT_TEMPLATE, dark=DARK_TEMPLATE),
        config=PLOT_CONFIG, use_resize_handler=True, width="100%", height=height,
    )


def plot(view: rx.Var, *, test_id: str) -> rx.Component:
    """The chart's figure, drawn by `chart_figure`."""
    return rx.box(
        chart_figure(figure=view.figure, height=view.height),
        width="100%", min_height=CHART_HEIGHT, data_testid=f"{test_id}-figure",
    )


FILTER_HINT = "Try a longer period or fewer filters."


def chart_empty(
    message: rx.Var | str,
    *,
    height: str = CHART_HEIGHT,
    hint: rx.Var | str = FILTER_HINT,
) -> rx.Component:
    """What a chart shows when there is nothing to draw: the reason, in words, and
    what to do about it."""
    return rx.center(
        rx.vstack(
            rx.icon("chart-no-axes-column", size=22, color=rx.color("gray", 9)),
            rx.text(message, size="2", color_scheme="gray", weight="medium",
                    data_testid="chart-empty-message"),
            rx.text(hint, size="1", color_scheme="gray", text_align="center",
                    max_width="420px", data_testid="chart-empty-hint")
            if not isinstance(hint, str) or hint else rx.fragment(),
            align="center", spacing="2", padding_x="16px",
        ),
        height=height, width="100%", border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-3)", data_testid="chart-empty",
    )


def data_table(view: rx.Var, *, test_id: str) -> rx.Component:
    """One page of the chart's rows: numbers right-aligned with thousands separators."""
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.foreach(
                        view.columns,
                        lambda name, i: rx.table.column_header_cell(
                            name, style=HEADER, text_align=view.align[i],
                        ),
                    )
                )
            ),
            rx.table.body(
                rx.foreach(
                    view.rows,
                    lambda row: rx.table.row(
                        rx.foreach(
                            row,
                            lambda value, i: rx.table.cell(
                                value, text_align=view.align[i], white_space="nowrap",
                                style=NUMERIC,
                            ),
                        ),
                        data_testid=f"{test_id}-row",
                    ),
                )
            ),
            variant="surface", size="1", width="100%",
        ),
        overflow_x="auto", width="100%", data_testid=f"{test_id}-table",
    )


def table_pager(
    view: rx.Var, on_page: Callable[[rx.Var, rx.Var], rx.EventSpec] | None, *, test_id: str
) -> rx.Component:
    """ "1–10 of 28" and previous/next (a page is asked of the server)."""
    buttons = (
        rx.cond(
            view.pages > 1,
            rx.hstack(
                rx.icon_button(
                    rx.icon("chevron-left", size=14),
                    on_click=on_page(view.key, view.page - 1), disabled=view.page <= 1,
                    variant="soft", color_scheme="gray", size="1", aria_label="Previous rows",
                ),
                rx.icon_button(
                    rx.icon("chevron-right", size=14),
                    on_click=on_page(view.key, view.page + 1), disabled=view.page >= view.pages,
                    variant="soft", color_scheme="gray", size="1", aria_label="Next rows",
                ),
                spacing="2",
            ),
        )
        if on_page is not None
        else rx.fragment()
    )
    return inline(
        rx.cond(
            view.total_rows > 0,
            rx.text(
                view.range_label, size="1", color_scheme="gray", style=NUMERIC,
                data_testid=f"{test_id}-range",
            ),
        ),
        rx.spacer(),
        buttons, width="100%",
    )


def chart_card(
    view: rx.Var,
    *,
    test_id: str,
    description: str | rx.Var,
    loading: rx.Var,
    on_page: Callable[[rx.Var, rx.Var], rx.EventSpec] | None = None,
    on_export: Callable[[rx.Var], rx.EventSpec] | None = None,
    controls: rx.Component | None = None,
    table_only: bool = False,
    empty_message: str = "",
) -> rx.Component:
    """A chart with its title (an h2), what it shows and in which units, a Chart/Table
    switch, per-chart controls and a CSV export of the whole table."""
    export = (
        button(
            "CSV", "download", on_click=on_export(view.key), variant="soft", color_scheme="gray",
            size="1", title="Download the whole table as CSV",
            aria_label="Download " + view.title + " as CSV",
        )
        if on_export is not None
        else rx.fragment()
    )
    table_view = column(
        rx.cond(
            view.total_rows > 0,
            data_table(view, test_id=test_id),
            chart_empty(empty_message or view.message, height="120px",
                        hint="" if table_only else rx.cond(view.hint != "", view.hint,
                                                           FILTER_HINT)),
        ),
        table_pager(view, on_page, test_id=test_id),
        gap="2",
    )
    heading = rx.vstack(
        rx.heading(view.title, as_="h2", size="3", weight="bold"),
        rx.text(description, size="1", color_scheme="gray"),
        spacing="1", min_width="0", flex="1",
    )
    options = (
        rx.hstack(controls, spacing="2", wrap="wrap", width="100%")
        if controls is not None
        else rx.fragment()
    )
    if table_only:
        body = column(
            rx.hstack(heading, export, align="start", spacing="3", width="100%"),
            options, table_view,
        )
    else:
        body = rx.tabs.root(
            column(
                rx.hstack(
                    heading,
                    rx.tabs.list(
                        rx.tabs.trigger("Chart", value="chart"),
                        rx.tabs.trigger("Table", value="table"),
                        size="1",
                    ),
                    export, align="start", spacing="3", width="100%",
                ),
                options,
                rx.tabs.content(
                    rx.cond(
                        view.empty,
                        chart_empty(view.message,
                                    hint=rx.cond(view.hint != "", view.hint, FILTER_HINT)),
                        plot(view, test_id=test_id),
                    ),
                    value="chart", width="100%",
                ),
                rx.tabs.content(table_view, value="table", width="100%"),
            ),
            default_value="chart", width="100%",
        )
    return rx.card(
        rx.skeleton(body, loading=view.title == ""),
        width="100%", min_width="0", opacity=rx.cond(loading, "0.6", "1"),
        transition="opacity 120ms",
        # A card out of view is neither laid out nor painted (its last size is kept):
        # plotly measures every tick label with a forced layout, and on a page of eleven
        # charts laying out those out of view cost more than drawing the two in view.
        # Printed, every card is drawn.
        content_visibility="auto", contain_intrinsic_size="auto 480px",
        style={"@media print": {"content_visibility": "visible"}},
        data_testid=test_id,
        aria_busy=rx.cond(loading, "true", "false"), data_filter_key=view.filter_key,
    )


def segmented(
    value: rx.Var, options: list[tuple[str, str]], on_change: rx.EventHandler, label: str
) -> rx.Component:
    """A small segmented control for a chart's own choice (level, window, series)."""
    return rx.segmented_control.root(
        *[rx.segmented_control.item(text, value=key) for key, text in options],
        value=value, on_change=on_change, size="1", aria_label=label,
    )


# --- the filter bar of Analytics and Demand -------------------------------------------------


def _picker(
    value: rx.Var,
    choices: rx.Var,
    *,
    everything: str,
    on_change: rx.EventSpec | Callable,
    label: str,
    width: str = "190px",
) -> rx.Component:
    return filter_select(
        choice_items(choices), value=value, on_change=on_change, aria_label=label,
        all_label=everything, popper=True, width=width,
    )


def _navigates(state: type[rx.State], name: str) -> Callable[[rx.Var], rx.EventSpec]:
    """A picker's change: straight to the page's URL for the value (`filter_hrefs`)."""
    return lambda value: rx.redirect(state.filter_hrefs[name][value])


def filter_bar(
    state: type[rx.State],
    *,
    periods: list[tuple[str, str]],
    vendor_brand: rx.Var,
    with_category: bool = True,
    with_period: bool = True,
) -> rx.Component:
    """Brand, category, warehouse, period and end date: each applies at once (pickers)
    or on Enter / leaving the field (the date), and goes into the URL. Without
    `with_period`, only brand and category (a page of figures as of today)."""
    s = state
    brand = rx.cond(
        s.is_vendor,
        rx.badge(rx.icon("tag", size=12), vendor_brand, variant="soft", size="2",
                 color_scheme="gray", data_testid="vendor-brand"),
        _picker(s.brand, s.brand_choices, everything="All brands",
                on_change=_navigates(s, "brand"), label="Brand", width="180px"),
    )
    parts = [brand]
    if with_category:
        parts.append(
            _picker(s.category, s.category_choices, everything="All categories",
                    on_change=_navigates(s, "category"), label="Category",
                    width="150px")
        )
    parts += [clear_filters(s)] if not with_period else [
        _picker(s.warehouse, s.warehouse_choices, everything="All warehouses",
                on_change=_navigates(s, "warehouse"), label="Warehouse",
                width="170px"),
        filter_select(
            periods, value=s.period, on_change=_navigates(s, "period"),
            aria_label="Period", popper=True, width="130px",
        ),
        rx.form(
            inline(
                rx.el.label("ending", html_for="filter-end", style={
                    "font_size": "13px", "color": rx.color("gray", 11)}),
                rx.input(
                    id="filter-end", name="end", type="date", default_value=s.end, key=s.end,
                    on_change=s.set_end, size="2", width="140px",
                    title="The last day of the period (empty: today)",
                ),
            ),
            on_submit=s.apply_end, reset_on_submit=False, width="auto",
        ),
        clear_filters(s),
    ]
    return inline(
        *parts,
        wrap="wrap", width="100%", role="search", aria_label="Filters", gap="3",
    )


def filter_status(state: type[rx.State]) -> rx.Component:
    """The period the figures cover, and a spinner while they are being computed."""
    s = state
    return inline(
        rx.cond(
            s.loading,
            inline(
                rx.spinner(size="1"),
                rx.text("Updating…", size="1"),
                data_testid="analytics-loading", gap="1",
            ),
        ),
        rx.text(s.period_text, size="1", color_scheme="gray", data_testid="period-text"),
        color=rx.color("gray", 11), min_height="20px", gap="3",
    )


# --- a page of chart panels (Analytics, Demand) ---------------------------------------------


def chart_panel(state: type[rx.State], key: str, *, test_id: str, description: str,
                view: rx.Var | None = None, **props) -> rx.Component:
    """`chart_card` of chart `key` of a `ChartPanels` state, wired to its paging and CSV:
    `view` when the chart's view lives elsewhere (Analytics: a state per chart), else
    `charts[key]`."""
    return chart_card(
        view if view is not None else state.charts[key],
        test_id=test_id, description=description, loading=state.loading, on_page=state.table_page,
        on_export=state.export_csv,
        **props,
    )


def _problem(text: rx.Var, link: str, href: str, *, icon: str, color: str,
             test_id: str) -> rx.Component:
    return rx.callout(
        rx.vstack(
            rx.text(text, weight="medium"),
            rx.link(link, href=href, size="2", weight="medium"),
            spacing="1",
        ),
        icon=icon, color_scheme=color, role="alert", width="100%", data_testid=test_id,
    )


def panels_page(
    state: type[rx.State],
    body: rx.Component,
    *,
    route: str,
    test_prefix: str,
    with_category: bool = True,
    with_period: bool = True,
) -> rx.Component:
    """A page of chart panels: the filter bar and the period, then `body`, or why not:
    a refusal (nothing read; a link to what the viewer may see), a bad filter (a link
    clearing them), or a computation that failed."""
    s = state
    return column(
        filter_bar(s, periods=PERIOD_CHOICES, vendor_brand=AuthState.brand_name,
                   with_category=with_category, with_period=with_period),
        filter_status(s),
        rx.cond(
            s.load_error != "",
            rx.callout(s.load_error, icon="triangle-alert", color_scheme="red", role="alert",
                       width="100%"),
        ),
        rx.cond(
            s.refusal != "",
            _problem(s.refusal, "Show my brand's figures", route, icon="shield-alert",
                     color="red", test_id=f"{test_prefix}-refused"),
            rx.cond(
                s.filter_error != "",
                _problem(s.filter_error, "Clear the filters", route, icon="circle-alert",
                         color="amber", test_id=f"{test_prefix}-filter-error"),
                body,
            ),
        ),
    )
