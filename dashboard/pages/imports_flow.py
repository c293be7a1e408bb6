"""Imports, the flow: 1 the file (drop zone), 2 what it is (brand, kind, warehouse) and the
dry run, 3 the check's result (counts, changes, errors) and the apply."""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard.components.admin import MONO, cell, field, headers, muted, select_field, table
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.figures import NUMERIC, numeric_cell, numeric_header, stat_card, stat_grid
from dashboard.components.lists import page_nav
from dashboard.components.uploads import drop_zone, error_table, progress_bar
from dashboard.states.import_files import LIMITS, size_label
from dashboard.states.imports import ENCODING_CHOICES, ImportsState
from dashboard.states.imports_flow import UPLOAD_ID
from dashboard.states.imports_items import DiffItem, WarningItem
from dashboard.states.imports_mapping import NO_WAREHOUSE

S = ImportsState

#: A section's heading (the history's too).
SECTION = {"font_size": "15px", "font_weight": "600"}
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


def _step_title(number: str, title: str) -> rx.Component:
    return inline(rx.box(number, style=_STEP), rx.heading(title, as_="h2", style=SECTION))


# --- 1. the file --------------------------------------------------------------------------


def _drop_zone() -> rx.Component:
    return drop_zone(
        UPLOAD_ID,
        prompt=rx.cond(
            S.file_state == "ready", "Drop another file here to replace it", "Drop a CSV file here"
        ),
        hint="Shopify product or inventory export, or any CSV with a mapping · up to "
        + size_label(LIMITS.max_bytes),
        max_size=LIMITS.max_bytes,
        on_drop=S.receive_upload(
            rx.upload_files_chunk(upload_id=UPLOAD_ID, on_upload_progress=S.upload_progress)
        ),
        on_drop_rejected=S.drop_rejected, disabled=S.busy != "",
        label="Upload a CSV file: drop it here, or press Enter to choose one",
    )


def _file_status() -> rx.Component:
    return rx.match(
        S.file_state,
        (
            "uploading",
            progress_bar("Uploading the file…", S.upload_percent, test_id="upload-progress"),
        ),
        (
            "ready",
            rx.hstack(
                rx.icon("file-check", size=18, color=rx.color("green", 10)),
                rx.vstack(
                    rx.text(S.file_name, size="2", weight="medium", data_testid="file-name"),
                    muted(S.file_summary),
                    rx.text(S.file_layout, size="1", data_testid="file-layout"),
                    spacing="0", min_width="0", flex="1",
                ),
                rx.icon_button(
                    rx.icon("x", size=14),
                    on_click=S.clear_file, disabled=S.busy != "", variant="ghost",
                    color_scheme="gray", size="1", aria_label="Remove this file",
                    title="Remove this file",
                ),
                align="start", spacing="3", width="100%", padding="10px 12px",
                border=f"1px solid {rx.color('gray', 5)}", border_radius="var(--radius-3)",
            ),
        ),
        (
            "refused",
            rx.callout(
                rx.text(
                    rx.cond(S.file_name != "", rx.text.strong(S.file_name, ": "), ""),
                    S.file_error,
                ),
                icon="file-x", color_scheme="red", role="alert", width="100%",
                data_testid="file-error",
            ),
        ),
        rx.fragment(),
    )


def _step_card(
    number: str, title: str, *children: rx.Component, spacing: str = "3", **props
) -> rx.Component:
    return rx.card(
        rx.vstack(_step_title(number, title), *children, spacing=spacing, width="100%"),
        size="2", width="100%",
        **props,
    )


def _file_card() -> rx.Component:
    return _step_card("1", "File", _drop_zone(), _file_status())


# --- 2. what it is ----------------------------------------------------------------------------


def _picker(id_: str, options: rx.Var, value: rx.Var, on_change, placeholder: str, **props):
    return rx.select.root(
        rx.select.trigger(id=id_, width="100%", placeholder=placeholder),
        rx.select.content(
            rx.foreach(options, lambda c: rx.select.item(c.label, value=c.value)),
            position="popper",
        ),
        value=value, on_change=on_change, size="2",
        **props,
    )


