"""Imports: upload a vendor feed, check it (dry run), apply it, and the history of imports."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import (
    MONO,
    cell,
    field,
    form_error,
    header,
    load_error,
    muted,
    pager,
    table,
    when,
)
from dashboard.components.figures import (
    NUMERIC,
    empty_state,
    numeric_cell,
    numeric_header,
    stat_card,
)
from dashboard.components.layout import app_shell
from dashboard.states.auth import AuthState
from dashboard.states.import_files import LIMITS, size_label
from dashboard.states.imports import (
    NO_COLUMN,
    NO_WAREHOUSE,
    ROUTE,
    UPLOAD_ID,
    DiffItem,
    ErrorItem,
    HistoryItem,
    ImportsState,
    MapField,
)

TITLE = "Imports"
S = ImportsState

_SECTION = {"font_size": "15px", "font_weight": "600"}
_STEP = {
    "display": "inline-flex",
    "align_items": "center",
    "justify_content": "center",
    "width": "20px",
    "height": "20px",
    "border_radius": "999px",
    "font_size": "12px",
    "font_weight": "600",
    "background": rx.color("accent", 3),
    "color": rx.color("accent", 11),
    "flex_shrink": "0",
}
_ACCEPT = {
    "text/csv": [".csv"],
    "text/tab-separated-values": [".tsv"],
    "text/plain": [".txt"],
}


def _step_title(number: str, title: str) -> rx.Component:
    return rx.hstack(
        rx.box(number, style=_STEP),
        rx.heading(title, as_="h2", style=_SECTION),
        align="center",
        spacing="2",
    )


# --- 1. the file --------------------------------------------------------------------------


def _rejected_summary(rejected: rx.Var) -> rx.Var:
    """react-dropzone's rejections as {name, codes} (no File objects)."""
    return rx.Var(
        f"({rejected}).map((r) => ({{name: String(r.file?.name ?? ''), "
        "codes: (r.errors ?? []).map((e) => String(e.code))}))"
    ).to(list)


def _drop_zone() -> rx.Component:
    return rx.upload.root(
        rx.vstack(
            rx.center(
                rx.icon("file-up", size=20, color=rx.color("accent", 11)),
                width="40px",
                height="40px",
                border_radius="var(--radius-3)",
                background=rx.color("accent", 3),
            ),
            rx.text(
                rx.cond(
                    S.file_state == "ready",
                    "Drop another file here to replace it",
                    "Drop a CSV file here",
                ),
                size="2",
                weight="medium",
            ),
            rx.text(
                "or ",
                rx.el.span(
                    "choose one",
                    style={"color": rx.color("accent", 11), "text_decoration": "underline"},
                ),
                f" · Shopify product or inventory export, or any CSV with a mapping · "
                f"up to {size_label(LIMITS.max_bytes)}",
                size="1",
                color_scheme="gray",
            ),
            align="center",
            spacing="1",
            padding_y="22px",
            padding_x="16px",
            text_align="center",
        ),
        id=UPLOAD_ID,
        multiple=False,
        max_files=1,
        max_size=LIMITS.max_bytes,
        accept=_ACCEPT,
        disabled=S.busy != "",
        on_drop=S.receive_upload(
            rx.upload_files_chunk(upload_id=UPLOAD_ID, on_upload_progress=S.upload_progress)
        ),
        # Only names and reasons go to the server: a File in an event would be sent
        # whole over the websocket, the very thing the size limit is there to stop.
        on_drop_rejected=lambda rejected: S.drop_rejected(_rejected_summary(rejected)),
        aria_label="Upload a CSV file: drop it here, or press Enter to choose one",
        data_testid="drop-zone",
        width="100%",
        cursor="pointer",
        border=f"1.5px dashed {rx.color('gray', 7)}",
        border_radius="var(--radius-3)",
        background=rx.color("gray", 2),
        _hover={"border_color": rx.color("accent", 8), "background": rx.color("accent", 2)},
        _focus_visible={"outline": f"2px solid {rx.color('accent', 8)}", "outline_offset": "2px"},
        drag_active_style={
            "border_color": rx.color("accent", 9),
            "background": rx.color("accent", 3),
        },
    )


