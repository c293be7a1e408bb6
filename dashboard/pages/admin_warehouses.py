"""Admin › Warehouses: list, create, edit, activate and deactivate."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import (
    MONO,
    active_badge,
    admin_shell,
    cell,
    confirm_dialog,
    field,
    form_dialog,
    header,
    load_error,
    muted,
    number_cell,
    pager,
    primary_action,
    select,
    table,
    text_input,
    when,
)
from dashboard.components.figures import empty_state
from dashboard.states.admin_warehouses import (
    KIND_CHOICES,
    ROUTE,
    AdminWarehousesState,
    WarehouseItem,
)
from dashboard.states.auth import AuthState

TITLE = "Warehouses"
S = AdminWarehousesState


def _actions(item: WarehouseItem) -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis", size=16),
                variant="ghost",
                color_scheme="gray",
                size="1",
                aria_label="Actions for " + item.code,
                title="Actions",
            )
        ),
        rx.menu.content(
            rx.menu.item(rx.icon("pencil", size=14), "Edit…", on_click=S.open_edit(item.id)),
            rx.menu.separator(),
            rx.cond(
                item.active,
                rx.menu.item(
                    rx.icon("circle-pause", size=14),
                    "Deactivate…",
                    color="red",
                    on_click=S.confirm_active(item.id, False),
                ),
                rx.menu.item(
                    rx.icon("circle-play", size=14),
                    "Activate…",
                    on_click=S.confirm_active(item.id, True),
                ),
            ),
            size="1",
            align="end",
        ),
    )


def _row(item: WarehouseItem) -> rx.Component:
    return rx.table.row(
        cell(rx.text(item.code, style=MONO)),
        rx.table.row_header_cell(rx.text(item.name, weight="medium"), vertical_align="middle"),
        cell(
            rx.badge(
                rx.icon(rx.cond(item.kind == "store", "store", "warehouse"), size=12),
                item.kind_label,
                variant="soft",
                color_scheme="gray",
                size="1",
            )
        ),
        number_cell(item.priority),
        cell(active_badge(item.active, off="Inactive")),
        cell(when(item.created, item.created_exact)),
        cell(_actions(item), justify="end", width="48px"),
        opacity=rx.cond(item.active, "1", "0.6"),
        data_testid="warehouse-row",
    )


def _list() -> rx.Component:
    return rx.cond(
        S.warehouses.length() > 0,
        rx.vstack(
            rx.hstack(
                muted(
                    "Reservations without a warehouse are allocated from the lowest "
                    "priority number first.",
                    size="2",
                ),
                rx.spacer(),
                muted(S.summary, size="2"),
                width="100%",
            ),
            table(
                header("Code", width="120px"),
                header("Name"),
                header("Kind"),
                header("Priority", justify="end"),
                header("Status"),
                header("Added"),
                header("", width="48px"),
                body=rx.foreach(S.warehouses, _row),
                test_id="warehouses-table",
            ),
            pager(S.range_label, S.previous_href, S.next_href),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            S.loaded,
            empty_state(
                "warehouse",
                "No warehouses or stores yet",
                "Create one with New warehouse. Stock is always held somewhere, so "
                "receipts, imports and reservations need at least one.",
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
        ),
    )


def _fields(prefix: str, *, with_code: bool) -> list[rx.Component]:
    code = [
        field(
            "Code",
            text_input(
                f"{prefix}-code",
                name="code",
                required=True,
                auto_focus=True,
                auto_complete="off",
                placeholder="LDN",
                max_length=32,
                style={"text_transform": "uppercase"},
            ),
            for_id=f"{prefix}-code",
            hint="Short and unique: letters, digits or '-'. It cannot be changed later.",
        )
    ]
    return [
        *(code if with_code else []),
        field(
            "Name",
            text_input(
                f"{prefix}-name",
                name="name",
                required=True,
                auto_focus=not with_code,
                auto_complete="off",
                default_value=S.form_name,
                placeholder="London DC",
                max_length=200,
            ),
            for_id=f"{prefix}-name",
        ),
        rx.grid(
            field(
                "Kind",
                select(
                    f"{prefix}-kind",
                    KIND_CHOICES,
                    name="kind",
                    value=S.form_kind,
                    on_change=S.set_form_kind,
                ),
                for_id=f"{prefix}-kind",
            ),
            field(
                "Priority",
                text_input(
                    f"{prefix}-priority",
                    name="priority",
                    type="number",
                    min=0,
                    max=10000,
                    step=1,
                    required=True,
                    default_value=S.form_priority,
                ),
                for_id=f"{prefix}-priority",
                hint="Lower is allocated from first.",
            ),
            columns="2",
            spacing="3",
            width="100%",
        ),
    ]


def _dialogs() -> rx.Component:
    return rx.fragment(
        form_dialog(
            *_fields("new-warehouse", with_code=True),
            title="New warehouse",
            description="A warehouse or store that holds stock.",
            open=S.dialog == "create",
            on_open_change=S.on_dialog_change,
            on_submit=S.create_warehouse,
            submit_label="Create warehouse",
            saving=S.saving,
            error=S.form_error,
            test_id="new-warehouse-dialog",
        ),
        form_dialog(
            *_fields("edit-warehouse", with_code=False),
            title="Edit " + S.target_label,
            description="Name, kind and allocation priority. The code stays.",
            open=S.dialog == "edit",
            on_open_change=S.on_dialog_change,
            on_submit=S.save_warehouse,
            submit_label="Save",
            saving=S.saving,
            error=S.form_error,
            test_id="edit-warehouse-dialog",
        ),
        confirm_dialog(
            title="Deactivate " + S.target_label + "?",
            description="Reservations are no longer allocated from it and it drops out of "
            "stock lookups. Its stock records and history stay; you can activate it again.",
            confirm_label="Deactivate",
            open=S.dialog == "deactivate",
            on_open_change=S.on_dialog_change,
            on_confirm=S.set_active,
            saving=S.saving,
            error=S.form_error,
            test_id="deactivate-warehouse-dialog",
        ),
        confirm_dialog(
            title="Activate " + S.target_label + "?",
            description="Its stock can be reserved and allocated again.",
            confirm_label="Activate",
            open=S.dialog == "activate",
            on_open_change=S.on_dialog_change,
            on_confirm=S.set_active,
            saving=S.saving,
            error=S.form_error,
            test_id="activate-warehouse-dialog",
            danger=False,
        ),
    )


def admin_warehouses_page() -> rx.Component:
    return admin_shell(
        load_error(S.load_error),
        _list(),
        _dialogs(),
        title=TITLE,
        route=ROUTE,
        description="Warehouses and stores that hold stock, in allocation order.",
        action=primary_action("New warehouse", "plus", S.open_create),
    )


ON_LOAD = [AuthState.require_login, S.load]
