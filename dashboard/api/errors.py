"""One JSON error shape for every failure: {"error": code, "message": text, "details": …}.

Domain errors map to their HTTP status; validation names the field; malformed JSON
is a 400; anything unexpected is logged and answered as a 500 without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models import errors

log = logging.getLogger("rackroom.api")

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.NotFound: 404,
    errors.InsufficientStock: 409,
    errors.StaleCount: 409,
    errors.InvalidTransition: 409,
    errors.Conflict: 409,
    errors.InvalidQuantity: 422,
    errors.PermissionDenied: 403,
    errors.AuthenticationFailed: 401,
}


class ApiError(Exception):
    """An HTTP-level refusal raised by the API layer itself (auth, body size, …)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, details: Any = None, **kw) -> JSONResponse:
    body = {"error": code, "message": message, "details": details or {}}
    return JSONResponse(body, status_code=status, **kw)


def _field(location: tuple) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = exc.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    fields = [
        {"field": _field(tuple(p.get("loc", ()))), "problem": p.get("msg", "invalid")}
        for p in problems
    ]
    first = fields[0]
    message = f"{first['field']}: {first['problem']}"
    if len(fields) > 1:
        message += f" (and {len(fields) - 1} more)"
    return error_response(422, "validation_error", message, {"fields": fields})


async def _domain(_request: Request, exc: errors.DomainError) -> JSONResponse:
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)
    return error_response(status, exc.code, exc.message, exc.details)


async def _api(_request: Request, exc: ApiError) -> JSONResponse:
    headers = ({"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}) | exc.headers
    if exc.status == 429 and "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    return error_response(exc.status, exc.code, exc.message, exc.details, headers=headers)


async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side; it is logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(errors.DomainError, _domain)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
