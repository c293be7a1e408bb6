"""Admin › API keys: keys for channels and brand systems; create (the secret is shown
once), revoke. Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict

import reflex as rx

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.listing import (
    Choice,
    PagedList,
    db_read,
    db_write,
)
from dashboard.states.one_time import OneTimeSecrets
from models.admin import ApiKeyRow, brand_choices, list_api_key_rows, revoke_key
from models.api_keys import Scope, create_api_key
from models.rate_limits import format_rate
from models.users import ApiKey

log = logging.getLogger(__name__)

ROUTE = routes.ADMIN_API_KEYS
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
    limit: str = ""
    rate: str = ""
    burst: str = ""

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
            limit=f"{format_rate(row.rate_per_second)} · burst {row.burst}",
            rate=format_rate(row.rate_per_second),
            burst=f"burst {row.burst:,}",
        )


class NewKeyForm(TypedDict, total=False):
    name: str
    scopes: list[str]
    rate: str
    burst: str


class AdminApiKeysState(OneTimeSecrets, RoleGuard, TargetDialog, PagedList, rx.State):
    keys: list[ApiKeyItem] = []
    loaded: bool = False
    load_error: str = ""
    brands: list[Choice] = []

    #: The open dialog (`dialog`): "", "create", "secret" (the new key, once), "revoke".
    form_brand: str = ALL_BRANDS
    new_secret: str = ""
    ONE_TIME_SECRETS: ClassVar[tuple[str, ...]] = ("new_secret",)
    new_key_note: str = ""

    @rx.var
    def summary(self) -> str:
        return plural(self.total, "key") if self.loaded else ""

    @rx.event
    @requires("admin.api_keys")
    async def load(self):
        self._close_dialog()
        await self._refetch()
        return None

    async def _refetch(self) -> None:
        rows = await self._read_rows("API keys", list_api_key_rows, ROUTE)
        if rows is not None:
            self.keys, self.loaded = [ApiKeyItem.of(row) for row in rows], True

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def set_form_brand(self, code: str) -> None:
        """The brand picked in the create dialog. Changes no data."""
        self.form_brand = code

    def _close_dialog(self) -> None:
        """Closing a dialog also forgets a shown secret."""
        super()._close_dialog()
        self.forget_secrets()
        self.new_key_note = ""

    @rx.event
    @requires("admin.api_keys")
    async def open_create(self):
        self._close_dialog()
        self.brands = [
            Choice(ALL_BRANDS, "All brands"),
            *[Choice(code, f"{name} ({code})") for code, name in await db_read(brand_choices)],
        ]
        self.form_brand = ALL_BRANDS
        self.dialog = "create"
        return None

    @rx.event
    @requires("admin.api_keys")
    async def create_key(self, form: NewKeyForm):
        name = (form.get("name") or "").strip()
        scopes = [scope for scope in form.get("scopes") or [] if scope]
        brand = "" if self.form_brand == ALL_BRANDS else self.form_brand
        rate = (form.get("rate") or "").strip() or None
        burst_text = (form.get("burst") or "").strip()
        if burst_text and not burst_text.isdigit():
            self.form_error = f"Burst must be a whole number, got {burst_text!r}."
            return None
        burst = int(burst_text) if burst_text else None
        log.info("%s creates API key %s (%s)", signed_in_user().email, name, ", ".join(scopes))
        return await self._attempt(
            db_write(
                create_api_key,
                name,
                scopes,
                brand_code=brand or None,
                rate=rate,
                burst=burst,
                actor=signed_in_user().email,
            ),
            done=self._show_key,
        )

    def _show_key(self, created: tuple[ApiKey, str]) -> str:
        """After creating: the secret dialog shows the key, once."""
        key, secret = created
        self.dialog = "secret"
        self.new_secret = secret
        self.new_key_note = (
            f"The key for {key.name}. Put it in the client's secret store; it is sent as "
            f"Authorization: Bearer <key>. For OAuth2 tools: client_id {key.id}, the key "
            "as client_secret."
        )
        return f"Created API key {key.name}"

    @rx.event
    @requires("admin.api_keys")
    async def confirm_revoke(self, key_id: int):
        target = row_by_id(self.keys, key_id)
        if target is None:
            return rx.toast.error("That key is not on this page any more. Refresh the list.")
        self._open_target("revoke", target.id, target.name)
        return None

    @rx.event
    @requires("admin.api_keys")
    async def revoke_key(self):
        if self.dialog != "revoke":
            return None
        log.info("%s revokes API key %s", signed_in_user().email, self.target_id)
        return await self._attempt(
            db_write(revoke_key, self.target_id, actor=signed_in_user().email),
            done=lambda key: f"Revoked {key.name}: its requests are refused from now on",
        )
