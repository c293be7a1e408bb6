"""What an import reports: plain dataclasses a page, the CLI or a test can read.

Nothing here holds a session or a DataFrame, so a result can be kept in UI state
(`to_dict()` gives JSON-ready values) or printed as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from models.errors import DomainError

#: progress(phase, fraction): phase is "reading", "checking", "planning" or "writing";
#: fraction goes from 0.0 to 1.0 over the whole run.
Progress = Callable[[str, float], None]


class ImportRefused(DomainError):
    """The file (or the request) cannot be imported at all: empty, too big, unknown layout…"""

    code = "import_refused"


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell. `row` is the spreadsheet row number (the header is row 1)."""

    row: int
    column: str
    value: str
    reason: str

    def describe(self) -> str:
        shown = self.value if len(self.value) <= 40 else self.value[:37] + "…"
        return f"row {self.row}, {self.column or '(row)'} {shown!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportWarning:
    """Something in a valid file a person should check before applying it.

    kind: "vendor" (the Vendor column names another brand), "generated_skus" (new
    variants without a SKU in the file get one we make up), "missing_colour" or
    "missing_size" (new variants created without one). `rows` are the first spreadsheet
    rows concerned, `examples` the first values or product titles; `count` is exact.
    """

    kind: str
    count: int
    message: str
    rows: list[int] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """A few words for a heading."""
        return WARNING_TITLES.get(self.kind, self.kind)

    def describe(self) -> str:
        shown = f" (rows {_rows(self.rows, self.count)})" if self.rows else ""
        return self.message + shown


WARNING_TITLES = {
    "vendor": "Another brand's file?",
    "generated_skus": "SKUs will be generated",
    "missing_colour": "No colour",
    "missing_size": "No size",
}


def _rows(rows: list[int], count: int) -> str:
    text = ", ".join(str(r) for r in rows)
    return text + (f", … {count - len(rows):,} more" if count > len(rows) else "")


@dataclass(frozen=True, slots=True)
class BalanceDiff:
    """One balance the import changes (or would change): old → new on hand."""

    row: int
    sku: str
    style: str
    colour: str
    size: str
    warehouse: str
    old_on_hand: int
    new_on_hand: int
    #: The product's name (the file's Title for a new product), not its handle.
    title: str = ""

    @property
    def delta(self) -> int:
        return self.new_on_hand - self.old_on_hand


@dataclass(frozen=True, slots=True)
class AttributeDiff:
    """One attribute of an existing product the import changes (text as shown)."""

    row: int
    product: str
    field: str
    old: str
    new: str


@dataclass(slots=True)
class ImportCounts:
    #: Data rows in the file (blank lines and image-only rows not counted).
    rows: int = 0
    new_products: int = 0
    new_variants: int = 0
    new_aliases: int = 0
    #: Balances whose on hand differs from the file's count.
    changed_balances: int = 0
    #: Balances the file names whose on hand already equals the file's count.
    unchanged: int = 0
    #: Rows that carry no quantity (blank, or Shopify's "not stocked").
    no_quantity: int = 0
    errors: int = 0
    invalid_rows: int = 0
    #: Existing products whose attributes (tags, fabric, care, season) the file changes.
    changed_products: int = 0


@dataclass(slots=True)
class ImportResult:
    """The outcome of a dry run or an apply.

    status: "dry_run" (nothing written), "applied", "already_applied" (the same file
    was applied before: nothing changed), "refused" (nothing written; `message` and
    `errors` say why) or "failed" (an unexpected error; rolled back).
    """

    status: str
    brand_code: str
    format: str
    file_name: str
    sha256: str
    counts: ImportCounts = field(default_factory=ImportCounts)
    #: The first changes (old → new per warehouse), at most `SAMPLE_SIZE`.
    sample: list[BalanceDiff] = field(default_factory=list)
    #: Every error found, in row order.
    errors: list[RowError] = field(default_factory=list)
    #: The first attribute changes: (row, product title, field, old, new), at most
    #: `SAMPLE_SIZE` products' worth.
    attribute_sample: list[AttributeDiff] = field(default_factory=list)
    #: What to check before applying (an apply needs `accept_warnings` while there are any).
    warnings: list[ImportWarning] = field(default_factory=list)
    message: str = ""
    import_id: int | None = None
    already_applied_as: int | None = None
    mapping_name: str | None = None
    warehouse_code: str | None = None
    encoding: str = ""
    delimiter: str = ""
    skip_invalid: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the run did what was asked (a clean dry run, an apply, or a no-op)."""
        if self.status == "dry_run":
            return not self.errors or self.skip_invalid
        return self.status in {"applied", "already_applied"}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        for diff, raw in zip(self.sample, data["sample"], strict=True):
            raw["delta"] = diff.delta
        return data

    def summary(self) -> str:
        """A few lines for a person: what happened and what it counted."""
        c = self.counts
        head = {
            "dry_run": "dry run (nothing written)",
            "applied": f"applied as import {self.import_id}",
            "already_applied": f"already applied as import {self.already_applied_as}: "
            "nothing changed",
            "refused": "refused: nothing written",
            "failed": "failed: nothing written",
        }.get(self.status, self.status)
        lines = [f"{self.file_name or 'file'} ({self.format}) for {self.brand_code}: {head}"]
        if self.message:
            lines.append(self.message)
        lines.append(
            f"rows {c.rows:,} · new products {c.new_products:,} · new variants "
            f"{c.new_variants:,} · new aliases {c.new_aliases:,} · changed balances "
            f"{c.changed_balances:,} · unchanged {c.unchanged:,} · changed products "
            f"{c.changed_products:,} · errors {c.errors:,}"
            + (f" in {c.invalid_rows:,} rows" if c.errors else "")
        )
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ImportRunRow:
    """One line of the import history."""

    id: int
    brand_code: str
    actor: str
    file_name: str
    format: str
    mapping_name: str | None
    status: str
    rows: int
    new_products: int
    new_variants: int
    changed_balances: int
    error_count: int
    message: str
    created_at: datetime
    finished_at: datetime | None
    reverted_at: datetime | None = None
    reverted_by: str | None = None
