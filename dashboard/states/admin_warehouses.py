"""Admin › Warehouses: where stock is held; create, edit, activate and deactivate.
Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict

import reflex as rx

from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard
from dashboard.states.listing import PagedList, db_read, db_write, fetch_page, page_number
from models.admin import (
    WarehouseRow,
    add_warehouse,
    list_warehouses,
    set_warehouse_active,
    update_warehouse,
)
from models.catalog import WarehouseKind
from models.errors import DomainError
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/admin/warehouses"
ADMIN = Role.ADMIN
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."
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


class AdminWarehousesState(RoleGuard, PagedList, rx.State):
    warehouses: list[WarehouseItem] = []
    loaded: bool = False
    load_error: str = ""

    #: The open dialog: "", "create", "edit", "deactivate", "activate".
    dialog: str = ""
    target_id: int = 0
    target_label: str = ""
    form_name: str = ""
    form_kind: str = WarehouseKind.WAREHOUSE.value
    form_priority: str = "100"
    form_error: str = ""
    saving: bool = False

    @rx.var
    def summary(self) -> str:
        return plural(self.total, "location") if self.loaded else ""

    @rx.event
    async def load(self):
        access = await self.require_role(ADMIN, action="see warehouses")
        if not access:
            self.warehouses, self.loaded = [], False
            self._close()
            return access.page_refusal
        self._close()
        await self._fetch()
        return None

    async def _fetch(self) -> None:
        try:
            found = await db_read(
                fetch_page, list_warehouses, page_number(self.router.url.query_parameters)
            )
        except Exception:
            log.exception("admin warehouses: reading the list failed")
            self.load_error = "The warehouses could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.warehouses = [WarehouseItem.of(row) for row in found.rows]
        self._show_paging(found, ROUTE, {})
        self.loaded = True

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self._close()

    @rx.event
    def set_form_kind(self, kind: str) -> None:
        """The kind picked in a dialog. Changes no data."""
        if kind in KIND_LABELS:
            self.form_kind = kind

    def _close(self) -> None:
        self.dialog, self.form_error, self.saving = "", "", False
        self.target_id, self.target_label = 0, ""

    def _target(self, warehouse_id: int) -> WarehouseItem | None:
        return next((w for w in self.warehouses if w.id == warehouse_id), None)

    @rx.event
    async def open_create(self):
        access = await self.require_role(ADMIN, action="create warehouses")
        if not access:
            return access.refusal
        self._close()
        self.form_name, self.form_kind = "", WarehouseKind.WAREHOUSE.value
        self.form_priority = "100"
        self.dialog = "create"
        return None

    @rx.event
    async def create_warehouse(self, form: WarehouseForm):
        access = await self.require_role(ADMIN, action="create warehouses")
        if not access:
            return access.refusal
        self.saving = True
        try:
            warehouse = await db_write(
                add_warehouse,
                form.get("code") or "",
                form.get("name") or "",
                kind=self.form_kind,
                priority=form.get("priority") or "",
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin warehouses: creating %r failed", form.get("code"))
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s created warehouse %s", access.user.email, warehouse.code)
        self._close()
        await self._fetch()
        return rx.toast.success(
            f"Created {KIND_LABELS[warehouse.kind].lower()} {warehouse.name} ({warehouse.code})"
        )

    @rx.event
    async def open_edit(self, warehouse_id: int):
        access = await self.require_role(ADMIN, action="edit warehouses")
        if not access:
            return access.refusal
        target = self._target(warehouse_id)
        if target is None:
            return rx.toast.error("That warehouse is not on this page any more. Refresh.")
        self._close()
        self.target_id, self.target_label = target.id, target.code
        self.form_name, self.form_kind = target.name, target.kind
        self.form_priority = target.priority.replace(",", "")
        self.dialog = "edit"
        return None

    @rx.event
    async def save_warehouse(self, form: WarehouseForm):
        access = await self.require_role(ADMIN, action="edit warehouses")
        if not access:
            return access.refusal
        if self.dialog != "edit":
            return None
        self.saving = True
        try:
            warehouse = await db_write(
                update_warehouse,
                self.target_id,
                name=form.get("name") or "",
                kind=self.form_kind,
                priority=form.get("priority") or "",
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin warehouses: saving %s failed", self.target_id)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s edited warehouse %s", access.user.email, warehouse.code)
        self._close()
        await self._fetch()
        return rx.toast.success(f"Saved {warehouse.name} ({warehouse.code})")

    @rx.event
    async def confirm_active(self, warehouse_id: int, active: bool):
        access = await self.require_role(ADMIN, action="deactivate warehouses")
        if not access:
            return access.refusal
        target = self._target(warehouse_id)
        if target is None:
            return rx.toast.error("That warehouse is not on this page any more. Refresh.")
        self._close()
        self.target_id, self.target_label = target.id, f"{target.name} ({target.code})"
        self.dialog = "activate" if active else "deactivate"
        return None

    @rx.event
    async def set_active(self):
        access = await self.require_role(ADMIN, action="deactivate warehouses")
        if not access:
            return access.refusal
        if self.dialog not in ("activate", "deactivate"):
            return None
        active = self.dialog == "activate"
        self.saving = True
        try:
            warehouse = await db_write(set_warehouse_active, self.target_id, active)
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin warehouses: (de)activating %s failed", self.target_id)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s set warehouse %s active=%s", access.user.email, warehouse.code, active)
        self._close()
        await self._fetch()
        return rx.toast.success(
            f"{warehouse.name} is active again"
            if active
            else f"{warehouse.name} is deactivated; nothing is allocated from it now"
        )