def _file_status() -> rx.Component:
    return rx.match(
        S.file_state,
        (
            "uploading",
            rx.vstack(
                rx.hstack(
                    rx.spinner(size="1"),
                    rx.text("Uploading the file…", size="2"),
                    rx.spacer(),
                    rx.text(S.upload_percent.to_string() + "%", size="2", style=NUMERIC),
                    width="100%",
                    align="center",
                ),
                rx.progress(value=S.upload_percent, max=100, size="1", width="100%"),
                spacing="2",
                width="100%",
                data_testid="upload-progress",
            ),
        ),
        (
            "ready",
            rx.hstack(
                rx.icon("file-check", size=18, color=rx.color("green", 10)),
                rx.vstack(
                    rx.text(S.file_name, size="2", weight="medium", data_testid="file-name"),
                    muted(S.file_summary),
                    rx.text(S.file_layout, size="1", data_testid="file-layout"),
                    spacing="0",
                    min_width="0",
                    flex="1",
                ),
                rx.icon_button(
                    rx.icon("x", size=14),
                    on_click=S.clear_file,
                    disabled=S.busy != "",
                    variant="ghost",
                    color_scheme="gray",
                    size="1",
                    aria_label="Remove this file",
                    title="Remove this file",
                ),
                align="start",
                spacing="3",
                width="100%",
                padding="10px 12px",
                border=f"1px solid {rx.color('gray', 5)}",
                border_radius="var(--radius-3)",
            ),
        ),
        (
            "refused",
            rx.callout(
                rx.text(
                    rx.cond(S.file_name != "", rx.text.strong(S.file_name, ": "), ""),
                    S.file_error,
                ),
                icon="file-x",
                color_scheme="red",
                role="alert",
                width="100%",
                data_testid="file-error",
            ),
        ),
        rx.fragment(),
    )


def _file_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            _step_title("1", "File"),
            _drop_zone(),
            _file_status(),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
    )


# --- 2. what it is ----------------------------------------------------------------------------


def _picker(id_: str, options: rx.Var, value: rx.Var, on_change, placeholder: str, **props):
    return rx.select.root(
        rx.select.trigger(id=id_, width="100%", placeholder=placeholder),
        rx.select.content(
            rx.foreach(options, lambda c: rx.select.item(c.label, value=c.value)),
            position="popper",
        ),
        value=value,
        on_change=on_change,
        size="2",
        **props,
    )


def _brand_field() -> rx.Component:
    return rx.cond(
        S.brand_locked,
        rx.vstack(
            rx.el.label(
                "Brand", html_for="import-brand", style={"font_size": "13px", "font_weight": "500"}
            ),
            rx.hstack(
                rx.icon("lock", size=13, color=rx.color("gray", 10)),
                rx.text(S.brand_name, size="2", weight="medium"),
                id="import-brand",
                align="center",
                spacing="2",
                height="32px",
                padding_x="10px",
                width="100%",
                border_radius="var(--radius-2)",
                background=rx.color("gray", 3),
                data_testid="brand-fixed",
            ),
            muted("Your account imports for your own brand only."),
            spacing="1",
            width="100%",
        ),
        field(
            "Brand",
            _picker("import-brand", S.brands, S.brand_code, S.choose_brand, "Choose the brand"),
            for_id="import-brand",
            hint="Whose catalogue and stock this file updates.",
        ),
    )


