"""Admin › Users: the list (filters in the URL), create, change role, deactivate, reset."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.admin import (
    active_badge,
    active_toggle,
    admin_body,
    admin_list,
    cell,
    dialog_wiring,
    form_dialog,
    headers,
    muted,
    primary_action,
    row_menu,
    secret_dialog,
    select_field,
    table,
    target_confirm,
    text_field,
    when,
)
from dashboard.components.figures import empty_state
from dashboard.components.filters import clear_filters, filter_select, filtered_empty, search_box
from dashboard.registry import Nav, page
from dashboard.states.admin_users import (
    ANY_ROLE,
    ROLE_CHOICES,
    AdminUsersState,
    UserItem,
)

TITLE = "Users"
S = AdminUsersState


def _role_badge(item: UserItem) -> rx.Component:
    return rx.badge(
        item.role_label,
        color_scheme=rx.cond(item.role == "admin", "indigo", "gray"),
        variant="soft",
        size="1",
    )


def _actions(item: UserItem) -> rx.Component:
    return row_menu(
        "Actions for " + item.email,
        rx.cond(
            item.is_self,
            rx.menu.item("This is you", disabled=True),
            rx.menu.item(
                rx.icon("user-cog", size=14), "Change role…", on_click=S.open_access(item.id)
            ),
        ),
        rx.menu.item(
            rx.icon("key-round", size=14), "Reset password…", on_click=S.confirm_reset(item.id)
        ),
        rx.cond(
            item.is_self,
            rx.fragment(),
            rx.fragment(
                rx.menu.separator(),
                active_toggle(
                    item.active,
                    off=("user-x", "Deactivate…", S.confirm_active(item.id, False)),
                    on=("user-check", "Reactivate…", S.confirm_active(item.id, True)),
                ),
            ),
        ),
    )


def _row(item: UserItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.hstack(
                    rx.text(item.name, size="2", weight="medium"),
                    rx.cond(item.is_self, rx.badge("You", variant="outline", size="1")),
                    spacing="2",
                    align="center",
                ),
                muted(item.email),
                spacing="0",
            ),
            vertical_align="middle",
        ),
        cell(_role_badge(item)),
        cell(rx.cond(item.brand != "", rx.text(item.brand, size="2"), muted("—"))),
        cell(active_badge(item.active)),
        cell(when(item.last_login, item.last_login_exact)),
        cell(_actions(item), justify="end", width="48px"),
        opacity=rx.cond(item.active, "1", "0.6"),
        data_testid="user-row",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.form(
            search_box(
                id="user-search",
                name="q",
                value=S.search,
                placeholder="Search name or email, then Enter",
                aria_label="Search users",
            ),
            rx.el.input(type="hidden", name="role", value=S.role_filter),
            on_submit=S.apply_filters,
            reset_on_submit=False,
            width="auto",
        ),
        filter_select(
            ROLE_CHOICES,
            all_label="All roles",
            all_value=ANY_ROLE,
            value=S.role_filter,
            on_change=S.filter_role,
            aria_label="Filter by role",
            min_width="150px",
        ),
        clear_filters(S),
        rx.spacer(),
        muted(S.summary, size="2", white_space="nowrap", data_testid="users-summary"),
        align="center",
        spacing="3",
        width="100%",
    )


def _list() -> rx.Component:
    return admin_list(
        S,
        S.users,
        table(
            *headers(
                "User",
                "Role",
                "Brand",
                "Status",
                "Last login",
                "",
                widths={"User": "32%", "": "48px"},
            ),
            body=rx.foreach(S.users, _row),
            test_id="users-table",
        ),
        empty=filtered_empty(
            S,
            "No users match these filters",
            "Try another name or email, or clear the filters to see everyone.",
            empty_state(
                "users",
                "No users yet",
                "Create the first account with New user; they get a temporary password.",
            ),
        ),
    )


def _role_and_brand(prefix: str) -> list[rx.Component]:
    return [
        select_field(
            "Role",
            f"{prefix}-role",
            ROLE_CHOICES,
            name="role",
            value=S.form_role,
            on_change=S.set_form_role,
            hint="Admins manage everything; merchandisers work stock; managers read and "
            "approve; vendors see only their brand.",
        ),
        rx.cond(
            S.form_needs_brand,
            select_field(
                "Brand",
                f"{prefix}-brand",
                S.brands,
                name="brand",
                placeholder="Pick the vendor's brand",
                value=S.form_brand,
                on_change=S.set_form_brand,
                hint="A vendor sees this brand's stock and imports, nothing else.",
            ),
        ),
    ]


def _dialogs() -> rx.Component:
    return rx.fragment(
        form_dialog(
            text_field(
                "Email",
                "new-user-email",
                name="email",
                type="email",
                required=True,
                auto_focus=True,
                auto_complete="off",
                placeholder="name@company.com",
            ),
            text_field(
                "Name",
                "new-user-name",
                name="name",
                auto_complete="off",
                hint="Optional; shown in the top bar and in history.",
            ),
            *_role_and_brand("new-user"),
            title="New user",
            description="They get a temporary password, shown to you once after creating.",
            **dialog_wiring(S, "create"),
            on_submit=S.create_user,
            submit_label="Create user",
            test_id="new-user-dialog",
        ),
        form_dialog(
            *_role_and_brand("access"),
            title="Change role",
            description="What " + S.target_label + " may see and do. It applies at their "
            "next click; no need to sign in again.",
            **dialog_wiring(S, "access"),
            on_submit=S.save_access,
            submit_label="Save role",
            test_id="access-dialog",
        ),
        target_confirm(
            S,
            "deactivate",
            "Deactivate",
            description="They are signed out everywhere at once and cannot sign in until "
            "reactivated. Their history stays.",
            on_confirm=S.set_active,
            test_id="deactivate-dialog",
        ),
        target_confirm(
            S,
            "reactivate",
            "Reactivate",
            description="They can sign in again with their current password.",
            on_confirm=S.set_active,
            test_id="reactivate-dialog",
            danger=False,
        ),
        target_confirm(
            S,
            "reset",
            "Reset the password of",
            description="Their current password stops working and they are signed out "
            "everywhere. You will see a temporary password once.",
            on_confirm=S.reset_password,
            test_id="reset-dialog",
            confirm_label="Reset password",
        ),
        secret_dialog(
            title="Temporary password",
            description=S.temp_password_note,
            secret=S.temp_password,
            warning="Copy it now: it is shown only this once and Rackroom keeps only a hash.",
            open=S.dialog == "password",
            on_open_change=S.on_dialog_change,
            done_label="Done",
            test_id="password-dialog",
        ),
    )


@page(
    routes.ADMIN_USERS,
    TITLE,
    perm="admin.users",
    load=S.load,
    nav=Nav("Users", "users", group="admin"),
    description="Who can sign in, and what each person may see and do.",
    action=lambda: primary_action("New user", "user-plus", S.open_create),
)
def admin_users_page() -> rx.Component:
    return admin_body(S, _filters(), _list(), _dialogs())
