"""Admin › Brands: list and create."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.admin import (
    MONO,
    cell,
    dialog_wiring,
    form_dialog,
    headers,
    number_cell,
    primary_action,
    text_field,
    when,
)
from dashboard.components.figures import empty_state
from dashboard.components.lists import list_view
from dashboard.registry import Nav, page
from dashboard.states.admin_brands import AdminBrandsState, BrandItem

TITLE = "Brands"
S = AdminBrandsState


def _row(item: BrandItem) -> rx.Component:
    return rx.table.row(
        cell(rx.text(item.code, style=MONO)),
        rx.table.row_header_cell(rx.text(item.name, weight="medium"), vertical_align="middle"),
        number_cell(item.products),
        number_cell(item.vendors),
        cell(when(item.created, item.created_exact)),
        data_testid="brand-row",
    )


def _list() -> rx.Component:
    return list_view(
        columns=[
            *headers(
                "Code",
                "Name",
                "Products",
                "Vendor logins",
                "Added",
                right=("Products", "Vendor logins"),
                widths={"Code": "140px"},
            ),
        ],
        rows=S.brands,
        row=_row,
        loaded=S.loaded,
        error=S.load_error,
        empty=empty_state(
            "tags",
            "No brands yet",
            "Create the first brand with New brand. Its products and stock then "
            "arrive through CSV imports, brand syncs or the API.",
        ),
        test_id="brands-table",
        paging=S,
        summary=S.summary,
    )


def _create_dialog() -> rx.Component:
    return form_dialog(
        text_field(
            "Code",
            "new-brand-code",
            name="code",
            required=True,
            auto_focus=True,
            auto_complete="off",
            placeholder="NORTH",
            max_length=32,
            style={"text_transform": "uppercase"},
            hint="Short and unique: letters, digits or '-'. It cannot be changed later.",
        ),
        text_field(
            "Name",
            "new-brand-name",
            name="name",
            required=True,
            auto_complete="off",
            placeholder="Northwind Denim",
            max_length=200,
        ),
        title="New brand",
        description="A brand whose stock Rackroom holds. Vendors and API keys can then be "
        "bound to it.",
        **dialog_wiring(S, "create"),
        on_submit=S.create_brand,
        submit_label="Create brand",
        test_id="new-brand-dialog",
    )


@page(
    routes.ADMIN_BRANDS,
    TITLE,
    perm="admin.brands",
    load=S.load,
    nav=Nav("Brands", "tags", group="admin"),
    description="The brands Rackroom holds stock for.",
    action=lambda: primary_action("New brand", "plus", S.open_create),
)
def admin_brands_page() -> rx.Component:
    return rx.fragment(_list(), _create_dialog())
