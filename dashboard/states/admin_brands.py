"""Admin › Brands: the brands Rackroom holds stock for; list, create and edit
(`admin.brands`). A brand's size system hint says how its imports read a bare size
number ("42": EU shoes for a shoe brand, W42 for a jeans brand)."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict

import reflex as rx

from dashboard import routes
from dashboard.formatting import units
from dashboard.items import Moment, item_of
from dashboard.states.admin_common import AdminPage, Listing
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_write
from models.admin import BrandRow, add_brand, list_brands
from models.brands import update_brand
from models.sizes import SIZE_HINT_CHOICES

log = logging.getLogger(__name__)

#: The size system picker's (value, label) pairs; "auto" is no hint.
HINT_CHOICES: list[tuple[str, str]] = list(SIZE_HINT_CHOICES)
#: A hint in the list: its label without the example ("EU shoes").
_HINT_WORDS = {value: label.split(" (")[0] for value, label in SIZE_HINT_CHOICES}


@dataclasses.dataclass
class BrandItem:
    id: int
    code: str
    name: str
    products: str
    vendors: str
    created: Moment
    #: The brand's size system hint ("auto" when it has none) and its words.
    size_hint: str
    size_hint_label: str

    @classmethod
    def of(cls, row: BrandRow) -> BrandItem:
        hint = row.size_system_hint or "auto"
        return item_of(
            cls,
            row,
            products=units(row.products),
            vendors=units(row.vendors),
            created=Moment.of(row.created_at),
            size_hint=hint,
            size_hint_label=_HINT_WORDS.get(hint, hint),
        )


class BrandForm(TypedDict, total=False):
    code: str
    name: str
    size_hint: str


class AdminBrandsState(RoleGuard, AdminPage, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.brands", "brands", list_brands, routes.ADMIN_BRANDS,
        "brands", BrandItem.of, ("brand",),
        gone="That brand is not on this page any more. Refresh.",
    )
    brands: list[BrandItem] = []

    #: The open dialog (`dialog`): "", "create", "edit"; what the edit dialog starts from.
    form_name: str = ""
    form_hint: str = "auto"

    @rx.event
    @requires("admin.brands")
    def open_create(self) -> None:
        self.form_name, self.form_hint = "", "auto"
        self._open_dialog("create")

    @rx.event
    @requires("admin.brands")
    async def create_brand(self, form: BrandForm):
        code, name = form.get("code") or "", form.get("name") or ""
        log.info("%s creates brand %s", signed_in_user().email, code)
        return await self._attempt(
            db_write(
                add_brand, code, name, size_hint=form.get("size_hint") or "auto",
                actor=signed_in_user().email,
            ),
            done=lambda brand: f"Created brand {brand.name} ({brand.code})",
        )

    @rx.event
    @requires("admin.brands")
    async def open_edit(self, brand_id: int):
        refused = self._open_row("edit", brand_id, lambda b: f"{b.name} ({b.code})")
        if refused is None:
            target = self._listed(brand_id)
            self.form_name, self.form_hint = target.name, target.size_hint
        return refused

    @rx.event
    @requires("admin.brands")
    async def save_brand(self, form: BrandForm):
        return await self._save_target(
            "edit", update_brand, lambda b: f"Saved {b.name} ({b.code})",
            changes={"name": form.get("name") or "", "size_hint": form.get("size_hint") or "auto"},
        )
