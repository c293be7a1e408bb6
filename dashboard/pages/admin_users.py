"""Admin › Users: the list (filters in the URL), create, change role, deactivate, reset."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import (
    active_badge,
    admin_shell,
    cell,
    confirm_dialog,
    field,
    form_dialog,
    header,
    load_error,
    muted,
    pager,
    primary_action,
    secret_dialog,
    select,
    table,
    text_input,
    when,
)
from dashboard.components.figures import empty_state
from dashboard.states.admin_users import (
    ANY_ROLE,
    ROLE_CHOICES,
    ROUTE,
    AdminUsersState,
    UserItem,
)
from dashboard.states.auth import AuthState

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
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis", size=16),
                variant="ghost",
                color_scheme="gray",
                size="1",
                aria_label="Actions for " + item.email,
                title="Actions",
            )
        ),
        rx.menu.content(
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
                    rx.cond(
                        item.active,
                        rx.menu.item(
                            rx.icon("user-x", size=14),
                            "Deactivate…",
                            color="red",
                            on_click=S.confirm_active(item.id, False),
                        ),
                        rx.menu.item(
                            rx.icon("user-check", size=14),
                            "Reactivate…",
                            on_click=S.confirm_active(item.id, True),
                        ),
                    ),
                ),
            ),
            size="1",
            align="end",
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
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                id="user-search",
                name="q",
                type="search",
                default_value=S.search,
                key=S.search,
                placeholder="Search name or email, then Enter",
                aria_label="Search users",
                size="2",
                width="300px",
            ),
            rx.el.input(type="hidden", name="role", value=S.role_filter),
            on_submit=S.apply_filters,
            reset_on_submit=False,
            width="auto",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Filter by role", min_width="150px"),
            rx.select.content(
                rx.select.item("All roles", value=ANY_ROLE),
                rx.select.separator(),
                *[rx.select.item(label, value=value) for value, label in ROLE_CHOICES],
            ),
            value=S.role_filter,
            on_change=S.filter_role,
            size="2",
        ),
        rx.cond(
            S.filtered,
            rx.button(
                rx.icon("x", size=14),
                "Clear filters",
                on_click=S.clear_filters,
                variant="ghost",
                color_scheme="gray",
                size="2",
            ),
        ),
        rx.spacer(),
        muted(S.summary, size="2", white_space="nowrap", data_testid="users-summary"),
        align="center",
        spacing="3",
        width="100%",
    )


def _list() -> rx.Component:
    return rx.cond(
        S.users.length() > 0,
        rx.vstack(
            table(
                header("User", width="32%"),
                header("Role"),
                header("Brand"),
                header("Status"),
                header("Last login"),
                header("", width="48px"),
                body=rx.foreach(S.users, _row),
                test_id="users-table",
            ),
            pager(S.range_label, S.previous_href, S.next_href),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            S.loaded,
            rx.cond(
                S.filtered,
                empty_state(
                    "search-x",
                    "No users match these filters",
                    "Try another name or email, or clear the filters to see everyone.",
                    rx.button("Clear filters", on_click=S.clear_filters, variant="soft", size="2"),
                ),
                empty_state(
                    "users",
                    "No users yet",
                    "Create the first account with New user; they get a temporary password.",
                ),
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
        ),
    )


def _role_and_brand(prefix: str) -> list[rx.Component]:
    return [
        field(
            "Role",
            select(
                f"{prefix}-role",
                ROLE_CHOICES,
                name="role",
                value=S.form_role,
                on_change=S.set_form_role,
            ),
            for_id=f"{prefix}-role",
            hint="Admins manage everything; merchandisers work stock; managers read and "
            "approve; vendors see only their brand.",
        ),
        rx.cond(
            S.form_needs_brand,
            field(
                "Brand",
                select(
                    f"{prefix}-brand",
                    S.brands,
                    name="brand",
                    placeholder="Pick the vendor's brand",
                    value=S.form_brand,
                    on_change=S.set_form_brand,
                ),
                for_id=f"{prefix}-brand",
                hint="A vendor sees this brand's stock and imports, nothing else.",
            ),
        ),
    ]


def _dialogs() -> rx.Component:
    return rx.fragment(
        form_dialog(
            field(
                "Email",
                text_input(
                    "new-user-email",
                    name="email",
                    type="email",
                    required=True,
                    auto_focus=True,
                    auto_complete="off",
                    placeholder="name@company.com",
                ),
                for_id="new-user-email",
            ),
            field(
                "Name",
                text_input("new-user-name", name="name", auto_complete="off"),
                for_id="new-user-name",
                hint="Optional; shown in the top bar and in history.",
            ),
            *_role_and_brand("new-user"),
            title="New user",
            description="They get a temporary password, shown to you once after creating.",
            open=S.dialog == "create",
            on_open_change=S.on_dialog_change,
            on_submit=S.create_user,
            submit_label="Create user",
            saving=S.saving,
            error=S.form_error,
            test_id="new-user-dialog",
        ),
        form_dialog(
            *_role_and_brand("access"),
            title="Change role",
            description="What " + S.target_label + " may see and do. It applies at their "
            "next click; no need to sign in again.",
            open=S.dialog == "access",
            on_open_change=S.on_dialog_change,
            on_submit=S.save_access,
            submit_label="Save role",
            saving=S.saving,
            error=S.form_error,
            test_id="access-dialog",
        ),
        confirm_dialog(
            title="Deactivate " + S.target_label + "?",
            description="They are signed out everywhere at once and cannot sign in until "
            "reactivated. Their history stays.",
            confirm_label="Deactivate",
            open=S.dialog == "deactivate",
            on_open_change=S.on_dialog_change,
            on_confirm=S.set_active,
            saving=S.saving,
            error=S.form_error,
            test_id="deactivate-dialog",
        ),
        confirm_dialog(
            title="Reactivate " + S.target_label + "?",
            description="They can sign in again with their current password.",
            confirm_label="Reactivate",
            open=S.dialog == "reactivate",
            on_open_change=S.on_dialog_change,
            on_confirm=S.set_active,
            saving=S.saving,
            error=S.form_error,
            test_id="reactivate-dialog",
            danger=False,
        ),
        confirm_dialog(
            title="Reset the password of " + S.target_label + "?",
            description="Their current password stops working and they are signed out "
            "everywhere. You will see a temporary password once.",
            confirm_label="Reset password",
            open=S.dialog == "reset",
            on_open_change=S.on_dialog_change,
            on_confirm=S.reset_password,
            saving=S.saving,
            error=S.form_error,
            test_id="reset-dialog",
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


def admin_users_page() -> rx.Component:
    return admin_shell(
        load_error(S.load_error),
        _filters(),
        _list(),
        _dialogs(),
        title=TITLE,
        route=ROUTE,
        description="Who can sign in, and what each person may see and do.",
        action=primary_action("New user", "user-plus", S.open_create),
    )


ON_LOAD = [AuthState.require_login, S.load]
