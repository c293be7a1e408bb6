"""Admin › Brands: list and create."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import (
    MONO,
    admin_shell,
    cell,
    field,
    form_dialog,
    header,
    load_error,
    muted,
    number_cell,
    pager,
    primary_action,
    table,
    text_input,
    when,
)
from dashboard.components.figures import empty_state
from dashboard.states.admin_brands import ROUTE, AdminBrandsState, BrandItem
from dashboard.states.auth import AuthState

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
    return rx.cond(
        S.brands.length() > 0,
        rx.vstack(
            rx.hstack(rx.spacer(), muted(S.summary, size="2"), width="100%"),
            table(
                header("Code", width="140px"),
                header("Name"),
                header("Products", justify="end"),
                header("Vendor logins", justify="end"),
                header("Added"),
                body=rx.foreach(S.brands, _row),
                test_id="brands-table",
            ),
            pager(S.range_label, S.previous_href, S.next_href),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            S.loaded,
            empty_state(
                "tags",
                "No brands yet",
                "Create the first brand with New brand. Its products and stock then "
                "arrive through CSV imports, brand syncs or the API.",
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
        ),
    )


def _create_dialog() -> rx.Component:
    return form_dialog(
        field(
            "Code",
            text_input(
                "new-brand-code",
                name="code",
                required=True,
                auto_focus=True,
                auto_complete="off",
                placeholder="NORTH",
                max_length=32,
                style={"text_transform": "uppercase"},
            ),
            for_id="new-brand-code",
            hint="Short and unique: letters, digits or '-'. It cannot be changed later.",
        ),
        field(
            "Name",
            text_input(
                "new-brand-name",
                name="name",
                required=True,
                auto_complete="off",
                placeholder="Northwind Denim",
                max_length=200,
            ),
            for_id="new-brand-name",
        ),
        title="New brand",
        description="A brand whose stock Rackroom holds. Vendors and API keys can then be "
        "bound to it.",
        open=S.dialog == "create",
        on_open_change=S.on_dialog_change,
        on_submit=S.create_brand,
        submit_label="Create brand",
        saving=S.saving,
        error=S.form_error,
        test_id="new-brand-dialog",
    )


def admin_brands_page() -> rx.Component:
    return admin_shell(
        load_error(S.load_error),
        _list(),
        _create_dialog(),
        title=TITLE,
        route=ROUTE,
        description="The brands Rackroom holds stock for.",
        action=primary_action("New brand", "plus", S.open_create),
    )


ON_LOAD = [AuthState.require_login, S.load]
