"""`POST /oauth/token`: OAuth2 client credentials (RFC 6749 §4.4) for integration tools.

The client is an API key: its id is the `client_id`, the key itself the
`client_secret`, sent in the form body or with HTTP Basic (§2.3.1). The answer is a
bearer token for 15 minutes with the key's scopes (or the fewer asked for in `scope`)
and brand; revoking the key ends its tokens at once. Errors follow §5.2 (`error`,
`error_description`) inside Rackroom's own error shape (`message`, `details`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dashboard.api.ratelimit import charge
from models.api_keys import issue_token
from models.db import transaction
from models.errors import AuthenticationFailed, InvalidQuantity

router = APIRouter(tags=["oauth"])
FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme's name)
    expires_in: int
    scope: str


class OAuthErrorBody(BaseModel):
    error: str
    error_description: str
    message: str
    details: dict = {}


def _refuse(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    body = {
        "error": error,
        "error_description": description,
        "message": description,
        "details": {},
    }
    return JSONResponse(body, status_code=status, headers=NO_STORE | headers)


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, client_secret = decoded.partition(":")
    return unquote(client_id), unquote(client_secret)


def _issue(client_id: str, client_secret: str, scope: str | None) -> Any:
    with transaction() as session:
        return issue_token(session, client_id, client_secret, scope=scope)


_PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")
_SCOPE = "(stock:read|stock:write|reservations:write|polls:write)"
_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string", "description": "The API key's id"},
        "client_secret": {"type": "string", "description": "The API key"},
        "scope": {
            "type": "string",
            "description": "Space-separated; at most the key's",
            "pattern": f"^{_SCOPE}( {_SCOPE})*$",
        },
    },
}


@router.post(
    "/oauth/token",
    response_model=TokenOut,
    openapi_extra={"requestBody": {"required": True, "content": {FORM: {"schema": _FORM_SCHEMA}}}},
    responses={
        400: {"model": OAuthErrorBody, "description": "invalid_request, invalid_scope, "
              "unsupported_grant_type (RFC 6749 §5.2)"},
        401: {"model": OAuthErrorBody, "description": "invalid_client"},
    },
)
async def token(request: Request) -> Any:
    """Exchange an API key's id and secret for a 15-minute bearer token."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        return _refuse(400, "invalid_request", f"Send the parameters as {FORM}.")
    try:
        body = (await request.body()).decode()
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return _refuse(400, "invalid_request", "The form body could not be read.")
    form: dict[str, str] = {}
    for name, value in pairs:
        if name not in _PARAMETERS:
            continue  # RFC 6749 §3.2: unknown parameters are ignored
        if name in form:
            return _refuse(400, "invalid_request", f"Parameter {name!r} is repeated.")
        form[name] = value
    grant = form.get("grant_type")
    if not grant:
        return _refuse(400, "invalid_request", "grant_type is missing.")
    if grant != "client_credentials":
        return _refuse(
            400, "unsupported_grant_type", "Only grant_type=client_credentials is offered."
        )
    basic = _basic(request.headers.get("authorization", ""))
    if basic is not None and ("client_id" in form or "client_secret" in form):
        return _refuse(400, "invalid_request", "Authenticate with Basic or the body, not both.")
    client_id, client_secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    challenge = {"WWW-Authenticate": 'Basic realm="rackroom"'} if basic is not None else {}
    if not client_id or not client_secret:
        return _refuse(401, "invalid_client", "Send client_id and client_secret.", **challenge)
    await run_in_threadpool(charge, request, client_secret)
    try:
        issued = await run_in_threadpool(_issue, client_id, client_secret, form.get("scope"))
    except AuthenticationFailed as refusal:
        return _refuse(401, "invalid_client", refusal.message, **challenge)
    except InvalidQuantity as refusal:
        return _refuse(400, "invalid_scope", refusal.message)
    out = TokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        scope=" ".join(sorted(issued.scopes)),
    )
    return JSONResponse(out.model_dump(), headers=NO_STORE)
