"""Logging for every Rackroom process: one JSON object per line on stdout, no secrets.

`configure_logging("web" | "jobs" | "cli")` is called once at the start of each
process (web workers, `python -m jobs`, the `rackroom` CLI, the production launcher).
Each line carries `time`, `level`, `logger`, `message`, `process` and `pid`, plus what
`log_context` holds while it is written: the request id or Reflex event name, the user
id or API key name. A message that is itself a JSON object (the scheduler's structured
events) is merged into the line rather than quoted.

Secrets never reach a line: code does not log them, and `RedactSecrets` rewrites
anything shaped like one (API keys, webhook secrets, bearer tokens, passwords in
URLs or key=value pairs, the session cookie) as a last line of defence.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from models.settings import settings

#: Fields bound to the current request, event or job; every line written in it has them.
log_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "rackroom_log_context", default=None
)

REDACTED = "[redacted]"
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Rackroom's own secrets have prefixes: API keys, webhook signing secrets.
    (re.compile(r"\brr_[A-Za-z0-9_\-]{8,}"), "rr_" + REDACTED),
    (re.compile(r"\brrt_[A-Za-z0-9_\-]{8,}"), "rrt_" + REDACTED),  # OAuth2 access tokens
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]{8,}"), "whsec_" + REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"), r"\1 " + REDACTED),
    # Credentials inside URLs: scheme://user:password@host
    (re.compile(r"(://[^/\s:@]+):[^/\s@]+@"), r"\1:" + REDACTED + "@"),
    # The session cookie, wherever a header dump might show it.
    (re.compile(r"(rackroom_session=)[^;\s\"']+"), r"\1" + REDACTED),
    # The one-time sign-in hand-off code in a logged URL (models/session_codes.py).
    (re.compile(r"(/auth/session\?(?:[^\s\"'#]*&)?code=)[^&\s\"'#]+"), r"\1" + REDACTED),
    # key=value / "key": "value" for the names secrets go by.
    (
        re.compile(
            r"(?i)(\"?\b(?:password|passwd|secret|token|api_key|apikey|client_secret)\b\"?"
            r"\s*[:=]\s*\"?)([^\s\"',}&\\]+)"
        ),
        r"\1" + REDACTED,
    ),
)


def redact(text: str) -> str:
    """`text` with anything shaped like a secret replaced by [redacted]."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[dict[str, Any]]:
    """A new logging scope (a request, an event, a job run): every line written inside
    the block, and in the threads and tasks it starts, carries `fields`."""
    current = log_context.get() or {}
    scope = {**current, **{k: v for k, v in fields.items() if v is not None}}
    token = log_context.set(scope)
    try:
        yield scope
    finally:
        log_context.reset(token)


def bind(**fields: Any) -> None:
    """Add `fields` to the current scope, also as seen by whoever opened it (a request's
    middleware learns the API key name that a worker thread found)."""
    scope = log_context.get()
    if scope is None:
        log_context.set({k: v for k, v in fields.items() if v is not None})
        return
    scope.update({k: v for k, v in fields.items() if v is not None})


class RedactSecrets(logging.Filter):
    """Rewrites the rendered message (and any traceback) of every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": self.process,
            "pid": record.process,
        }
        entry.update(log_context.get() or {})
        fields = getattr(record, "fields", None)  # logger.info(..., extra={"fields": {...}})
        if isinstance(fields, dict):
            entry.update(fields)
        parsed = None
        if message.startswith("{"):
            with contextlib.suppress(ValueError):
                parsed = json.loads(message)
        if isinstance(parsed, dict):
            entry.update(parsed)
            entry.setdefault("message", parsed.get("event", ""))
        else:
            entry["message"] = message
        if record.exc_text:
            entry["exc"] = record.exc_text
        # Values, not the finished line: a pattern must not eat a JSON escape.
        cleaned = {k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}
        return json.dumps(cleaned, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = log_context.get()
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return redact(line)


def make_handler(process: str, *, stream: TextIO | None = None, fmt: str | None = None):
    """A stdout handler with Rackroom's format and redaction (for dictConfig users too)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    fmt = fmt or settings().log_format
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else TextFormatter())
    handler.addFilter(RedactSecrets())
    return handler


#: Chatty libraries, kept at WARNING whatever RACKROOM_LOG_LEVEL says (SQLAlchemy at
#: DEBUG would log every statement; use the engine's echo for that).
_QUIET = ("apscheduler", "httpx", "httpcore", "alembic.runtime.plugins", "sqlalchemy", "watchfiles")


def configure_logging(
    process: str, *, level: str | None = None, fmt: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Route every logger (Reflex's and Granian's included) to one stdout handler."""
    level = level or settings().log_level
    handler = make_handler(process, stream=stream, fmt=fmt)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel("WARNING")
    logging.captureWarnings(True)
    return handler
