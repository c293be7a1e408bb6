"""Admin › Brands: list, create and edit (name and size system hint)."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components import admin_lists as lists
from dashboard.states.admin_brands import HINT_CHOICES, AdminBrandsState, BrandItem

S = AdminBrandsState
COLUMNS = ("Code", "Name", "Size system", "Products", "Vendor logins", "Added", "")


def _row(item: BrandItem) -> rx.Component:
    return rx.table.row(
        *lists.code_cells(item),
        ui.cell(
            rx.cond(
                item.size_hint == "auto",
                ui.muted("Auto"),
                rx.badge(item.size_hint_label, variant="soft", color_scheme="gray", size="1"),
            )
        ),
        ui.number_cell(item.products),
        ui.number_cell(item.vendors),
        ui.cell(ui.when(item.created)),
        ui.cell(
            ui.row_menu(
                "Actions for " + item.code,
                ui.menu_action("pencil", "Edit…", S.open_edit(item.id)),
            ),
            justify="end", width="48px",
        ),
        data_testid="brand-row",
    )


def _list() -> rx.Component:
    return lists.admin_table(
        S, COLUMNS, row=_row, test_id="brands-table",
        right=("Products", "Vendor logins"), widths={"Code": "140px", "": "48px"},
        note="The size system says how a brand's files read a bare size number: "
        "42 is EU 42 for a shoe brand, W42 for a jeans brand.",
        empty=(
            "tags", "No brands yet",
            "Create the first brand with New brand. Its products and stock then "
            "arrive through CSV imports, brand syncs or the API.",
        ),
    )


def _fields(prefix: str) -> list[rx.Component]:
    return [
        ui.select_field(
            "Size system",
            f"{prefix}-size-hint",
            HINT_CHOICES, name="size_hint", default_value=S.form_hint,
            hint="How imports read a size that is only a number. Labels that say what "
            "they are (M, W32 L34, EU 42) are read as written.",
        ),
    ]


def _dialogs() -> rx.Component:
    return lists.record_dialogs(
        S, "brand", _fields, code={"examples": ("NORTH", "Northwind Denim"), **lists.SHORT_CODE},
        new="A brand whose stock Rackroom holds. Vendors and API keys can then be bound "
        "to it.",
        edit="Its name and size system. The code stays; sizes already imported keep "
        "their reading.",
        handlers=(S.create_brand, S.save_brand),
    )


admin_brands_page = ui.admin_page(
    routes.ADMIN_BRANDS, "Brands", S, perm="admin.brands", icon="tags",
    description="The brands Rackroom holds stock for.",
    new="New brand", parts=(_list, _dialogs),
)
