"""Who is signed in: the session token, sign-in and out, and permission checks.

The browser keeps only an opaque session token, in an HttpOnly cookie no script can
read: sign-in hands it over through `GET /auth/session` with a one-time code
(models/session_codes.py, dashboard/api/session.py). The websocket brings the cookie;
`dashboard.session_cookie` takes it out before Reflex sees the handshake, so the token
is in no state var, no delta and no pickle; `session_token(state)` is the one way a
handler gets it. Every check asks the database (`models.users.user_for_token`), so an
expired or ended session stops working at once; nothing the browser holds is trusted
for identity or role.

Every event handler that reads or changes data names its action from the permission
table (`models.policy.PERMISSIONS`)::

    class SomeState(RoleGuard, rx.State):
        @rx.event
        @requires("transfers.approve")
        async def approve(self, transfer_id: int):
            user = signed_in_user()       # the checked user
            ...

A refused call changes nothing and answers with a toast saying why (or, when the
session has ended, a redirect to the sign-in page). A page redirect alone protects
nothing: any client can send any event.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import reflex as rx
from reflex.event import EventSpec
from reflex.utils.exec import is_prod_mode

from dashboard import routes
from dashboard.session_cookie import SESSION_COOKIE as SESSION_COOKIE  # the exports read it
from dashboard.session_cookie import connection_token, forget_connection_token
from jobs.logs import bind
from models.catalog import Brand
from models.db import read_session, transaction
from models.errors import AuthenticationFailed
from models.policy import refusal
from models.secrets import decrypt, encrypt
from models.session_codes import issue_code
from models.settings import settings
from models.users import (
    Role,
    authenticate,
    end_login_session,
    session_needs_touch,
    start_login_session,
    touch_login_session,
    user_for_token,
)

log = logging.getLogger(__name__)

LOGIN_ROUTE = routes.LOGIN
HOME_ROUTE = routes.OVERVIEW
F = TypeVar("F", bound=Callable[..., Any])
PASSWORD_CHANGE_FIRST = "Choose a new password first: yours was set by an admin."  # noqa: S105 (a message, not a secret)


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The logged-in user as the dashboard needs it, detached from any DB session."""

    id: int
    email: str
    name: str
    role: str
    brand_id: int | None
    brand_name: str
    must_change_password: bool = False

    @property
    def brand_scope(self) -> int | None:
        """The one brand this user may see (vendors), or None for every brand."""
        return self.brand_id if self.role == Role.VENDOR else None


def refusal_reason(user: SessionUser | None, action: str) -> str:
    """Why `user` may not do `action` (a name in the permission table); "" when they may."""
    if user is None:
        return "Your session has ended. Sign in again."
    if user.must_change_password and action not in ("account.password", "account.read"):
        return PASSWORD_CHANGE_FIRST
    return refusal(user.role, action)


_signed_in: contextvars.ContextVar[SessionUser | None] = contextvars.ContextVar(
    "rackroom_signed_in_user", default=None
)


def signed_in_user() -> SessionUser:
    """The user `@requires` checked for the handler now running."""
    user = _signed_in.get()
    if user is None:
        raise RuntimeError("signed_in_user() outside a handler decorated with @requires")
    return user


def requires(action: str, *, background: bool = False) -> Callable[[F], F]:
    """Check `action` (models.policy) before the handler runs; refuse and change nothing.

    Put it under `@rx.event`. A page's `load` handler refuses with the page refusal
    (only a redirect when the session ended: the page itself shows "no access"); any
    other handler with a toast saying why. For `@rx.event(background=True)` handlers
    pass `background=True`: the check then takes the state lock briefly itself.
    """

    def decorate(handler: F) -> F:
        page_load = handler.__name__ == "load"

        async def check(self: Any) -> Access:
            if background:
                async with self:
                    return await self.require(action)
            return await self.require(action)

        def answer(access: Access) -> list[EventSpec]:
            return access.page_refusal if page_load else access.refusal

        if inspect.isasyncgenfunction(handler):

            @functools.wraps(handler)
            async def stream(self: Any, *args: Any, **kwargs: Any):
                access = await check(self)
                if not access:
                    yield answer(access)
                    return
                token = _signed_in.set(access.user)
                try:
                    async for update in handler(self, *args, **kwargs):
                        yield update
                finally:
                    _signed_in.reset(token)

            return stream  # type: ignore[return-value]

        @functools.wraps(handler)
        async def call(self: Any, *args: Any, **kwargs: Any):
            access = await check(self)
            if not access:
                return answer(access)
            token = _signed_in.set(access.user)
            try:
                result = handler(self, *args, **kwargs)
                return await result if inspect.isawaitable(result) else result
            finally:
                _signed_in.reset(token)

        return call  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True, slots=True)
