"""Assemble the API: routes under /api/v1, JSON errors, a body-size limit, OpenAPI docs."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.api import polls, reservations, stock
from dashboard.api.errors import error_response, install_error_handlers

PREFIX = "/api/v1"
#: Stock and reservation bodies are tiny; anything bigger is a mistake or an attack.
MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """Refuse request bodies over `limit` bytes with a 413, before anything parses them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "body_too_large", f"Request bodies are limited to {self.limit // 1024} KiB."
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_api() -> FastAPI:
    """The FastAPI app Reflex mounts (`rx.App(api_transformer=…)`); its routes match first."""
    api = FastAPI(
        title="Rackroom API",
        version="1",
        description=(
            "Stock and reservations for storefronts and brand systems. Authenticate with "
            "`Authorization: Bearer <API key>` (create keys with `rackroom apikey create`). "
            'Errors are JSON: `{"error": code, "message": text, "details": {...}}`.'
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(api)
    api.include_router(stock.router, prefix=PREFIX)
    api.include_router(reservations.router, prefix=PREFIX)
    api.include_router(polls.router, prefix=PREFIX)

    @api.get(f"{PREFIX}/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Liveness: answers without touching the database."""
        return {"status": "ok"}

    api.add_middleware(BodyLimit)
    return api
