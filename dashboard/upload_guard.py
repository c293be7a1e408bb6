"""A guard in front of Reflex's upload endpoint (`POST /_upload`): an `api_transformer`.

Reflex's endpoint trusts any caller: it takes the client's state token from the
`reflex-client-token` header and the handler from `reflex-event-handler`, and a
handler taking `list[rx.UploadFile]` gets the whole multipart body parsed (spooled to
disk) before it runs. So, before a byte of the body is read:

- a declared `Content-Length` over `MAX_UPLOAD_BODY` is refused (413);
- a client whose state holds no live session (`dashboard.states.auth.session_token`
  and `session_user`: signed in, not expired, not idle) is refused (401) — whatever
  handler it names.

Then the body is counted as it is read: past `MAX_UPLOAD_BODY` (chunked bodies too) the
app is told the client went away and the answer is a 413. Each handler keeps its own,
smaller limit while streaming (`dashboard.states.upload_stream`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.states.auth import AuthState, session_token, session_user

log = logging.getLogger("rackroom.uploads")

UPLOAD_PATH = "/_upload"
#: The largest upload a handler takes (an import feed, 50 MB) and room for the form.
MAX_UPLOAD_BODY = 51 * 1024 * 1024
#: Reflex's client tokens are UUIDs; anything much longer is not one.
MAX_CLIENT_TOKEN = 64
SIGN_IN_FIRST = "Sign in to upload files."
TOO_LARGE = "The upload is larger than the largest file Rackroom takes."

SessionOf = Callable[[str], Awaitable[str]]


async def client_session_token(client_token: str) -> str:
    """The session token the browser tab `client_token` holds in its state ("" if none).

    Read through Reflex's state manager (memory, disk or Redis), like its upload
    endpoint will; nothing is changed.
    """
    from reflex.istate.wrappers import get_state

    auth = await get_state(client_token, AuthState)
    return session_token(auth, refresh=False)


async def _signed_in(client_token: str, session_of: SessionOf) -> bool:
    if not client_token or len(client_token) > MAX_CLIENT_TOKEN:
        return False
    try:
        token = await session_of(client_token)
        return bool(token) and await asyncio.to_thread(session_user, token) is not None
    except Exception:
        log.exception("upload guard: checking the uploader's session failed")
        return False


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


def upload_guard(
    app: ASGIApp,
    *,
    session_of: SessionOf = client_session_token,
    max_body: int = MAX_UPLOAD_BODY,
) -> ASGIApp:
    """ASGI middleware: uploads only from signed-in clients, and at most `max_body` bytes."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path", "").rstrip("/") != UPLOAD_PATH
        ):
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared and (not declared.isdigit() or int(declared) > max_body):
            await _answer(send, 413, TOO_LARGE)
            return
        client = headers.get(b"reflex-client-token", b"").decode("latin-1").strip()
        if not await _signed_in(client, session_of):
            log.warning("upload refused: no signed-in session for this client")
            await _answer(send, 401, SIGN_IN_FIRST)
            return

        read, cut = 0, False
        answered = ""  # "app" once the app began its answer, "refused" once we did

        async def counted_receive() -> Message:
            nonlocal read, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > max_body:
                    cut = True
                    return {"type": "http.disconnect"}
            return message

        async def refuse() -> None:
            nonlocal answered
            answered = "refused"
            log.warning("upload refused: the body passed %s bytes", max_body)
            await _answer(send, 413, TOO_LARGE)

        async def send_or_refuse(message: Message) -> None:
            """Once cut, the app's answer to the "disconnect" is replaced by the 413."""
            nonlocal answered
            if answered == "refused":
                return
            if cut and not answered:
                await refuse()
                return
            if message["type"] == "http.response.start":
                answered = "app"
            await send(message)

        try:
            await app(scope, counted_receive, send_or_refuse)
        except Exception:
            if not cut:
                raise
        if cut and not answered:
            await refuse()

    return guarded
