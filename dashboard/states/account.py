"""/account: who you are, and changing your own password (required after an admin set it)."""

from __future__ import annotations

import functools
import logging
from typing import TypedDict

import reflex as rx

from dashboard import routes
from dashboard.states.auth import AuthState, RoleGuard, requires, signed_in_user
from models.accounts import change_own_password
from models.errors import DomainError

log = logging.getLogger(__name__)


class PasswordForm(TypedDict, total=False):
    current_password: str
    new_password: str
    confirm_password: str


class AccountState(RoleGuard, rx.State):
    form_error: str = ""
    saving: bool = False
    #: Bumped after a change so the form (uncontrolled inputs) is drawn empty again.
    form_key: int = 0

    @rx.event
    @requires("account.read")
    def load(self) -> None:
        self.form_error, self.saving = "", False

    @rx.event
    @requires("account.password")
    async def change_password(self, form: PasswordForm):
        current = form.get("current_password") or ""
        new = form.get("new_password") or ""
        if not current or not new:
            self.form_error = "Enter your current password and a new one."
            return
        if new != (form.get("confirm_password") or ""):
            self.form_error = "The new password and its confirmation differ."
            return
        self.saving, self.form_error = True, ""
        yield
        user = signed_in_user()
        try:
            await rx.run_in_thread(functools.partial(change_own_password, user.id, current, new))
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return
        except Exception:
            log.exception("account: changing the password failed")
            self.saving = False
            self.form_error = "Your password could not be changed. Try again in a moment."
            return
        log.info("%s changed their password", user.email)
        self.saving, self.form_key = False, self.form_key + 1
        auth = await self.get_state(AuthState)
        was_temporary = auth.must_change_password
        await auth._current_user()
        yield rx.toast.success("Your password has been changed.")
        if was_temporary:
            yield rx.redirect(routes.OVERVIEW)
