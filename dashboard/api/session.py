"""`GET /auth/session` and `GET|POST /auth/logout`: the HttpOnly session cookie.

Sign-in runs over the websocket (`AuthState.log_in`), which cannot set an HttpOnly
cookie, so it sends the browser here with a one-time hand-off code
(models/session_codes.py). This route redeems it and answers with
`Set-Cookie: rackroom_session=…; HttpOnly; SameSite=Strict; Path=/` (and `Secure` over
https or in a production build meant for https), then a 303 to where the user was
headed — a local path only, never another site. Scripts never see the token: not in
`document.cookie`, not in a state delta (dashboard/session_cookie.py keeps it off the
websocket's state). Sign-out ends the session on the server and clears the cookie.
Not part of the channel API (not in the OpenAPI document).
"""

from __future__ import annotations

import reflex as rx
from fastapi import APIRouter, Request
from reflex.utils.exec import is_prod_mode
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from dashboard import routes
from dashboard.session_cookie import SESSION_COOKIE
from dashboard.states.auth import end_session, safe_next, session_cookie_secure
from models.session_codes import redeem_code
from models.users import SESSION_LIFETIME

router = APIRouter(include_in_schema=False)


def frontend_location(path: str) -> str:
    """Where a 303 sends the browser for the page `path` (a local path): the same
    origin in production; the frontend's own address in development (another port)."""
    if is_prod_mode():
        return path
    return rx.config.get_config().deploy_url.rstrip("/") + path  # type: ignore[union-attr]


def cookie_secure(request: Request) -> bool:
    """`Secure` whenever the request came over https (as `behind_proxy` saw it), and in
    a production build unless RACKROOM_PUBLIC_URL names a plain-http address."""
    return request.url.scheme == "https" or session_cookie_secure() is True


def _redirect(path: str) -> RedirectResponse:
    response = RedirectResponse(frontend_location(path), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(routes.AUTH_SESSION)
async def take_session(request: Request, code: str = "", next: str = "") -> Response:
    """Redeem the hand-off `code` into the session cookie, then go to `next`. A used,
    expired or forged code sets nothing and goes back to the sign-in page."""
    token = await run_in_threadpool(redeem_code, code)
    if token is None:
        return _redirect(routes.LOGIN)
    response = _redirect(safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
    )
    return response


@router.api_route(routes.AUTH_LOGOUT, methods=["GET", "POST"])
async def log_out(request: Request) -> Response:
    """End the cookie's session (if any) on the server and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        await run_in_threadpool(end_session, token)
    response = _redirect(routes.LOGIN)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=cookie_secure(request)
    )
    return response
