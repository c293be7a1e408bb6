"""Who is logged in: the session token cookie, login, logout, and permission checks.

The browser keeps only an opaque session token. Every check asks the database
(`models.users.user_for_token`), so an expired or ended session stops working at
once; nothing the browser holds is trusted for identity or role.

Every event handler that reads or changes data starts with the same check::

    class SomeState(RoleGuard, rx.State):
        @rx.event
        async def do_it(self):
            access = await self.require_role(Role.ADMIN, action="do it")
            if not access:
                return access.refusal       # a toast saying why; nothing changed
            ...                             # access.user is the checked user

A page redirect alone protects nothing: any client can send any event.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import reflex as rx
from reflex.event import EventSpec

from models.catalog import Brand
from models.db import read_session, transaction
from models.errors import AuthenticationFailed
from models.users import (
    SESSION_LIFETIME,
    Role,
    authenticate,
    end_login_session,
    start_login_session,
    user_for_token,
)

log = logging.getLogger(__name__)

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/"


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The logged-in user as the dashboard needs it, detached from any DB session."""

    id: int
    email: str
    name: str
    role: str
    brand_id: int | None
    brand_name: str

    @property
    def brand_scope(self) -> int | None:
        """The one brand this user may see (vendors), or None for every brand."""
        return self.brand_id if self.role == Role.VENDOR else None


#: Every role: for handlers any signed-in user may call (what they see is still scoped).
ALL_ROLES: tuple[Role, ...] = tuple(Role)


def refusal_reason(user: SessionUser | None, roles: tuple[Role, ...], action: str) -> str:
    """Why `user` may not do `action` ("" when they may)."""
    if user is None:
        return "Your session has ended. Sign in again."
    if user.role not in roles:
        return f"You don't have permission to {action}."
    return ""


@dataclass(frozen=True, slots=True)
class Access:
    """The answer of `RoleGuard.require_role`: truthy when allowed.

    `refusal` is what an action handler returns when refused (a toast saying why,
    and back to the login page if the session has ended); `page_refusal` is what a
    page's on_load returns (only the redirect: the page itself shows "no access").
    """

    user: SessionUser | None
    reason: str = ""
    refusal: list[EventSpec] = field(default_factory=list)
    page_refusal: list[EventSpec] = field(default_factory=list)

    def __bool__(self) -> bool:
        return not self.reason


class RoleGuard:
    """Mixin for page states (`class PageState(RoleGuard, rx.State)`): permission checks.

    A plain class, not a state, so `require_role` is not an event the browser can call.
    """

    async def require_role(self, *roles: Role, action: str) -> Access:
        """Re-check the session in the database and the user's role against `roles`.

        Call it first in every handler, before changing anything. In a background
        event call it inside `async with self`.
        """
        auth = await self.get_state(AuthState)  # type: ignore[attr-defined]
        user = await rx.run_in_thread(functools.partial(session_user, auth.token))
        auth._show_user(user)
        reason = refusal_reason(user, roles, action)
        if not reason:
            return Access(user)
        if user is None:
            redirect = rx.redirect(LOGIN_ROUTE)
            return Access(
                None,
                reason,
                refusal=[rx.toast.warning(reason), redirect],
                page_refusal=[redirect],
            )
        log.warning("refused %s (%s): %s", user.email, user.role, action)
        return Access(
            user,
            reason,
            refusal=[
                rx.toast.error(
                    reason,
                    description="Nothing was changed. Ask an admin if you need this.",
                )
            ],
        )


def session_user(token: str) -> SessionUser | None:
    """The user behind a live session token, or None. Blocking: call it in a thread."""
    if not token:
        return None
    with read_session() as session:
        user = user_for_token(session, token)
        if user is None or user.id is None:
            return None
        if user.role == Role.VENDOR and user.brand_id is None:
            # A vendor without a brand could otherwise see every brand: refuse.
            return None
        brand = session.get(Brand, user.brand_id) if user.brand_id is not None else None
        return SessionUser(
            id=user.id,
            email=user.email,
            name=user.name or user.email,
            role=user.role,
            brand_id=user.brand_id,
            brand_name=brand.name if brand is not None else "",
        )


def _log_in(email: str, password: str) -> tuple[str, str]:
    """Check the credentials and open a session: (token, "") or ("", reason)."""
    try:
        # Its own unit of work: a failed attempt is counted even though it raises.
        user = authenticate(email, password)
    except AuthenticationFailed as failure:
        return "", failure.message
    with transaction() as session:
        return start_login_session(session, user), ""


def _log_out(token: str) -> None:
    with transaction() as session:
        end_login_session(session, token)


class AuthState(rx.State):
    """The session cookie and what the shell shows about the user."""

    token: str = rx.Cookie(
        "",
        name="rackroom_session",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="strict",
    )
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    brand_name: str = ""
    login_error: str = ""
    logging_in: bool = False

    @rx.var
    def is_authenticated(self) -> bool:
        return self.user_role != ""

    @rx.var
    def is_admin(self) -> bool:
        """Only shapes what the page shows; every admin handler checks on the server."""
        return self.user_role == Role.ADMIN.value

    async def _current_user(self) -> SessionUser | None:
        """Re-check the token against the database (and refresh the top bar)."""
        user = await rx.run_in_thread(functools.partial(session_user, self.token))
        self._show_user(user)
        return user

    def _show_user(self, user: SessionUser | None) -> None:
        self.user_name = user.name if user else ""
        self.user_email = user.email if user else ""
        self.user_role = user.role if user else ""
        self.brand_name = user.brand_name if user else ""

    async def _forget_pages(self) -> None:
        """Reset every page's state. State lives per browser tab, so without this the
        next user to sign in there would glimpse the last one's figures."""
        for state_cls in rx.State.get_substates():
            if state_cls is not AuthState and state_cls.__module__.startswith("dashboard."):
                (await self.get_state(state_cls)).reset()

    @rx.event
    async def require_login(self) -> EventSpec | None:
        """on_load guard of every page behind the login."""
        if await self._current_user() is None:
            return rx.redirect(LOGIN_ROUTE)
        return None

    @rx.event
    async def skip_login_if_signed_in(self) -> EventSpec | None:
        """on_load of the login page: a live session goes straight to the overview."""
        self.login_error = ""
        self.logging_in = False
        if await self._current_user() is not None:
            return rx.redirect(HOME_ROUTE)
        return None

    @rx.event
    async def log_in(self, form_data: dict[str, str]):
        email = (form_data.get("email") or "").strip()
        password = form_data.get("password") or ""
        if not email or not password:
            self.login_error = "Enter your email and password."
            return
        self.logging_in = True
        self.login_error = ""
        yield
        try:
            token, error = await rx.run_in_thread(functools.partial(_log_in, email, password))
        except Exception:
            log.exception("login failed unexpectedly")
            token, error = "", "Could not sign in right now. Try again in a moment."
        self.logging_in = False
        if error:
            self.login_error = error
            return
        self.token = token
        await self._forget_pages()
        await self._current_user()
        yield rx.redirect(HOME_ROUTE)

    @rx.event
    async def log_out(self):
        token, self.token = self.token, ""
        self._show_user(None)
        await self._forget_pages()
        if token:
            await rx.run_in_thread(functools.partial(_log_out, token))
        return rx.redirect(LOGIN_ROUTE)
