"""Refuse NUL characters in the URL of any API request (a 422 naming the part), before a
route turns them into a database error, and say so in the OpenAPI document (every string
parameter gets the pattern). Bodies are checked by the request models."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.api.errors import error_response
from models.text_safety import bad_text

#: The same pattern as request bodies' strings (dashboard/api/schemas.py).
NO_NUL = r"^[^\x00]*$"


class RefuseBadText:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _url_problem(scope)
            if problem is not None:
                field, reason = problem
                response = error_response(
                    422, "validation_error", f"{field}: {reason}.",
                    {"fields": [{"field": field, "problem": reason}]},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _url_problem(scope: Scope) -> tuple[str, str] | None:
    reason = bad_text(scope.get("path", ""))
    if reason:
        return "path", reason
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        for text in (name, value):
            reason = bad_text(text)
            if reason:
                return name or "query", reason
    return None


def document_url_text(api: FastAPI) -> None:
    """Make `api`'s OpenAPI document state the refusal above: each path, query or header
    string parameter without a pattern of its own gets `NO_NUL`."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = generate()
            for path in document.get("paths", {}).values():
                for operation in path.values():
                    for parameter in operation.get("parameters", ()):
                        _no_nul(parameter.get("schema"))
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def _no_nul(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    for alternative in schema.get("anyOf", ()):
        _no_nul(alternative)
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        schema["pattern"] = NO_NUL
