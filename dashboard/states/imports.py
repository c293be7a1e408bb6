"""Imports: upload a brand's CSV feed, dry-run it, apply it, and read the history.

Who may do what, checked on the server in every handler (any client can send any event):

* admins and merchandisers import for any brand;
* vendors import only for their own brand — the brand is fixed by their account, and an
  event naming another brand is refused, whatever the page showed;
* managers read the history (every brand's), and change nothing;
* vendors read only their own brand's history.

The work: the upload streams to disk (`var/uploads/imports/`) in a background event that
stops as soon as the file passes the importer's size limit; the dry run and the apply
run in worker threads from background events, reporting their progress to the page.
Applying is only possible after a dry run with exactly the same file and choices.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypedDict

import reflex as rx

from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.auth import ALL_ROLES, Access, RoleGuard, SessionUser
from dashboard.states.import_files import (
    FORMAT_LABELS,
    LIMITS,
    FileFacts,
    Received,
    brand_code_of,
    brand_mappings,
    column_values,
    describe_file,
    discard,
    history_page,
    load_errors,
    mapping_of,
    new_upload_path,
    page_choices,
    receive_into,
    run_with_errors,
    save_errors,
    size_label,
    store_mapping,
    sweep_old_uploads,
    too_big_message,
)
from dashboard.states.listing import Choice, PagedList, db_read, db_write, fetch_page, page_number
from jobs.imports import (
    FIELDS,
    BalanceDiff,
    Format,
    ImportOptions,
    ImportRefused,
    ImportResult,
    ImportRunRow,
    MappingSpec,
    RowError,
    apply_import,
    dry_run,
    errors_csv,
    load_file,
    suggest_mapping,
)
from models.errors import DomainError
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/imports"
UPLOAD_ID = "import-file"
#: Who may upload, check and apply files, and edit mappings.
IMPORTERS: tuple[Role, ...] = (Role.ADMIN, Role.MERCHANDISER, Role.VENDOR)
#: Rows of the error list per page.
ERROR_PAGE = 20
#: Errors shown in the dialog of a past import (its CSV has every stored one).
RUN_ERRORS_SHOWN = 50
#: The value of a mapping's column select meaning "this file has no such column".
NO_COLUMN = "__none__"
#: The value of the default-warehouse select meaning "no default".
NO_WAREHOUSE = "__none__"
MAPPED_PREFIX = "mapped:"
CSV_MIME = "text/csv;charset=utf-8"
UNEXPECTED = "Something went wrong and nothing was changed. Try again in a moment."

STATUS_LABELS = {
    "applied": "Applied",
    "refused": "Refused",
    "failed": "Failed",
    "dry_run": "Dry run",
}

#: Progress: each phase of the importer fills a share of the bar.
_PHASES: dict[str, dict[str, tuple[int, int, str]]] = {
    "dry_run": {
        "reading": (0, 20, "Reading the file…"),
        "checking": (20, 40, "Checking every row…"),
        "planning": (20, 100, "Checking every row against the catalogue…"),
    },
    "apply": {
        "reading": (0, 10, "Reading the file…"),
        "checking": (10, 20, "Checking every row…"),
        "planning": (10, 45, "Checking every row against the catalogue…"),
        "writing": (45, 100, "Writing stock and ledger…"),
    },
}


# --- what the page shows --------------------------------------------------------------------


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


@dataclasses.dataclass
class DiffItem:
    """One balance the import changes: old → new on hand at a warehouse."""

    row: str = ""
    sku: str = ""
    product: str = ""
    variant: str = ""
    warehouse: str = ""
    old: str = ""
    new: str = ""
    delta: str = ""
    up: bool = True

    @classmethod
    def of(cls, diff: BalanceDiff) -> DiffItem:
        delta = diff.delta
        return cls(
            row=units(diff.row),
            sku=diff.sku,
            product=diff.style,
            variant=" / ".join(part for part in (diff.colour, diff.size) if part) or "—",
            warehouse=diff.warehouse,
            old=units(diff.old_on_hand),
            new=units(diff.new_on_hand),
            delta=f"+{delta:,}" if delta > 0 else f"−{-delta:,}",
            up=delta > 0,
        )


@dataclasses.dataclass
class ErrorItem:
    row: str = ""
    column: str = ""
    value: str = ""
    reason: str = ""

    @classmethod
    def of(cls, error: RowError) -> ErrorItem:
        value = error.value if len(error.value) <= 80 else error.value[:79] + "…"
        return cls(units(error.row), error.column or "(row)", value, error.reason)


@dataclasses.dataclass
class HistoryItem:
    id: int = 0
    when: str = ""
    when_exact: str = ""
    actor: str = ""
    file_name: str = ""
    format_label: str = ""
    brand_code: str = ""
    status: str = ""
    status_label: str = ""
    rows: str = ""
    new_variants: str = ""
    changed: str = ""
    errors: str = ""
    has_errors: bool = False
    message: str = ""

    @classmethod
    def of(cls, run: ImportRunRow) -> HistoryItem:
        fmt = FORMAT_LABELS.get(run.format, run.format)
        if run.mapping_name:
            fmt = f"Mapping “{run.mapping_name}”"
        return cls(
            id=run.id,
            when=relative_time(run.created_at),
            when_exact=exact_time(run.created_at),
            actor=run.actor,
            file_name=run.file_name or "—",
            format_label=fmt,
            brand_code=run.brand_code,
            status=run.status,
            status_label=STATUS_LABELS.get(run.status, run.status),
            rows=units(run.rows),
            new_variants=units(run.new_variants),
            changed=units(run.changed_balances),
            errors=units(run.error_count),
            has_errors=run.error_count > 0,
            message=run.message,
        )


@dataclasses.dataclass
class MapField:
    """One of our fields in the mapping editor and the file's column chosen for it."""

    field: str = ""
    label: str = ""
    description: str = ""
    header: str = NO_COLUMN
    values_hint: str = ""


