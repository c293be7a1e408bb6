"""Imports, the flow: upload a file, dry-run it (the preview), apply it.

`ImportFlow` is a state mixin of `ImportsState` (states/imports.py), which holds the
choices this flow reads (`brand_code`, `format_value`, `warehouse_code`, `encoding`), the
permission check `_importer()` (the role, and a vendor's own brand) and
`_show_history_page()`.

The long work never holds the tab's state lock while it runs: the upload streams to disk
(`var/uploads/imports/`) in a background event that stops as soon as the file passes the
importer's size limit; the dry run and the apply run in a worker thread from background
events, which take the lock only for a moment to check, to show progress and to show the
result. Applying is only possible after a dry run of exactly the same file and choices.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import reflex as rx

from dashboard.formatting import plural
from dashboard.states.auth import SessionUser
from dashboard.states.import_files import (
    FORMAT_LABELS,
    LIMITS,
    FileFacts,
    Received,
    describe_file,
    discard,
    load_errors,
    new_upload_path,
    receive_into,
    save_errors,
    size_label,
    sweep_old_uploads,
)
from dashboard.states.imports_items import (
    ERROR_PAGE,
    CountsView,
    DiffItem,
    ErrorItem,
    WarningItem,
    attribute_items,
    counts_view,
    drop_refusal,
    error_items,
    result_title,
    result_toast,
)
from jobs.imports import (
    Format,
    ImportOptions,
    ImportRefused,
    ImportResult,
    apply_import,
    dry_run,
    errors_csv,
    load_file,
)
from models.errors import DomainError

log = logging.getLogger(__name__)

UPLOAD_ID = "import-file"
#: The format value of a saved mapping: this prefix and the mapping's name.
MAPPED_PREFIX = "mapped:"
CSV_MIME = "text/csv;charset=utf-8"
BUSY = "Wait until the current check or apply has finished."
#: Imports' own workers for reading and checking whole files: a long dry run or apply
#: never queues behind (or holds up) other pages' database calls in the default executor.
POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="imports")

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


# --- the work, in worker threads ----------------------------------------------------------


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


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """A short blocking call (a file deleted, a small file read) off the event loop."""
    return await rx.run_in_thread(functools.partial(fn, *args))


async def on_pool(fn: Callable[..., Any], *args: Any) -> Any:
    """Long work (a whole file read, checked or applied) on the imports pool, keeping this
    event's context (its log fields say who)."""
    work = functools.partial(contextvars.copy_context().run, fn, *args)
    return await asyncio.get_running_loop().run_in_executor(POOL, work)


# --- the state ------------------------------------------------------------------------------