def _format_field() -> rx.Component:
    return field(
        "Kind of file",
        rx.vstack(
            _picker(
                "import-format",
                S.format_choices,
                S.format_value,
                S.choose_format,
                "Choose a format or mapping",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("columns-3", size=14),
                    "New mapping…",
                    on_click=S.open_mapping_editor(False),
                    disabled=S.file_state != "ready",
                    variant="ghost",
                    size="1",
                ),
                rx.cond(
                    S.mapping_selected,
                    rx.button(
                        rx.icon("pencil", size=13),
                        "Edit mapping…",
                        on_click=S.open_mapping_editor(True),
                        variant="ghost",
                        size="1",
                    ),
                ),
                spacing="4",
                padding_top="4px",
                padding_left="6px",
            ),
            spacing="1",
            width="100%",
        ),
        for_id="import-format",
        hint="Any other CSV is read through a mapping saved for the brand.",
    )


def _warehouse_field() -> rx.Component:
    default_items = rx.foreach(S.warehouses, lambda c: rx.select.item(c.label, value=c.value))
    return rx.cond(
        S.needs_warehouse,
        field(
            "Warehouse",
            _picker(
                "import-warehouse",
                S.warehouses,
                S.warehouse_code,
                S.choose_warehouse,
                "Where are these quantities?",
            ),
            for_id="import-warehouse",
            hint="A Shopify product export has no locations: its quantities go here.",
        ),
        rx.cond(
            S.shows_warehouse,
            field(
                "Default warehouse (optional)",
                rx.select.root(
                    rx.select.trigger(id="import-warehouse", width="100%", placeholder="None"),
                    rx.select.content(
                        rx.select.item("None: every row names its location", value=NO_WAREHOUSE),
                        rx.select.separator(),
                        default_items,
                        position="popper",
                    ),
                    value=rx.cond(S.warehouse_code != "", S.warehouse_code, NO_WAREHOUSE),
                    on_change=S.choose_warehouse,
                    size="2",
                ),
                for_id="import-warehouse",
                hint="Rows without a location go here.",
            ),
        ),
    )


def _progress(kind: str) -> rx.Component:
    """The bar of the dry run or the apply, beside the button that started it."""
    return rx.cond(
        S.busy == kind,
        rx.vstack(
            rx.hstack(
                rx.spinner(size="1"),
                rx.text(S.progress_label, size="2"),
                rx.spacer(),
                rx.text(S.progress.to_string() + "%", size="2", style=NUMERIC),
                width="100%",
                align="center",
            ),
            rx.progress(value=S.progress, max=100, size="1", width="100%"),
            spacing="2",
            width="100%",
            role="status",
            data_testid="work-progress",
        ),
    )


def _choices_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            _step_title("2", "What it is"),
            _brand_field(),
            _format_field(),
            _warehouse_field(),
            rx.hstack(
                rx.button(
                    rx.icon("list-checks", size=15),
                    "Run dry run",
                    on_click=S.run_dry_run,
                    disabled=~S.ready_to_check,
                    loading=S.busy == "dry_run",
                    size="2",
                ),
                muted(S.check_hint, size="1"),
                align="center",
                spacing="3",
                padding_top="4px",
                width="100%",
            ),
            _progress("dry_run"),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
    )


# --- 3. the result -------------------------------------------------------------------------


def _result_callout() -> rx.Component:
    scheme = rx.match(
        S.result_kind,
        ("applied", "green"),
        ("already_applied", "blue"),
        ("refused", "red"),
        ("failed", "red"),
        rx.cond(S.counts.has_errors, "amber", "gray"),
    )
    icon = rx.match(
        S.result_kind,
        ("applied", rx.icon("circle-check", size=16)),
        ("already_applied", rx.icon("info", size=16)),
        ("refused", rx.icon("circle-x", size=16)),
        ("failed", rx.icon("circle-x", size=16)),
        rx.icon("list-checks", size=16),
    )
    return rx.callout.root(
        rx.callout.icon(icon),
        rx.callout.text(
            rx.text.strong(S.result_title),
            rx.cond(S.result_message != "", rx.el.br()),
            S.result_message,
        ),
        color_scheme=scheme,
        role=rx.cond((S.result_kind == "refused") | (S.result_kind == "failed"), "alert", "status"),
        width="100%",
        data_testid="result-message",
    )


