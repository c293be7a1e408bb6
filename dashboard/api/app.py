"""Assemble the API: REST and GraphQL under /api/v1, OAuth2 tokens, per-key rate limits,
JSON errors for every failure (unknown paths included), a body-size limit, OpenAPI docs.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.api.contract import (
    KEYED_ERRORS,
    PREFIX,
    DeprecationHeaders,
    add_fallback,
    errors_for,
)
from dashboard.api.errors import error_response, install_error_handlers

# Each router from its own module (not through the package, whose __init__ imports this).
from dashboard.api.exports import router as exports_router
from dashboard.api.graphql import router as graphql_router
from dashboard.api.oauth import router as oauth_router
from dashboard.api.operations import router as operations_router
from dashboard.api.polls import router as polls_router
from dashboard.api.ratelimit import RateLimitHeaders
from dashboard.api.reservations import router as reservations_router
from dashboard.api.session import router as session_router
from dashboard.api.stock import router as stock_router
from dashboard.api.text_guard import RefuseBadText, document_url_text
from dashboard.api.webhooks import router as webhooks_router

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
            "Stock and reservations for storefronts and brand systems, as REST and as GraphQL "
            "(`POST /api/v1/graphql`). Authenticate with `Authorization: Bearer <API key>` "
            "(create keys with `rackroom apikey create`) or with an OAuth2 access token from "
            "`POST /api/v1/oauth/token`. Each key has a rate limit (a token bucket; "
            "`RateLimit-*` headers on every answer, 429 with `Retry-After` over it). "
            'Errors are JSON: `{"error": code, "message": text, "details": {...}}`. '
            "`/api/v1` stays compatible; see docs/api.md for the deprecation policy."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    install_error_handlers(api)
    api.include_router(stock_router, prefix=PREFIX, responses=KEYED_ERRORS)
    api.include_router(reservations_router, prefix=PREFIX, responses=KEYED_ERRORS)
    api.include_router(polls_router, prefix=PREFIX, responses=KEYED_ERRORS)
    api.include_router(webhooks_router, prefix=PREFIX, responses=KEYED_ERRORS)
    api.include_router(graphql_router, prefix=PREFIX)
    api.include_router(oauth_router, prefix=PREFIX, responses=errors_for(405, 413, 429, 500))
    api.include_router(operations_router, responses=errors_for(400, 405, 413, 414, 500))
    api.include_router(exports_router)  # the dashboard's CSV files (session cookie)
    api.include_router(session_router)  # sign-in hand-off and sign-out (HttpOnly cookie)
    add_fallback(api)  # last: anything else under /api/v1 is a JSON 404 or 405

    api.add_middleware(DeprecationHeaders)
    api.add_middleware(RateLimitHeaders)
    api.add_middleware(RefuseBadText)
    api.add_middleware(BodyLimit)
    document_url_text(api)
    return api
