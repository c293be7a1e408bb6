"""Admin › Brands: list and create."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.admin_lists import admin_table
from dashboard.components.figures import empty_state
from dashboard.registry import Nav, page
from dashboard.states.admin_brands import AdminBrandsState, BrandItem

TITLE = "Brands"
S = AdminBrandsState
COLUMNS = ("Code", "Name", "Products", "Vendor logins", "Added")


def _row(item: BrandItem) -> rx.Component:
    return rx.table.row(
        ui.cell(rx.text(item.code, style=ui.MONO)),
        rx.table.row_header_cell(rx.text(item.name, weight="medium"), vertical_align="middle"),
        ui.number_cell(item.products),
        ui.number_cell(item.vendors),
        ui.cell(ui.when(item.created)),
        data_testid="brand-row",
    )


def _list() -> rx.Component:
    return admin_table(
        S,
        *ui.headers(*COLUMNS, right=("Products", "Vendor logins"), widths={"Code": "140px"}),
        row=_row, test_id="brands-table",
        empty=empty_state(
            "tags", "No brands yet",
            "Create the first brand with New brand. Its products and stock then "
            "arrive through CSV imports, brand syncs or the API.",
        ),
    )


def _create_dialog() -> rx.Component:
    return ui.form_dialog(
        ui.text_field(
            "Code", "new-brand-code", name="code", required=True, auto_focus=True,
            auto_complete="off", placeholder="NORTH", max_length=32,
            style={"text_transform": "uppercase"},
            hint="Short and unique: letters, digits or '-'. It cannot be changed later.",
        ),
        ui.text_field(
            "Name", "new-brand-name", name="name", required=True, auto_complete="off",
            placeholder="Northwind Denim", max_length=200,
        ),
        title="New brand",
        description="A brand whose stock Rackroom holds. Vendors and API keys can then be "
        "bound to it.",
        **ui.dialog_wiring(S, "create"),
        on_submit=S.create_brand, submit_label="Create brand", test_id="new-brand-dialog",
    )


@page(
    routes.ADMIN_BRANDS, TITLE, perm="admin.brands", load=S.load,
    nav=Nav("Brands", "tags", group="admin"),
    description="The brands Rackroom holds stock for.",
    action=lambda: ui.primary_action("New brand", "plus", S.open_create),
)
def admin_brands_page() -> rx.Component:
    return rx.fragment(_list(), _create_dialog())
