"""/counts: cycle counts. Today's list for a warehouse, the blind count sheet (a number
per line; Enter moves to the next line; a scanner's code + Enter counts one unit of the
line it names), the plan, and for managers the variances above tolerance with Approve
and Reject."""

from __future__ import annotations

import reflex as rx
from reflex.vars import FunctionStringVar

from dashboard import routes
from dashboard.components.admin import (
    MONO,
    cell,
    dialog_wiring,
    form_dialog,
    headers,
    muted,
    number_cell,
    select,
    table,
    target_confirm,
    text_field,
)
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.figures import empty_state
from dashboard.components.lists import list_view
from dashboard.components.scanning import scan_box, scan_lit
from dashboard.registry import Nav, page
from dashboard.states.counts import CountsState, DueRow, LineRow, PlanItem, VarianceRow

S = CountsState

#: Enter in a count moves the focus to the next line's input (the blur saves the count);
#: on the last line it only saves (moving to Submit would let the same Enter press it).
#: All in the browser, so fast typing never races a round trip.
NEXT_ON_ENTER = FunctionStringVar.create(
    "((key) => { if (key !== 'Enter') return; "
    "const all = Array.from(document.querySelectorAll('[data-count-input]'))"
    ".map((el) => el.tagName === 'INPUT' ? el : el.querySelector('input')); "
    "const here = document.activeElement; const next = all[all.indexOf(here) + 1]; "
    "if (next) { next.focus(); } else if (here) { here.blur(); } })"
)
_STATUS_COLOURS = {
    "open": "gray",
    "applied": "green",
    "pending": "amber",
    "rejected": "red",
    "conflict": "red",
}


def _section_head(title: rx.Component | str, *aside: rx.Component) -> rx.Component:
    """A section's h2 with, on the right, what goes beside it (a figure, a button)."""
    heading = rx.heading(title, as_="h2", size="3") if isinstance(title, str) else title
    first = [] if isinstance(title, str) and not title else [heading]
    return rx.hstack(*first, rx.spacer(), *aside, width="100%", align="center")


def _class_badge(abc: rx.Var) -> rx.Component:
    return rx.badge(abc, variant="soft", color_scheme="gray", size="1")


def _due_row(row: DueRow) -> rx.Component:
    return rx.table.row(
        cell(_class_badge(row.abc_class)),
        cell(rx.text(row.sku, style=MONO)),
        cell(muted(row.last_counted, size="2")),
        data_testid="due-row",
    )


def _line_row(line: LineRow) -> rx.Component:
    return rx.table.row(
        cell(_class_badge(line.abc_class)),
        cell(rx.text(line.sku, style=MONO)),
        cell(muted(line.label, size="2")),
        cell(
            rx.vstack(
                rx.input(
                    # Keyed by the count too: a scan's new number replaces what it shows.
                    key=line.id.to_string() + ":" + line.counted,
                    default_value=line.counted, input_mode="numeric",
                    placeholder="Count", aria_label="Counted units of " + line.sku,
                    on_blur=S.record(line.id), on_key_down=NEXT_ON_ENTER,
                    color_scheme=rx.cond(line.error != "", "red", "gray"),
                    width="110px", size="2", data_count_input="1",
                ),
                rx.cond(line.error != "", rx.text(line.error, color="red", size="1", role="alert")),
                spacing="1",
            )
        ),
        **scan_lit(S, line.id.to_string()),
        data_testid="sheet-line",
    )


def _sheet() -> rx.Component:
    return rx.card(
        column(
            _section_head(
                rx.heading("Count sheet #", S.sheet_id, as_="h2", size="3"),
                muted(S.counted_summary, size="2", data_testid="counted-summary"),
            ),
            muted(
                "Count what is on the shelf; the system's number is hidden on purpose. "
                "Scan each unit (barcode, alias or SKU, then Enter) or type a line's count; "
                "Enter moves to the next line.",
                size="2",
            ),
            scan_box(
                S, label="Scan a unit", test_id="count-scan",
                hint="Scan a barcode, or type a SKU, then Enter",
            ),
            rx.box(
                table(
                    *headers("Class", "SKU", "Item", "Counted"),
                    body=rx.foreach(S.sheet_lines, _line_row), test_id="count-sheet",
                ),
                overflow_x="auto", width="100%",
            ),
            _section_head(
                "",
                button(
                    "Submit sheet", "send", id="submit-sheet", on_click=S.submit_sheet,
                    data_testid="submit-sheet", icon_size=15,
                ),
            ),
        ),
        width="100%",
    )


