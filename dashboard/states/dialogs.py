"""The dialog mixin every page state with dialogs shares: which dialog is open, the saving
flag, the inline error, and one `_attempt()` for the ceremony around a change.

    class BrandsState(RoleGuard, DialogState, PagedList, rx.State):
        @rx.event
        @requires("admin.brands")
        async def create_brand(self, form: NewBrandForm):
            return await self._attempt(
                db_write(add_brand, form.get("code", ""), form.get("name", "")),
                done=lambda brand: f"Created brand {brand.name}",
            )

`_attempt` sets `saving`, runs the change, shows a domain error inline in the dialog
(unexpected ones are logged and said in general words, so nothing internal leaks),
and on success closes the dialog, refetches the page (`_refetch`) and answers with a
toast. The dialog components (`components.admin.form_dialog`, `confirm_dialog`) bind
to `dialog`, `saving`, `form_error` and `on_dialog_change`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import reflex as rx
from reflex.event import EventSpec

from dashboard.states.auth import signed_in_user
from dashboard.states.listing import db_write
from models.errors import DomainError

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."


class DialogState(rx.State, mixin=True):
    #: The open dialog's name, "" when none is open.
    dialog: str = ""
    form_error: str = ""
    saving: bool = False

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self._close_dialog()

    def _open_dialog(self, name: str) -> None:
        self.dialog, self.form_error, self.saving = name, "", False

    def _close_dialog(self) -> None:
        self.dialog, self.form_error, self.saving = "", "", False

    async def _refetch(self) -> None:
        """Read the page's data again after a change; pages override it."""

    async def _attempt(
        self,
        change: Awaitable[T],
        *,
        done: str | Callable[[T], str],
        close: bool = True,
        description: str | Callable[[T], str] = "",
    ) -> EventSpec | None:
        """Run `change` (an awaitable doing the write) with the dialog's ceremony.

        Returns the success toast (`done`, and `description` under it when given), or
        None when the error now shows in the dialog.
        """
        self.saving, self.form_error = True, ""
        try:
            result = await change
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("%s: a change failed", type(self).__name__)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        if close:
            self._close_dialog()
        else:
            self.saving = False
        await self._refetch()
        title = done(result) if callable(done) else done
        more = description(result) if callable(description) else description
        return rx.toast.success(title, description=more) if more else rx.toast.success(title)

    async def _act(
        self,
        fn: Callable[..., Any],
        row_id: int,
        noun: str,
        *,
        done: str,
        then: Iterable[EventSpec] = (),
        **kwargs: Any,
    ) -> EventSpec | list[EventSpec] | None:
        """Run `fn(row_id, actor_id=…, **kwargs)` (a domain change of one `noun`) as the
        signed-in user: through `_attempt` while a dialog is open (the error shows in it),
        else with a toast either way (a refused one refetches the page: the row may have
        changed under the user). A success is logged and answered with its toast
        followed by `then`.
        """
        user = signed_in_user()
        change = db_write(fn, row_id, actor_id=user.id, **kwargs)
        what = f"{fn.__name__} {noun} {row_id}"
        if self.dialog:
            toast = await self._attempt(change, done=done)
            if toast is None:
                return None
        else:
            try:
                await change
            except DomainError as error:
                await self._refetch()
                return rx.toast.error(error.message, description="Nothing was changed.")
            except Exception:
                log.exception("%s: %s failed", type(self).__name__, what)
                return rx.toast.error(UNEXPECTED)
            await self._refetch()
            toast = rx.toast.success(done)
        log.info("%s: %s", user.email, what)
        return [toast, *then]


class TargetDialog(DialogState, mixin=True):
    """A `DialogState` whose dialogs act on one row of the page: `target_id`, named in
    the dialog by `target_label`; closing a dialog forgets the target."""

    target_id: int = 0
    target_label: str = ""

    def _close_dialog(self) -> None:
        super()._close_dialog()
        self.target_id, self.target_label = 0, ""

    def _open_target(self, name: str, row_id: int, label: str) -> None:
        """Open dialog `name` on the row `row_id` (a fresh dialog: no error, not saving)."""
        self._close_dialog()
        self.target_id, self.target_label = row_id, label
        self.dialog = name

    async def _save_target(
        self, dialog: str, fn: Callable[..., T], done: Callable[[T], str], /, **kwargs: Any
    ) -> EventSpec | None:
        """`fn(session, target_id, **kwargs, actor=<the signed-in email>)` from `dialog`
        with `_attempt`'s ceremony; nothing when another dialog is open."""
        if self.dialog != dialog:
            return None
        actor = signed_in_user().email
        log.info("%s: %s on %s %s", actor, dialog, type(self).__name__, self.target_id)
        return await self._attempt(db_write(fn, self.target_id, **kwargs, actor=actor), done=done)


def row_by_id(rows: Iterable[R], row_id: int) -> R | None:
    """The row of this page with `id == row_id`, or None (it moved off the page)."""
    return next((row for row in rows if getattr(row, "id", None) == row_id), None)