def _brand_field() -> rx.Component:
    return rx.cond(
        S.brand_locked,
        column(
            rx.el.label(
                "Brand", html_for="import-brand",
                style={"font_size": "13px", "font_weight": "500"},
            ),
            inline(
                rx.icon("lock", size=13, color=rx.color("gray", 10)),
                rx.text(S.brand_name, size="2", weight="medium"),
                id="import-brand", height="32px", padding_x="10px", width="100%",
                border_radius="var(--radius-2)", background=rx.color("gray", 3),
                data_testid="brand-fixed",
            ),
            muted("Your account imports for your own brand only."),
            gap="1",
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
        column(
            _picker(
                "import-format", S.format_choices, S.format_value, S.choose_format,
                "Choose a format or mapping",
            ),
            rx.hstack(
                button(
                    "New mapping…", "columns-3", on_click=S.open_mapping_editor(False),
                    disabled=S.file_state != "ready", variant="ghost", size="1",
                ),
                rx.cond(
                    S.mapping_selected,
                    button(
                        "Edit mapping…", "pencil", on_click=S.open_mapping_editor(True),
                        variant="ghost", size="1", icon_size=13,
                    ),
                ),
                spacing="4", padding_top="4px", padding_left="6px",
            ),
            gap="1",
        ),
        for_id="import-format",
        hint="Any other CSV is read through a mapping saved for the brand.",
    )


def _encoding_field() -> rx.Component:
    return select_field(
        "Encoding", "import-encoding", ENCODING_CHOICES,
        name="encoding", value=S.encoding, on_change=S.choose_encoding,
        data_testid="import-encoding",
        hint="How the file's text is stored. Detection reads almost every file; choose "
        "one when accents come out wrong.",
    )


def _warehouse_field() -> rx.Component:
    default_items = rx.foreach(S.warehouses, lambda c: rx.select.item(c.label, value=c.value))
    return rx.cond(
        S.needs_warehouse,
        field(
            "Warehouse",
            _picker(
                "import-warehouse", S.warehouses, S.warehouse_code, S.choose_warehouse,
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
                        default_items, position="popper",
                    ),
                    value=rx.cond(S.warehouse_code != "", S.warehouse_code, NO_WAREHOUSE),
                    on_change=S.choose_warehouse, size="2",
                ),
                for_id="import-warehouse", hint="Rows without a location go here.",
            ),
        ),
    )


def _progress(kind: str) -> rx.Component:
    """The bar of the dry run or the apply, beside the button that started it."""
    return rx.cond(
        S.busy == kind, progress_bar(S.progress_label, S.progress, test_id="work-progress")
    )


def _choices_card() -> rx.Component:
    return _step_card(
        "2", "What it is",
        _brand_field(),
        _format_field(),
        _encoding_field(),
        _warehouse_field(),
        inline(
            button(
                "Run dry run", "list-checks", on_click=S.run_dry_run, disabled=~S.ready_to_check,
                loading=S.busy == "dry_run", size="2", icon_size=15,
            ),
            muted(S.check_hint, size="1"),
            padding_top="4px", width="100%", gap="3",
        ),
        _progress("dry_run"),
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
        width="100%", data_testid="result-message",
    )


def _counts() -> rx.Component:
    c = S.counts
    return stat_grid(
        stat_card("New products", c.new_products, "Styles the file adds", test_id="count-products"),
        stat_card("New variants", c.new_variants, "Colour × size", test_id="count-variants"),
        stat_card(
            "Changed balances", c.changed,
            "On hand set to the file's count",
            test_id="count-changed",
        ),
        stat_card("Unchanged", c.unchanged, "Already at the file's count", test_id="count-same"),
        stat_card(
            "Errors", c.errors,
            rx.cond(c.has_errors, "In " + c.invalid_rows, "Every row is valid"),
            color=rx.cond(c.has_errors, rx.color("red", 11), rx.color("gray", 12)),
            test_id="count-errors",
        ),
    )


