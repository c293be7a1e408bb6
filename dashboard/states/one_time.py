"""Secrets a page shows once (a new API key, a temporary password, a poll's webhook
secret): in the state only while their dialog is open, and never written to disk.

Reflex pickles each state after events — to `.states/` (one process) or Redis — so a
secret kept in a field would sit there in clear. `OneTimeSecrets` leaves the named
fields out of every pickle (their defaults are saved instead) and `forget_secrets()`
blanks them when the dialog closes. The browser got the value in the event's delta and
shows it from there; no later event needs it on the server.
"""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx

from dashboard.states.admin_common import AdminPage, checked
from dashboard.states.listing import Choice, db_read
from models.admin import brand_choices

#: The brand picker's choice for "every brand".
ALL_BRANDS = "*"


class OneTimeSecrets:
    """Mixin for page states (`class S(OneTimeSecrets, RoleGuard, rx.State)`), listed
    first so that its `__getstate__` wraps Reflex's.

    A plain class, not a state, so `forget_secrets` is not an event the browser can call.
    """

    #: The fields holding a secret shown once.
    ONE_TIME_SECRETS: ClassVar[tuple[str, ...]] = ()

    def forget_secrets(self) -> None:
        """Blank the one-time secrets (the dialog showing them has closed)."""
        for name in self.ONE_TIME_SECRETS:
            setattr(self, name, self.__fields__[name].default_value())  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # type: ignore[misc]
        for name in self.ONE_TIME_SECRETS:
            if name in state:
                state[name] = self.__fields__[name].default_value()  # type: ignore[attr-defined]
        return state


class SecretDialog(OneTimeSecrets, AdminPage, mixin=True):
    """An admin list whose create dialog (or a row's) ends by showing a secret once: a new
    API key, a webhook's signing secret, a temporary password.

    It holds the brand picker of the create dialog, the secret (`new_secret`, never
    pickled) and the note above it; closing any dialog forgets both. List it first in
    the state's bases, so that `OneTimeSecrets` wraps Reflex's pickling.
    """

    ONE_TIME_SECRETS: ClassVar[tuple[str, ...]] = ("new_secret",)
    new_secret: str = ""
    secret_note: str = ""
    brands: list[Choice] = []
    form_brand: str = ""

    @rx.event
    def set_form_brand(self, code: str) -> None:
        """The brand picked in a dialog. Changes no data."""
        self.form_brand = code

    def _close_dialog(self) -> None:
        """Closing a dialog also forgets a shown secret."""
        super()._close_dialog()
        self.forget_secrets()
        self.secret_note = ""

    async def _load_brands(self, everyone: str = "") -> None:
        """The brand picker's choices; first `everyone` ("All brands") when given."""
        brands = [Choice(code, f"{name} ({code})") for code, name in await db_read(brand_choices)]
        self.brands = [Choice(ALL_BRANDS, everyone), *brands] if everyone else brands

    @rx.event
    async def open_create(self):
        """The create dialog, fresh (checked against the page's permission)."""
        return await checked(self.LISTING.perm, "open_create", type(self)._open_create)(self)

    async def _open_create(self, everyone: str = "All brands") -> None:
        """The create dialog, fresh, its brand picker on `everyone`."""
        self._close_dialog()
        await self._load_brands(everyone)
        self.form_brand = ALL_BRANDS if everyone else ""
        self.dialog = "create"

    def _brand_code(self) -> str | None:
        """The picked brand's code; None for all brands."""
        return None if self.form_brand in (ALL_BRANDS, "") else self.form_brand

    def _show_secret(self, secret: str, note: str, dialog: str = "secret") -> None:
        """The secret's dialog shows `secret` under `note`, once."""
        self.dialog, self.new_secret, self.secret_note = dialog, secret, note
