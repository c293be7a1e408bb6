"""Admin › Users: who can sign in, with which role; create, change access, deactivate,
reset passwords. Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar, TypedDict
from urllib.parse import urlencode

import reflex as rx

from dashboard import routes
from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.listing import (
    Choice,
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
    query_param,
)
from dashboard.states.one_time import OneTimeSecrets
from models.admin import (
    UserRow,
    brand_choices,
    create_account,
    list_users,
    reset_password,
    set_role,
    set_user_active,
)
from models.users import Role, User

log = logging.getLogger(__name__)

ROUTE = routes.ADMIN_USERS
ANY_ROLE = "all"
ROLE_CHOICES: list[tuple[str, str]] = [
    (Role.ADMIN.value, "Admin"),
    (Role.MERCHANDISER.value, "Merchandiser"),
    (Role.MANAGER.value, "Manager"),
    (Role.VENDOR.value, "Vendor"),
]
ROLE_LABELS = dict(ROLE_CHOICES)
#: What an admin reads when the row they clicked has left the page meanwhile.
GONE = "That user is not on this page any more. Refresh the list."


@dataclasses.dataclass
class UserItem:
    """One row of the list, ready to show."""

    id: int = 0
    email: str = ""
    name: str = ""
    role: str = ""
    role_label: str = ""
    brand: str = ""
    brand_code: str = ""
    active: bool = True
    last_login: str = ""
    last_login_exact: str = ""
    is_self: bool = False

    @classmethod
    def of(cls, row: UserRow, self_id: int) -> UserItem:
        return cls(
            id=row.id,
            email=row.email,
            name=row.name or row.email,
            role=row.role,
            role_label=ROLE_LABELS.get(row.role, row.role),
            brand=row.brand_name,
            brand_code=row.brand_code,
            active=row.is_active,
            last_login=relative_time(row.last_login_at),
            last_login_exact=exact_time(row.last_login_at),
            is_self=row.id == self_id,
        )


class NewUserForm(TypedDict, total=False):
    email: str
    name: str
    role: str
    brand: str


class AccessForm(TypedDict, total=False):
    role: str
    brand: str


class FilterForm(TypedDict, total=False):
    q: str
    role: str


class AdminUsersState(OneTimeSecrets, RoleGuard, TargetDialog, PagedList, rx.State):
    users: list[UserItem] = []
    search: str = ""
    role_filter: str = ANY_ROLE
    loaded: bool = False
    load_error: str = ""
    brands: list[Choice] = []

    #: The open dialog (`dialog`): "", "create", "access", "deactivate", "reactivate",
    #: "reset", "password" (the one-time temporary password).
    form_role: str = Role.MERCHANDISER.value
    form_brand: str = ""
    temp_password: str = ""
    ONE_TIME_SECRETS: ClassVar[tuple[str, ...]] = ("temp_password",)
    temp_password_note: str = ""

    @rx.var
    def form_needs_brand(self) -> bool:
        return self.form_role == Role.VENDOR.value

    @rx.var
    def filtered(self) -> bool:
        return self.search != "" or self.role_filter != ANY_ROLE

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        return plural(self.total, "user") + (" match the filters" if self.filtered else "")

    # --- the list -----------------------------------------------------------------------

    @rx.event
    @requires("admin.users")
    async def load(self):
        """on_load: the filters and page come from the URL."""
        params = self.router.url.query_parameters
        self.search = query_param(params, "q")
        role = query_param(params, "role")
        self.role_filter = role if role in ROLE_LABELS else ANY_ROLE
        self.dialog = ""
        await self._fetch(page_number(params), signed_in_user().id)
        return None

    @rx.event
    @requires("admin.users")
    async def apply_filters(self, form: FilterForm):
        """Enter in the filter bar: the filters go into the URL, which reloads the list."""
        return rx.redirect(self._href(form.get("q", ""), form.get("role", ANY_ROLE)))

    @rx.event
    @requires("admin.users")
    async def clear_filters(self):
        return rx.redirect(ROUTE)

    @rx.event
    @requires("admin.users")
    async def filter_role(self, role: str):
        """Picking a role filters at once (a select has no Enter)."""
        return rx.redirect(self._href(self.search, role))

    def _href(self, search: str, role: str) -> str:
        params = {"q": search.strip()[:200], "role": role if role in ROLE_LABELS else ""}
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{ROUTE}?{query}" if query else ROUTE

    async def _fetch(self, page: int, me: int) -> None:
        found = await self._read_list(
            "users",
            db_read(fetch_page, list_users, page, search=self.search, role=self._role_param()),
        )
        if found is None:
            return
        self.users = [UserItem.of(row, self_id=me) for row in found.rows]
        self._show_paging(found, ROUTE, {"q": self.search, "role": self._role_param()})
        self.loaded = True

    def _role_param(self) -> str:
        return "" if self.role_filter == ANY_ROLE else self.role_filter

    async def _refetch(self) -> None:
        await self._fetch(page_number(self.router.url.query_parameters), signed_in_user().id)

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def set_form_role(self, role: str) -> None:
        """The role picked in a dialog (shows the brand picker for vendors). No data."""
        if role in ROLE_LABELS:
            self.form_role = role

    @rx.event
    def set_form_brand(self, code: str) -> None:
        self.form_brand = code

    def _close_dialog(self) -> None:
        """Closing a dialog also forgets a shown temporary password."""
        super()._close_dialog()
        self.forget_secrets()
        self.temp_password_note = ""

    async def _load_brands(self) -> None:
        self.brands = [
            Choice(code, f"{name} ({code})") for code, name in await db_read(brand_choices)
        ]

    def _show_password(self, password: str, note: str) -> None:
        """The password dialog shows a temporary password, once."""
        self.dialog = "password"
        self.temp_password = password
        self.temp_password_note = note

    @rx.event
    @requires("admin.users")
    async def open_create(self):
        self._close_dialog()
        await self._load_brands()
        self.form_role = Role.MERCHANDISER.value
        self.form_brand = ""
        self.dialog = "create"
        return None

    @rx.event
    @requires("admin.users")
    async def create_user(self, form: NewUserForm):
        email = (form.get("email") or "").strip()
        role = self.form_role
        log.info("%s creates user %s (%s)", signed_in_user().email, email, role)

        def done(created: tuple[User, str]) -> str:
            user, password = created
            self._show_password(
                password,
                f"{user.email} can sign in with this temporary password. "
                "Give it to them over a channel you trust.",
            )
            return f"Created {user.email} as {ROLE_LABELS[role].lower()}"

        return await self._attempt(
            db_write(
                create_account,
                email,
                role,
                name=form.get("name") or "",
                brand_code=self.form_brand if role == Role.VENDOR.value else "",
                actor=signed_in_user().email,
            ),
            done=done,
        )

    def _open_on(self, name: str, user_id: int) -> UserItem | None:
        """Open dialog `name` on a listed user; None (and no dialog) when it is gone."""
        target = row_by_id(self.users, user_id)
        if target is not None:
            self._open_target(name, target.id, target.email)
        return target

    @rx.event
    @requires("admin.users")
    async def open_access(self, user_id: int):
        target = row_by_id(self.users, user_id)
        if target is None:
            return rx.toast.error(GONE)
        await self._load_brands()
        self._open_on("access", user_id)
        self.form_role = target.role
        self.form_brand = target.brand_code
        return None

    @rx.event
    @requires("admin.users")
    async def save_access(self, form: AccessForm):
        role = self.form_role
        log.info("%s gives user %s role %s", signed_in_user().email, self.target_id, role)
        return await self._attempt(
            db_write(
                set_role,
                self.target_id,
                role,
                brand_code=self.form_brand if role == Role.VENDOR.value else "",
                actor_id=signed_in_user().id,
                actor=signed_in_user().email,
            ),
            done=lambda user: f"{user.email} is now {ROLE_LABELS[role].lower()}",
        )

    @rx.event
    @requires("admin.users")
    async def confirm_active(self, user_id: int, active: bool):
        """Ask before deactivating (or reactivating) a user."""
        if self._open_on("reactivate" if active else "deactivate", user_id) is None:
            return rx.toast.error(GONE)
        return None

    @rx.event
    @requires("admin.users")
    async def set_active(self):
        active = self.dialog == "reactivate"
        if self.dialog not in ("deactivate", "reactivate"):
            return None
        log.info("%s sets user %s active=%s", signed_in_user().email, self.target_id, active)
        return await self._attempt(
            db_write(
                set_user_active,
                self.target_id,
                active,
                actor_id=signed_in_user().id,
                actor=signed_in_user().email,
            ),
            done=lambda user: f"{user.email} can sign in again"
            if active
            else f"{user.email} is deactivated and signed out everywhere",
        )

    @rx.event
    @requires("admin.users")
    async def confirm_reset(self, user_id: int):
        if self._open_on("reset", user_id) is None:
            return rx.toast.error(GONE)
        return None

    @rx.event
    @requires("admin.users")
    async def reset_password(self):
        if self.dialog != "reset":
            return None
        log.info("%s resets the password of user %s", signed_in_user().email, self.target_id)

        def done(reset: tuple[User, str]) -> str:
            user, password = reset
            self._show_password(
                password,
                f"{user.email}'s old password no longer works and their sessions have "
                "ended. Give them this temporary password over a channel you trust.",
            )
            return f"Password reset for {user.email}"

        return await self._attempt(
            db_write(reset_password, self.target_id, actor=signed_in_user().email),
            done=done,
        )