def _today() -> rx.Component:
    return rx.cond(
        S.sheet_id != 0,
        _sheet(),
        column(
            _section_head(
                "Due today",
                button(
                    "Start count", "clipboard-list", on_click=S.start_sheet,
                    disabled=S.classified & (S.due.length() == 0),
                    data_testid="start-count", icon_size=15,
                ),
            ),
            list_view(
                columns=headers("Class", "SKU", "Last counted", widths={"Class": "80px"}),
                rows=S.due, row=_due_row, loaded=S.loaded, error=S.load_error,
                empty=rx.cond(
                    S.classified,
                    empty_state(
                        "circle-check", "Nothing is due today",
                        "Today's share of each class is counted, or nothing is overdue; the "
                        "next SKUs are listed as their class's interval passes.",
                    ),
                    empty_state(
                        "circle-check", "Nothing listed for today",
                        "Start count classes a warehouse's SKUs from units sold the first "
                        "time; after that a SKU is listed when its class's interval has "
                        "passed.",
                    ),
                ),
                test_id="due-table",
            ),
        ),
    )


def _plan_row(row: PlanItem) -> rx.Component:
    return rx.table.row(
        cell(_class_badge(row.abc_class)),
        cell(row.every),
        number_cell(row.tolerance),
        number_cell(row.skus),
        cell(
            rx.cond(
                S.can_plan,
                rx.button(
                    "Edit", size="1", variant="soft", color_scheme="gray",
                    on_click=S.open_plan(row.abc_class),
                    aria_label="Edit the plan of class " + row.abc_class,
                ),
            ),
            justify="end",
        ),
    )


def _plan_dialog() -> rx.Component:
    return form_dialog(
        text_field(
            "Counted every (days)", "plan-every", name="every", type="number", min=1, max=3650,
            required=True, auto_focus=True, default_value=S.form_every,
        ),
        text_field(
            "Tolerance (units either way)", "plan-tolerance", name="tolerance", type="number",
            min=0, required=True, default_value=S.form_tolerance,
            hint="A count this close to the system's number is applied without approval.",
        ),
        title="Plan for class " + S.plan_class,
        description="How often this warehouse counts the class, and how far a count may be "
        "off before a manager decides.",
        **dialog_wiring(S, "plan"),
        on_submit=S.save_plan, submit_label="Save", test_id="plan-dialog",
    )


def _plan() -> rx.Component:
    return column(
        _section_head("Plan"),
        muted(
            "A: the SKUs selling the first 80% of units, B: the next 15%, C: the rest. "
            "A count within the tolerance (units either way) is applied at once; "
            "above it waits for a manager.",
            size="2",
        ),
        table(
            *headers(
                "Class", "Counted every", "Tolerance", "SKUs", "", right=("Tolerance", "SKUs"),
            ),
            body=rx.foreach(S.plan, _plan_row), test_id="count-plan",
        ),
        _plan_dialog(),
        gap="2",
    )


def _variance_row(row: VarianceRow) -> rx.Component:
    return rx.table.row(
        cell(row.warehouse),
        cell(rx.text(row.sku, style=MONO)),
        number_cell(row.expected),
        number_cell(row.counted),
        number_cell(row.difference),
        cell(muted(row.counted_by, size="2")),
        cell(
            rx.hstack(
                rx.button("Approve", size="1", on_click=S.confirm_decision(row.id, "approve")),
                rx.button(
                    "Reject", size="1", variant="soft", color_scheme="gray",
                    on_click=S.confirm_decision(row.id, "reject"),
                ),
                spacing="2", justify="end",
            )
        ),
        data_testid="variance-row",
    )


def _variances() -> rx.Component:
    return rx.cond(
        S.can_approve,
        column(
            _section_head("Variances waiting for approval"),
            list_view(
                columns=headers(
                    "Warehouse", "SKU", "Expected", "Counted", "Difference", "Counted by", "",
                    right=("Expected", "Counted", "Difference"),
                ),
                rows=S.variances, row=_variance_row, loaded=S.loaded, error=S.load_error,
                empty=muted("No variances are waiting.", size="2"),
                test_id="variances-table",
            ),
            target_confirm(
                S, "approve", "Approve count of",
                description="On hand is set to the counted number, unless the stock moved "
                "since the count (then nothing changes and the SKU is due again).",
                on_confirm=S.decide, confirm_label="Approve", danger=False,
                test_id="approve-variance-dialog",
            ),
            target_confirm(
                S, "reject", "Reject count of",
                description="On hand stays as it is and the SKU is due for counting again.",
                on_confirm=S.decide, confirm_label="Reject", test_id="reject-variance-dialog",
            ),
        ),
    )


def _warehouse_picker() -> rx.Component:
    return inline(
        muted("Warehouse", size="2"),
        rx.box(
            select(
                "counts-warehouse", S.warehouses, name="warehouse", value=S.warehouse,
                on_change=S.pick_warehouse,
            ),
            width="260px",
        ),
        gap="3",
    )


@page(
    routes.COUNTS, "Cycle counts", perm="cycle_counts.count", load=S.load,
    nav=Nav("Counts", "clipboard-check"),
    description="Today's counts per warehouse, counted blind; variances above tolerance "
    "wait for a manager.",
)
def counts_page() -> rx.Component:
    return column(
        notice(S.load_error),
        _warehouse_picker(),
        # A manager's decisions first: today's list runs to a hundred lines.
        _variances(),
        _today(),
        _plan(),
        gap="4",
    )
