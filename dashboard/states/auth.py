"""Who is logged in: the session token cookie, login, logout and the page guard.

The browser keeps only an opaque session token. Every check asks the database
(`models.users.user_for_token`), so an expired or ended session stops working at
once; nothing the browser holds is trusted for identity or role.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

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
