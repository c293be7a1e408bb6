"""Admin › Users: who can sign in, with which role; create, change access, deactivate,
reset passwords. Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict
from urllib.parse import urlencode

import reflex as rx

from dashboard.formatting import exact_time, plural, relative_time
from dashboard.states.auth import RoleGuard
from dashboard.states.listing import (
    Choice,
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
    query_param,
)
from models.admin import (
    UserRow,
    brand_choices,
    create_account,
    list_users,
    reset_password,
    set_role,
    set_user_active,
)
from models.errors import DomainError
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/admin/users"
ADMIN = Role.ADMIN
ANY_ROLE = "all"
ROLE_CHOICES: list[tuple[str, str]] = [
    (Role.ADMIN.value, "Admin"),
    (Role.MERCHANDISER.value, "Merchandiser"),
    (Role.MANAGER.value, "Manager"),
    (Role.VENDOR.value, "Vendor"),
]
ROLE_LABELS = dict(ROLE_CHOICES)
#: What an admin reads when a save fails for a reason that is not the input's fault.
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."


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


class AdminUsersState(RoleGuard, PagedList, rx.State):
    users: list[UserItem] = []
    search: str = ""
    role_filter: str = ANY_ROLE
    loaded: bool = False
    load_error: str = ""
    brands: list[Choice] = []

    #: The open dialog: "", "create", "access", "deactivate", "reactivate", "reset",
    #: "password" (the one-time temporary password).
    dialog: str = ""
    target_id: int = 0
    target_label: str = ""
    form_role: str = Role.MERCHANDISER.value
    form_brand: str = ""
    form_error: str = ""
    saving: bool = False
    temp_password: str = ""
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
    async def load(self):
        """on_load: the filters and page come from the URL."""
        access = await self.require_role(ADMIN, action="see users")
        if not access:
            self._clear()
            return access.page_refusal
        params = self.router.url.query_parameters
        self.search = query_param(params, "q")
        role = query_param(params, "role")
        self.role_filter = role if role in ROLE_LABELS else ANY_ROLE
        self.dialog = ""
        await self._fetch(page_number(params), access.user.id)
        return None

    @rx.event
    async def apply_filters(self, form: FilterForm):
        """Enter in the filter bar: the filters go into the URL, which reloads the list."""
        access = await self.require_role(ADMIN, action="see users")
        if not access:
            return access.refusal
        return rx.redirect(self._href(form.get("q", ""), form.get("role", ANY_ROLE)))

    @rx.event
    async def clear_filters(self):
        access = await self.require_role(ADMIN, action="see users")
        if not access:
            return access.refusal
        return rx.redirect(ROUTE)

    @rx.event
    async def filter_role(self, role: str):
        """Picking a role filters at once (a select has no Enter)."""
        access = await self.require_role(ADMIN, action="see users")
        if not access:
            return access.refusal
        return rx.redirect(self._href(self.search, role))

    def _href(self, search: str, role: str) -> str:
        params = {"q": search.strip()[:200], "role": role if role in ROLE_LABELS else ""}
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{ROUTE}?{query}" if query else ROUTE

    async def _fetch(self, page: int, me: int) -> None:
        try:
            found = await db_read(
                fetch_page,
                list_users,
                page,
                search=self.search,
                role="" if self.role_filter == ANY_ROLE else self.role_filter,
            )
        except Exception:
            log.exception("admin users: reading the list failed")
            self.load_error = "The users could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.users = [UserItem.of(row, self_id=me) for row in found.rows]
        self._show_paging(found, ROUTE, {"q": self.search, "role": self._role_param()})
        self.loaded = True

    def _role_param(self) -> str:
        return "" if self.role_filter == ANY_ROLE else self.role_filter

    async def _refresh(self, me: int) -> None:
        await self._fetch(page_number(self.router.url.query_parameters), me)

    def _clear(self) -> None:
        self.users = []
        self.loaded = False
        self.total = 0
        self.range_label = self.previous_href = self.next_href = ""
        self._close()

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self._close()

    @rx.event
    def set_form_role(self, role: str) -> None:
        """The role picked in a dialog (shows the brand picker for vendors). No data."""
        if role in ROLE_LABELS:
            self.form_role = role

    @rx.event
    def set_form_brand(self, code: str) -> None:
        self.form_brand = code

    def _close(self) -> None:
        self.dialog = ""
        self.form_error = ""
        self.saving = False
        self.temp_password = ""
        self.temp_password_note = ""
        self.target_id = 0
        self.target_label = ""

    def _target(self, user_id: int) -> UserItem | None:
        return next((u for u in self.users if u.id == user_id), None)

    async def _load_brands(self) -> None:
        self.brands = [
            Choice(code, f"{name} ({code})") for code, name in await db_read(brand_choices)
        ]

    @rx.event
    async def open_create(self):
        access = await self.require_role(ADMIN, action="create users")
        if not access:
            return access.refusal
        self._close()
        await self._load_brands()
        self.form_role = Role.MERCHANDISER.value
        self.form_brand = ""
        self.dialog = "create"
        return None

    @rx.event
    async def create_user(self, form: NewUserForm):
        access = await self.require_role(ADMIN, action="create users")
        if not access:
            return access.refusal
        email = (form.get("email") or "").strip()
        role = self.form_role
        self.saving = True
        try:
            user, password = await db_write(
                create_account,
                email,
                role,
                name=form.get("name") or "",
                brand_code=self.form_brand if role == Role.VENDOR.value else "",
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin users: creating %s failed", email)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s created user %s (%s)", access.user.email, user.email, role)
        self._close()
        self.dialog = "password"
        self.temp_password = password
        self.temp_password_note = (
            f"{user.email} can sign in with this temporary password. "
            "Give it to them over a channel you trust."
        )
        await self._refresh(access.user.id)
        return rx.toast.success(f"Created {user.email} as {ROLE_LABELS[role].lower()}")

    @rx.event
    async def open_access(self, user_id: int):
        access = await self.require_role(ADMIN, action="change roles")
        if not access:
            return access.refusal
        target = self._target(user_id)
        if target is None:
            return rx.toast.error("That user is not on this page any more. Refresh the list.")
        self._close()
        await self._load_brands()
        self.target_id, self.target_label = target.id, target.email
        self.form_role = target.role
        self.form_brand = target.brand_code
        self.dialog = "access"
        return None

    @rx.event
    async def save_access(self, form: AccessForm):
        access = await self.require_role(ADMIN, action="change roles")
        if not access:
            return access.refusal
        role = self.form_role
        self.saving = True
        try:
            user = await db_write(
                set_role,
                self.target_id,
                role,
                brand_code=self.form_brand if role == Role.VENDOR.value else "",
                actor_id=access.user.id,
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin users: changing the role of %s failed", self.target_id)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s made %s %s", access.user.email, user.email, role)
        self._close()
        await self._refresh(access.user.id)
        return rx.toast.success(f"{user.email} is now {ROLE_LABELS[role].lower()}")

    @rx.event
    async def confirm_active(self, user_id: int, active: bool):
        """Ask before deactivating (or reactivating) a user."""
        access = await self.require_role(ADMIN, action="deactivate users")
        if not access:
            return access.refusal
        target = self._target(user_id)
        if target is None:
            return rx.toast.error("That user is not on this page any more. Refresh the list.")
        self._close()
        self.target_id, self.target_label = target.id, target.email
        self.dialog = "reactivate" if active else "deactivate"
        return None

    @rx.event
    async def set_active(self):
        access = await self.require_role(ADMIN, action="deactivate users")
        if not access:
            return access.refusal
        active = self.dialog == "reactivate"
        if self.dialog not in ("deactivate", "reactivate"):
            return None
        self.saving = True
        try:
            user = await db_write(set_user_active, self.target_id, active, actor_id=access.user.id)
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin users: (de)activating %s failed", self.target_id)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s set %s active=%s", access.user.email, user.email, active)
        self._close()
        await self._refresh(access.user.id)
        return rx.toast.success(
            f"{user.email} can sign in again"
            if active
            else f"{user.email} is deactivated and signed out everywhere"
        )

    @rx.event
    async def confirm_reset(self, user_id: int):
        access = await self.require_role(ADMIN, action="reset passwords")
        if not access:
            return access.refusal
        target = self._target(user_id)
        if target is None:
            return rx.toast.error("That user is not on this page any more. Refresh the list.")
        self._close()
        self.target_id, self.target_label = target.id, target.email
        self.dialog = "reset"
        return None

    @rx.event
    async def reset_password(self):
        access = await self.require_role(ADMIN, action="reset passwords")
        if not access:
            return access.refusal
        if self.dialog != "reset":
            return None
        self.saving = True
        try:
            user, password = await db_write(reset_password, self.target_id)
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("admin users: resetting the password of %s failed", self.target_id)
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s reset the password of %s", access.user.email, user.email)
        self._close()
        self.dialog = "password"
        self.temp_password = password
        self.temp_password_note = (
            f"{user.email}'s old password no longer works and their sessions have ended. "
            "Give them this temporary password over a channel you trust."
        )
        await self._refresh(access.user.id)
        return rx.toast.success(f"Password reset for {user.email}")
