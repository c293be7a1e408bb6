"""Admin › Brands: the brands Rackroom holds stock for; list and create (`admin.brands`)."""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict

import reflex as rx

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import DialogState
from dashboard.states.listing import (
    PagedList,
    db_write,
)
from models.admin import BrandRow, add_brand, list_brands

log = logging.getLogger(__name__)



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


class AdminBrandsState(RoleGuard, DialogState, PagedList, rx.State):
    brands: list[BrandItem] = []
    loaded: bool = False
    load_error: str = ""

    @rx.var
    def summary(self) -> str:
        return plural(self.total, "brand") if self.loaded else ""

    @rx.event
    @requires("admin.brands")
    async def load(self):
        self._close_dialog()
        await self._refetch()

    async def _refetch(self) -> None:
        rows = await self._read_rows("brands", list_brands, routes.ADMIN_BRANDS, sized=True)
        if rows is not None:
            self.brands, self.loaded = [BrandItem.of(row) for row in rows], True

    @rx.event
    @requires("admin.brands")
    def open_create(self) -> None:
        self._open_dialog("create")

    @rx.event
    @requires("admin.brands")
    async def create_brand(self, form: NewBrandForm):
        code, name = form.get("code") or "", form.get("name") or ""
        log.info("%s creates brand %s", signed_in_user().email, code)
        return await self._attempt(
            db_write(add_brand, code, name, actor=signed_in_user().email),
            done=lambda brand: f"Created brand {brand.name} ({brand.code})",
        )
