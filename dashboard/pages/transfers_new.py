"""The new-transfer dialog: warehouses, a SKU picker showing what the source has, the
lines (typed or picked) and, under them, every line checked: fine, more than available
(a warning), or a problem to fix (nothing is created while any line has one)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import (
    MONO,
    dialog_wiring,
    field,
    form_dialog,
    muted,
    select_field,
    text_field,
)
from dashboard.components.blocks import column, inline
from dashboard.components.figures import HEADER, NUMERIC
from dashboard.states.transfers_new import CheckItem, HitItem, NewTransferState

S = NewTransferState
_TONE = {"ok": "green", "warning": "amber", "problem": "red"}


def _hit(hit: HitItem) -> rx.Component:
    return rx.el.button(
        inline(
            rx.vstack(
                rx.text(hit.sku, style=MONO, weight="medium"),
                muted(hit.label),
                spacing="0", align="start", min_width="0",
            ),
            rx.spacer(),
            rx.text(
                hit.available, size="1", white_space="nowrap", style=NUMERIC,
                color=rx.cond(hit.short, rx.color("red", 11), rx.color("gray", 11)),
            ),
            rx.icon("plus", size=14, color=rx.color("accent", 11)),
            width="100%", gap="3",
        ),
        type="button", on_click=S.add_line(hit.sku), aria_label="Add " + hit.sku,
        data_testid="sku-hit",
        style={
            "width": "100%",
            "text_align": "left",
            "padding": "6px 10px",
            "background": "transparent",
            "border": "none",
            "border_bottom": f"1px solid {rx.color('gray', 4)}",
            "cursor": "pointer",
            "_hover": {"background": rx.color("accent", 3)},
        },
    )


def _picker() -> rx.Component:
    return field(
        "Find a SKU",
        column(
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                id="transfer-find",
                name="find",
                value=S.query,
                on_change=S.search,
                placeholder="SKU, product name, alias or barcode",
                auto_complete="off",
                # Not part of the form: Enter here must not create the transfer.
                form="transfer-picker",
                width="100%",
            ),
            rx.cond(
                S.hits.length() > 0,
                rx.box(
                    rx.foreach(S.hits, _hit),
                    width="100%", max_height="220px", overflow_y="auto",
                    border=f"1px solid {rx.color('gray', 6)}", border_radius="var(--radius-2)",
                    data_testid="sku-hits",
                ),
                rx.cond(
                    S.query.length() >= 2,
                    muted("No variant matches " + S.query + ".", data_testid="sku-no-hits"),
                ),
            ),
            gap="1",
        ),
        for_id="transfer-find",
        hint="Click a result to put it on a line (again for one more unit).",
    )


def _check_row(item: CheckItem) -> rx.Component:
    tone = rx.match(item.status, *_TONE.items(), "gray")
    return rx.table.row(
        rx.table.cell(item.row, style=NUMERIC, color=rx.color("gray", 11)),
        rx.table.row_header_cell(
            rx.text(item.code, style={**MONO, "font_size": "12px"}, white_space="nowrap")
        ),
        rx.table.cell(rx.text(item.product, size="1"), max_width="180px"),
        rx.table.cell(item.qty, justify="end", style=NUMERIC),
        rx.table.cell(item.available, justify="end", style=NUMERIC),
        rx.table.cell(
            rx.cond(
                item.status == "ok",
                rx.icon("check", size=14, color=rx.color("green", 10), aria_label="OK"),
                rx.text(item.reason, size="1", color=rx.color(tone, 11)),
            ),
        ),
        data_testid="line-check", data_status=item.status,
        background=rx.cond(item.status == "problem", rx.color("red", 2), None),
    )


def _checks() -> rx.Component:
    return rx.cond(
        S.checks.length() > 0,
        column(
            muted(S.check_summary, data_testid="line-check-summary"),
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h, style=HEADER, justify=j)
                                for h, j in (
                                    ("Line", None),
                                    ("SKU", None),
                                    ("Variant", None),
                                    ("Qty", "end"),
                                    ("At source", "end"),
                                    ("Check", None),
                                )
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(S.checks, _check_row)),
                    size="1", width="100%",
                ),
                max_height="240px", overflow_y="auto", width="100%", data_testid="line-checks",
            ),
            gap="1",
        ),
    )


def new_transfer_dialog() -> rx.Component:
    return form_dialog(
        rx.hstack(
            select_field(
                "From", "transfer-source", S.warehouses, name="source",
                placeholder="Source warehouse", value=S.form_source, on_change=S.set_form_source,
            ),
            select_field(
                "To", "transfer-dest", S.warehouses, name="dest", placeholder="Destination",
                value=S.form_dest, on_change=S.set_form_dest,
            ),
            spacing="3", width="100%",
        ),
        _picker(),
        field(
            "Lines",
            rx.text_area(
                id="transfer-lines", name="lines", value=S.form_lines, on_change=S.set_lines,
                placeholder="NORTH-NW-STRAIGHT-30 12\nNORTH-NW-STRAIGHT-32 4",
                rows="5", width="100%", style=MONO,
            ),
            for_id="transfer-lines",
            hint="One line per SKU: the SKU (or alias or barcode), a space, the quantity. "
            "Paste from a spreadsheet works too.",
        ),
        _checks(),
        text_field(
            "Note", "transfer-note", name="note", auto_complete="off",
            hint="Optional: why this move (shown on the list and the pick list).",
        ),
        title="New transfer",
        description="A draft: nothing moves until it is approved and shipped.",
        **dialog_wiring(S, "create"),
        on_submit=S.create, submit_label="Create draft", test_id="new-transfer-dialog",
        max_width="720px",
    )
