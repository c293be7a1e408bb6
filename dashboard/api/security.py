"""Bearer API keys: who is calling, and whether their scopes and brand allow it.

The key is checked inside the request's own transaction (no extra round trips and
no cache, so a revoked key is refused on its very next request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from dashboard.api.errors import ApiError
from models.api_keys import KeyHolder, Scope, key_holder
from models.catalog import Variant

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer rr_…`")


def _secret(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", "Send an API key: Authorization: Bearer <key>.")
    return credentials.credentials


#: The caller's API key, as sent; check it with `authorize` inside the transaction.
ApiSecret = Annotated[str, Depends(_secret)]


def authorize(session: Session, secret: str, scope: Scope) -> KeyHolder:
    """The live key behind `secret` if it holds `scope`; else a 401 or 403."""
    holder = key_holder(session, secret)
    if holder is None:
        raise ApiError(401, "unauthorized", "The API key is unknown or has been revoked.")
    if scope.value not in holder.scopes:
        raise ApiError(
            403, "forbidden", f"This key lacks the {scope.value!r} scope.", scope=scope.value
        )
    return holder


def check_brand(holder: KeyHolder, variant: Variant) -> None:
    """A brand-bound key may only touch its own brand's SKUs."""
    if holder.brand_id is not None and variant.brand_id != holder.brand_id:
        raise ApiError(
            403,
            "forbidden",
            f"This key may not touch SKU {variant.sku!r}: it belongs to another brand.",
            sku=variant.sku,
        )
