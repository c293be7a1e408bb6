"""Admin › Warehouses: list, create, edit, activate and deactivate."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components import admin_lists as lists
from dashboard.states.admin_warehouses import KIND_CHOICES, AdminWarehousesState, WarehouseItem

S = AdminWarehousesState
COLUMNS = ("Code", "Name", "Kind", "Priority", "Status", "Added", "")


def _row(item: WarehouseItem) -> rx.Component:
    return rx.table.row(
        *lists.code_cells(item),
        ui.cell(
            rx.badge(
                rx.icon(rx.cond(item.kind == "store", "store", "warehouse"), size=12),
                item.kind_label, variant="soft", color_scheme="gray", size="1",
            )
        ),
        ui.number_cell(item.priority),
        ui.cell(ui.active_badge(item.active, off="Inactive")),
        ui.cell(ui.when(item.created)),
        ui.cell(lists.edit_and_toggle(S, item), justify="end", width="48px"),
        opacity=rx.cond(item.active, "1", "0.6"), data_testid="warehouse-row",
    )


def _list() -> rx.Component:
    return lists.admin_table(
        S, COLUMNS, row=_row, test_id="warehouses-table",
        right=("Priority",), widths={"Code": "120px", "": "48px"},
        note="Reservations without a warehouse are allocated from the lowest "
        "priority number first.",
        empty=(
            "warehouse", "No warehouses or stores yet",
            "Create one with New warehouse. Stock is always held somewhere, so "
            "receipts, imports and reservations need at least one.",
        ),
    )


def _fields(prefix: str) -> list[rx.Component]:
    return [
        rx.grid(
            ui.select_field(
                "Kind",
                f"{prefix}-kind",
                KIND_CHOICES, name="kind", value=S.form_kind, on_change=S.set_form_kind,
            ),
            ui.text_field(
                "Priority",
                f"{prefix}-priority",
                name="priority", type="number", min=0, max=10000, step=1, required=True,
                default_value=S.form_priority, hint="Lower is allocated from first.",
            ),
            columns="2", spacing="3", width="100%",
        ),
        rx.grid(
            _place_field("Country", prefix, "country", S.form_country, "GB", 2),
            _place_field("Latitude", prefix, "lat", S.form_lat, "51.5074", 12),
            _place_field("Longitude", prefix, "lon", S.form_lon, "-0.1278", 12),
            columns="3",
            spacing="3",
            width="100%",
        ),
    ]


def _place_field(label: str, prefix: str, name: str, value, example: str, size: int):
    """Where it is, for channels that allocate from the nearest warehouse (optional)."""
    return ui.text_field(
        label,
        f"{prefix}-{name}",
        name=name,
        auto_complete="off",
        default_value=value,
        placeholder=example,
        max_length=size,
    )


def _dialogs() -> rx.Component:
    return lists.record_dialogs(
        S, "warehouse", _fields, code={"examples": ("LDN", "London DC"), **lists.SHORT_CODE},
        new="A warehouse or store that holds stock.",
        edit="Name, kind, allocation priority and place. The code stays.",
        handlers=(S.create_warehouse, S.save_warehouse),
        switch=(
            "Reservations are no longer allocated from it and it drops out of stock "
            "lookups. Its stock records and history stay; you can activate it again.",
            "Its stock can be reserved and allocated again.",
        ),
    )


admin_warehouses_page = ui.admin_page(
    routes.ADMIN_WAREHOUSES, "Warehouses", S, perm="admin.warehouses", icon="warehouse",
    description="Warehouses and stores that hold stock, in allocation order.",
    new="New warehouse", parts=(_list, _dialogs),
)