def _counts() -> rx.Component:
    c = S.counts
    return rx.grid(
        stat_card("New products", c.new_products, "Styles the file adds", test_id="count-products"),
        stat_card("New variants", c.new_variants, "Colour × size", test_id="count-variants"),
        stat_card(
            "Changed balances",
            c.changed,
            "On hand set to the file's count",
            test_id="count-changed",
        ),
        stat_card("Unchanged", c.unchanged, "Already at the file's count", test_id="count-same"),
        stat_card(
            "Errors",
            c.errors,
            rx.cond(c.has_errors, "In " + c.invalid_rows, "Every row is valid"),
            color=rx.cond(c.has_errors, rx.color("red", 11), rx.color("gray", 12)),
            test_id="count-errors",
        ),
        columns=rx.breakpoints(initial="2", sm="3", md="5"),
        spacing="3",
        width="100%",
    )


def _diff_row(item: DiffItem) -> rx.Component:
    return rx.table.row(
        numeric_cell(item.row, color=rx.color("gray", 10)),
        cell(rx.text(item.sku, style=MONO)),
        cell(rx.text(item.product, size="2")),
        cell(rx.text(item.variant, size="2")),
        cell(rx.text(item.warehouse, size="2")),
        numeric_cell(
            rx.hstack(
                rx.text(item.old, color=rx.color("gray", 10)),
                rx.icon("arrow-right", size=12, color=rx.color("gray", 9)),
                rx.text(item.new, weight="medium"),
                spacing="2",
                align="center",
                justify="end",
            )
        ),
        numeric_cell(
            item.delta,
            color=rx.cond(item.up, rx.color("green", 11), rx.color("red", 11)),
            weight="medium",
        ),
        data_testid="diff-row",
    )


def _diff() -> rx.Component:
    return rx.cond(
        S.sample.length() > 0,
        rx.vstack(
            rx.hstack(
                rx.heading("What changes", as_="h3", size="2", weight="bold"),
                muted(S.sample_note),
                align="baseline",
                spacing="3",
            ),
            table(
                numeric_header("Row"),
                header("SKU"),
                header("Style"),
                header("Colour / size"),
                header("Warehouse"),
                numeric_header("On hand"),
                numeric_header("Change"),
                body=rx.foreach(S.sample, _diff_row),
                test_id="diff-table",
            ),
            spacing="2",
            width="100%",
        ),
    )


def _error_row(item: ErrorItem) -> rx.Component:
    return rx.table.row(
        numeric_cell(item.row),
        cell(rx.text(item.column, size="2", weight="medium")),
        cell(rx.text(item.value, style=MONO, word_break="break-all")),
        cell(rx.text(item.reason, size="2")),
        data_testid="error-row",
    )


def _error_table(rows: rx.Var, test_id: str) -> rx.Component:
    return table(
        numeric_header("Row"),
        header("Column"),
        header("Value", width="22%"),
        header("Reason", width="46%"),
        body=rx.foreach(rows, _error_row),
        test_id=test_id,
    )


def _errors() -> rx.Component:
    return rx.cond(
        S.error_total > 0,
        rx.vstack(
            rx.hstack(
                rx.heading("Errors", as_="h3", size="2", weight="bold"),
                muted(S.error_range, style=NUMERIC, data_testid="error-range"),
                rx.spacer(),
                rx.button(
                    rx.icon("download", size=14),
                    "Download errors (CSV)",
                    on_click=S.download_errors,
                    variant="soft",
                    size="1",
                ),
                align="center",
                spacing="3",
                width="100%",
            ),
            _error_table(S.error_rows, "error-table"),
            rx.cond(
                S.has_previous_errors | S.has_next_errors,
                rx.hstack(
                    rx.spacer(),
                    rx.button(
                        rx.icon("chevron-left", size=14),
                        "Previous",
                        on_click=S.page_errors(-1),
                        disabled=~S.has_previous_errors,
                        variant="soft",
                        color_scheme="gray",
                        size="1",
                    ),
                    rx.button(
                        "Next",
                        rx.icon("chevron-right", size=14),
                        on_click=S.page_errors(1),
                        disabled=~S.has_next_errors,
                        variant="soft",
                        color_scheme="gray",
                        size="1",
                    ),
                    spacing="2",
                    width="100%",
                    as_="nav",
                    aria_label="Error pages",
                ),
            ),
            spacing="2",
            width="100%",
        ),
    )