class Access:
    """The answer of `RoleGuard.require`: truthy when allowed.

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

    A plain class, not a state, so `require` is not an event the browser can call.
    """

    async def require(self, action: str) -> Access:
        """Re-check the session in the database and `action` against the permission table.

        `@requires` calls it; call it directly only where a handler decides mid-way.
        In a background event call it inside `async with self`.
        """
        return await self._check(action, lambda user: refusal_reason(user, action))

    async def _check(
        self, action: str, reason_for: Callable[[SessionUser | None], str]
    ) -> Access:
        auth = await self.get_state(AuthState)  # type: ignore[attr-defined]
        user = await rx.run_in_thread(functools.partial(session_user, session_token(auth)))
        auth._show_user(user)
        reason = reason_for(user)
        if not reason:
            return Access(user)
        if user is None:
            redirect = rx.redirect(sign_in_href(self.router.url))  # type: ignore[attr-defined]
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
        stale = session_needs_touch(session, token)
        found = SessionUser(
            id=user.id,
            email=user.email,
            name=user.name or user.email,
            role=user.role,
            brand_id=user.brand_id,
            brand_name=brand.name if brand is not None else "",
            must_change_password=user.must_change_password,
        )
    if stale:  # the idle timeout counts from here; a short write, at most once a minute
        touch_login_session(token)
    return found


def sign_in_href(url: str) -> str:
    """The sign-in page, remembering `url` (path and query) to come back to."""
    parts = urlsplit(str(url))
    back = parts.path + (f"?{parts.query}" if parts.query else "")
    if not parts.path or parts.path in (LOGIN_ROUTE, HOME_ROUTE):
        return LOGIN_ROUTE
    return f"{LOGIN_ROUTE}?next={quote(back, safe='/')}"


def safe_next(target: str) -> str:
    """Where to go after signing in: a local path only (never another site), else home."""
    target = (target or "").strip()
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 2000
        or any(ord(ch) < 32 for ch in target)
        or urlsplit(target).path == LOGIN_ROUTE
    ):
        return HOME_ROUTE
    return target


def _log_in(email: str, password: str, client_ip: str = "") -> tuple[str, str, str]:
    """Check the credentials and open a session: (token, hand-off code, "") or
    ("", "", reason)."""
    try:
        # Throttled per account and address; the password is checked outside any
        # write transaction (models/signin.py).
        user = authenticate(email, password, client_ip=client_ip)
    except AuthenticationFailed as failure:
        return "", "", failure.message
    with transaction() as session:
        token = start_login_session(session, user)
        return token, issue_code(session, token), ""


def end_session(token: str) -> None:
    """End the login session `token` on the server (sign-out). Blocking."""
    with transaction() as session:
        end_login_session(session, token)


def backend_href(href: str) -> str:
    """A link to a backend route (not a page): the same origin in production; in
    development the backend's own port (the cookie, set for the host, goes to both)."""
    if is_prod_mode():
        return href
    return rx.config.get_config().api_url.rstrip("/") + href


def go_to_backend(href: str) -> EventSpec:
    """Navigate the whole page to the backend route `href`. `rx.redirect` would route a
    same-origin path inside the single-page app, which knows no such page."""
    return rx.call_script(f"window.location.assign({json.dumps(backend_href(href))})")


def session_token(auth: AuthState, *, refresh: bool = True) -> str:
    """The session token of the tab `auth` belongs to ("" when signed out).

    The websocket's HttpOnly cookie decides (`dashboard.session_cookie`) whenever the
    tab's connection is held by this process; its sealed copy in the state (Fernet, the
    app key: never the token itself in a pickle or Redis) answers elsewhere, e.g. an
    upload handled by another worker. `refresh=False` for a read-only state: the sealed
    copy is then not brought up to date.
    """
    live = connection_token(auth.router.session.session_id)
    sealed = auth._sealed_session
    if live is None:
        return _unseal(sealed)
    if refresh and live != _unseal(sealed):
        auth._sealed_session = encrypt(live) if live else ""
    return live


def remember_session_token(auth: AuthState, token: str) -> None:
    """Seal `token` into the tab's state (tests; code that has no websocket)."""
    auth._sealed_session = encrypt(token) if token else ""


