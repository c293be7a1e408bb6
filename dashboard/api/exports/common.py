"""What every CSV export endpoint shares: the router, who asks (the session cookie and
the permission table), and the streamed file with its size checked before the first
byte."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from dashboard.states.auth import SESSION_COOKIE, SessionUser, refusal_reason, session_user
from models.db import read_session
from models.errors import DomainError, NotFound, PermissionDenied

router = APIRouter(include_in_schema=False)


async def signed_in(request: Request, action: str) -> SessionUser | Response:
    """The user behind the session cookie when they may do `action`; else the refusal
    (401 without a live session, 403 for a role without the permission)."""
    user = await run_in_threadpool(session_user, request.cookies.get(SESSION_COOKIE, ""))
    reason = refusal_reason(user, action)
    if reason:
        return PlainTextResponse(reason, status_code=401 if user is None else 403)
    assert user is not None
    return user


def refused(error: DomainError) -> Response:
    """A domain refusal as plain text: 403 not yours, 404 not found, 422 anything else."""
    status = 422
    if isinstance(error, PermissionDenied):
        status = 403
    elif isinstance(error, NotFound):
        status = 404
    return PlainTextResponse(error.message, status_code=status)


def stamp() -> str:
    """The time part of a file name: 20260630-1415 (UTC)."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M")


def csv_file(filename: str, first: str, rest: Iterator[str]) -> StreamingResponse:
    """`first` and then `rest` streamed as the attachment `filename`."""
    return StreamingResponse(
        itertools.chain([first], rest),  # Starlette reads a plain iterator in a thread
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


async def first_then_rest(filename: str, rows: Iterator[str]) -> Response:
    """Read the first piece of `rows` before answering: the size check (and any other
    refusal) runs there, so it is a clear 4xx, never a file cut short."""
    try:
        first = await run_in_threadpool(next, rows, "")
    except DomainError as error:
        return refused(error)
    return csv_file(filename, first, rows)


async def streamed(name: str, produce: Callable[[Session], Iterator[str]]) -> Response:
    """`produce`'s CSV chunks, read in one session, as `rackroom-<name>-<stamp>.csv`."""

    def chunks() -> Iterator[str]:
        with read_session() as session:
            yield from produce(session)

    return await first_then_rest(f"rackroom-{name}-{stamp()}.csv", chunks())
