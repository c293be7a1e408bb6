"""The session token in an HttpOnly cookie (issue 15): the one-time hand-off code, the
routes that set and clear the cookie, and the websocket middleware that keeps the
token out of Reflex's state (deltas, pickles).
"""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import reflex as rx
from reflex.app import _decode_asgi_headers
from reflex.istate.data import RouterData
from reflex_base.constants import RouteVar
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from dashboard.api import create_api
from dashboard.session_cookie import (
    SESSION_COOKIE,
    connection_token,
    session_cookie,
    split_cookie_header,
    watch_connections,
)
from dashboard.states.auth import AuthState, session_token
from jobs.logs import redact
from models.db import set_default_engine, transaction
from models.secrets import encrypt
from models.session_codes import CODE_LIFETIME, issue_code, redeem_code
from models.users import (
    LoginSession,
    Role,
    User,
    create_user,
    hash_secret,
    start_login_session,
)
from tests.signin import sign_in_state


@dataclass
class Signed:
    engine: Engine
    token: str
    email: str


def _sign_in(engine: Engine) -> Signed:
    with transaction(engine) as session:
        user = create_user(session, "merch@x.test", "long enough", role=Role.MERCHANDISER)
        return Signed(engine, start_login_session(session, user), user.email)


def _code(signed: Signed) -> str:
    with transaction(signed.engine) as session:
        return issue_code(session, signed.token)


@pytest.fixture
def signed(engine: Engine) -> Iterator[Signed]:
    """A merchandiser with a live session, on SQLite and on PostgreSQL."""
    set_default_engine(engine)
    yield _sign_in(engine)
    set_default_engine(None)


@pytest.fixture
def signed_sqlite(sqlite_engine: Engine) -> Iterator[Signed]:
    set_default_engine(sqlite_engine)
    yield _sign_in(sqlite_engine)
    set_default_engine(None)


# --- the hand-off code --------------------------------------------------------------------


def test_a_code_works_once_and_does_not_show_the_token(signed: Signed) -> None:
    code = _code(signed)
    assert signed.token not in code
    assert redeem_code(code) == signed.token
    assert redeem_code(code) is None  # single use
    with transaction(signed.engine) as session:  # the hash is gone from the session row
        assert session.scalar(select(LoginSession.handoff_hash)) is None


def test_racing_redemptions_of_one_code_let_exactly_one_win(signed: Signed) -> None:
    code = _code(signed)
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = [t for t in pool.map(lambda _: redeem_code(code), range(16)) if t is not None]
    assert won == [signed.token]


def test_a_code_expires_after_its_lifetime(signed: Signed) -> None:
    code = _code(signed)
    late = int(time.time()) + int(CODE_LIFETIME.total_seconds()) + 2
    assert redeem_code(code, now=late) is None
    assert redeem_code(code, now=int(time.time()) + 5) == signed.token  # the control


def test_forged_replaced_and_ended_session_codes_are_refused(signed: Signed) -> None:
    # Encrypted with the app key but never issued (no hash on the row): refused.
    forged = encrypt(json.dumps({"t": signed.token, "n": "x"}))
    assert redeem_code(forged) is None
    assert redeem_code("not-a-code") is None
    assert redeem_code("") is None
    assert redeem_code("x" * 5000) is None
    first, second = _code(signed), _code(signed)
    assert redeem_code(first) is None  # a newer code replaced it
    third = _code(signed)
    with transaction(signed.engine) as session:
        row = session.scalar(
            select(LoginSession).where(LoginSession.token_hash == hash_secret(signed.token))
        )
        session.delete(row)
    assert redeem_code(third) is None  # the session ended before the code was used
    assert second != third
    with transaction(signed.engine) as session:
        assert issue_code(session, "no-such-session") == ""


# --- GET /auth/session and /auth/logout ---------------------------------------------------


def _client(base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_api(), base_url=base_url, follow_redirects=False)


def _set_cookie(response: Any) -> str:
    (header,) = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    return header


