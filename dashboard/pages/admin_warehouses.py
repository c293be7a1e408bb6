"""Admin › Warehouses: list, create, edit, activate and deactivate."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.admin_lists import admin_table
from dashboard.components.figures import empty_state
from dashboard.registry import Nav, page
from dashboard.states.admin_warehouses import KIND_CHOICES, AdminWarehousesState, WarehouseItem

TITLE = "Warehouses"
S = AdminWarehousesState
COLUMNS = ("Code", "Name", "Kind", "Priority", "Status", "Added", "")


def _actions(item: WarehouseItem) -> rx.Component:
    return ui.row_menu(
        "Actions for " + item.code,
        ui.menu_action("pencil", "Edit…", S.open_edit(item.id)),
        rx.menu.separator(),
        ui.active_toggle(
            item.active,
            off=("circle-pause", "Deactivate…", S.confirm_active(item.id, False)),
            on=("circle-play", "Activate…", S.confirm_active(item.id, True)),
        ),
    )


def _row(item: WarehouseItem) -> rx.Component:
    return rx.table.row(
        ui.cell(rx.text(item.code, style=ui.MONO)),
        rx.table.row_header_cell(rx.text(item.name, weight="medium"), vertical_align="middle"),
        ui.cell(
            rx.badge(
                rx.icon(rx.cond(item.kind == "store", "store", "warehouse"), size=12),
                item.kind_label, variant="soft", color_scheme="gray", size="1",
            )
        ),
        ui.number_cell(item.priority),
        ui.cell(ui.active_badge(item.active, off="Inactive")),
        ui.cell(ui.when(item.created)),
        ui.cell(_actions(item), justify="end", width="48px"),
        opacity=rx.cond(item.active, "1", "0.6"), data_testid="warehouse-row",
    )


def _list() -> rx.Component:
    return admin_table(
        S,
        *ui.headers(*COLUMNS, right=("Priority",), widths={"Code": "120px", "": "48px"}),
        row=_row, test_id="warehouses-table",
        note="Reservations without a warehouse are allocated from the lowest "
        "priority number first.",
        empty=empty_state(
            "warehouse", "No warehouses or stores yet",
            "Create one with New warehouse. Stock is always held somewhere, so "
            "receipts, imports and reservations need at least one.",
        ),
    )


def _fields(prefix: str, *, with_code: bool) -> list[rx.Component]:
    code = [
        ui.text_field(
            "Code",
            f"{prefix}-code",
            name="code", required=True, auto_focus=True, auto_complete="off", placeholder="LDN",
            max_length=32, style={"text_transform": "uppercase"},
            hint="Short and unique: letters, digits or '-'. It cannot be changed later.",
        )
    ]
    return [
        *(code if with_code else []),
        ui.text_field(
            "Name",
            f"{prefix}-name",
            name="name", required=True, auto_focus=not with_code, auto_complete="off",
            default_value=S.form_name, placeholder="London DC", max_length=200,
        ),
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
    return rx.fragment(
        ui.form_dialog(
            *_fields("new-warehouse", with_code=True),
            title="New warehouse",
            description="A warehouse or store that holds stock.",
            **ui.dialog_wiring(S, "create"),
            on_submit=S.create_warehouse, submit_label="Create warehouse",
            test_id="new-warehouse-dialog",
        ),
        ui.form_dialog(
            *_fields("edit-warehouse", with_code=False),
            title="Edit " + S.target_label,
            description="Name, kind, allocation priority and place. The code stays.",
            **ui.dialog_wiring(S, "edit"),
            on_submit=S.save_warehouse, submit_label="Save", test_id="edit-warehouse-dialog",
        ),
        ui.target_confirm(
            S, "deactivate", "Deactivate",
            description="Reservations are no longer allocated from it and it drops out of "
            "stock lookups. Its stock records and history stay; you can activate it again.",
            on_confirm=S.set_active, test_id="deactivate-warehouse-dialog",
        ),
        ui.target_confirm(
            S, "activate", "Activate",
            description="Its stock can be reserved and allocated again.",
            on_confirm=S.set_active, test_id="activate-warehouse-dialog", danger=False,
        ),
    )


@page(
    routes.ADMIN_WAREHOUSES, TITLE, perm="admin.warehouses", load=S.load,
    nav=Nav("Warehouses", "warehouse", group="admin"),
    description="Warehouses and stores that hold stock, in allocation order.",
    action=lambda: ui.primary_action("New warehouse", "plus", S.open_create),
)
def admin_warehouses_page() -> rx.Component:
    return rx.fragment(_list(), _dialogs())
