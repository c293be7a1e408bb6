"""Admin › Brands: the brands Rackroom holds stock for; list and create (`admin.brands`)."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict

import reflex as rx

from dashboard import routes
from dashboard.formatting import units
from dashboard.items import NO_MOMENT, Moment, item_of
from dashboard.states.admin_common import AdminPage, Listing
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_write
from models.admin import BrandRow, add_brand, list_brands

log = logging.getLogger(__name__)


@dataclasses.dataclass
class BrandItem:
    id: int = 0
    code: str = ""
    name: str = ""
    products: str = "0"
    vendors: str = "0"
    created: Moment = NO_MOMENT

    @classmethod
    def of(cls, row: BrandRow) -> BrandItem:
        return item_of(
            cls,
            row,
            products=units(row.products),
            vendors=units(row.vendors),
            created=Moment.of(row.created_at),
        )


class NewBrandForm(TypedDict, total=False):
    code: str
    name: str


class AdminBrandsState(RoleGuard, AdminPage, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.brands", "brands", list_brands, routes.ADMIN_BRANDS,
        "brands", BrandItem.of, ("brand",),
    )
    brands: list[BrandItem] = []


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