def _apply_bar() -> rx.Component:
    return rx.cond(
        S.result_checked | (S.applied_as > 0),
        rx.hstack(
            rx.cond(
                S.counts.has_errors & (S.applied_as == 0),
                rx.el.label(
                    rx.hstack(
                        rx.switch(
                            checked=S.skip_invalid,
                            on_change=S.set_skip_invalid,
                            id="skip-invalid",
                            disabled=S.busy != "",
                        ),
                        rx.text("Skip invalid rows", size="2", weight="medium"),
                        align="center",
                        spacing="2",
                    ),
                    html_for="skip-invalid",
                    cursor="pointer",
                ),
            ),
            muted(S.apply_hint, size="1", flex="1", data_testid="apply-hint"),
            rx.button(
                rx.icon("check", size=15),
                rx.cond(S.applied_as > 0, "Applied", "Apply"),
                on_click=S.apply,
                disabled=~S.can_apply,
                loading=S.busy == "apply",
                size="2",
                data_testid="apply-button",
            ),
            align="center",
            spacing="4",
            width="100%",
            padding="12px 14px",
            border_radius="var(--radius-3)",
            background=rx.color("gray", 2),
            border=f"1px solid {rx.color('gray', 5)}",
        ),
    )


def _result() -> rx.Component:
    return rx.cond(
        S.result_kind != "",
        rx.card(
            rx.vstack(
                _step_title("3", "Check and apply"),
                _result_callout(),
                rx.cond(
                    (S.result_kind != "refused") & (S.result_kind != "failed")
                    | S.counts.has_errors,
                    _counts(),
                ),
                _diff(),
                _errors(),
                _apply_bar(),
                _progress("apply"),
                spacing="4",
                width="100%",
            ),
            size="2",
            width="100%",
            data_testid="result-card",
        ),
    )


# --- history -------------------------------------------------------------------------------


def _status_badge(item: HistoryItem) -> rx.Component:
    return rx.badge(
        item.status_label,
        color_scheme=rx.match(
            item.status, ("applied", "green"), ("refused", "amber"), ("failed", "red"), "gray"
        ),
        variant="soft",
        size="1",
    )


def _number(value: rx.Var | rx.Component, **props) -> rx.Component:
    return numeric_cell(value, vertical_align="middle", **props)


def _history_row(item: HistoryItem) -> rx.Component:
    return rx.table.row(
        cell(when(item.when, item.when_exact)),
        cell(
            rx.vstack(
                rx.text(item.file_name, size="2", weight="medium", word_break="break-all"),
                muted(item.format_label),
                spacing="0",
            )
        ),
        rx.cond(~S.is_vendor, cell(rx.text(item.brand_code, size="2"))),
        cell(rx.text(item.actor, size="2", word_break="break-all")),
        _number(item.rows),
        _number(item.new_variants),
        _number(item.changed),
        _number(
            rx.cond(
                item.has_errors,
                rx.link(
                    item.errors,
                    on_click=S.open_run_errors(item.id),
                    color_scheme="red",
                    cursor="pointer",
                    title="See the errors",
                    aria_label="See the errors of import " + item.id.to_string(),
                ),
                rx.text("0", color=rx.color("gray", 10)),
            )
        ),
        cell(rx.tooltip(_status_badge(item), content=item.message), justify="end"),
        data_testid="history-row",
    )


