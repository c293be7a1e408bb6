"""Admin › Users: the list (filters in the URL), create, change role, deactivate, reset."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.admin_lists import admin_table, brand_field, labelled, secret_reveal
from dashboard.components.blocks import inline
from dashboard.components.filters import clear_filters, filter_select, search_box
from dashboard.states.admin_users import ANY_ROLE, ROLE_CHOICES, AdminUsersState, UserItem

S = AdminUsersState
COLUMNS = ("User", "Role", "Brand", "Status", "Last login", "")


def _role_badge(item: UserItem) -> rx.Component:
    return rx.badge(
        item.role_label,
        color_scheme=rx.cond(item.role == "admin", "indigo", "gray"),
        variant="soft", size="1",
    )


def _actions(item: UserItem) -> rx.Component:
    return ui.row_menu(
        "Actions for " + item.email,
        rx.cond(
            item.is_self,
            rx.menu.item("This is you", disabled=True),
            ui.menu_action("user-cog", "Change role…", S.open_access(item.id)),
        ),
        ui.menu_action("key-round", "Reset password…", S.confirm_reset(item.id)),
        rx.cond(
            item.is_self,
            rx.fragment(),
            rx.fragment(
                rx.menu.separator(),
                ui.active_toggle(
                    item.active,
                    off=("user-x", "Deactivate…", S.confirm_active(item.id, False)),
                    on=("user-check", "Reactivate…", S.confirm_active(item.id, True)),
                ),
            ),
        ),
    )


def _row(item: UserItem) -> rx.Component:
    return rx.table.row(
        labelled(
            inline(
                rx.text(item.name, size="2", weight="medium"),
                rx.cond(item.is_self, rx.badge("You", variant="outline", size="1")),
            ),
            ui.muted(item.email),
        ),
        ui.cell(_role_badge(item)),
        ui.cell(rx.cond(item.brand != "", rx.text(item.brand, size="2"), ui.muted("—"))),
        ui.cell(ui.active_badge(item.active)),
        ui.cell(ui.when(item.last_login)),
        ui.cell(_actions(item), justify="end", width="48px"),
        opacity=rx.cond(item.active, "1", "0.6"), data_testid="user-row",
    )


def _filters() -> rx.Component:
    return inline(
        rx.form(
            search_box(
                id="user-search", name="q", value=S.search,
                placeholder="Search name or email, then Enter",
                aria_label="Search users",
            ),
            rx.el.input(type="hidden", name="role", value=S.role_filter),
            on_submit=S.apply_filters, reset_on_submit=False, width="auto",
        ),
        filter_select(
            ROLE_CHOICES, all_label="All roles", all_value=ANY_ROLE, value=S.role_filter,
            on_change=S.filter_role, aria_label="Filter by role", min_width="150px",
        ),
        clear_filters(S),
        rx.spacer(),
        ui.muted(S.summary, size="2", white_space="nowrap", data_testid="users-summary"),
        width="100%", gap="3",
    )


def _list() -> rx.Component:
    return admin_table(
        S, COLUMNS, row=_row, test_id="users-table", summary=False,
        widths={"User": "32%", "": "48px"},
        empty=(
            "users", "No users yet",
            "Create the first account with New user; they get a temporary password.",
        ),
        filtered=(
            "No users match these filters",
            "Try another name or email, or clear the filters to see everyone.",
        ),
    )


def _role_and_brand(prefix: str) -> list[rx.Component]:
    return [
        ui.select_field(
            "Role",
            f"{prefix}-role",
            ROLE_CHOICES, name="role", value=S.form_role, on_change=S.set_form_role,
            hint="Admins manage everything; merchandisers work stock; managers read and "
            "approve; vendors see only their brand.",
        ),
        rx.cond(
            S.form_needs_brand,
            brand_field(
                S,
                f"{prefix}-brand",
                "A vendor sees this brand's stock and imports, nothing else.",
                placeholder="Pick the vendor's brand",
            ),
        ),
    ]


def _dialogs() -> rx.Component:
    return rx.fragment(
        ui.form_dialog(
            ui.text_field(
                "Email", "new-user-email", name="email", type="email", required=True,
                auto_focus=True, auto_complete="off", placeholder="name@company.com",
            ),
            ui.text_field(
                "Name", "new-user-name", name="name", auto_complete="off",
                hint="Optional; shown in the top bar and in history.",
            ),
            *_role_and_brand("new-user"),
            title="New user",
            description="They get a temporary password, shown to you once after creating.",
            **ui.dialog_wiring(S, "create"),
            on_submit=S.create_user, submit_label="Create user", test_id="new-user-dialog",
        ),
        ui.form_dialog(
            *_role_and_brand("access"),
            title="Change role",
            description="What " + S.target_label + " may see and do. It applies at their "
            "next click; no need to sign in again.",
            **ui.dialog_wiring(S, "access"),
            on_submit=S.save_access, submit_label="Save role", test_id="access-dialog",
        ),
        ui.target_confirm(
            S, "deactivate", "Deactivate",
            description="They are signed out everywhere at once and cannot sign in until "
            "reactivated. Their history stays.",
            on_confirm=S.set_active, test_id="deactivate-dialog",
        ),
        ui.target_confirm(
            S, "reactivate", "Reactivate",
            description="They can sign in again with their current password.",
            on_confirm=S.set_active, test_id="reactivate-dialog", danger=False,
        ),
        ui.target_confirm(
            S, "reset", "Reset the password of",
            description="Their current password stops working and they are signed out "
            "everywhere. You will see a temporary password once.",
            on_confirm=S.reset_password, test_id="reset-dialog", confirm_label="Reset password",
        ),
        secret_reveal(
            S, title="Temporary password",
            warning="Copy it now: it is shown only this once and Rackroom keeps only a hash.",
            done_label="Done", dialog="password", test_id="password-dialog",
        ),
    )


admin_users_page = ui.admin_page(
    routes.ADMIN_USERS, "Users", S, perm="admin.users", icon="users",
    description="Who can sign in, and what each person may see and do.",
    new="New user", new_icon="user-plus", parts=(_filters, _list, _dialogs),
)