class MappingForm(TypedDict, total=False):
    name: str
    sizes: str
    colours: str
    locations: str
    default_location: str
    default_category: str
    default_colour: str
    default_size: str


_FIELD_LABELS = {
    "sku": "SKU",
    "handle": "Style / handle",
    "title": "Product name",
    "category": "Category",
    "colour": "Colour",
    "size": "Size",
    "barcode": "Barcode",
    "price": "Price",
    "location": "Location",
    "quantity": "Quantity on hand",
}
_VALUE_MAPS = (("sizes", "Sizes"), ("colours", "Colours"), ("locations", "Locations"))


def parse_value_map(text: str, what: str) -> dict[str, str]:
    """ "their label = ours" per line → dict; blank lines and blank right sides skipped."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            raise ImportRefused(
                f"{what}, line {number}: write it as “their label = ours”, e.g. “Mittel = M”."
            )
        theirs, ours = (part.strip() for part in line.split("=", 1))
        if theirs and ours:
            out[theirs] = ours
    return out


def value_map_text(values: dict[str, str]) -> str:
    return "\n".join(f"{theirs} = {ours}" for theirs, ours in values.items())


class _ProgressBox:
    """Written by the importer's worker thread, read by the background event."""

    def __init__(self, kind: str) -> None:
        self.phases = _PHASES[kind]
        self.percent = 0
        self.label = "Starting…"

    def __call__(self, phase: str, fraction: float) -> None:
        start, end, label = self.phases.get(phase, (self.percent, self.percent, self.label))
        self.percent = max(self.percent, int(start + (end - start) * max(0.0, min(fraction, 1.0))))
        self.label = label


def _run_file(
    action: Callable[..., ImportResult], path: str, options: ImportOptions, progress: _ProgressBox
) -> ImportResult:
    """Read the uploaded file and dry-run or apply it; errors are kept beside the file.

    Blocking: runs in a worker thread.
    """
    try:
        data = load_file(path, options.limits)
    except ImportRefused as refused:
        return ImportResult(
            status="refused",
            brand_code=options.brand_code,
            format=options.format or "",
            file_name=options.file_name,
            sha256="",
            message=refused.message,
        )
    result = action(data, options, progress=progress)
    save_errors(path, result.errors)
    return result


