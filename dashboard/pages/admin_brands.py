"""Admin › Brands: list, create and edit (name and size system hint)."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.admin_lists import (
    SHORT_CODE,
    admin_table,
    code_and_name,
    record_dialogs,
)
from dashboard.components.figures import empty_state
from dashboard.states.admin_brands import HINT_CHOICES, AdminBrandsState, BrandItem

TITLE = "Brands"
S = AdminBrandsState
COLUMNS = ("Code", "Name", "Size system", "Products", "Vendor logins", "Added", "")


def _row(item: BrandItem) -> rx.Component:
    return rx.table.row(
        ui.cell(rx.text(item.code, style=ui.MONO)),
        rx.table.row_header_cell(rx.text(item.name, weight="medium"), vertical_align="middle"),
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
    return admin_table(
        S,
        *ui.headers(
            *COLUMNS, right=("Products", "Vendor logins"), widths={"Code": "140px", "": "48px"}
        ),
        row=_row, test_id="brands-table",
        note="The size system says how a brand's files read a bare size number: "
        "42 is EU 42 for a shoe brand, W42 for a jeans brand.",
        empty=empty_state(
            "tags", "No brands yet",
            "Create the first brand with New brand. Its products and stock then "
            "arrive through CSV imports, brand syncs or the API.",
        ),
    )


def _fields(prefix: str, *, with_code: bool) -> list[rx.Component]:
    return [
        *code_and_name(
            prefix, with_code, S.form_name,
            examples=("NORTH", "Northwind Denim"), **SHORT_CODE,
        ),
        ui.select_field(
            "Size system",
            f"{prefix}-size-hint",
            HINT_CHOICES, name="size_hint", default_value=S.form_hint,
            hint="How imports read a size that is only a number. Labels that say what "
            "they are (M, W32 L34, EU 42) are read as written.",
        ),
    ]


def _dialogs() -> rx.Component:
    return record_dialogs(
        S, "brand", _fields,
        new="A brand whose stock Rackroom holds. Vendors and API keys can then be bound "
        "to it.",
        edit="Its name and size system. The code stays; sizes already imported keep "
        "their reading.",
        handlers=(S.create_brand, S.save_brand),
    )


admin_brands_page = ui.admin_page(
    routes.ADMIN_BRANDS, TITLE, S, perm="admin.brands", nav=("Brands", "tags"),
    description="The brands Rackroom holds stock for.",
    new="New brand", parts=(_list, _dialogs),
)