def _unseal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return decrypt(sealed, where="A sealed session token")
    except Exception:  # another installation's key, or a rotated-out one: signed out
        return ""


def session_cookie_secure() -> bool | None:
    """Whether the browser may send the session cookie over https only: always in a
    production build (browsers treat localhost as secure, so a local check still works),
    unless the operator declared a plain-http address in RACKROOM_PUBLIC_URL. None in
    development (`dashboard/api/session.py` then marks it Secure over https only)."""
    if not is_prod_mode():
        return None
    return not settings().public_url.lower().startswith("http://")


class AuthState(rx.State):
    """What the shell shows about the user. The token is no var (`session_token`)."""

    #: The token sealed with the app key, for workers without the tab's websocket.
    #: A backend var: never sent to the browser.
    _sealed_session: str = ""
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    brand_name: str = ""
    login_error: str = ""
    logging_in: bool = False
    must_change_password: bool = False

    @rx.var
    def is_authenticated(self) -> bool:
        return self.user_role != ""

    @rx.var
    def is_admin(self) -> bool:
        """Only shapes what the page shows; every admin handler checks on the server."""
        return self.user_role == Role.ADMIN.value

    async def _current_user(self) -> SessionUser | None:
        """Re-check the token against the database (and refresh the top bar)."""
        user = await rx.run_in_thread(functools.partial(session_user, session_token(self)))
        self._show_user(user)
        return user

    def _show_user(self, user: SessionUser | None) -> None:
        bind(user_id=user.id if user else None)  # this event's log lines say who
        shown = {
            "user_name": user.name if user else "",
            "user_email": user.email if user else "",
            "user_role": user.role if user else "",
            "brand_name": user.brand_name if user else "",
            "must_change_password": user.must_change_password if user else False,
        }
        # Set only what changed: a var set is re-sent even when equal, and every
        # update re-renders the page in the browser (each handler checks the session).
        for name, value in shown.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    async def _forget_pages(self) -> None:
        """Reset every page's state. State lives per browser tab, so without this the
        next user to sign in there would glimpse the last one's figures."""
        for state_cls in rx.State.get_substates():
            if state_cls is not AuthState and state_cls.__module__.startswith("dashboard."):
                (await self.get_state(state_cls)).reset()

    def _after_sign_in(self, user: SessionUser) -> str:
        """The account page while a temporary password stands, else where they came from."""
        if user.must_change_password:
            return routes.ACCOUNT
        return safe_next(self.router.url.query_parameters.get("next", ""))

    @rx.event
    async def require_login(self) -> EventSpec | None:
        """on_load guard of every page behind the sign-in (the page registry adds it)."""
        user = await self._current_user()
        if user is None:
            return rx.redirect(sign_in_href(self.router.url))
        if user.must_change_password and self.router.url.path != routes.ACCOUNT:
            return rx.redirect(routes.ACCOUNT)
        return None

    @rx.event
    async def skip_login_if_signed_in(self) -> EventSpec | None:
        """on_load of the sign-in page: a live session goes on to where it was headed."""
        self.login_error = ""
        self.logging_in = False
        user = await self._current_user()
        if user is not None:
            return rx.redirect(self._after_sign_in(user))
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
            token, code, error = await rx.run_in_thread(
                functools.partial(_log_in, email, password, self.router.session.client_ip)
            )
        except Exception:
            log.exception("login failed unexpectedly")
            token, code, error = "", "", "Could not sign in right now. Try again in a moment."
        if error:
            self.logging_in = False
            self.login_error = error
            return
        await self._forget_pages()
        user = await rx.run_in_thread(functools.partial(session_user, token))
        self._show_user(user)
        # The cookie comes from an HTTP answer (HttpOnly): the browser fetches it with
        # the one-time code, then goes on to the page. The form stays busy meanwhile.
        query = urlencode({"code": code, "next": self._after_sign_in(user) if user else HOME_ROUTE})
        yield go_to_backend(f"{routes.AUTH_SESSION}?{query}")

    @rx.event
    async def log_out(self):
        """End the session now, then let `/auth/logout` clear the HttpOnly cookie."""
        token = session_token(self)
        self._sealed_session = ""
        forget_connection_token(self.router.session.session_id)
        self._show_user(None)
        await self._forget_pages()
        if token:
            await rx.run_in_thread(functools.partial(end_session, token))
        return go_to_backend(routes.AUTH_LOGOUT)
