"""Imports: upload a brand's CSV feed, dry-run it, apply it, and read the history.

One page state made of three parts, each in its own module:

* `states/imports_flow.py`: the upload, the dry run (preview) and the apply;
* `states/imports_mapping.py`: the column mapping editor (a dialog);
* `states/imports_history.py`: the history list and a past import's errors (a dialog);
* (`states/imports_items.py`: what they show, as plain data)

and here what they share: the page's load, the choices (brand, kind of file,
warehouse) and the permission checks. They are state mixins, not substates, because
all of them work on the same uploaded file and the same choices.

Who may do what, checked on the server in every handler (any client can send any event):

* admins and merchandisers import for any brand;
* vendors import only for their own brand — the brand is fixed by their account, and an
  event naming another brand is refused, whatever the page showed;
* managers read the history (every brand's), and change nothing;
* vendors read only their own brand's history.
"""

from __future__ import annotations

import logging

import reflex as rx

from dashboard.states.auth import Access, RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import DialogState
from dashboard.states.import_files import brand_code_of, brand_mappings, page_choices
from dashboard.states.imports_flow import MAPPED_PREFIX, ImportFlow
from dashboard.states.imports_history import ImportHistory
from dashboard.states.imports_mapping import NO_WAREHOUSE, MappingEditor
from dashboard.states.listing import Choice, db_read
from jobs.imports import Format
from jobs.imports.reading import ENCODINGS
from models.policy import allows

log = logging.getLogger(__name__)

#: The encoding picker: (value, label) for each of `jobs.imports.reading.ENCODINGS`.
ENCODING_CHOICES: list[tuple[str, str]] = [
    ("auto", "Detect automatically"),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 with BOM"),
    ("cp1252", "Windows-1252 (Excel on Windows)"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
    ("utf-16", "UTF-16 (Excel's Unicode text)"),
]


class ImportsState(RoleGuard, DialogState, ImportHistory, MappingEditor, ImportFlow, rx.State):
    load_error: str = ""
    can_import: bool = False
    can_revert: bool = False
    is_vendor: bool = False
    brand_locked: bool = False
    brand_name: str = ""

    brands: list[Choice] = []
    warehouses: list[Choice] = []
    mappings: list[str] = []
    brand_code: str = ""
    format_value: str = ""
    warehouse_code: str = ""
    #: How the file's bytes are read: "auto" detects, any other is used as chosen.
    encoding: str = "auto"

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

    # --- access -------------------------------------------------------------------------

    async def _importer(self) -> Access:
        """An import action: the role, and for a vendor that the brand is their own.

        In a background event call it inside `async with self`.
        """
        access = await self.require("imports.run")
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

    # --- the page ------------------------------------------------------------------------

    @rx.event
    async def load(self):
        """on_load: choices for this user, and the history page from the URL."""
        access = await self.require("imports.read")
        if not access or access.user is None:
            self.reset()
            return access.page_refusal
        user = access.user
        self.can_import = allows(user.role, "imports.run")
        self.can_revert = allows(user.role, "imports.revert")
        self.is_vendor = user.brand_scope is not None
        self._close_dialog()
        try:
            brands, warehouses = await db_read(page_choices, user.brand_scope)
        except Exception:
            log.exception("imports: reading the choices failed")
            self.load_error = "The page could not be read. Refresh to try again."
            return None
        self.load_error = ""
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
        params = self.router.url.query_parameters
        self._show_history(await self._read_history(params, user.brand_scope))
        return None

    async def _load_mappings(self) -> None:
        self.mappings = await db_read(brand_mappings, self.brand_code) if self.brand_code else []
        if self.format_value.startswith(MAPPED_PREFIX) and (
            self.format_value.removeprefix(MAPPED_PREFIX) not in self.mappings
        ):
            self.format_value = ""

    async def _refetch(self) -> None:
        """After a dialog saved a mapping: the brand's mappings again."""
        await self._load_mappings()

    # --- choosing brand, format, encoding, warehouse -----------------------------------

    @rx.event
    @requires("imports.run")
    async def choose_brand(self, code: str):
        access = await self._own_brand(Access(signed_in_user()), code)
        if not access:
            return access.refusal
        if code not in {choice.value for choice in self.brands}:
            return rx.toast.error("That brand is not on the list. Refresh the page.")
        if code != self.brand_code:
            self.brand_code = code
            self._forget_result()
            await self._load_mappings()
        return None

    async def _choose(self, name: str, value: str, allowed: set[str], refused: str):
        """Set choice `name` to `value` (one of `allowed`), forgetting a result read
        under the old one; only an importer may, and a vendor only for their brand."""
        access = await self._importer()
        if not access:
            return access.refusal
        if value not in allowed:
            return rx.toast.error(refused)
        if value != getattr(self, name):
            setattr(self, name, value)
            self._forget_result()
        return None

    @rx.event
    async def choose_format(self, value: str):
        allowed = {choice.value for choice in self.format_choices}
        return await self._choose(
            "format_value", value, allowed, "Choose one of the listed formats or mappings."
        )

    @rx.event
    async def choose_encoding(self, value: str):
        return await self._choose(
            "encoding", value, set(ENCODINGS), "Choose one of the listed encodings."
        )

    @rx.event
    async def choose_warehouse(self, code: str):
        access = await self._importer()
        if not access:
            return access.refusal
        code = "" if code == NO_WAREHOUSE else code
        if code and code not in {choice.value for choice in self.warehouses}:
            return rx.toast.error("That warehouse is not on the list. Refresh the page.")
        if code != self.warehouse_code:
            self.warehouse_code = code
            self._forget_result()
        return None