def _history() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("History", as_="h2", style=_SECTION),
            muted(S.history_summary, size="2", data_testid="history-summary"),
            align="baseline",
            spacing="3",
        ),
        rx.cond(
            S.history.length() > 0,
            rx.vstack(
                table(
                    header("When"),
                    header("File", width="26%"),
                    rx.cond(~S.is_vendor, header("Brand")),
                    header("Who"),
                    numeric_header("Rows"),
                    numeric_header("New variants"),
                    numeric_header("Changed"),
                    numeric_header("Errors"),
                    header("Status", justify="end"),
                    body=rx.foreach(S.history, _history_row),
                    test_id="history-table",
                ),
                pager(S.range_label, S.previous_href, S.next_href),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                S.loaded,
                empty_state(
                    "history",
                    "No imports yet",
                    rx.cond(
                        S.can_import,
                        "Upload a CSV above and run the dry run; every apply (and every "
                        "refused attempt) is listed here.",
                        "Imports appear here once brands or merchandisers apply their feeds.",
                    ),
                ),
                rx.center(rx.spinner(size="3"), padding_y="40px", width="100%"),
            ),
        ),
        spacing="3",
        width="100%",
        padding_top="8px",
    )


# --- dialogs ---------------------------------------------------------------------------------


def _column_picker(item: MapField) -> rx.Component:
    id_ = "map-col-" + item.field
    return rx.vstack(
        rx.el.label(item.label, html_for=id_, style={"font_size": "13px", "font_weight": "500"}),
        rx.select.root(
            rx.select.trigger(id=id_, width="100%"),
            rx.select.content(
                rx.select.item("— not in this file —", value=NO_COLUMN),
                rx.select.separator(),
                rx.foreach(S.map_headers, lambda h: rx.select.item(h, value=h)),
                position="popper",
            ),
            value=item.header,
            on_change=lambda value: S.set_map_column(item.field, value),
            size="1",
        ),
        rx.text(
            rx.cond(item.values_hint != "", item.values_hint, item.description),
            size="1",
            color_scheme="gray",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
            max_width="100%",
            title=item.values_hint,
        ),
        spacing="1",
        width="100%",
        min_width="0",
    )


def _value_map(name: str, label: str, value: rx.Var, hint: str) -> rx.Component:
    return field(
        label,
        rx.text_area(
            id="map-" + name,
            name=name,
            default_value=value,
            placeholder="their label = ours",
            rows="4",
            size="1",
            width="100%",
            style=MONO,
        ),
        for_id="map-" + name,
        hint=hint,
    )


