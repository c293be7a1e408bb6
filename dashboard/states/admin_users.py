"""Admin › Users: who can sign in, with which role; create, change access, deactivate,
reset passwords. Every handler checks on the server that the caller is an admin."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypedDict
from urllib.parse import urlencode

import reflex as rx

from dashboard import routes
from dashboard.items import Moment, item_of
from dashboard.states.admin_common import Listing, confirm_row
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import db_write, query_param
from dashboard.states.one_time import SecretDialog
from models import admin
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


@dataclasses.dataclass
class UserItem:
    """One row of the list, ready to show."""

    id: int
    email: str
    name: str
    role: str
    role_label: str
    brand: str
    brand_code: str
    active: bool
    last_login: Moment
    is_self: bool

    @classmethod
    def of(cls, row: admin.UserRow, self_id: int) -> UserItem:
        return item_of(
            cls,
            row,
            name=row.name or row.email,
            role_label=ROLE_LABELS.get(row.role, row.role),
            brand=row.brand_name,
            active=row.is_active,
            last_login=Moment.of(row.last_login_at),
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


def _email(item: UserItem) -> str:
    return item.email


class AdminUsersState(SecretDialog, RoleGuard, rx.State):
    LISTING: ClassVar[Listing] = Listing(
        "admin.users", "users", admin.list_users, routes.ADMIN_USERS,
        "users", UserItem.of, ("user",),
    )
    users: list[UserItem] = []
    search: str = ""
    role_filter: str = ANY_ROLE

    #: The open dialog (`dialog`): "", "create", "access", "deactivate", "reactivate",
    #: "reset", "password" (the one-time temporary password, in `new_secret`).
    form_role: str = Role.MERCHANDISER.value

    @rx.var
    def form_needs_brand(self) -> bool:
        return self.form_role == Role.VENDOR.value

    @rx.var
    def filtered(self) -> bool:
        return self.search != "" or self.role_filter != ANY_ROLE

    # --- the list -----------------------------------------------------------------------

    async def _open_page(self) -> None:
        """The filters and page come from the URL."""
        params = self.router.url.query_parameters
        self.search = query_param(params, "q")
        role = query_param(params, "role")
        self.role_filter = role if role in ROLE_LABELS else ANY_ROLE
        await super()._open_page()

    @rx.event
    @requires("admin.users")
    async def apply_filters(self, form: FilterForm):
        """Enter in the filter bar: the filters go into the URL, which reloads the list."""
        return rx.redirect(self._href(form.get("q", ""), form.get("role", ANY_ROLE)))

    @rx.event
    @requires("admin.users")
    async def clear_filters(self):
        return rx.redirect(routes.ADMIN_USERS)

    @rx.event
    @requires("admin.users")
    async def filter_role(self, role: str):
        """Picking a role filters at once (a select has no Enter)."""
        return rx.redirect(self._href(self.search, role))

    def _href(self, search: str, role: str) -> str:
        params = {"q": search.strip()[:200], "role": role if role in ROLE_LABELS else ""}
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{routes.ADMIN_USERS}?{query}" if query else routes.ADMIN_USERS

    def _list_filters(self) -> tuple[dict[str, Any], dict[str, str]]:
        role = "" if self.role_filter == ANY_ROLE else self.role_filter
        return {"search": self.search, "role": role}, {"q": self.search, "role": role}

    def _item(self, row: admin.UserRow) -> UserItem:
        return UserItem.of(row, self_id=signed_in_user().id)

    # --- dialogs ------------------------------------------------------------------------

    @rx.event
    def set_form_role(self, role: str) -> None:
        """The role picked in a dialog (shows the brand picker for vendors). No data."""
        if role in ROLE_LABELS:
            self.form_role = role

    def _shows_password(
        self, note: Callable[[User], str], toast: Callable[[User], str]
    ) -> Callable[[tuple[User, str]], str]:
        """What `_attempt` does once a user has a new temporary password: the password
        dialog shows it (once) under `note`; the toast says `toast`."""

        def done(result: tuple[User, str]) -> str:
            user, password = result
            self._show_secret(password, note(user), dialog="password")
            return toast(user)

        return done

    async def _open_create(self, everyone: str = "") -> None:
        """The create dialog: no "All brands" (a vendor has one), a merchandiser first."""
        await super()._open_create(everyone="")
        self.form_role = Role.MERCHANDISER.value

    @rx.event
    @requires("admin.users")
    async def create_user(self, form: NewUserForm):
        email = (form.get("email") or "").strip()
        role = self.form_role
        log.info("%s creates user %s (%s)", signed_in_user().email, email, role)
        done = self._shows_password(
            lambda user: f"{user.email} can sign in with this temporary password. "
            "Give it to them over a channel you trust.",
            lambda user: f"Created {user.email} as {ROLE_LABELS[role].lower()}",
        )

        return await self._attempt(
            db_write(
                admin.create_account,
                email,
                role,
                name=form.get("name") or "",
                brand_code=self.form_brand if role == Role.VENDOR.value else "",
                actor=signed_in_user().email,
            ),
            done=done,
        )

    @rx.event
    @requires("admin.users")
    async def open_access(self, user_id: int):
        target = self._listed(user_id)
        if target is None:
            return rx.toast.error(self.LISTING.gone_message())
        await self._load_brands()
        self._open_target("access", target.id, target.email)
        self.form_role = target.role
        self.form_brand = target.brand_code
        return None

    @rx.event
    @requires("admin.users")
    async def save_access(self, form: AccessForm):
        role = self.form_role
        return await self._save_target(
            "access",
            admin.set_role,
            lambda user: f"{user.email} is now {ROLE_LABELS[role].lower()}",
            role=role,
            brand_code=self.form_brand if role == Role.VENDOR.value else "",
            actor_id=signed_in_user().id,
        )

    @rx.event
    @requires("admin.users")
    async def confirm_active(self, user_id: int, active: bool):
        """Ask before deactivating (or reactivating) a user."""
        return self._open_row("reactivate" if active else "deactivate", user_id, _email)

    @rx.event
    @requires("admin.users")
    async def set_active(self):
        active = self.dialog == "reactivate"
        if self.dialog not in ("deactivate", "reactivate"):
            return None
        return await self._save_target(
            self.dialog,
            admin.set_user_active,
            lambda user: f"{user.email} can sign in again"
            if active
            else f"{user.email} is deactivated and signed out everywhere",
            active=active,
            actor_id=signed_in_user().id,
        )

    confirm_reset = confirm_row("reset", _email)

    @rx.event
    @requires("admin.users")
    async def reset_password(self):
        done = self._shows_password(
            lambda user: f"{user.email}'s old password no longer works and their sessions "
            "have ended. Give them this temporary password over a channel you trust.",
            lambda user: f"Password reset for {user.email}",
        )
        return await self._save_target("reset", admin.reset_password, done)
