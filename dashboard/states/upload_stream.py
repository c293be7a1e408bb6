"""Receiving a streamed upload with its size cut-off applied before the rest is read.

Every dashboard upload handler is a background event taking `rx.UploadChunkIterator`
(the page sends with `rx.upload_files_chunk`), so Reflex hands over the request body
chunk by chunk instead of parsing the whole form first. Stopping early leaves the rest
of the request unread: Reflex's upload endpoint then answers 400 and the browser stops
sending, so an oversized file is never held whole, in memory or on disk. Before any of
this, `dashboard.upload_guard` refuses `/_upload` requests from clients without a
signed-in session and caps the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ONE_FILE = "Upload one file at a time."
NO_FILE = "No file arrived. Choose a CSV file and try again."


@dataclass(frozen=True, slots=True)
class Received:
    """What arrived: the file's name as the person had it, its size, or why it stopped."""

    file_name: str
    size: int
    error: str = ""


async def stream_upload(
    chunks: AsyncIterator[Any],
    write: Callable[[bytes], object],
    max_bytes: int,
    too_big: str,
    *,
    no_file: str = NO_FILE,
) -> Received:
    """Pass one file's chunks to `write`, stopping as soon as it passes `max_bytes`
    (`too_big` is then the error), or at a second file."""
    name: str | None = None
    size = 0
    error = ""
    async for chunk in chunks:
        if name is None:
            name = chunk.filename
        elif chunk.filename != name:
            error = ONE_FILE
            break
        size += len(chunk.data)
        if size > max_bytes:
            error = too_big
            break
        write(chunk.data)
    if name is None:
        error = error or no_file
    return Received(Path(name or "").name[:255], size, error)


async def receive_into(
    path: Path, chunks: AsyncIterator[Any], max_bytes: int, too_big: str
) -> Received:
    """Write a streamed upload to `path`; on a refusal or an error the file is removed."""
    try:
        with path.open("wb") as out:
            received = await stream_upload(chunks, out.write, max_bytes, too_big)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    if received.error:
        path.unlink(missing_ok=True)
    return received


async def receive_bytes(
    chunks: AsyncIterator[Any], max_bytes: int, too_big: str, *, no_file: str = NO_FILE
) -> tuple[Received, bytes]:
    """A small streamed upload in memory: never more than `max_bytes` are kept."""
    parts: list[bytes] = []
    received = await stream_upload(chunks, parts.append, max_bytes, too_big, no_file=no_file)
    return received, b"" if received.error else b"".join(parts)