def test_the_hand_off_sets_an_httponly_strict_cookie_and_goes_on(signed_sqlite: Signed) -> None:
    code = _code(signed_sqlite)
    response = _client().get("/auth/session", params={"code": code, "next": "/stock?q=NRD"})
    assert response.status_code == 303
    assert response.headers["location"].endswith("/stock?q=NRD")
    assert response.headers["cache-control"] == "no-store"
    cookie = _set_cookie(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert cookie.startswith(f"{SESSION_COOKIE}={signed_sqlite.token};")
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # plain http (a local development server)

    again = _client().get("/auth/session", params={"code": code, "next": "/stock"})
    assert again.status_code == 303 and again.headers["location"].endswith("/login")
    assert "set-cookie" not in again.headers


def test_the_cookie_is_secure_over_https(signed_sqlite: Signed) -> None:
    code = _code(signed_sqlite)
    response = _client("https://rackroom.test").get("/auth/session", params={"code": code})
    attributes = [part.strip().lower() for part in _set_cookie(response).split(";")]
    assert "secure" in attributes and "httponly" in attributes


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.test/", "//evil.test/x", "/\\evil.test", "http:/evil.test",
        "javascript:alert(1)", "/login", "",
    ],
)
def test_the_hand_off_refuses_to_send_anyone_off_site(signed_sqlite: Signed, target: str) -> None:
    code = _code(signed_sqlite)
    response = _client().get("/auth/session", params={"code": code, "next": target})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == rx.config.get_config().deploy_url.rstrip("/") + "/"  # home
    assert "evil" not in location


def test_sign_out_ends_the_session_and_clears_the_cookie(signed_sqlite: Signed) -> None:
    for method in ("POST", "GET"):
        with transaction(signed_sqlite.engine) as session:
            user_id = session.scalar(select(LoginSession.user_id))
        with transaction(signed_sqlite.engine) as session:
            token = start_login_session(session, session.get(User, user_id))
        client = _client()
        client.cookies.set(SESSION_COOKIE, token)
        response = client.request(method, "/auth/logout")
        assert response.status_code == 303 and response.headers["location"].endswith("/login")
        cleared = _set_cookie(response).lower()
        assert cleared.startswith(f"{SESSION_COOKIE}=") and "max-age=0" in cleared
        assert "httponly" in cleared
        with transaction(signed_sqlite.engine) as session:
            assert session.scalar(
                select(LoginSession).where(LoginSession.token_hash == hash_secret(token))
            ) is None


# --- the websocket: the cookie never reaches Reflex's state -------------------------------


def test_a_logged_hand_off_url_hides_the_code() -> None:
    line = 'GET /auth/session?code=gAAAAABn-x_y=&next=%2Fstock HTTP/1.1" 303'
    assert redact(line) == 'GET /auth/session?code=[redacted]&next=%2Fstock HTTP/1.1" 303'
    assert "gAAAA" not in redact("/auth/session?next=/&code=gAAAAABn")


def test_split_cookie_header_takes_out_only_the_session() -> None:
    assert split_cookie_header("a=1; rackroom_session=tok-en; b=2") == ("tok-en", "a=1; b=2")
    assert split_cookie_header("a=1") == ("", "a=1")
    assert split_cookie_header('rackroom_session="quoted"') == ("quoted", "")


def _handshake(cookie: str) -> dict[str, Any]:
    return {
        "type": "websocket",
        "path": "/_event/",
        "query_string": b"EIO=4&transport=websocket&token=tab-one",
        "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode())],
    }


class FakeNamespace:
    """Reflex's socket namespace, as far as `watch_connections` touches it."""

    def __init__(self, on_event: Any) -> None:
        self.on_event, self.disconnected = on_event, []

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        await self.on_event(sid, environ)  # Reflex runs the boot event inside connect

    def on_disconnect(self, sid: str) -> None:
        self.disconnected.append(sid)


def _connect(cookie: str, on_event: Any, sid: str = "sid-1") -> FakeNamespace:
    """A websocket handshake through the middleware into a watched namespace; then
    the socket disconnects."""
    namespace = FakeNamespace(on_event)
    watch_connections(namespace)
    watch_connections(namespace)  # idempotent

    async def engineio(scope: dict, receive: Any, send: Any) -> None:
        environ = {"asgi.scope": scope, "QUERY_STRING": scope["query_string"].decode()}
        await namespace.on_connect(sid, environ, None)
        namespace.on_disconnect(sid, "client disconnect")

    asyncio.run(session_cookie(engineio)(_handshake(cookie), None, None))
    return namespace


