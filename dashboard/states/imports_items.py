"""Imports, what the page shows of a check or an apply: counts, changed balances, errors,
and the words of results and refusals (plain data and text; no state)."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from dashboard.formatting import plural, units
from dashboard.states.import_files import too_big_message
from jobs.imports import BalanceDiff, ImportResult, ImportWarning, RowError
from jobs.imports.results import AttributeDiff
from models.polls.csv_votes import VoteRowError

#: Rows of the error list per page.
ERROR_PAGE = 20

_RESULT_TITLES = {
    "dry_run": "Dry run: nothing written yet",
    "refused": "Refused: nothing was written",
    "failed": "Failed: nothing was written",
}


@dataclasses.dataclass
class CountsView:
    rows: str = "0"
    new_products: str = "0"
    new_variants: str = "0"
    changed: str = "0"
    unchanged: str = "0"
    errors: str = "0"
    invalid_rows: str = ""
    has_errors: bool = False
    #: "2 products" whose attributes (tags, fabric, care, season) the file changes.
    changed_products: str = ""


def attribute_items(diffs: list[AttributeDiff]) -> list[dict[str, str]]:
    """An import's attribute changes as the page lists them (row, product, field, old, new)."""
    return [
        dataclasses.asdict(d) | {"row": units(d.row), "old": d.old or "—", "new": d.new or "—"}
        for d in diffs
    ]


@dataclasses.dataclass
class DiffItem:
    """One balance the import changes: old → new on hand at a warehouse."""

    row: str
    sku: str
    product: str
    variant: str
    warehouse: str
    old: str
    new: str
    delta: str
    up: bool

    @classmethod
    def of(cls, diff: BalanceDiff) -> DiffItem:
        delta = diff.delta
        return cls(
            row=units(diff.row),
            sku=diff.sku,
            product=diff.title or diff.style,
            variant=" / ".join(part for part in (diff.colour, diff.size) if part) or "—",
            warehouse=diff.warehouse,
            old=units(diff.old_on_hand),
            new=units(diff.new_on_hand),
            delta=f"+{delta:,}" if delta > 0 else f"−{-delta:,}",
            up=delta > 0,
        )


@dataclasses.dataclass
class WarningItem:
    """One kind of warning of a dry run: its title, count and the first rows."""

    kind: str
    title: str
    text: str

    @classmethod
    def of(cls, warning: ImportWarning) -> WarningItem:
        return cls(warning.kind, f"{warning.title} ({warning.count:,})", warning.describe())


@dataclasses.dataclass
class ErrorItem:
    """One bad cell of an uploaded file (an import's, a poll's survey export): its row,
    column (field), value and why."""

    row: str
    column: str
    value: str
    reason: str

    @classmethod
    def of(cls, error: RowError | VoteRowError) -> ErrorItem:
        value = error.value if len(error.value) <= 80 else error.value[:79] + "…"
        return cls(units(error.row), error.column or "(row)", value, error.reason)


def error_items(errors: list[RowError], offset: int = 0) -> list[ErrorItem]:
    """One page of the error list, from `offset`."""
    return [ErrorItem.of(error) for error in errors[offset : offset + ERROR_PAGE]]


def counts_view(result: ImportResult) -> CountsView:
    c = result.counts
    return CountsView(
        rows=units(c.rows),
        new_products=units(c.new_products),
        new_variants=units(c.new_variants),
        changed=units(c.changed_balances),
        unchanged=units(c.unchanged),
        errors=units(c.errors),
        invalid_rows=plural(c.invalid_rows, "row"),
        has_errors=c.errors > 0,
        changed_products=plural(c.changed_products, "product"),
    )


def result_title(result: ImportResult) -> str:
    if result.status == "applied":
        return f"Applied as import #{result.import_id}"
    if result.status == "already_applied":
        return f"Already applied as import #{result.already_applied_as}"
    return _RESULT_TITLES.get(result.status, result.status)


def result_toast(result: ImportResult) -> Any:
    """What an apply says when it ends."""
    c = result.counts
    if result.status == "applied":
        skipped = f"; {plural(c.invalid_rows, 'invalid row')} skipped" if c.invalid_rows else ""
        return rx.toast.success(
            f"Applied import #{result.import_id}",
            description=f"{plural(c.changed_balances, 'balance')} changed, "
            f"{plural(c.new_variants, 'new variant')}{skipped}.",
        )
    if result.status == "already_applied":
        return rx.toast.info(
            f"Already applied as import #{result.already_applied_as}",
            description="The same file was applied before; nothing changed.",
        )
    return rx.toast.error("Nothing was applied", description=result.message)


def drop_refusal(codes: set[str]) -> str:
    """Why the drop zone refused a file, from react-dropzone's error codes."""
    if "too-many-files" in codes:
        return "Upload one file at a time."
    if "file-too-large" in codes:
        return too_big_message()
    if "file-invalid-type" in codes:
        return (
            "This is not a CSV file. Rackroom reads .csv, .tsv and .txt files: export "
            "the sheet as CSV and upload that."
        )
    return "The file could not be uploaded. Choose a CSV file and try again."
