"""Admin › API keys: keys for channels and brand systems; create (the secret is shown
once), revoke. Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict

import reflex as rx

from dashboard import routes
from dashboard.items import Moment, item_of
from dashboard.states.admin_common import Listing, confirm_row
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_write
from dashboard.states.one_time import SecretDialog
from models.admin import ApiKeyRow, list_api_key_rows, revoke_key
from models.api_keys import Scope, create_api_key
from models.rate_limits import format_rate
from models.users import ApiKey

log = logging.getLogger(__name__)

#: Each scope and what it lets a key do, as the create dialog explains it.
SCOPE_CHOICES: list[tuple[str, str]] = [
    (Scope.STOCK_READ.value, "Read stock levels and balances"),
    (Scope.STOCK_WRITE.value, "Set counts, record receipts and returns"),
    (Scope.RESERVATIONS_WRITE.value, "Reserve, commit and release at checkout"),
    (Scope.POLLS_WRITE.value, "Send customer demand (poll votes)"),
]


@dataclasses.dataclass
class ApiKeyItem:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    brand: str
    created: Moment
    last_used: Moment
    live: bool
    revoked: Moment
    limit: str
    rate: str
    burst: str

    @classmethod
    def of(cls, row: ApiKeyRow) -> ApiKeyItem:
        rate = format_rate(row.rate_per_second)
        return item_of(
            cls,
            row,
            prefix=row.prefix + "…",
            scopes=list(row.scopes),
            brand=row.brand_name,
            created=Moment.of(row.created_at),
            last_used=Moment.of(row.last_used_at),
            live=row.revoked_at is None,
            revoked=Moment.of(row.revoked_at),
            limit=f"{rate} · burst {row.burst}",
            rate=rate,
            burst=f"burst {row.burst:,}",
        )


class NewKeyForm(TypedDict, total=False):
    name: str
    scopes: list[str]
    rate: str
    burst: str


class AdminApiKeysState(SecretDialog, RoleGuard, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.api_keys", "API keys", list_api_key_rows, routes.ADMIN_API_KEYS,
        "keys", ApiKeyItem.of, ("key",),
    )
    #: The open dialog (`dialog`): "", "create", "secret" (the new key, once), "revoke".
    keys: list[ApiKeyItem] = []

    @rx.event
    @requires("admin.api_keys")
    async def create_key(self, form: NewKeyForm):
        name = (form.get("name") or "").strip()
        scopes = [scope for scope in form.get("scopes") or [] if scope]
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
                brand_code=self._brand_code(),
                rate=rate,
                burst=burst,
                actor=signed_in_user().email,
            ),
            done=self._show_key,
        )

    def _show_key(self, created: tuple[ApiKey, str]) -> str:
        """After creating: the secret dialog shows the key, once."""
        key, secret = created
        self._show_secret(
            secret,
            f"The key for {key.name}. Put it in the client's secret store; it is sent as "
            f"Authorization: Bearer <key>. For OAuth2 tools: client_id {key.id}, the key "
            "as client_secret.",
        )
        return f"Created API key {key.name}"

    confirm_revoke = confirm_row("revoke", lambda key: key.name)

    @rx.event
    @requires("admin.api_keys")
    async def revoke_key(self):
        return await self._save_target(
            "revoke",
            revoke_key,
            lambda key: f"Revoked {key.name}: its requests are refused from now on",
        )
