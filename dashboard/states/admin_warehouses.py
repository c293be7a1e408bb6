"""Admin › Warehouses: where stock is held; create, edit, activate and deactivate.
Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict

import reflex as rx

from dashboard import routes
from dashboard.items import Moment, item_of
from dashboard.states.admin_common import ActiveRows, Listing
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_write
from models.admin import (
    WarehouseRow,
    add_warehouse,
    list_warehouses,
    set_warehouse_active,
    update_warehouse,
)
from models.catalog import WarehouseKind

log = logging.getLogger(__name__)

KIND_CHOICES: list[tuple[str, str]] = [
    (WarehouseKind.WAREHOUSE.value, "Warehouse"),
    (WarehouseKind.STORE.value, "Store"),
]
KIND_LABELS = dict(KIND_CHOICES)


@dataclasses.dataclass
class WarehouseItem:
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    priority: str
    active: bool
    created: Moment
    country: str
    lat: str
    lon: str

    @classmethod
    def of(cls, row: WarehouseRow) -> WarehouseItem:
        return item_of(
            cls,
            row,
            country=row.country or "",
            lat="" if row.latitude is None else f"{row.latitude:g}",
            lon="" if row.longitude is None else f"{row.longitude:g}",
            kind_label=KIND_LABELS.get(row.kind, row.kind),
            priority=f"{row.priority:,}",
            active=row.is_active,
            created=Moment.of(row.created_at),
        )


class WarehouseForm(TypedDict, total=False):
    code: str
    name: str
    kind: str
    priority: str
    country: str
    lat: str
    lon: str


class AdminWarehousesState(RoleGuard, ActiveRows, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.warehouses",
        "warehouses",
        list_warehouses,
        routes.ADMIN_WAREHOUSES,
        "warehouses",
        WarehouseItem.of,
        ("location",),
        gone="That warehouse is not on this page any more. Refresh.",
    )
    warehouses: list[WarehouseItem] = []

    #: The open dialog (`dialog`): "", "create", "edit", "deactivate", "activate".
    form_name: str = ""
    form_kind: str = WarehouseKind.WAREHOUSE.value
    form_priority: str = "100"
    form_country: str = ""
    form_lat: str = ""
    form_lon: str = ""

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def set_form_kind(self, kind: str) -> None:
        """The kind picked in a dialog. Changes no data."""
        if kind in KIND_LABELS:
            self.form_kind = kind

    @rx.event
    @requires("admin.warehouses")
    async def open_create(self):
        self.form_name, self.form_kind = "", WarehouseKind.WAREHOUSE.value
        self.form_priority = "100"
        self.form_country, self.form_lat, self.form_lon = "", "", ""
        self._open_dialog("create")
        return None

    def _details(self, form: WarehouseForm) -> dict[str, str]:
        """The dialog's kind, priority and place."""
        return {
            "kind": self.form_kind,
            "priority": form.get("priority") or "",
            "country": form.get("country") or "",
            "lat": form.get("lat") or "",
            "lon": form.get("lon") or "",
        }

    @rx.event
    @requires("admin.warehouses")
    async def create_warehouse(self, form: WarehouseForm):
        log.info("%s creates warehouse %s", signed_in_user().email, form.get("code"))
        return await self._attempt(
            db_write(
                add_warehouse,
                form.get("code") or "",
                form.get("name") or "",
                **self._details(form),
                actor=signed_in_user().email,
            ),
            done=lambda w: f"Created {KIND_LABELS[w.kind].lower()} {w.name} ({w.code})",
        )

    @rx.event
    @requires("admin.warehouses")
    async def open_edit(self, warehouse_id: int):
        refused = self._open_row("edit", warehouse_id, lambda w: w.code)
        if refused is None:
            target = self._listed(warehouse_id)
            self.form_name, self.form_kind = target.name, target.kind
            self.form_priority = target.priority.replace(",", "")
            self.form_country, self.form_lat, self.form_lon = (
                target.country,
                target.lat,
                target.lon,
            )
        return refused

    @rx.event
    @requires("admin.warehouses")
    async def save_warehouse(self, form: WarehouseForm):
        return await self._save_target(
            "edit",
            update_warehouse,
            lambda w: f"Saved {w.name} ({w.code})",
            name=form.get("name") or "",
            **self._details(form),
        )

    def _switch(self, row: WarehouseItem, active: bool):
        return db_write(set_warehouse_active, row.id, active, actor=signed_in_user().email)

    def _switched(self, warehouse, active: bool) -> str:
        if active:
            return f"{warehouse.name} is active again"
        return f"{warehouse.name} is deactivated; nothing is allocated from it now"
