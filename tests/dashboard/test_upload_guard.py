"""The guard in front of Reflex's `/_upload`, over real HTTP (uvicorn on 127.0.0.1):
clients without a signed-in session are refused before the body is read, and no body
passes the limit. Behind the guard sits what Reflex's buffered upload does with a
request (`await request.form()`: the whole multipart body parsed), so anything the
guard lets through would be read in full.

The client's state is the one stand-in: Reflex keeps each tab's session cookie in its
state manager (`client_session_token`); here a dict maps client tokens to real
session tokens, which the guard checks against the database like every handler.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.upload_guard import MAX_UPLOAD_BODY, upload_guard
from models.db import set_default_engine, transaction
from models.users import Role, create_user, start_login_session
from tests.api_support import serve_api

GIGABYTE = 1024**3
LIMIT = 2 * 1024 * 1024
CHUNK = 64 * 1024


async def _reflex_like_upload(request: Request) -> JSONResponse:
    form = await request.form()  # what Reflex's buffered upload does first
    sizes = [len(await f.read()) for f in form.getlist("files") if hasattr(f, "read")]
    return JSONResponse({"files": sizes})


@dataclass
class Counted:
    """Bytes of request body the server handed to the app stack, per request."""

    app: ASGIApp
    read: list[int] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.read.append(0)

        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.read[-1] += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


@dataclass
class Site:
    url: str
    counted: Counted
    clients: dict[str, str]


@pytest.fixture
def site(sqlite_engine: Engine) -> Iterator[Site]:
    set_default_engine(sqlite_engine)
    with transaction(sqlite_engine) as session:
        manager = create_user(session, "m@x.test", "long enough", Role.MANAGER)
        live = start_login_session(session, manager)
    clients = {"tab-signed-in": live, "tab-signed-out": "", "tab-forged": "not-a-session"}

    async def session_of(client_token: str) -> str:
        return clients.get(client_token, "")

    inner = Starlette(routes=[Route("/_upload", _reflex_like_upload, methods=["POST"])])
    counted = Counted(upload_guard(inner, session_of=session_of, max_body=LIMIT))
    with serve_api(app=counted) as url:
        yield Site(url, counted, clients)
    set_default_engine(None)


def _multipart_head(boundary: str) -> bytes:
    return (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
        f"filename=\"huge.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    ).encode()


def post_until_answered(url: str, client: str, total: int, *, declare: bool) -> tuple[str, int]:
    """POST a `total`-byte multipart body chunk by chunk over a raw socket, stopping as
    soon as the server answers (or drops the connection): (status line, bytes sent)."""
    parts = urlsplit(url)
    boundary = "rackroom-test-boundary"
    head = [
        "POST /_upload HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Type: multipart/form-data; boundary={boundary}",
        f"reflex-client-token: {client}",
        "reflex-event-handler: state.demand_state.upload_csv",
    ]
    head.append(f"Content-Length: {total}" if declare else "Transfer-Encoding: chunked")
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        body = _multipart_head(boundary)
        filler = b"r,Oat crew in M\n" * (CHUNK // 16)
        try:
            while sent < total:
                if select.select([conn], [], [], 0)[0]:
                    break  # the server has answered: stop sending
                data = body or filler
                body = b""
                frame = data if declare else b"%x\r\n%s\r\n" % (len(data), data)
                conn.sendall(frame)
                sent += len(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while b"\r\n" not in answer:
                more = conn.recv(4096)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    return answer.split(b"\r\n", 1)[0].decode(), sent


@pytest.mark.parametrize("client", ["", "tab-signed-out", "tab-forged", "someone-else"])
def test_a_gigabyte_from_a_client_without_a_session_is_refused_before_the_body(site, client):
    status, sent = post_until_answered(site.url, client, GIGABYTE, declare=False)
    assert status == "HTTP/1.1 401 Unauthorized"
    assert site.counted.read == [0]  # not a byte of the body was read
    # Stopped long before a gigabyte: what was sent sat in the sockets' buffers.
    assert sent <= MAX_UPLOAD_BODY


def test_a_declared_gigabyte_is_refused_at_once_even_when_signed_in(site):
    status, _ = post_until_answered(site.url, "tab-signed-in", GIGABYTE, declare=True)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert site.counted.read == [0]


def test_a_signed_in_body_is_cut_at_the_limit(site):
    status, _ = post_until_answered(site.url, "tab-signed-in", GIGABYTE, declare=False)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    # Cut at the read that crossed the limit (the server reads the socket in pieces).
    assert LIMIT < site.counted.read[0] <= LIMIT + 512 * 1024


def test_a_signed_in_upload_within_the_limit_goes_through(site):
    response = httpx.post(
        site.url + "/_upload",
        files={"files": ("s.csv", b"respondent,answer\nr1,M\n", "text/csv")},
        headers={"reflex-client-token": "tab-signed-in",
                 "reflex-event-handler": "state.demand_state.upload_csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"files": [23]}
    # Other paths and methods are not the guard's business.
    assert httpx.get(site.url + "/_upload").status_code == 405