class ImportFlow(rx.State, mixin=True):
    """Upload, dry run (preview) and apply; mixed into `ImportsState`."""

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
    #: An existing product's attribute the file changes (row, product, field, old, new).
    attribute_changes: list[dict[str, str]] = []
    error_total: int = 0
    error_rows: list[ErrorItem] = []
    error_offset: int = 0
    skip_invalid: bool = False
    #: The dry run's warnings, and the tick "I have checked these warnings" (reset with
    #: every new file or dry run) without which Apply stays disabled.
    warnings: list[WarningItem] = []
    warnings_checked: bool = False
    #: The file and choices of the last dry run that an apply may follow.
    _checked_key: str = ""

    # --- computed -------------------------------------------------------------------------

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
            and (not self.warnings or self.warnings_checked)
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
        if self.warnings and not self.warnings_checked:
            return "Read the warnings above, then tick “I have checked these warnings”."
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

    # --- the upload -------------------------------------------------------------------------

    @rx.event
    def set_skip_invalid(self, on: bool) -> None:
        """The switch only; the apply handler checks everything again."""
        self.skip_invalid = bool(on)

    @rx.event
    def set_warnings_checked(self, on: bool) -> None:
        """The tick only; the apply passes it on and the importer checks again."""
        self.warnings_checked = bool(on)

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

        The browser sends only each file's name and the reasons' codes (see
        `components.uploads.drop_zone`), never the file itself.
        """
        items = [item for item in rejected or [] if isinstance(item, dict)]
        codes = {str(code) for item in items for code in item.get("codes") or []}
        name = str(items[0].get("name") or "") if items else ""
        # The refused file replaces the last one (whose upload the sweep removes).
        self._forget_file()
        self._forget_result()
        self._refuse_file(Path(name).name[:255], drop_refusal(codes))

    @rx.event(background=True)
    async def receive_upload(self, chunks: rx.UploadChunkIterator):
        """Stream the dropped file to disk, refusing it once it passes the size limit;
        then read its header row and guess its layout."""
        async with self:
            access = await self.require("imports.run")
            if not access:
                return access.refusal
            if self.busy:
                return rx.toast.warning(BUSY)
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
        await _in_thread(discard, previous)
        await _in_thread(sweep_old_uploads)
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
            facts: FileFacts = await on_pool(describe_file, str(path))
        except DomainError as refused:
            await _in_thread(discard, str(path))
            async with self:
                self._refuse_file(received.file_name, refused.message)
            return None
        except Exception:
            log.exception("imports: reading the header of %s failed", received.file_name)
            await _in_thread(discard, str(path))
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
        """Drop the last check: any change of file or choices needs a new dry run."""
        self.result_kind = ""
        self.result_title = ""
        self.result_message = ""
        self.result_checked = False
        self.applied_as = 0
        self.counts = CountsView()
        self.sample = []
        self.sample_note = ""
        self.attribute_changes = []
        self.error_total = 0
        self.error_rows = []
        self.error_offset = 0
        self.warnings = []
        self.warnings_checked = False
        self._checked_key = ""

    @rx.event
    async def clear_file(self):
        access = await self.require("imports.run")
        if not access:
            return access.refusal
        if self.busy:
            return rx.toast.warning(BUSY)
        previous = self._upload_path
        self._forget_file()
        self._forget_result()
        await _in_thread(discard, previous)
        return None

    # --- dry run and apply ---------------------------------------------------------------

    def _key(self) -> str:
        return "|".join(
            (
                self._upload_path,
                self.brand_code,
                self.format_value,
                self.warehouse_code,
                self.encoding,
            )
        )

    def _options(
        self, user: SessionUser, *, skip_invalid: bool, accept_warnings: bool = False
    ) -> ImportOptions:
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
            accept_warnings=accept_warnings,
            encoding=self.encoding,
            limits=LIMITS,
            reveal_owner=user.brand_scope is None,  # vendors never learn other brands
        )

    async def _may_start(self) -> tuple[SessionUser | None, Any]:
        """The checked importer, and why the dry run or apply may not start (or None).

        Inside `async with self`."""
        access = await self._importer()
        if not access or access.user is None:
            return None, access.refusal
        return access.user, self._not_ready()

    def _not_ready(self) -> Any:
        if self.busy:
            return rx.toast.warning(BUSY)
        if self.file_state != "ready" or not self._upload_path:
            return rx.toast.error("Upload a file first.")
        if not self.brand_code or not self.format_value:
            return rx.toast.error("Choose the brand and the kind of file first.")
        return None

    def _start(self, kind: str) -> None:
        self.busy = kind
        self.progress = 0
        self.progress_label = "Starting…"

    async def _tracked(
        self, kind: str, action: Callable[..., ImportResult], options: ImportOptions, path: str
    ) -> ImportResult:
        """Run `action` in a worker thread, showing its progress until it is done.

        The state lock is taken only for each progress step, never while the work runs.
        """
        box = _ProgressBox(kind)
        task = asyncio.ensure_future(on_pool(_run_file, action, path, options, box))
        shown = -1
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.3)
            if done:
                return task.result()
            if box.percent != shown:
                shown = box.percent
                async with self:
                    self.progress, self.progress_label = box.percent, box.label

    @rx.event(background=True)
    async def run_dry_run(self):
        """Check the file against the catalogue and show what applying would change."""
        async with self:
            user, refusal = await self._may_start()
            if user is None or refusal:
                return refusal
            options = self._options(user, skip_invalid=False)
            path, key = self._upload_path, self._key()
            self._forget_result()
            self._start("dry_run")
        try:
            result = await self._tracked("dry_run", dry_run, options, path)
        except Exception:
            log.exception("imports: dry run of %s failed", options.file_name)
            async with self:
                self.busy = ""
                self.result_kind, self.result_title = "failed", "Failed"
                self.result_message = "The dry run failed unexpectedly. Try again in a moment."
            return rx.toast.error("The dry run failed. Nothing was changed.")
        async with self:
            self.busy = ""
            self._show_result(result)
            if result.status == "dry_run" and key == self._key():
                self._checked_key = key
                self.result_checked = True
        return None

    @rx.event(background=True)
    async def apply(self):
        """Apply the checked file: all or nothing, or without its invalid rows."""
        async with self:
            user, refusal = await self._may_start()
            if user is None or refusal:
                return refusal
            if not self._checked_key or self._checked_key != self._key():
                return rx.toast.error(
                    "Run the dry run first",
                    description="The file or the choices changed since the last check.",
                )
            if self.applied_as:
                return rx.toast.info(f"This file was applied as import #{self.applied_as}.")
            options = self._options(
                user,
                skip_invalid=self.skip_invalid,
                accept_warnings=bool(self.warnings) and self.warnings_checked,
            )
            path = self._upload_path
            params = dict(self.router.url.query_parameters)
            self._start("apply")
        try:
            result = await self._tracked("apply", apply_import, options, path)
        except Exception:
            log.exception("imports: applying %s failed", options.file_name)
            async with self:
                self.busy = ""
            return rx.toast.error("The import failed and nothing was applied. Try again.")
        history = await self._read_history(params, user.brand_scope)
        async with self:
            self.busy = ""
            self._show_result(result)
            if result.status == "refused":  # perhaps other warnings: they need a new tick
                self.warnings_checked = False
            self.result_checked = result.status not in ("applied", "already_applied")
            applied = {"applied": result.import_id, "already_applied": result.already_applied_as}
            self.applied_as = applied.get(result.status) or 0
            self._show_history(history)
        return result_toast(result)

    def _show_result(self, result: ImportResult) -> None:
        self.result_kind = result.status
        self.result_title = result_title(result)
        self.result_message = result.message
        self.counts = counts_view(result)
        self.sample = [DiffItem.of(diff) for diff in result.sample]
        changed = result.counts.changed_balances
        self.sample_note = (
            f"The first {len(result.sample):,} of {changed:,} changes."
            if changed > len(result.sample)
            else ""
        )
        self.attribute_changes = attribute_items(result.attribute_sample)
        self.error_total = len(result.errors)
        self.error_offset = 0
        self.error_rows = error_items(result.errors)
        self.warnings = [WarningItem.of(warning) for warning in result.warnings]

    # --- the error list ------------------------------------------------------------------

    @rx.event
    async def page_errors(self, step: int):
        """The previous (-1) or next (+1) page of the error list."""
        access = await self._importer()
        if not access:
            return access.refusal
        offset = self.error_offset + (ERROR_PAGE if step > 0 else -ERROR_PAGE)
        offset = max(0, min(offset, max(0, self.error_total - 1)))
        errors = await _in_thread(load_errors, self._upload_path)
        self.error_total = len(errors)
        self.error_offset = offset - offset % ERROR_PAGE
        self.error_rows = error_items(errors, self.error_offset)
        return None

    @rx.event
    async def download_errors(self):
        """Every error of the last check as CSV (cells made formula-safe)."""
        access = await self._importer()
        if not access:
            return access.refusal
        errors = await _in_thread(load_errors, self._upload_path)
        if not errors:
            return rx.toast.info("There are no errors to download.")
        stem = Path(self.file_name or "import").stem[:80] or "import"
        return rx.download(
            data=errors_csv(errors), filename=f"{stem}-errors.csv", mime_type=CSV_MIME
        )
