"""Stock (`/stock`): the merchandiser's grid — balances or size runs of one filter,
corrections with a reason, a variant's drawer, live refresh and CSV export."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import MONO, field, form_dialog, muted, select, text_input
from dashboard.components.figures import HEADER, NUMERIC, empty_state
from dashboard.components.layout import app_shell
from dashboard.states.auth import AuthState
from dashboard.states.stock import (
    LOW_STOCK_THRESHOLD,
    PAGE_SIZES,
    REASON_CHOICES,
    ROUTE,
    STOCK_CHOICES,
    BalanceItem,
    Column,
    DrawerBalance,
    Fact,
    LedgerItem,
    ReservationItem,
    RunItem,
    SizeCell,
    StockCell,
    StockState,
)

TITLE = "Stock"
S = StockState

# --- colours: one meaning everywhere (grid text, heat cells, legend) --------------------------

_TEXT = {"out": rx.color("red", 11), "low": rx.color("amber", 11)}
_HEAT = {
    "none": "transparent",
    "out": rx.color("red", 4),
    "low": rx.color("amber", 4),
    "ok1": rx.color("grass", 3),
    "ok2": rx.color("grass", 5),
    "ok3": rx.color("grass", 7),
}
_HEAT_TEXT = {
    "none": rx.color("gray", 8),
    "out": rx.color("red", 11),
    "low": rx.color("amber", 11),
    "ok1": rx.color("grass", 11),
    "ok2": rx.color("grass", 12),
    "ok3": rx.color("grass", 12),
}


def _state_color(state: rx.Var) -> rx.Var:
    return rx.match(state, ("out", _TEXT["out"]), ("low", _TEXT["low"]), rx.color("gray", 12))


def _heat(level: rx.Var, palette: dict[str, str]) -> rx.Var:
    return rx.match(level, *[(k, v) for k, v in palette.items() if k != "none"], palette["none"])


# --- the filter bar -------------------------------------------------------------------------


def _picker(
    label: str, all_label: str, value: rx.Var, name: str, items: rx.Component, width: str
) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label=label, title=label, min_width=width, max_width="220px"),
        rx.select.content(
            rx.select.item(all_label, value="all"),
            rx.select.separator(),
            items,
            position="popper",
        ),
        value=value,
        on_change=lambda v: S.set_filter(name, v),
        size="2",
    )


def _text_items(values: rx.Var) -> rx.Component:
    return rx.foreach(values, lambda v: rx.select.item(v, value=v))


def _warehouse_picker() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("warehouse", size=14),
                S.warehouse_label,
                rx.icon("chevron-down", size=14),
                variant="surface",
                color_scheme="gray",
                size="2",
                aria_label="Warehouses",
                data_testid="warehouse-picker",
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Warehouses", size="2", weight="bold"),
                muted("Tick one or several; none ticked shows every active warehouse."),
                rx.foreach(
                    S.warehouse_choices,
                    lambda c: rx.el.label(
                        rx.checkbox(
                            checked=S.warehouses.contains(c.value),
                            on_change=lambda _checked: S.toggle_warehouse(c.value),
                        ),
                        c.label,
                        display="flex",
                        gap="8px",
                        align_items="center",
                        font_size="14px",
                        cursor="pointer",
                    ),
                ),
                rx.cond(
                    S.warehouses.length() > 0,
                    rx.button(
                        "All warehouses",
                        on_click=S.toggle_warehouse("all"),
                        variant="ghost",
                        size="1",
                    ),
                ),
                spacing="2",
                min_width="240px",
            ),
            align="start",
        ),
    )


def _filters() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.form(
                rx.input(
                    rx.input.slot(rx.icon("search", size=14)),
                    name="q",
                    type="search",
                    default_value=S.search,
                    key=S.view_key,
                    placeholder="SKU, alias, barcode or product — Enter",
                    aria_label="Search stock",
                    size="2",
                    width="300px",
                ),
                on_submit=S.apply_search,
                reset_on_submit=False,
                width="auto",
            ),
            rx.cond(
                ~S.is_vendor,
                _picker(
                    "Brand",
                    "All brands",
                    S.brand,
                    "brand",
                    rx.foreach(S.brand_choices, lambda c: rx.select.item(c.label, value=c.value)),
                    "140px",
                ),
            ),
            _warehouse_picker(),
            _picker(
                "Category",
                "All categories",
                S.category,
                "category",
                _text_items(S.category_choices),
                "130px",
            ),
            _picker(
                "Colour", "All colours", S.colour, "colour", _text_items(S.colour_choices), "120px"
            ),
            _picker("Size", "All sizes", S.size, "size", _text_items(S.size_choices), "100px"),
            spacing="2",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.hstack(
            rx.segmented_control.root(
                *[rx.segmented_control.item(label, value=value) for value, label in STOCK_CHOICES],
                value=S.stock,
                on_change=lambda v: S.set_filter("stock", v),
                size="1",
                aria_label="Stock state",
            ),
            rx.cond(
                S.filtered,
                rx.button(
                    rx.icon("x", size=14),
                    "Clear filters",
                    on_click=S.clear_filters,
                    variant="ghost",
                    color_scheme="gray",
                    size="1",
                ),
            ),
            rx.spacer(),
            rx.segmented_control.root(
                rx.segmented_control.item("Balances", value="balances"),
                rx.segmented_control.item("Size run", value="sizes"),
                value=S.view,
                on_change=lambda v: S.set_filter("view", v),
                size="1",
                aria_label="View",
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


# --- legend and summary ---------------------------------------------------------------------


def _dot(color: str) -> rx.Component:
    return rx.box(width="8px", height="8px", border_radius="50%", background=color)


def _swatch(level: str, label: str) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="14px",
            height="14px",
            border_radius="3px",
            background=_HEAT[level],
            border=f"1px solid {rx.color('gray', 6)}",
        ),
        muted(label),
        spacing="1",
        align="center",
    )


def _legend() -> rx.Component:
    low = f"1–{LOW_STOCK_THRESHOLD}"
    balances = rx.hstack(
        *[
            rx.hstack(_dot(color), muted(label), spacing="1", align="center")
            for color, label in (
                (rx.color("red", 9), "Out (0)"),
                (rx.color("amber", 9), f"Low ({low})"),
                (rx.color("gray", 12), f"Healthy ({LOW_STOCK_THRESHOLD + 1}+)"),
            )
        ],
        muted("· hover a number for on hand and reserved", display=["none", "none", "block"]),
        spacing="3",
        align="center",
    )
    sizes = rx.hstack(
        _swatch("out", "Out"),
        _swatch("low", low),
        _swatch("ok1", f"{LOW_STOCK_THRESHOLD + 1}–9"),
        _swatch("ok2", "10–49"),
        _swatch("ok3", "50+"),
        rx.hstack(muted("·", weight="bold"), muted("not made"), spacing="1", align="center"),
        rx.badge("Broken run", color_scheme="orange", variant="soft", size="1"),
        muted("= a core size is out while others remain"),
        spacing="3",
        align="center",
        wrap="wrap",
    )
    return rx.box(
        rx.cond(S.view == "sizes", sizes, balances),
        aria_label="Legend",
        data_testid="legend",
    )


def _summary_bar() -> rx.Component:
    return rx.hstack(
        rx.text(S.summary, size="2", weight="medium", data_testid="grid-summary", style=NUMERIC),
        rx.cond(S.loading, rx.spinner(size="1")),
        rx.badge(
            rx.box(width="6px", height="6px", border_radius="50%", background=rx.color("grass", 9)),
            "Live",
            color_scheme="grass",
            variant="soft",
            size="1",
            title=S.live_label + " — rows update by themselves when stock changes elsewhere.",
        ),
        rx.spacer(),
        _legend(),
        align="center",
        spacing="3",
        width="100%",
        wrap="wrap",
    )


# --- the balances view ----------------------------------------------------------------------

_STICKY = {
    "position": "sticky",
    "left": "0",
    "z_index": "1",
    "background": "var(--color-panel-solid)",
}
#: Header cells of the sticky column keep the header's tint over an opaque panel.
_STICKY_HEAD = {
    **_STICKY,
    "z_index": "2",
    "background": "linear-gradient(var(--gray-a2), var(--gray-a2)), var(--color-panel-solid)",
}
_LINK_BUTTON = {
    "all": "unset",
    "cursor": "pointer",
    "color": rx.color("accent", 11),
    "font_weight": "500",
    "_hover": {"text_decoration": "underline"},
    "_focus_visible": {"outline": f"2px solid {rx.color('accent', 8)}", "border_radius": "2px"},
}
_EDIT_BUTTON = {
    "all": "unset",
    "box_sizing": "border-box",
    "cursor": "pointer",
    "display": "inline-block",
    "min_width": "44px",
    "text_align": "right",
    "padding": "1px 6px",
    "margin_right": "-7px",
    "border_radius": "var(--radius-2)",
    "border": "1px dashed transparent",
    "_hover": {"border_color": rx.color("gray", 8), "background": rx.color("gray", 3)},
    "_focus_visible": {"outline": f"2px solid {rx.color('accent', 8)}"},
}


def _sort_header(label: str, key: str, *, numeric: bool = False, **props) -> rx.Component:
    active = S.sort == key
    return rx.table.column_header_cell(
        rx.link(
            label,
            rx.text(S.sort_marks[key], as_="span", color=rx.color("accent", 11)),
            href=S.sort_links[key],
            underline="none",
            color="inherit",
            title=f"Sort by {label.lower()}",
            display="inline-flex",
            gap="4px",
        ),
        justify="end" if numeric else "start",
        aria_sort=rx.cond(active, rx.cond(S.direction == "asc", "ascending", "descending"), "none"),
        style={**HEADER, **props.pop("style", {})},
        **props,
    )


def _stock_number(cell: StockCell) -> rx.Component:
    color = _state_color(cell.state)
    return rx.cond(
        S.can_edit,
        rx.el.button(
            cell.available,
            type="button",
            on_click=S.open_correction(cell.variant_id, cell.warehouse_id, cell.on_hand),
            aria_label=cell.edit_label,
            title=cell.hint + " — click to correct the count",
            style={**_EDIT_BUTTON, "color": color},
        ),
        rx.text(cell.available, title=cell.hint, color=color, as_="span"),
    )


def _balance_row(row: BalanceItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.el.button(
                row.sku,
                type="button",
                on_click=S.open_variant(row.variant_id),
                aria_label=row.open_label,
                title="Open the variant: facts, balances, reservations and history",
                style={**_LINK_BUTTON, **MONO},
            ),
            style=_STICKY,
            white_space="nowrap",
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(row.product, size="2", weight="medium", white_space="nowrap"),
                muted(row.style_code + " · " + row.brand, white_space="nowrap"),
                spacing="0",
            ),
        ),
        rx.table.cell(row.colour, white_space="nowrap"),
        rx.table.cell(row.size, white_space="nowrap"),
        rx.foreach(
            row.cells,
            lambda cell: rx.table.cell(
                _stock_number(cell),
                justify="end",
                style=NUMERIC,
                white_space="nowrap",
                font_weight=rx.cond(cell.state == "ok", "400", "500"),
            ),
        ),
        rx.table.cell(
            row.available,
            justify="end",
            style=NUMERIC,
            color=_state_color(row.state),
            font_weight="600",
            border_left=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.table.cell(row.on_hand, justify="end", style=NUMERIC),
        rx.table.cell(row.reserved, justify="end", style=NUMERIC),
        rx.table.cell(row.incoming, justify="end", style=NUMERIC),
        align="center",
        data_testid="balance-row",
        data_sku=row.sku,
    )


def _group_header(label: str, **props) -> rx.Component:
    return rx.table.column_header_cell(
        label,
        style={**HEADER, "font_size": "12px", "text_transform": "uppercase"},
        **props,
    )


def _warehouse_header(column: Column) -> rx.Component:
    return rx.table.column_header_cell(
        rx.text(column.code, title=column.name + " — available units"),
        justify="end",
        style=HEADER,
    )


def _balances_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(" ", col_span=4, style=_STICKY_HEAD),
                _group_header(
                    "Available by warehouse",
                    col_span=S.columns.length(),
                    justify="end",
                ),
                _group_header(
                    "Total",
                    col_span=4,
                    justify="end",
                    border_left=f"1px solid {rx.color('gray', 5)}",
                ),
            ),
            rx.table.row(
                _sort_header("SKU", "sku", style=_STICKY_HEAD),
                _sort_header("Product", "product"),
                _sort_header("Colour", "colour"),
                _sort_header("Size", "size"),
                rx.foreach(S.columns, _warehouse_header),
                _sort_header(
                    "Available",
                    "available",
                    numeric=True,
                    border_left=f"1px solid {rx.color('gray', 5)}",
                ),
                _sort_header("On hand", "on_hand", numeric=True),
                _sort_header("Reserved", "reserved", numeric=True),
                _sort_header("Incoming", "incoming", numeric=True),
            ),
        ),
        rx.table.body(rx.foreach(S.rows, _balance_row)),
        variant="surface",
        size="1",
        width="100%",
        data_testid="balances-table",
    )


# --- the size-run view ----------------------------------------------------------------------


def _size_cell(cell: SizeCell) -> rx.Component:
    content = rx.cond(
        cell.variant_id > 0,
        rx.el.button(
            cell.label,
            type="button",
            on_click=S.open_variant(cell.variant_id),
            title=cell.hint + " — click to open",
            aria_label=cell.hint,
            style={**_EDIT_BUTTON, "min_width": "36px", "margin_right": "0", "color": "inherit"},
        ),
        rx.text(cell.label, title=cell.hint, as_="span"),
    )
    return rx.table.cell(
        content,
        justify="end",
        style={
            **NUMERIC,
            "background": _heat(cell.level, _HEAT),
            "color": _heat(cell.level, _HEAT_TEXT),
            "border_left": f"1px solid {rx.color('gray', 3)}",
            "font_weight": rx.cond(cell.level == "out", "600", "500"),
        },
        data_level=cell.level,
    )


def _run_row(row: RunItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.product, size="2", weight="medium", white_space="nowrap"),
                muted(row.style_code + " · " + row.colour, white_space="nowrap"),
                spacing="0",
            ),
            style={
                **_STICKY,
                "box_shadow": rx.cond(row.broken, f"inset 3px 0 0 {rx.color('orange', 9)}", "none"),
            },
        ),
        rx.table.cell(row.brand, white_space="nowrap"),
        rx.foreach(row.cells, _size_cell),
        rx.table.cell(
            row.total,
            justify="end",
            style=NUMERIC,
            font_weight="600",
            color=_state_color(row.state),
            border_left=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.table.cell(
            rx.cond(
                row.broken,
                rx.badge(
                    rx.icon("triangle-alert", size=12),
                    "Broken run",
                    color_scheme="orange",
                    variant="soft",
                    size="1",
                    title="A core size is out while other sizes still have stock",
                    data_testid="broken-run",
                ),
                muted("Complete"),
            ),
            white_space="nowrap",
        ),
        align="center",
        data_testid="run-row",
        data_broken=rx.cond(row.broken, "true", "false"),
    )


def _sizes_table() -> rx.Component:
    return rx.vstack(
        muted(
            "Available units per size, summed over "
            + rx.cond(S.warehouses.length() > 0, "the chosen warehouses", "every active warehouse")
            + ". Pick one warehouse above to see its own run."
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    _sort_header("Style · colour", "product", style=_STICKY_HEAD),
                    _sort_header("Brand", "brand"),
                    rx.foreach(
                        S.sizes,
                        lambda size: rx.table.column_header_cell(size, justify="end", style=HEADER),
                    ),
                    _sort_header(
                        "Total",
                        "available",
                        numeric=True,
                        border_left=f"1px solid {rx.color('gray', 5)}",
                    ),
                    rx.table.column_header_cell("Run", style=HEADER),
                )
            ),
            rx.table.body(rx.foreach(S.runs, _run_row)),
            variant="surface",
            size="1",
            width="100%",
            data_testid="sizes-table",
        ),
        spacing="2",
        width="100%",
    )


# --- paging, empty states -------------------------------------------------------------------

_PAGER_STEP = {
    "display": "inline-flex",
    "align_items": "center",
    "gap": "4px",
    "height": "28px",
    "padding_x": "8px",
    "border_radius": "var(--radius-2)",
    "font_size": "13px",
    "font_weight": "500",
}


def _step(label: str, icon: str, href: rx.Var, *, icon_first: bool) -> rx.Component:
    parts = [rx.icon(icon, size=14), label] if icon_first else [label, rx.icon(icon, size=14)]
    return rx.cond(
        href != "",
        rx.link(
            *parts,
            href=href,
            underline="none",
            style={
                **_PAGER_STEP,
                "color": rx.color("gray", 12),
                "background": rx.color("gray", 3),
                "_hover": {"background": rx.color("gray", 4)},
            },
        ),
        rx.text(*parts, aria_disabled="true", style={**_PAGER_STEP, "color": rx.color("gray", 8)}),
    )


def _pager() -> rx.Component:
    return rx.hstack(
        muted(S.range_label, style=NUMERIC, size="2"),
        rx.select.root(
            rx.select.trigger(aria_label="Rows per page", variant="ghost"),
            rx.select.content(
                *[rx.select.item(f"{n} per page", value=n) for n in PAGE_SIZES],
                position="popper",
            ),
            value=S.per_page,
            on_change=lambda v: S.set_filter("per_page", v),
            size="1",
        ),
        rx.spacer(),
        _step("First", "chevrons-left", S.first_href, icon_first=True),
        _step("Previous", "chevron-left", S.previous_href, icon_first=True),
        rx.text(S.page_label, size="2", style=NUMERIC, padding_x="6px", data_testid="page-label"),
        _step("Next", "chevron-right", S.next_href, icon_first=False),
        _step("Last", "chevrons-right", S.last_href, icon_first=False),
        align="center",
        spacing="2",
        width="100%",
        as_="nav",
        aria_label="Pages",
    )


def _empty() -> rx.Component:
    return rx.cond(
        S.filtered,
        empty_state(
            "search-x",
            "No stock matches these filters",
            "Try a shorter search (part of a SKU, barcode or product name), another "
            "warehouse, or clear the filters.",
            rx.button("Clear filters", on_click=S.clear_filters, variant="soft", size="2"),
        ),
        empty_state(
            "package-open",
            "No variants to show yet",
            "Stock appears here once a brand's catalogue and counts arrive: upload a feed "
            "under Imports, or set up a brand sync.",
        ),
    )


def _grid() -> rx.Component:
    has_rows = rx.cond(S.view == "sizes", S.runs.length() > 0, S.rows.length() > 0)
    return rx.box(
        rx.cond(
            S.loaded,
            rx.cond(
                has_rows,
                rx.vstack(
                    rx.cond(S.view == "sizes", _sizes_table(), _balances_table()),
                    _pager(),
                    spacing="3",
                    width="100%",
                ),
                _empty(),
            ),
            rx.center(rx.spinner(size="3"), padding_y="64px", width="100%"),
        ),
        opacity=rx.cond(S.loading & S.loaded, "0.6", "1"),
        transition="opacity 120ms",
        width="100%",
        data_testid="stock-grid",
        data_view_key=S.view_key,
    )


def _notes() -> rx.Component:
    return rx.cond(
        S.notes.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("info", size=16)),
            rx.vstack(
                rx.foreach(S.notes, lambda note: rx.text(note, size="2")),
                spacing="1",
            ),
            color_scheme="amber",
            size="1",
            width="100%",
            data_testid="grid-notes",
        ),
    )


def _load_error() -> rx.Component:
    return rx.cond(
        S.load_error != "",
        rx.callout(
            S.load_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"
        ),
    )


# --- the correction dialog ------------------------------------------------------------------


def _correction_dialog() -> rx.Component:
    return form_dialog(
        field(
            "New on-hand count",
            rx.input(
                id="correction-count",
                name="count",
                type="number",
                step="1",
                input_mode="numeric",
                default_value=S.edit_count,
                key=S.edit_seen,
                auto_focus=True,
                size="2",
                width="100%",
                style=NUMERIC,
            ),
            for_id="correction-count",
            hint=muted(S.edit_seen, data_testid="correction-seen"),
        ),
        field(
            "Reason",
            select("correction-reason", REASON_CHOICES, name="reason", default_value="count"),
            for_id="correction-reason",
        ),
        field(
            "Note",
            text_input(
                "correction-note",
                name="note",
                placeholder="Optional: what you found, where",
                auto_complete="off",
            ),
            for_id="correction-note",
            hint="Saved in the ledger with your name and the time.",
        ),
        title=S.edit_title,
        description="Set on hand to the units you counted. If someone changes this count "
        "before you save, nothing is overwritten and you see the new figure.",
        open=S.edit_open,
        on_open_change=S.on_correction_change,
        on_submit=S.save_correction,
        submit_label="Save count",
        saving=S.saving,
        error=S.edit_error,
        test_id="correction-dialog",
    )


# --- the variant drawer ---------------------------------------------------------------------

_SHEET = {
    "position": "fixed",
    "top": "0",
    "right": "0",
    "height": "100vh",
    "max_height": "100vh",
    "width": "min(640px, 100vw)",
    "max_width": "none",
    "border_radius": "0",
    "margin": "0",
    "overflow_y": "auto",
    "padding": "24px",
}


def _section(title: str, *children: rx.Component, test_id: str = "") -> rx.Component:
    return rx.vstack(
        rx.heading(title, as_="h3", size="2", weight="bold"),
        *children,
        spacing="2",
        width="100%",
        data_testid=test_id or None,
    )


def _mini_table(
    *headers: tuple[str, bool],
    body: rx.Component,
    test_id: str,
    extra: rx.Component | None = None,
) -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(
                        label, justify="end" if numeric else "start", style=HEADER
                    )
                    for label, numeric in headers
                ],
                extra,
            )
        ),
        rx.table.body(body),
        variant="surface",
        size="1",
        width="100%",
        data_testid=test_id,
    )


def _drawer_balance(b: DrawerBalance) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(b.warehouse, weight="medium"),
        rx.table.cell(
            b.available,
            justify="end",
            style=NUMERIC,
            color=_state_color(b.state),
            font_weight="600",
        ),
        rx.table.cell(b.on_hand, justify="end", style=NUMERIC),
        rx.table.cell(b.reserved, justify="end", style=NUMERIC),
        rx.table.cell(b.incoming, justify="end", style=NUMERIC),
        rx.table.cell(rx.text(b.updated, title=b.updated_exact, size="1", white_space="nowrap")),
        rx.cond(
            S.can_edit,
            rx.table.cell(
                rx.button(
                    rx.icon("pencil", size=12),
                    "Correct",
                    on_click=S.open_correction(S.drawer_variant, b.warehouse_id, b.on_hand_count),
                    aria_label=b.edit_label,
                    variant="soft",
                    size="1",
                ),
                justify="end",
            ),
        ),
        data_testid="drawer-balance",
    )


def _reservation(r: ReservationItem) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(r.order_ref, style=MONO)),
        rx.table.cell(r.channel),
        rx.table.cell(r.warehouse),
        rx.table.cell(r.qty, justify="end", style=NUMERIC),
        rx.table.cell(rx.text(r.expires, title=r.expires_exact, white_space="nowrap")),
    )


def _ledger_row(item: LedgerItem) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.text(item.when, title=item.when_exact, white_space="nowrap", size="1"),
        ),
        rx.table.cell(item.warehouse),
        rx.table.cell(
            rx.text(
                item.change,
                color=rx.match(
                    item.tone,
                    ("green", rx.color("grass", 11)),
                    ("red", rx.color("red", 11)),
                    rx.color("gray", 11),
                ),
                style=NUMERIC,
                white_space="nowrap",
            ),
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(item.reason, size="1", weight="medium"),
                rx.cond(item.note != "", muted(item.note)),
                spacing="0",
            )
        ),
        rx.table.cell(rx.cond(item.reference != "", muted(item.reference), muted("—"))),
        rx.table.cell(muted(item.actor, word_break="break-all")),
        data_testid="ledger-row",
    )


def _fact(fact: Fact) -> rx.Component:
    return rx.fragment(
        muted(fact.label, size="2"),
        rx.text(fact.value, size="2"),
    )


def _drawer_body() -> rx.Component:
    return rx.vstack(
        _section(
            "Balances",
            _mini_table(
                ("Warehouse", False),
                ("Available", True),
                ("On hand", True),
                ("Reserved", True),
                ("Incoming", True),
                ("Updated", False),
                body=rx.foreach(S.drawer_balances, _drawer_balance),
                test_id="drawer-balances",
                extra=rx.cond(S.can_edit, rx.table.column_header_cell("", style=HEADER)),
            ),
        ),
        _section(
            "Open reservations",
            rx.cond(
                S.drawer_reservations.length() > 0,
                _mini_table(
                    ("Order", False),
                    ("Channel", False),
                    ("Warehouse", False),
                    ("Units", True),
                    ("Expires", False),
                    body=rx.foreach(S.drawer_reservations, _reservation),
                    test_id="drawer-reservations",
                ),
                muted("None: no checkout holds this variant right now.", size="2"),
            ),
        ),
        _section(
            "History",
            rx.cond(
                S.drawer_ledger.length() > 0,
                _mini_table(
                    ("When", False),
                    ("Where", False),
                    ("Change", False),
                    ("Reason", False),
                    ("Reference", False),
                    ("By", False),
                    body=rx.foreach(S.drawer_ledger, _ledger_row),
                    test_id="drawer-ledger",
                ),
                muted("No changes recorded yet.", size="2"),
            ),
            rx.hstack(
                muted(S.ledger_label),
                rx.spacer(),
                rx.button(
                    rx.icon("chevron-left", size=12),
                    "Newer",
                    on_click=S.ledger_newer,
                    disabled=~S.ledger_has_newer,
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                ),
                rx.button(
                    "Older",
                    rx.icon("chevron-right", size=12),
                    on_click=S.ledger_older,
                    disabled=~S.ledger_has_older,
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                ),
                align="center",
                spacing="2",
                width="100%",
            ),
            test_id="drawer-history",
        ),
        _section(
            "Details",
            rx.grid(
                rx.foreach(S.drawer_facts, _fact),
                columns="140px 1fr",
                gap_x="12px",
                gap_y="4px",
                width="100%",
            ),
        ),
        _section(
            "Aliases",
            rx.cond(
                S.drawer_aliases.length() > 0,
                rx.flex(
                    rx.foreach(
                        S.drawer_aliases,
                        lambda a: rx.badge(
                            a.label + ": " + a.value, variant="outline", color_scheme="gray"
                        ),
                    ),
                    wrap="wrap",
                    gap="6px",
                ),
                muted("No other codes name this variant.", size="2"),
            ),
        ),
        spacing="5",
        width="100%",
    )


def _drawer() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.hstack(
                rx.vstack(
                    rx.dialog.title(
                        S.drawer_sku,
                        size="5",
                        font_family="var(--code-font-family)",
                        margin="0",
                        data_testid="drawer-sku",
                    ),
                    rx.dialog.description(S.drawer_title, size="2", color_scheme="gray"),
                    spacing="1",
                ),
                rx.spacer(),
                # Transfers: start a draft holding this SKU (merchandisers and admins).
                rx.cond(
                    (AuthState.user_role == "merchandiser") | (AuthState.user_role == "admin"),
                    rx.link(
                        rx.button(
                            rx.icon("arrow-left-right", size=14),
                            "Add to transfer",
                            variant="soft",
                            size="2",
                        ),
                        href="/transfers?new=1&sku=" + S.drawer_sku,
                        data_testid="add-to-transfer",
                    ),
                ),
                rx.dialog.close(
                    rx.icon_button(
                        rx.icon("x", size=16),
                        variant="ghost",
                        color_scheme="gray",
                        aria_label="Close",
                    )
                ),
                align="start",
                width="100%",
                padding_bottom="16px",
            ),
            rx.cond(
                S.drawer_error != "",
                rx.callout(S.drawer_error, icon="triangle-alert", color_scheme="red"),
                rx.cond(
                    S.drawer_loading & (S.drawer_sku == ""),
                    rx.center(rx.spinner(size="3"), padding_y="48px"),
                    _drawer_body(),
                ),
            ),
            style=_SHEET,
            data_testid="variant-drawer",
        ),
        open=S.drawer_open,
        on_open_change=S.on_drawer_change,
    )


# --- the page -------------------------------------------------------------------------------


def _export_button() -> rx.Component:
    return rx.button(
        rx.icon("download", size=15),
        "Export CSV",
        on_click=S.export_csv,
        loading=S.exporting,
        size="2",
        title="The filtered view, every page, as a CSV file",
    )


def stock_page() -> rx.Component:
    return app_shell(
        rx.vstack(
            _load_error(),
            _notes(),
            _filters(),
            _summary_bar(),
            _grid(),
            _correction_dialog(),
            _drawer(),
            spacing="4",
            width="100%",
        ),
        title=TITLE,
        route=ROUTE,
        description=rx.text(S.scope_label, size="2", color_scheme="gray"),
        action=_export_button(),
    )


ON_LOAD = [AuthState.require_login, S.load]