def _tab(sid: str, client_token: str, headers: dict[str, str] | None = None) -> rx.State:
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({
        RouteVar.CLIENT_TOKEN: client_token, RouteVar.SESSION_ID: sid,
        RouteVar.HEADERS: headers or {}, RouteVar.PATH: "/", RouteVar.ORIGIN: "/",
    })
    return root


def test_no_token_in_state_deltas_or_pickles(signed_sqlite: Signed) -> None:
    """A signed-in websocket's events find the user, yet nothing Reflex sends or stores
    holds the token: not the router's headers, not a delta, not a pickled state."""
    token = signed_sqlite.token
    seen: dict[str, Any] = {}

    async def on_event(sid: str, environ: dict) -> None:
        # What Reflex does with the handshake's headers, and then for an event.
        headers = _decode_asgi_headers(environ["asgi.scope"]["headers"])
        root = _tab(sid, "tab-one", headers)
        auth = root._get_state_from_cache(AuthState)
        seen["live"] = connection_token(sid)
        seen["redirect"] = await auth.require_login()
        seen["email"] = auth.user_email
        seen["delta"] = json.dumps(root.get_delta(), default=str)
        seen["pickles"] = [pickle.dumps(s) for s in (root, auth)] + [root._serialize(),
                                                                    auth._serialize()]
        seen["headers"] = json.dumps(headers) + repr(environ)
        seen["sealed"] = auth._sealed_session

    namespace = _connect(f"theme=dark; {SESSION_COOKIE}={token}", on_event)
    assert seen["live"] == token and seen["redirect"] is None
    assert seen["email"] == signed_sqlite.email  # the handler did see the session
    assert "theme=dark" in seen["headers"]  # other cookies pass untouched
    assert seen["sealed"] and token not in seen["sealed"]
    for blob in [seen["delta"], *seen["pickles"]]:
        assert (token.encode() if isinstance(blob, bytes) else token) not in blob
    assert f"{SESSION_COOKIE}=" not in seen["headers"]  # no header Reflex reads has it
    assert connection_token("sid-1") is None  # forgotten when the connection ends
    assert namespace.disconnected == ["sid-1"]


def test_a_new_client_token_mid_connection_keeps_the_session(signed_sqlite: Signed) -> None:
    """Reflex gives a tab a new client token when a reconnect looks like a duplicate tab
    (its old worker died without saying so): the connection, not the token, counts."""
    seen: dict[str, Any] = {}

    async def on_event(sid: str, environ: dict) -> None:
        auth = _tab(sid, "a-new-client-token")._get_state_from_cache(AuthState)
        seen["token"] = session_token(auth)

    _connect(f"{SESSION_COOKIE}={signed_sqlite.token}", on_event, sid="sid-2")
    assert seen["token"] == signed_sqlite.token


def test_a_handshake_without_the_cookie_signs_the_tab_out(signed_sqlite: Signed) -> None:
    """The cookie decides: a tab whose state still holds a sealed session is signed out
    when its websocket arrives without the cookie (signed out elsewhere)."""
    seen: dict[str, Any] = {}

    async def on_event(sid: str, environ: dict) -> None:
        auth = sign_in_state(_tab(sid, "tab-one"), signed_sqlite.token)
        seen["token"] = session_token(auth)
        seen["sealed"] = auth._sealed_session

    _connect("theme=dark", on_event, sid="sid-3")
    assert seen == {"token": "", "sealed": ""}


def test_without_a_connection_here_the_sealed_copy_answers(signed_sqlite: Signed) -> None:
    """Another worker (an upload) has no websocket for the tab: the sealed copy counts."""
    auth = sign_in_state(_tab("sid-elsewhere", "tab-elsewhere"), signed_sqlite.token)
    assert session_token(auth) == signed_sqlite.token
    assert signed_sqlite.token not in auth._sealed_session
