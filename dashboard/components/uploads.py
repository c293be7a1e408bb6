"""Uploading a file: one drop zone (drop or choose, with its keyboard focus, hover and
drag states) and one progress bar for work under way.

    drop_zone(
        "import-file",
        prompt=rx.cond(S.file_state == "ready", "Drop another file here", "Drop a CSV here"),
        hint="Shopify exports or any CSV with a mapping · up to 50 MB",
        accept=CSV_FILES,
        max_size=LIMITS.max_bytes,
        on_drop=S.receive_upload(rx.upload_files_chunk(upload_id="import-file")),
        on_drop_rejected=S.drop_rejected,
    )
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard.components.admin import MONO, cell, header, table
from dashboard.components.blocks import column
from dashboard.components.figures import NUMERIC, numeric_cell, numeric_header

#: What a CSV drop zone accepts (the browser's file chooser filters by these).
CSV_FILES = {
    "text/csv": [".csv"],
    "text/tab-separated-values": [".tsv"],
    "text/plain": [".txt"],
}


def rejected_summary(rejected: rx.Var) -> rx.Var:
    """react-dropzone's rejections as [{name, codes}] (no File objects).

    Only names and reasons go to the server: a File in an event would be sent whole
    over the websocket, the very thing a size limit is there to stop.
    """
    return rx.Var(
        f"({rejected}).map((r) => ({{name: String(r.file?.name ?? ''), "
        "codes: (r.errors ?? []).map((e) => String(e.code))}))"
    ).to(list)


def drop_zone(
    upload_id: str,
    *,
    prompt: rx.Var | str,
    hint: rx.Var | str,
    accept: dict[str, list[str]] = CSV_FILES,
    max_size: int | None = None,
    on_drop: Any = None,
    on_drop_rejected: Any = None,
    disabled: rx.Var | bool = False,
    label: str = "Upload a file: drop it here, or press Enter to choose one",
    test_id: str = "drop-zone",
) -> rx.Component:
    """A dashed box to drop one file on, or to click (or press Enter) to choose it.

    `on_drop` (usually a background handler given `rx.upload_files_chunk`) receives
    the file; `on_drop_rejected` gets `rejected_summary`'s names and reason codes.
    """
    props: dict[str, Any] = {}
    if max_size is not None:
        props["max_size"] = max_size
    if on_drop is not None:
        props["on_drop"] = on_drop
    if on_drop_rejected is not None:
        props["on_drop_rejected"] = lambda rejected: on_drop_rejected(rejected_summary(rejected))
    return rx.upload.root(
        rx.vstack(
            rx.center(
                rx.icon("file-up", size=20, color=rx.color("accent", 11)),
                width="40px", height="40px", border_radius="var(--radius-3)",
                background=rx.color("accent", 3),
            ),
            rx.text(prompt, size="2", weight="medium"),
            rx.text(
                "or ",
                rx.el.span(
                    "choose one",
                    style={"color": rx.color("accent", 11), "text_decoration": "underline"},
                ),
                " · ", hint, size="1", color_scheme="gray",
            ),
            align="center", spacing="1", padding_y="22px", padding_x="16px", text_align="center",
        ),
        id=upload_id, multiple=False, max_files=1, accept=accept, disabled=disabled,
        aria_label=label, data_testid=test_id, width="100%", cursor="pointer",
        border=f"1.5px dashed {rx.color('gray', 7)}", border_radius="var(--radius-3)",
        background=rx.color("gray", 2),
        _hover={"border_color": rx.color("accent", 8), "background": rx.color("accent", 2)},
        _focus_visible={"outline": f"2px solid {rx.color('accent', 8)}", "outline_offset": "2px"},
        drag_active_style={
            "border_color": rx.color("accent", 9),
            "background": rx.color("accent", 3),
        },
        **props,
    )


def progress_bar(label: rx.Var | str, percent: rx.Var, *, test_id: str, **props) -> rx.Component:
    """A spinner, what is happening, the percentage and a bar (announced as a status)."""
    return column(
        rx.hstack(
            rx.spinner(size="1"),
            rx.text(label, size="2"),
            rx.spacer(),
            rx.text(percent.to_string() + "%", size="2", style=NUMERIC),
            width="100%", align="center",
        ),
        rx.progress(value=percent, max=100, size="1", width="100%"),
        role="status", data_testid=test_id,
        **props,
        gap="2",
    )


def error_table(
    rows: rx.Var, test_id: str, *, reason: str = "Reason", row_test_id: str = "error-row"
) -> rx.Component:
    """An uploaded file's bad cells as row, column, value and `reason` (an import's check,
    a past import's errors, a poll's refused answers). `rows` hold row, column, value
    and reason."""

    def error_row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            numeric_cell(item.row),
            cell(rx.text(item.column, size="2", weight="medium")),
            cell(rx.text(item.value, style=MONO, word_break="break-all")),
            cell(rx.text(item.reason, size="2")),
            data_testid=row_test_id,
        )

    return table(
        numeric_header("Row"),
        header("Column"),
        header("Value", width="22%"),
        header(reason, width="46%"),
        body=rx.foreach(rows, error_row), test_id=test_id,
    )