async def _chain(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for item in rest:
        yield item


# --- the state --------------------------------------------------------------------------


class ImportsState(RoleGuard, PagedList, rx.State):
    loaded: bool = False
    load_error: str = ""
    can_import: bool = False
    is_vendor: bool = False
    brand_locked: bool = False
    brand_name: str = ""

    brands: list[Choice] = []
    warehouses: list[Choice] = []
    mappings: list[str] = []
    brand_code: str = ""
    format_value: str = ""
    warehouse_code: str = ""

    #: "", "uploading", "ready" or "refused".
    file_state: str = ""
    upload_percent: int = 0
    file_name: str = ""
    file_summary: str = ""
    file_layout: str = ""
    file_error: str = ""
    _upload_path: str = ""
    _headers: list[str] = []

    #: "" or the work in progress: "dry_run" or "apply".
    busy: str = ""
    progress: int = 0
    progress_label: str = ""
    #: "", "dry_run", "applied", "already_applied", "refused" or "failed".
    result_kind: str = ""
    result_title: str = ""
    result_message: str = ""
    result_checked: bool = False
    applied_as: int = 0
    counts: CountsView = CountsView()
    sample: list[DiffItem] = []
    sample_note: str = ""
    error_total: int = 0
    error_rows: list[ErrorItem] = []
    error_offset: int = 0
    skip_invalid: bool = False
    #: The file and choices of the last dry run that an apply may follow.
    _checked_key: str = ""

    history: list[HistoryItem] = []

    #: The open dialog: "", "mapping" or "run-errors".
    dialog: str = ""
    map_title: str = ""
    map_name: str = ""
    map_fields: list[MapField] = []
    map_headers: list[str] = []
    map_sizes: str = ""
    map_colours: str = ""
    map_locations: str = ""
    map_default_location: str = NO_WAREHOUSE
    map_default_category: str = ""
    map_default_colour: str = ""
    map_default_size: str = ""
    map_error: str = ""
    saving: bool = False
    _column_values: dict[str, list[str]] = {}

    run_title: str = ""
    run_message: str = ""
    run_errors: list[ErrorItem] = []
    run_errors_note: str = ""
    run_id: int = 0

    # --- computed -------------------------------------------------------------------------

    @rx.var
    def format_choices(self) -> list[Choice]:
        fixed = [
            Choice(Format.SHOPIFY_PRODUCTS.value, "Shopify product export"),
            Choice(Format.SHOPIFY_INVENTORY.value, "Shopify inventory export"),
        ]
        return fixed + [Choice(MAPPED_PREFIX + name, f"Mapping: {name}") for name in self.mappings]

    @rx.var
    def mapping_selected(self) -> bool:
        return self.format_value.startswith(MAPPED_PREFIX)

    @rx.var
    def needs_warehouse(self) -> bool:
        return self.format_value == Format.SHOPIFY_PRODUCTS.value

    @rx.var
    def shows_warehouse(self) -> bool:
        return self.format_value == Format.SHOPIFY_PRODUCTS.value or self.format_value.startswith(
            MAPPED_PREFIX
        )

    @rx.var
    def ready_to_check(self) -> bool:
        return (
            self.file_state == "ready"
            and self.brand_code != ""
            and self.format_value != ""
            and (self.format_value != Format.SHOPIFY_PRODUCTS.value or self.warehouse_code != "")
            and self.busy == ""
        )

    @rx.var
    def check_hint(self) -> str:
        if self.file_state != "ready":
            return "Upload a file first."
        if not self.brand_code:
            return "Choose the brand this file is for."
        if not self.format_value:
            return "Choose what kind of file this is, or create a mapping for its columns."
        if self.format_value == Format.SHOPIFY_PRODUCTS.value and not self.warehouse_code:
            return "A Shopify product export has no locations: choose the warehouse."
        return "Nothing is written until you apply."

    @rx.var
    def can_apply(self) -> bool:
        return (
            self.result_checked
            and self.busy == ""
            and self.applied_as == 0
            and (not self.counts.has_errors or self.skip_invalid)
        )

    @rx.var
    def apply_hint(self) -> str:
        if self.applied_as:
            return f"Applied as import #{self.applied_as}. Upload another file to import more."
        if not self.result_checked:
            return ""
        if self.counts.has_errors and not self.skip_invalid:
            return (
                "All or nothing: while any row has an error nothing is applied. Fix the file "
                "and upload it again, or skip the invalid rows."
            )
        if self.counts.has_errors:
            return f"The {self.counts.invalid_rows} with errors are left out; the rest apply."
        return "Everything applies in one transaction, or nothing does."

    @rx.var
    def error_range(self) -> str:
        if not self.error_total:
            return ""
        last = min(self.error_offset + ERROR_PAGE, self.error_total)
        return f"{self.error_offset + 1:,}–{last:,} of {self.error_total:,}"

    @rx.var
    def has_previous_errors(self) -> bool:
        return self.error_offset > 0

    @rx.var
    def has_next_errors(self) -> bool:
        return self.error_offset + ERROR_PAGE < self.error_total

    @rx.var
    def history_summary(self) -> str:
        return plural(self.total, "import") if self.loaded else ""

    # --- access -------------------------------------------------------------------------

    async def _importer(self, action: str) -> Access:
        """An import action: the role, and for a vendor that the brand is their own."""
        access = await self.require_role(*IMPORTERS, action=action)
        if not access or access.user is None:
            return access
        return await self._own_brand(access, self.brand_code)

    async def _own_brand(self, access: Access, code: str) -> Access:
        user = access.user
        assert user is not None
        if user.brand_scope is None:
            return access
        own = await db_read(brand_code_of, user.brand_scope)
        if code and code == own:
            return access
        reason = f"You can import only for {user.brand_name}."
        log.warning("refused %s (vendor of %s): import for %r", user.email, own, code)
        return Access(
            user,
            reason,
            refusal=[
                rx.toast.error(
                    reason, description="Nothing was changed. Your account is bound to your brand."
                )
            ],
        )

    def _key(self) -> str:
        return "|".join(
            (self._upload_path, self.brand_code, self.format_value, self.warehouse_code)
        )

    # --- the page ------------------------------------------------------------------------

    @rx.event
    async def load(self):
        """on_load: choices for this user, and the history page from the URL."""
        access = await self.require_role(*ALL_ROLES, action="see imports")
        if not access or access.user is None:
            self._clear_all()
            return access.page_refusal
        user = access.user
        self.can_import = user.role in IMPORTERS
        self.is_vendor = user.brand_scope is not None
        self.dialog = ""
        try:
            brands, warehouses = await db_read(page_choices, user.brand_scope)
        except Exception:
            log.exception("imports: reading the choices failed")
            self.load_error = "The page could not be read. Refresh to try again."
            return None
        self.brands = [Choice(code, f"{name} ({code})") for code, name in brands]
        self.warehouses = [Choice(code, f"{name} ({code})") for code, name in warehouses]
        codes = [code for code, _ in brands]
        if self.is_vendor:
            self.brand_locked = True
            self.brand_code = codes[0] if codes else ""
            self.brand_name = brands[0][1] if brands else ""
        elif self.brand_code not in codes:
            self.brand_code = codes[0] if len(codes) == 1 else ""
        if self.warehouse_code not in {code for code, _ in warehouses}:
            self.warehouse_code = ""
        await self._load_mappings()
        await self._fetch_history(page_number(self.router.url.query_parameters), user)
        return None

    async def _load_mappings(self) -> None:
        self.mappings = await db_read(brand_mappings, self.brand_code) if self.brand_code else []
        if self.format_value.startswith(MAPPED_PREFIX) and (
            self.format_value.removeprefix(MAPPED_PREFIX) not in self.mappings
        ):
            self.format_value = ""

    async def _fetch_history(self, page: int, user: SessionUser) -> None:
        try:
            found = await db_read(fetch_page, history_page, page, brand_scope=user.brand_scope)
        except Exception:
            log.exception("imports: reading the history failed")
            self.load_error = "The import history could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.history = [HistoryItem.of(row) for row in found.rows]
        self._show_paging(found, ROUTE, {})
        self.loaded = True

    def _clear_all(self) -> None:
        self.reset()

    # --- choosing brand, format, warehouse ---------------------------------------------

    @rx.event
    async def choose_brand(self, code: str):
        access = await self.require_role(*IMPORTERS, action="import files")
        if not access or access.user is None:
            return access.refusal
        access = await self._own_brand(access, code)
        if not access:
            return access.refusal
        if code not in {choice.value for choice in self.brands}:
            return rx.toast.error("That brand is not on the list. Refresh the page.")
        if code != self.brand_code:
            self.brand_code = code
            self._forget_result()
            await self._load_mappings()
        return None

    @rx.event
    async def choose_format(self, value: str):
        access = await self._importer("import files")
        if not access:
            return access.refusal
        if value not in {choice.value for choice in self.format_choices}:
            return rx.toast.error("Choose one of the listed formats or mappings.")
        if value != self.format_value:
            self.format_value = value
            self._forget_result()
        return None

    @rx.event
    async def choose_warehouse(self, code: str):
        access = await self._importer("import files")
        if not access:
            return access.refusal
        code = "" if code == NO_WAREHOUSE else code
        if code and code not in {choice.value for choice in self.warehouses}:
            return rx.toast.error("That warehouse is not on the list. Refresh the page.")
        if code != self.warehouse_code:
            self.warehouse_code = code
            self._forget_result()
        return None

    @rx.event
    def set_skip_invalid(self, on: bool) -> None:
        """The switch only; the apply handler checks everything again."""
        self.skip_invalid = bool(on)

    # --- the upload ------------------------------------------------------------------------

    @rx.event
    def upload_progress(self, progress: dict[str, Any]) -> None:
        """The browser's upload progress (a number on screen; no data)."""
        if self.file_state != "uploading":  # a late tick after the file arrived
            return
        try:
            percent = int(float(progress.get("progress", 0)) * 100)
        except (TypeError, ValueError):
            return
        self.upload_percent = max(0, min(percent, 100))

    @rx.event
    def drop_rejected(self, rejected: list[dict[str, Any]]) -> None:
        """The drop zone refused a file before sending it (too big, not a CSV, several).

        The browser sends only each file's name and the reasons' codes (see the page's
        `on_drop_rejected`), never the file itself.
        """
        items = [item for item in rejected or [] if isinstance(item, dict)]
        codes = {str(code) for item in items for code in item.get("codes") or []}
        name = str(items[0].get("name") or "") if items else ""
        if "too-many-files" in codes:
            message = "Upload one file at a time."
        elif "file-too-large" in codes:
            message = too_big_message()
        elif "file-invalid-type" in codes:
            message = (
                "This is not a CSV file. Rackroom reads .csv, .tsv and .txt files: export "
                "the sheet as CSV and upload that."
            )
        else:
            message = "The file could not be uploaded. Choose a CSV file and try again."
        # The refused file replaces the last one (whose upload the sweep removes).
        self._forget_file()
        self._forget_result()
        self.file_state = "refused"
        self.file_error = message
        self.file_name = Path(name).name[:255]

    @rx.event(background=True)
    async def receive_upload(self, chunks: rx.UploadChunkIterator):
        """Stream the dropped file to disk, refusing it once it passes the size limit;
        then read its header row and guess its layout."""
        async with self:
            access = await self.require_role(*IMPORTERS, action="upload import files")
            if not access:
                return access.refusal
            if self.busy:
                return rx.toast.warning("Wait until the current check or apply has finished.")
        stream = aiter(chunks)
        first = await anext(stream, None)
        if first is None:
            # The drop zone refused the file (too big, not a CSV) and sent nothing: its
            # own handler says why; leave the page as it is.
            return None
        async with self:
            previous = self._upload_path
            self._forget_file()
            self._forget_result()
            self.file_state = "uploading"
        await rx.run_in_thread(functools.partial(discard, previous))
        await rx.run_in_thread(sweep_old_uploads)
        path = new_upload_path()
        try:
            received = await receive_into(path, _chain(first, stream), LIMITS.max_bytes)
        except Exception:
            log.exception("imports: receiving an upload failed")
            async with self:
                self._refuse_file("", "The upload did not complete. Try again.")
            return None
        if received.error:
            async with self:
                self._refuse_file(received.file_name, received.error)
            return None
        try:
            facts: FileFacts = await rx.run_in_thread(functools.partial(describe_file, str(path)))
        except DomainError as refused:
            await rx.run_in_thread(functools.partial(discard, str(path)))
            async with self:
                self._refuse_file(received.file_name, refused.message)
            return None
        except Exception:
            log.exception("imports: reading the header of %s failed", received.file_name)
            await rx.run_in_thread(functools.partial(discard, str(path)))
            async with self:
                self._refuse_file(received.file_name, "The file could not be read as CSV.")
            return None
        async with self:
            self._show_file(str(path), received, facts)
        return None

    def _refuse_file(self, name: str, message: str) -> None:
        self.file_state = "refused"
        self.file_name = name
        self.file_error = message
        self.upload_percent = 0

    def _show_file(self, path: str, received: Received, facts: FileFacts) -> None:
        self._upload_path = path
        self._headers = facts.headers
        self.file_state = "ready"
        self.file_name = received.file_name or "upload.csv"
        self.file_error = ""
        self.upload_percent = 100
        self.file_summary = (
            f"{size_label(received.size)} · {plural(len(facts.headers), 'column')} · "
            f"{facts.encoding.upper()}, {facts.delimiter}-separated"
        )
        if facts.format:
            self.format_value = facts.format
            self.file_layout = f"Looks like a {FORMAT_LABELS[facts.format]}."
        else:
            if not self.format_value.startswith(MAPPED_PREFIX):
                self.format_value = ""
            self.file_layout = (
                "Not a Shopify export: choose this brand's saved mapping, or create one "
                "from the file's columns."
            )

    def _forget_file(self) -> None:
        self._upload_path = ""
        self._headers = []
        self.file_state = ""
        self.file_name = ""
        self.file_summary = ""
        self.file_layout = ""
        self.file_error = ""
        self.upload_percent = 0
        self.skip_invalid = False  # every new file starts all-or-nothing

    def _forget_result(self) -> None:
        self.result_kind = ""
        self.result_title = ""
        self.result_message = ""
        self.result_checked = False
        self.applied_as = 0
        self.counts = CountsView()
        self.sample = []
        self.sample_note = ""
        self.error_total = 0
        self.error_rows = []
        self.error_offset = 0
        self._checked_key = ""

    @rx.event
    async def clear_file(self):
        access = await self.require_role(*IMPORTERS, action="upload import files")
        if not access:
            return access.refusal
        if self.busy:
            return rx.toast.warning("Wait until the current check or apply has finished.")
        previous = self._upload_path
        self._forget_file()
        self._forget_result()
        await rx.run_in_thread(functools.partial(discard, previous))
        return None

    # --- dry run and apply ---------------------------------------------------------------

    def _options(self, user: SessionUser, *, skip_invalid: bool) -> ImportOptions:
        fmt, mapping = self.format_value, None
        if fmt.startswith(MAPPED_PREFIX):
            fmt, mapping = Format.MAPPED.value, fmt.removeprefix(MAPPED_PREFIX)
        return ImportOptions(
            brand_code=self.brand_code,
            format=fmt,
            mapping_name=mapping,
            warehouse_code=self.warehouse_code or None,
            file_name=self.file_name,
            actor=user.email,
            skip_invalid=skip_invalid,
            limits=LIMITS,
        )

    async def _tracked(
        self, kind: str, action: Callable[..., ImportResult], options: ImportOptions, path: str
    ) -> ImportResult:
        """Run `action` in a worker thread, showing its progress until it is done."""
        box = _ProgressBox(kind)
        task = asyncio.ensure_future(
            rx.run_in_thread(functools.partial(_run_file, action, path, options, box))
        )
        shown = -1
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.3)
            if done:
                return task.result()
            if box.percent != shown:
                shown = box.percent
                async with self:
                    self.progress, self.progress_label = box.percent, box.label

    def _start(self, kind: str) -> None:
        self.busy = kind
        self.progress = 0
        self.progress_label = "Starting…"

    @rx.event(background=True)
    async def run_dry_run(self):
        """Check the file against the catalogue and show what applying would change."""
        async with self:
            access = await self._importer("check import files")
            if not access or access.user is None:
                return access.refusal
            refusal = self._not_ready()
            if refusal:
                return refusal
            options = self._options(access.user, skip_invalid=False)
            path, key = self._upload_path, self._key()
            self._forget_result()
            self._start("dry_run")
        try:
            result = await self._tracked("dry_run", dry_run, options, path)
        except Exception:
            log.exception("imports: dry run of %s failed", options.file_name)
            async with self:
                self.busy = ""
                self._show_failure("The dry run failed unexpectedly. Try again in a moment.")
            return rx.toast.error("The dry run failed. Nothing was changed.")
        async with self:
            self.busy = ""
            self._show_result(result)
            if result.status == "dry_run" and key == self._key():
                self._checked_key = key
                self.result_checked = True
            self.error_rows = [ErrorItem.of(e) for e in result.errors[:ERROR_PAGE]]
        return None

    def _not_ready(self) -> Any:
        if self.busy:
            return rx.toast.warning("Wait until the current check or apply has finished.")
        if self.file_state != "ready" or not self._upload_path:
            return rx.toast.error("Upload a file first.")
        if not self.brand_code or not self.format_value:
            return rx.toast.error("Choose the brand and the kind of file first.")
        return None

    @rx.event(background=True)
    async def apply(self):
        """Apply the checked file: all or nothing, or without its invalid rows."""
        async with self:
            access = await self._importer("apply imports")
            if not access or access.user is None:
                return access.refusal
            refusal = self._not_ready()
            if refusal:
                return refusal
            if not self._checked_key or self._checked_key != self._key():
                return rx.toast.error(
                    "Run the dry run first",
                    description="The file or the choices changed since the last check.",
                )
            if self.applied_as:
                return rx.toast.info(f"This file was applied as import #{self.applied_as}.")
            options = self._options(access.user, skip_invalid=self.skip_invalid)
            path = self._upload_path
            user = access.user
            self._start("apply")
        try:
            result = await self._tracked("apply", apply_import, options, path)
        except Exception:
            log.exception("imports: applying %s failed", options.file_name)
            async with self:
                self.busy = ""
            return rx.toast.error("The import failed and nothing was applied. Try again.")
        async with self:
            self.busy = ""
            self._show_result(result)
            self.result_checked = result.status not in ("applied", "already_applied")
            if result.status == "applied" and result.import_id:
                self.applied_as = result.import_id
            elif result.status == "already_applied" and result.already_applied_as:
                self.applied_as = result.already_applied_as
            self.error_rows = [ErrorItem.of(e) for e in result.errors[:ERROR_PAGE]]
            await self._fetch_history(page_number(self.router.url.query_parameters), user)
        return self._toast(result)

    def _toast(self, result: ImportResult) -> Any:
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

    def _show_failure(self, message: str) -> None:
        self.result_kind = "failed"
        self.result_title = "Failed"
        self.result_message = message

    def _show_result(self, result: ImportResult) -> None:
        c = result.counts
        self.result_kind = result.status
        self.result_title = {
            "dry_run": "Dry run: nothing written yet",
            "applied": f"Applied as import #{result.import_id}",
            "already_applied": f"Already applied as import #{result.already_applied_as}",
            "refused": "Refused: nothing was written",
            "failed": "Failed: nothing was written",
        }.get(result.status, result.status)
        self.result_message = result.message
        self.counts = CountsView(
            rows=units(c.rows),
            new_products=units(c.new_products),
            new_variants=units(c.new_variants),
            changed=units(c.changed_balances),
            unchanged=units(c.unchanged),
            errors=units(c.errors),
            invalid_rows=plural(c.invalid_rows, "row"),
            has_errors=c.errors > 0,
        )
        self.sample = [DiffItem.of(diff) for diff in result.sample]
        more = c.changed_balances - len(result.sample)
        self.sample_note = (
            f"The first {len(result.sample):,} of {c.changed_balances:,} changes."
            if more > 0
            else ""
        )
        self.error_total = len(result.errors)
        self.error_offset = 0

    # --- the error list ------------------------------------------------------------------

    @rx.event
    async def page_errors(self, step: int):
        """The previous (-1) or next (+1) page of the error list."""
        access = await self._importer("check import files")
        if not access:
            return access.refusal
        offset = self.error_offset + (ERROR_PAGE if step > 0 else -ERROR_PAGE)
        offset = max(0, min(offset, max(0, self.error_total - 1)))
        errors = await rx.run_in_thread(functools.partial(load_errors, self._upload_path))
        self.error_total = len(errors)
        self.error_offset = offset - offset % ERROR_PAGE
        self.error_rows = [
            ErrorItem.of(e) for e in errors[self.error_offset : self.error_offset + ERROR_PAGE]
        ]
        return None

    @rx.event
    async def download_errors(self):
        """Every error of the last check as CSV (cells made formula-safe)."""
        access = await self._importer("check import files")
        if not access:
            return access.refusal
        errors = await rx.run_in_thread(functools.partial(load_errors, self._upload_path))
        if not errors:
            return rx.toast.info("There are no errors to download.")
        stem = Path(self.file_name or "import").stem[:80] or "import"
        return rx.download(
            data=errors_csv(errors), filename=f"{stem}-errors.csv", mime_type=CSV_MIME
        )

    # --- a past import's errors -------------------------------------------------------------

    @rx.event
    async def open_run_errors(self, run_id: int):
        access = await self.require_role(*ALL_ROLES, action="see imports")
        if not access or access.user is None:
            return access.refusal
        found = await db_read(run_with_errors, int(run_id), access.user.brand_scope)
        if found is None:
            return rx.toast.error("That import is not in your history.")
        run, errors = found
        self.run_id = int(run_id)
        self.run_title = f"Import #{run.id} · {run.file_name or 'file'}"
        self.run_message = run.message
        self.run_errors = [ErrorItem.of(e) for e in errors[:RUN_ERRORS_SHOWN]]
        self.run_errors_note = (
            f"The first {RUN_ERRORS_SHOWN} of {run.error_count:,} errors; the CSV has "
            f"{len(errors):,}."
            if run.error_count > RUN_ERRORS_SHOWN
            else plural(run.error_count, "error")
        )
        self.dialog = "run-errors"
        return None

    @rx.event
    async def download_run_errors(self):
        access = await self.require_role(*ALL_ROLES, action="see imports")
        if not access or access.user is None:
            return access.refusal
        found = await db_read(run_with_errors, self.run_id, access.user.brand_scope)
        if found is None:
            return rx.toast.error("That import is not in your history.")
        run, errors = found
        return rx.download(
            data=errors_csv(errors), filename=f"import-{run.id}-errors.csv", mime_type=CSV_MIME
        )

    # --- the mapping editor ------------------------------------------------------------------

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self.dialog = ""
            self.map_error = ""
            self.saving = False

    @rx.event
    def set_map_column(self, field: str, header: str) -> None:
        """A column picked in the mapping editor (saved only by save_mapping)."""
        self.map_fields = [
            dataclasses.replace(item, header=header, values_hint=self._hint(header))
            if item.field == field
            else item
            for item in self.map_fields
        ]

    def _hint(self, header: str) -> str:
        values = self._column_values.get(header, [])
        return ("In this file: " + ", ".join(values)) if values else ""

    @rx.event
    async def open_mapping_editor(self, edit: bool):
        """Create a mapping from the uploaded file's own headers, or edit the chosen one."""
        access = await self._importer("edit column mappings")
        if not access:
            return access.refusal
        name = self.format_value.removeprefix(MAPPED_PREFIX) if edit else ""
        if edit and not self.format_value.startswith(MAPPED_PREFIX):
            return rx.toast.error("Choose a saved mapping to edit.")
        if not edit and not self._headers:
            return rx.toast.error(
                "Upload a file first", description="A mapping is built from the file's columns."
            )
        spec: MappingSpec | None = None
        if edit:
            try:
                spec = await db_read(mapping_of, self.brand_code, name)
            except DomainError as error:
                return rx.toast.error(error.message)
        headers = list(self._headers)
        if spec is not None:
            headers += [h for h in spec.columns.values() if h not in headers]
        self._column_values = await rx.run_in_thread(
            functools.partial(column_values, self._upload_path)
        )
        chosen = spec.columns if spec is not None else suggest_mapping(self._headers)
        self.map_headers = headers
        self.map_fields = [
            MapField(
                field=key,
                label=_FIELD_LABELS.get(key, key),
                description=description,
                header=chosen.get(key, NO_COLUMN),
                values_hint=self._hint(chosen.get(key, "")),
            )
            for key, description in FIELDS.items()
        ]
        self.map_name = name or Path(self.file_name).stem[:100]
        self.map_title = f"Edit mapping “{name}”" if edit else "New column mapping"
        self.map_sizes = value_map_text(spec.sizes) if spec else ""
        self.map_colours = value_map_text(spec.colours) if spec else ""
        self.map_locations = (
            value_map_text(spec.locations) if spec else self._unknown_locations(chosen)
        )
        defaults = spec.defaults if spec else {}
        self.map_default_location = defaults.get("location", NO_WAREHOUSE)
        self.map_default_category = defaults.get("category", "")
        self.map_default_colour = defaults.get("colour", "")
        self.map_default_size = defaults.get("size", "")
        self.map_error = ""
        self.saving = False
        self.dialog = "mapping"
        return None

    def _unknown_locations(self, chosen: dict[str, str]) -> str:
        """Lines to fill in for the file's locations that name no warehouse."""
        known = set()
        for choice in self.warehouses:
            known.add(choice.value.lower())
            known.add(choice.label.rsplit(" (", 1)[0].lower())
        values = self._column_values.get(chosen.get("location", ""), [])
        return "\n".join(f"{value} = " for value in values if value.lower() not in known)

    @rx.event
    async def save_mapping(self, form: MappingForm):
        access = await self._importer("edit column mappings")
        if not access:
            return access.refusal
        if self.dialog != "mapping":
            return None
        name = " ".join(str(form.get("name") or "").split())
        defaults = {
            "location": str(form.get("default_location") or ""),
            "category": str(form.get("default_category") or "").strip(),
            "colour": str(form.get("default_colour") or "").strip(),
            "size": str(form.get("default_size") or "").strip(),
        }
        defaults = {k: v for k, v in defaults.items() if v and v != NO_WAREHOUSE}
        self.saving = True
        try:
            spec = MappingSpec.from_json(
                {
                    "columns": {
                        item.field: item.header
                        for item in self.map_fields
                        if item.header and item.header != NO_COLUMN
                    },
                    "sizes": parse_value_map(str(form.get("sizes") or ""), "Sizes"),
                    "colours": parse_value_map(str(form.get("colours") or ""), "Colours"),
                    "locations": parse_value_map(str(form.get("locations") or ""), "Locations"),
                    "defaults": defaults,
                }
            )
            stored = await db_write(store_mapping, self.brand_code, name, spec)
        except DomainError as error:
            self.saving, self.map_error = False, error.message
            return None
        except Exception:
            log.exception("imports: saving mapping %r failed", name)
            self.saving, self.map_error = False, UNEXPECTED
            return None
        log.info("%s saved mapping %r for %s", access.user.email, stored, self.brand_code)
        self.saving = False
        self.dialog = ""
        await self._load_mappings()
        self.format_value = MAPPED_PREFIX + stored
        self._forget_result()
        return rx.toast.success(
            f"Saved mapping “{stored}”",
            description="It is selected for this file; run the dry run to check it.",
        )
