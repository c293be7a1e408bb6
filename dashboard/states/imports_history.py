"""Imports, the history: every apply and refused attempt, paged in the URL, and a past
import's errors in a dialog (and as CSV).

`ImportHistory` is a state mixin of `ImportsState`. Everyone may read the history
(`imports.read`); a vendor reads only their own brand's.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping

import reflex as rx

from dashboard import routes
from dashboard.formatting import plural, units
from dashboard.items import Moment
from dashboard.states.auth import requires, signed_in_user
from dashboard.states.downloads import download
from dashboard.states.import_files import FORMAT_LABELS, history_page, run_with_errors
from dashboard.states.imports_items import ErrorItem
from dashboard.states.listing import PagedList, db_read, fetch_page, page_number, page_size
from jobs.imports import ImportRunRow, RevertResult, revert_import
from models.admin import Page

log = logging.getLogger(__name__)

#: Errors shown in the dialog of a past import (its CSV has every stored one).
RUN_ERRORS_SHOWN = 50
STATUS_LABELS = {
    "applied": "Applied",
    "refused": "Refused",
    "failed": "Failed",
    "dry_run": "Dry run",
    "reverted": "Reverted",
}
NOT_YOURS = "That import is not in your history."


@dataclasses.dataclass
class HistoryItem:
    id: int
    when: Moment
    actor: str
    file_name: str
    format_label: str
    brand_code: str
    status: str
    status_label: str
    rows: str
    new_variants: str
    changed: str
    errors: str
    has_errors: bool
    message: str
    #: Applied and not reverted yet: the row offers Revert (to those allowed it).
    can_revert: bool

    @classmethod
    def of(cls, run: ImportRunRow) -> HistoryItem:
        fmt = FORMAT_LABELS.get(run.format, run.format)
        if run.mapping_name:
            fmt = f"Mapping “{run.mapping_name}”"
        status, message = run.status, run.message
        if run.reverted_at is not None:
            status = "reverted"
            message = f"Reverted by {run.reverted_by} on {run.reverted_at:%Y-%m-%d %H:%M} UTC."
        return cls(
            id=run.id,
            when=Moment.of(run.created_at),
            actor=run.actor,
            file_name=run.file_name or "—",
            format_label=fmt,
            brand_code=run.brand_code,
            status=status,
            status_label=STATUS_LABELS.get(status, status),
            rows=units(run.rows),
            new_variants=units(run.new_variants),
            changed=units(run.changed_balances),
            errors=units(run.error_count),
            has_errors=run.error_count > 0,
            message=message,
            can_revert=status == "applied",
        )


class ImportHistory(PagedList, mixin=True):
    """The history list and the past-import errors dialog (`dialog == "run-errors"`,
    from `DialogState`); mixed into `ImportsState`."""

    history: list[HistoryItem] = []
    #: The history has been read once (before that the list shows a spinner).
    loaded: bool = False
    history_error: str = ""

    run_id: int = 0
    run_title: str = ""
    run_message: str = ""
    run_errors: list[ErrorItem] = []
    run_errors_note: str = ""
    revert_id: int = 0
    revert_title: str = ""

    @rx.var
    def history_summary(self) -> str:
        return plural(self.total, "import") if self.loaded else ""

    @staticmethod
    async def _read_history(
        params: Mapping[str, str], brand_scope: int | None
    ) -> Page[ImportRunRow] | None:
        """The page of the history the URL asks for; None when it cannot be read.

        Needs no state: a background event calls it without holding the state lock.
        """
        try:
            return await db_read(
                fetch_page,
                history_page,
                page_number(params),
                page_size(params),
                brand_scope=brand_scope,
            )
        except Exception:
            log.exception("imports: reading the history failed")
            return None

    def _show_history(self, found: Page[ImportRunRow] | None) -> None:
        if found is None:
            self.history_error = "The import history could not be read. Refresh to try again."
            return
        self.history_error = ""
        self.history = [HistoryItem.of(row) for row in found.rows]
        self._show_paging(found, routes.IMPORTS, {})
        self.loaded = True

    # --- reverting an applied import --------------------------------------------------------

    @rx.event
    @requires("imports.revert")
    def open_revert(self, run_id: int):
        """Ask first (the confirm dialog); the domain checks everything again."""
        item = next((h for h in self.history if h.id == int(run_id)), None)
        if item is None or not item.can_revert:
            return rx.toast.error("That import cannot be reverted.")
        self.revert_id = item.id
        self.revert_title = f"Revert import #{item.id} ({item.file_name})?"
        self._open_dialog("revert")
        return None

    @rx.event
    @requires("imports.revert")
    async def confirm_revert(self):
        """Put back every balance the import set, or say (in the dialog) which moved."""
        user = signed_in_user()
        change = rx.run_in_thread(
            functools.partial(
                revert_import, self.revert_id, actor=user.email, brand_scope=user.brand_scope
            )
        )
        toast = await self._attempt(
            change,
            done=lambda r: f"Reverted import #{r.import_id}",
            description=_reverted,
        )
        if toast is not None:
            params = dict(self.router.url.query_parameters)
            self._show_history(await self._read_history(params, user.brand_scope))
        return toast

    # --- a past import's errors -------------------------------------------------------------

    @rx.event
    @requires("imports.read")
    async def open_run_errors(self, run_id: int):
        found = await db_read(run_with_errors, int(run_id), signed_in_user().brand_scope)
        if found is None:
            return rx.toast.error(NOT_YOURS)
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
        self._open_dialog("run-errors")
        return None

    @rx.event
    @requires("imports.read")
    async def download_run_errors(self):
        """The run's stored errors as CSV, fetched by the browser from
        `GET /exports/imports/<id>/errors.csv` (which checks the session and scope)."""
        found = await db_read(run_with_errors, self.run_id, signed_in_user().brand_scope)
        if found is None:
            return rx.toast.error(NOT_YOURS)
        return download(routes.IMPORT_ERRORS_EXPORT.format(run_id=found[0].id))


def _reverted(result: RevertResult) -> str:
    """The toast's line: "2 balances and the attributes of 1 product put back as before…"."""
    products = f" and the attributes of {plural(result.products, 'product')}"
    return (
        f"{plural(result.balances, 'balance')}{products if result.products else ''} put back "
        "as before the import."
    )
