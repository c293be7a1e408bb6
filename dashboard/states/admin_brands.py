"""Admin › Brands: the brands Rackroom holds stock for; list and create.
Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict

import reflex as rx

from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.auth import RoleGuard
from dashboard.states.listing import PagedList, db_read, db_write, fetch_page, page_number
from models.admin import BrandRow, add_brand, list_brands
from models.errors import DomainError
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/admin/brands"
ADMIN = Role.ADMIN
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."


@dataclasses.dataclass
class BrandItem:
    id: int = 0
    code: str = ""
    name: str = ""
    products: str = "0"
    vendors: str = "0"
    created: str = ""
    created_exact: str = ""

    @classmethod
    def of(cls, row: BrandRow) -> BrandItem:
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            products=units(row.products),
            vendors=units(row.vendors),
            created=relative_time(row.created_at),
            created_exact=exact_time(row.created_at),
        )


class NewBrandForm(TypedDict, total=False):
    code: str
    name: str


class AdminBrandsState(RoleGuard, PagedList, rx.State):
    brands: list[BrandItem] = []
    loaded: bool = False
    load_error: str = ""
    dialog: str = ""
    form_error: str = ""
    saving: bool = False

    @rx.var
    def summary(self) -> str:
        return plural(self.total, "brand") if self.loaded else ""

    @rx.event
    async def load(self):
        access = await self.require_role(ADMIN, action="see brands")
        if not access:
            self.brands, self.loaded, self.dialog = [], False, ""
            return access.page_refusal
        self.dialog = ""
        await self._fetch()
        return None

    async def _fetch(self) -> None:
        try:
            found = await db_read(
                fetch_page, list_brands, page_number(self.router.url.query_parameters)
            )
        except Exception:
            log.exception("admin brands: reading the list failed")
            self.load_error = "The brands could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.brands = [BrandItem.of(row) for row in found.rows]
        self._show_paging(found, ROUTE, {})
        self.loaded = True

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self.dialog, self.form_error, self.saving = "", "", False

    @rx.event
    async def open_create(self):
        access = await self.require_role(ADMIN, action="create brands")
        if not access:
            return access.refusal
        self.dialog, self.form_error, self.saving = "create", "", False
        return None

    @rx.event
    async def create_brand(self, form: NewBrandForm):
        access = await self.require_role(ADMIN, action="create brands")
        if not access:
            return access.refusal
        self.saving = True
        try:
            brand = await db_write(add_brand, form.get("code") or "", form.get("name") or "")
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin brands: creating %r failed", form.get("code"))
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s created brand %s", access.user.email, brand.code)
        self.dialog, self.form_error, self.saving = "", "", False
        await self._fetch()
        return rx.toast.success(f"Created brand {brand.name} ({brand.code})")
