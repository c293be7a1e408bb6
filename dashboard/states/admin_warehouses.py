"""Admin › Warehouses: where stock is held; create, edit, activate and deactivate.
Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict

import reflex as rx

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.listing import PagedList, db_write
from models.admin import (
    WarehouseRow,
    add_warehouse,
    list_warehouses,
    set_warehouse_active,
    update_warehouse,
)
from models.catalog import WarehouseKind

log = logging.getLogger(__name__)

ROUTE = routes.ADMIN_WAREHOUSES
GONE = "That warehouse is not on this page any more. Refresh."
KIND_CHOICES: list[tuple[str, str]] = [
    (WarehouseKind.WAREHOUSE.value, "Warehouse"),
    (WarehouseKind.STORE.value, "Store"),
]
KIND_LABELS = dict(KIND_CHOICES)


@dataclasses.dataclass
class WarehouseItem:
    id: int = 0
    code: str = ""
    name: str = ""
    kind: str = ""
    kind_label: str = ""
    priority: str = ""
    active: bool = True
    created: str = ""
    created_exact: str = ""

    @classmethod
    def of(cls, row: WarehouseRow) -> WarehouseItem:
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            kind=row.kind,
            kind_label=KIND_LABELS.get(row.kind, row.kind),
            priority=f"{row.priority:,}",
            active=row.is_active,
            created=relative_time(row.created_at),
            created_exact=exact_time(row.created_at),
        )


class WarehouseForm(TypedDict, total=False):
    code: str
    name: str
    kind: str
    priority: str


class AdminWarehousesState(RoleGuard, TargetDialog, PagedList, rx.State):
    warehouses: list[WarehouseItem] = []
    loaded: bool = False
    load_error: str = ""

    #: The open dialog (`dialog`): "", "create", "edit", "deactivate", "activate".
    form_name: str = ""
    form_kind: str = WarehouseKind.WAREHOUSE.value
    form_priority: str = "100"

    @rx.var
    def summary(self) -> str:
        return plural(self.total, "location") if self.loaded else ""

    @rx.event
    @requires("admin.warehouses")
    async def load(self):
        self._close_dialog()
        await self._refetch()
        return None

    async def _refetch(self) -> None:
        rows = await self._read_rows("warehouses", list_warehouses, ROUTE)
        if rows is not None:
            self.warehouses, self.loaded = [WarehouseItem.of(row) for row in rows], True

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
        self._open_dialog("create")
        return None

    @rx.event
    @requires("admin.warehouses")
    async def create_warehouse(self, form: WarehouseForm):
        log.info("%s creates warehouse %s", signed_in_user().email, form.get("code"))
        return await self._attempt(
            db_write(
                add_warehouse,
                form.get("code") or "",
                form.get("name") or "",
                kind=self.form_kind,
                priority=form.get("priority") or "",
                actor=signed_in_user().email,
            ),
            done=lambda w: f"Created {KIND_LABELS[w.kind].lower()} {w.name} ({w.code})",
        )

    @rx.event
    @requires("admin.warehouses")
    async def open_edit(self, warehouse_id: int):
        target = row_by_id(self.warehouses, warehouse_id)
        if target is None:
            return rx.toast.error(GONE)
        self._open_target("edit", target.id, target.code)
        self.form_name, self.form_kind = target.name, target.kind
        self.form_priority = target.priority.replace(",", "")
        return None

    @rx.event
    @requires("admin.warehouses")
    async def save_warehouse(self, form: WarehouseForm):
        if self.dialog != "edit":
            return None
        log.info("%s edits warehouse %s", signed_in_user().email, self.target_id)
        return await self._attempt(
            db_write(
                update_warehouse,
                self.target_id,
                name=form.get("name") or "",
                kind=self.form_kind,
                priority=form.get("priority") or "",
                actor=signed_in_user().email,
            ),
            done=lambda w: f"Saved {w.name} ({w.code})",
        )

    @rx.event
    @requires("admin.warehouses")
    async def confirm_active(self, warehouse_id: int, active: bool):
        target = row_by_id(self.warehouses, warehouse_id)
        if target is None:
            return rx.toast.error(GONE)
        name = "activate" if active else "deactivate"
        self._open_target(name, target.id, f"{target.name} ({target.code})")
        return None

    @rx.event
    @requires("admin.warehouses")
    async def set_active(self):
        if self.dialog not in ("activate", "deactivate"):
            return None
        active = self.dialog == "activate"
        log.info("%s sets warehouse %s active=%s", signed_in_user().email, self.target_id, active)
        return await self._attempt(
            db_write(set_warehouse_active, self.target_id, active, actor=signed_in_user().email),
            done=lambda w: f"{w.name} is active again"
            if active
            else f"{w.name} is deactivated; nothing is allocated from it now",
        )