def _mapping_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.map_title, size="4"),
            rx.dialog.description(
                "Which of this file's columns holds each of our fields. Suggested matches "
                "are filled in; check them. Saved for the brand, for its later files.",
                size="2",
                color_scheme="gray",
                margin_bottom="14px",
            ),
            rx.form(
                rx.vstack(
                    field(
                        "Mapping name",
                        rx.input(
                            id="map-name",
                            name="name",
                            default_value=S.map_name,
                            required=True,
                            max_length=100,
                            auto_focus=True,
                            auto_complete="off",
                            size="2",
                            width="100%",
                        ),
                        for_id="map-name",
                    ),
                    rx.heading("Columns", as_="h3", size="2", padding_top="4px"),
                    rx.grid(
                        rx.foreach(S.map_fields, _column_picker),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.heading("Their values → ours", as_="h3", size="2", padding_top="4px"),
                    rx.grid(
                        _value_map("sizes", "Sizes", S.map_sizes, "e.g. Mittel = M"),
                        _value_map("colours", "Colours", S.map_colours, "e.g. schwarz = Black"),
                        _value_map(
                            "locations",
                            "Locations",
                            S.map_locations,
                            "their location = our warehouse code",
                        ),
                        columns="3",
                        spacing="3",
                        width="100%",
                    ),
                    rx.heading("When a cell is blank", as_="h3", size="2", padding_top="4px"),
                    rx.grid(
                        field(
                            "Location",
                            rx.select.root(
                                rx.select.trigger(id="map-default-location", width="100%"),
                                rx.select.content(
                                    rx.select.item("No default", value=NO_WAREHOUSE),
                                    rx.select.separator(),
                                    rx.foreach(
                                        S.warehouses,
                                        lambda c: rx.select.item(c.label, value=c.value),
                                    ),
                                    position="popper",
                                ),
                                name="default_location",
                                default_value=S.map_default_location,
                                size="1",
                            ),
                            for_id="map-default-location",
                        ),
                        *[
                            field(
                                label,
                                rx.input(
                                    id=f"map-default-{key}",
                                    name=f"default_{key}",
                                    default_value=value,
                                    size="1",
                                    width="100%",
                                    placeholder=placeholder,
                                ),
                                for_id=f"map-default-{key}",
                            )
                            for key, label, value, placeholder in (
                                ("category", "Category", S.map_default_category, "e.g. Knitwear"),
                                ("colour", "Colour", S.map_default_colour, "e.g. Black"),
                                ("size", "Size", S.map_default_size, "e.g. One Size"),
                            )
                        ],
                        columns="4",
                        spacing="3",
                        width="100%",
                    ),
                    form_error(S.map_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Save mapping", type="submit", loading=S.saving),
                        justify="end",
                        spacing="2",
                        width="100%",
                        padding_top="4px",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=S.save_mapping,
                reset_on_submit=False,
                width="100%",
            ),
            max_width="820px",
            data_testid="mapping-dialog",
        ),
        open=S.dialog == "mapping",
        on_open_change=S.on_dialog_change,
    )


def _run_errors_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.run_title, size="4"),
            rx.dialog.description(S.run_message, size="2", color_scheme="gray"),
            muted(S.run_errors_note, padding_y="10px"),
            rx.scroll_area(
                _error_table(S.run_errors, "run-error-table"),
                type="auto",
                scrollbars="vertical",
                max_height="50vh",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("download", size=14),
                    "Download errors (CSV)",
                    on_click=S.download_run_errors,
                    variant="soft",
                ),
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                justify="end",
                spacing="2",
                padding_top="14px",
            ),
            max_width="820px",
            data_testid="run-errors-dialog",
        ),
        open=S.dialog == "run-errors",
        on_open_change=S.on_dialog_change,
    )


# --- the page ----------------------------------------------------------------------------------


def _workspace() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _file_card(),
            _choices_card(),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        _result(),
        spacing="4",
        width="100%",
    )


def _read_only_note() -> rx.Component:
    return rx.callout(
        "Managers read the import history. Brands' staff, merchandisers and admins upload "
        "and apply feeds.",
        icon="eye",
        color_scheme="gray",
        size="1",
        width="100%",
        data_testid="read-only-note",
    )


def _description() -> rx.Component:
    return rx.text(
        rx.cond(
            S.is_vendor,
            "Upload " + AuthState.brand_name + "'s CSV feeds: check what they would change, "
            "then apply.",
            rx.cond(
                S.can_import | ~S.loaded,
                "Upload a brand's CSV feed, check what it would change, then apply it.",
                "What brands' CSV feeds changed: who imported which file, when, and how it went.",
            ),
        ),
        size="2",
        color_scheme="gray",
    )


def imports_page() -> rx.Component:
    return app_shell(
        rx.vstack(
            load_error(S.load_error),
            rx.cond(S.can_import, _workspace(), rx.cond(S.loaded, _read_only_note())),
            _history(),
            _mapping_dialog(),
            _run_errors_dialog(),
            spacing="5",
            width="100%",
        ),
        title=TITLE,
        route=ROUTE,
        description=_description(),
    )


ON_LOAD = [AuthState.require_login, S.load]