def _diff_row(item: DiffItem) -> rx.Component:
    return rx.table.row(
        numeric_cell(item.row, color=rx.color("gray", 10)),
        cell(rx.text(item.sku, style=MONO)),
        cell(rx.text(item.product, size="2")),
        cell(rx.text(item.variant, size="2")),
        cell(rx.text(item.warehouse, size="2")),
        numeric_cell(
            inline(
                rx.text(item.old, color=rx.color("gray", 10)),
                rx.icon("arrow-right", size=12, color=rx.color("gray", 9)),
                rx.text(item.new, weight="medium"),
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


def _changes(
    title: str, note: rx.Var, items: rx.Var, row: Any, columns: tuple[str, ...], test_id: str,
    *numeric: str,
) -> rx.Component:
    """A dry run's list of what changes: a heading with its note, then one row an item."""
    return rx.cond(
        items.length() > 0,
        column(
            rx.hstack(
                rx.heading(title, as_="h3", size="2", weight="bold"),
                muted(note),
                align="baseline", spacing="3",
            ),
            table(
                numeric_header("Row"),
                *headers(*columns),
                *[numeric_header(label) for label in numeric],
                body=rx.foreach(items, row), test_id=test_id,
            ),
            gap="2",
        ),
    )


def _diff() -> rx.Component:
    return _changes(
        "What changes", S.sample_note, S.sample, _diff_row,
        ("SKU", "Product", "Colour / size", "Warehouse"), "diff-table", "On hand", "Change",
    )


def _attribute_row(item: rx.Var) -> rx.Component:
    return rx.table.row(
        numeric_cell(item["row"], color=rx.color("gray", 10)),
        cell(rx.text(item["product"], size="2")),
        cell(rx.text(item["field"], size="2")),
        cell(rx.text(item["old"], size="2", color=rx.color("gray", 10))),
        cell(rx.text(item["new"], size="2", weight="medium")),
        data_testid="attribute-change",
    )


def _attribute_changes() -> rx.Component:
    """Existing products whose tags, fabric, care or season the file changes."""
    return _changes(
        "Product attributes", S.counts.changed_products + " change", S.attribute_changes,
        _attribute_row, ("Product", "Attribute", "Now", "From the file"), "attribute-table",
    )


def _warning(item: WarningItem) -> rx.Component:
    return notice(
        rx.fragment(rx.text.strong(item.title), rx.el.br(), item.text),
        tone="amber", icon="triangle-alert", test_id="import-warning", role="status",
    )


def _warnings() -> rx.Component:
    """Each kind of warning with its count and first rows; applying needs the tick below."""
    return rx.cond(
        S.warnings.length() > 0,
        column(
            rx.heading("Check before applying", as_="h3", size="2", weight="bold"),
            rx.foreach(S.warnings, _warning),
            gap="2", data_testid="import-warnings",
        ),
    )


def _toggle(control: rx.Component, id_: str, text: str) -> rx.Component:
    """A switch or checkbox with its label (a click on the words toggles it too)."""
    return rx.el.label(
        inline(control, rx.text(text, size="2", weight="medium")),
        html_for=id_, cursor="pointer",
    )


def _errors() -> rx.Component:
    return rx.cond(
        S.error_total > 0,
        column(
            inline(
                rx.heading("Errors", as_="h3", size="2", weight="bold"),
                muted(S.error_range, style=NUMERIC, data_testid="error-range"),
                rx.spacer(),
                button(
                    "Download errors (CSV)", "download", on_click=S.download_errors,
                    variant="soft", size="1",
                ),
                width="100%", gap="3",
            ),
            error_table(S.error_rows, "error-table"),
            rx.cond(
                S.has_previous_errors | S.has_next_errors,
                page_nav(rx.hstack(
                    rx.spacer(),
                    button(
                        "Previous", "chevron-left", on_click=S.page_errors(-1),
                        disabled=~S.has_previous_errors, variant="soft", color_scheme="gray",
                        size="1",
                    ),
                    rx.button(
                        "Next",
                        rx.icon("chevron-right", size=14),
                        on_click=S.page_errors(1), disabled=~S.has_next_errors, variant="soft",
                        color_scheme="gray", size="1",
                    ),
                    spacing="2", width="100%",
                ), "Error pages"),
            ),
            gap="2",
        ),
    )


def _apply_bar() -> rx.Component:
    return rx.cond(
        S.result_checked | (S.applied_as > 0),
        inline(
            rx.cond(
                (S.warnings.length() > 0) & (S.applied_as == 0),
                _toggle(
                    rx.checkbox(
                        checked=S.warnings_checked, on_change=S.set_warnings_checked,
                        id="warnings-checked", disabled=S.busy != "",
                        data_testid="warnings-checked",
                    ),
                    "warnings-checked", "I have checked these warnings",
                ),
            ),
            rx.cond(
                S.counts.has_errors & (S.applied_as == 0),
                _toggle(
                    rx.switch(
                        checked=S.skip_invalid, on_change=S.set_skip_invalid,
                        id="skip-invalid", disabled=S.busy != "",
                    ),
                    "skip-invalid", "Skip invalid rows",
                ),
            ),
            muted(S.apply_hint, size="1", flex="1", data_testid="apply-hint"),
            button(
                rx.cond(S.applied_as > 0, "Applied", "Apply"),
                "check", on_click=S.apply, disabled=~S.can_apply, loading=S.busy == "apply",
                size="2", data_testid="apply-button", icon_size=15,
            ),
            width="100%", padding="12px 14px", border_radius="var(--radius-3)",
            background=rx.color("gray", 2), border=f"1px solid {rx.color('gray', 5)}", gap="4",
        ),
    )


def workspace() -> rx.Component:
    """The three steps: the file and its choices side by side, the result below."""
    return column(
        rx.grid(
            _file_card(),
            _choices_card(),
            columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%",
        ),
        _result(),
        gap="4",
    )


def _result() -> rx.Component:
    return rx.cond(
        S.result_kind != "",
        _step_card(
            "3", "Check and apply",
            _result_callout(),
            rx.cond(
                (S.result_kind != "refused") & (S.result_kind != "failed") | S.counts.has_errors,
                _counts(),
            ),
            _warnings(),
            _diff(),
            _attribute_changes(),
            _errors(),
            _apply_bar(),
            _progress("apply"),
            spacing="4", data_testid="result-card",
        ),
    )
