"""What every resolver of one GraphQL request can reach: the caller, the read session,
the loaders, and what the gateway decided (cost, tokens, HTTP status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from sqlmodel import Session
from starlette.requests import Request

from dashboard.api.graphql.cost import coded
from dashboard.api.graphql.loaders import Loaders
from models.api_keys import KeyHolder, Scope
from models.rate_limits import BucketState


@dataclass
class Context:
    request: Request
    secret: str
    holder: KeyHolder
    session: Session
    #: As the request named it (strawberry falls back to the first operation).
    operation_name: str | None = None
    loaders: Loaders = field(init=False)
    #: "parse", "validate" or "execute": how far the operation got.
    stage: str = "parse"
    cost: int | None = None
    max_cost: int | None = None
    tokens: int = 0
    bucket: BucketState | None = None
    #: Set when the gateway refuses at the HTTP level (429), with the REST error body.
    status: int = 200
    refusal: dict[str, Any] | None = None
    #: Deprecated fields, arguments or enum values the operation uses.
    deprecations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session, self.holder)

    def require(self, scope: Scope) -> None:
        """Raise a FORBIDDEN error for this field unless the key holds `scope`."""
        if scope.value not in self.holder.scopes:
            raise coded(
                f"This key lacks the {scope.value!r} scope.", "FORBIDDEN", scope=scope.value
            )

    def lacks(self, scope: Scope) -> bool:
        return scope.value not in self.holder.scopes

    def fresh_reads(self) -> None:
        """After a mutation committed: end the read snapshot and forget what the loaders
        cached, so what the mutation's result selects is read as it is now."""
        self.session.rollback()
        self.loaders = Loaders(self.session, self.holder)

    def cost_report(self) -> dict[str, Any]:
        bucket = self.bucket
        return {
            "requestedQueryCost": self.cost or 0,
            "maximumQueryCost": self.max_cost,
            "tokensTaken": self.tokens,
            "throttleStatus": None
            if bucket is None
            else {
                "maximumAvailable": bucket.limit,
                "currentlyAvailable": bucket.remaining,
                "restoreRate": self.holder.rate_per_second,
            },
        }


def forbidden(message: str) -> GraphQLError:
    return coded(message, "FORBIDDEN")
