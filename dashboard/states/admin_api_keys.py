"""Admin › API keys: keys for channels and brand systems; create (the secret is shown
once), revoke. Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict

import reflex as rx

from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard
from dashboard.states.listing import (
    Choice,
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
)
from models.admin import ApiKeyRow, brand_choices, list_api_key_rows, revoke_key
from models.api_keys import Scope, create_api_key
from models.errors import DomainError
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/admin/api-keys"
ADMIN = Role.ADMIN
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."
ALL_BRANDS = "*"
#: Each scope and what it lets a key do, as the create dialog explains it.
SCOPE_CHOICES: list[tuple[str, str]] = [
    (Scope.STOCK_READ.value, "Read stock levels and balances"),
    (Scope.STOCK_WRITE.value, "Set counts, record receipts and returns"),
    (Scope.RESERVATIONS_WRITE.value, "Reserve, commit and release at checkout"),
    (Scope.POLLS_WRITE.value, "Send customer demand (poll votes)"),
]


@dataclasses.dataclass
class ApiKeyItem:
    id: int = 0
    name: str = ""
    prefix: str = ""
    scopes: list[str] = dataclasses.field(default_factory=list)
    brand: str = ""
    created: str = ""
    created_exact: str = ""
    last_used: str = ""
    last_used_exact: str = ""
    live: bool = True
    revoked: str = ""
    revoked_exact: str = ""

    @classmethod
    def of(cls, row: ApiKeyRow) -> ApiKeyItem:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix + "…",
            scopes=list(row.scopes),
            brand=row.brand_name,
            created=relative_time(row.created_at),
            created_exact=exact_time(row.created_at),
            last_used=relative_time(row.last_used_at),
            last_used_exact=exact_time(row.last_used_at),
            live=row.revoked_at is None,
            revoked=relative_time(row.revoked_at),
            revoked_exact=exact_time(row.revoked_at),
        )


class NewKeyForm(TypedDict, total=False):
    name: str
    scopes: list[str]


class AdminApiKeysState(RoleGuard, PagedList, rx.State):
    keys: list[ApiKeyItem] = []
    loaded: bool = False
    load_error: str = ""
    brands: list[Choice] = []

    #: The open dialog: "", "create", "secret" (the new key, once), "revoke".
    dialog: str = ""
    form_brand: str = ALL_BRANDS
    form_error: str = ""
    saving: bool = False
    target_id: int = 0
    target_label: str = ""
    new_secret: str = ""
    new_key_note: str = ""

    @rx.var
    def summary(self) -> str:
        return plural(self.total, "key") if self.loaded else ""

    @rx.event
    async def load(self):
        access = await self.require_role(ADMIN, action="see API keys")
        if not access:
            self.keys, self.loaded = [], False
            self._close()
            return access.page_refusal
        self._close()
        await self._fetch()
        return None

    async def _fetch(self) -> None:
        try:
            found = await db_read(
                fetch_page, list_api_key_rows, page_number(self.router.url.query_parameters)
            )
        except Exception:
            log.exception("admin API keys: reading the list failed")
            self.load_error = "The API keys could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.keys = [ApiKeyItem.of(row) for row in found.rows]
        self._show_paging(found, ROUTE, {})
        self.loaded = True

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel, Done or a click outside closes the dialog (and forgets a shown
        secret). Changes no data."""
        if not open_:
            self._close()

    @rx.event
    def set_form_brand(self, code: str) -> None:
        """The brand picked in the create dialog. Changes no data."""
        self.form_brand = code

    def _close(self) -> None:
        self.dialog, self.form_error, self.saving = "", "", False
        self.target_id, self.target_label = 0, ""
        self.new_secret, self.new_key_note = "", ""

    @rx.event
    async def open_create(self):
        access = await self.require_role(ADMIN, action="create API keys")
        if not access:
            return access.refusal
        self._close()
        self.brands = [
            Choice(ALL_BRANDS, "All brands"),
            *[Choice(code, f"{name} ({code})") for code, name in await db_read(brand_choices)],
        ]
        self.form_brand = ALL_BRANDS
        self.dialog = "create"
        return None

    @rx.event
    async def create_key(self, form: NewKeyForm):
        access = await self.require_role(ADMIN, action="create API keys")
        if not access:
            return access.refusal
        name = (form.get("name") or "").strip()
        scopes = [scope for scope in form.get("scopes") or [] if scope]
        brand = "" if self.form_brand == ALL_BRANDS else self.form_brand
        self.saving = True
        try:
            key, secret = await db_write(create_api_key, name, scopes, brand_code=brand or None)
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin API keys: creating %r failed", name)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s created API key %s (%s)", access.user.email, key.name, ", ".join(key.scopes))
        self._close()
        self.dialog = "secret"
        self.new_secret = secret
        self.new_key_note = (
            f"The key for {key.name}. Put it in the client's secret store; it is sent as "
            "Authorization: Bearer <key>."
        )
        await self._fetch()
        return rx.toast.success(f"Created API key {key.name}")

    @rx.event
    async def confirm_revoke(self, key_id: int):
        access = await self.require_role(ADMIN, action="revoke API keys")
        if not access:
            return access.refusal
        target = next((k for k in self.keys if k.id == key_id), None)
        if target is None:
            return rx.toast.error("That key is not on this page any more. Refresh the list.")
        self._close()
        self.target_id, self.target_label = target.id, target.name
        self.dialog = "revoke"
        return None

    @rx.event
    async def revoke_key(self):
        access = await self.require_role(ADMIN, action="revoke API keys")
        if not access:
            return access.refusal
        if self.dialog != "revoke":
            return None
        self.saving = True
        try:
            key = await db_write(revoke_key, self.target_id)
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin API keys: revoking %s failed", self.target_id)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s revoked API key %s", access.user.email, key.name)
        self._close()
        await self._fetch()
        return rx.toast.success(f"Revoked {key.name}: its requests are refused from now on")
