"""`/api/v1/graphql` over HTTP: POST (or GET for queries) runs an operation; GET from a
browser shows GraphiQL.

Order of checks: a bearer credential (401), then parsing, validation (depth) and the
cost (`MAX_COST_EXCEEDED`), then the key's bucket (429 with Retry-After), then the
resolvers. GraphQL-level refusals answer 200 with `errors[].extensions.code`; the HTTP
refusals (401, 413, 429, …) carry Rackroom's error body `{error, message, details}`
beside `errors`. Every answer has `extensions.cost`.

The operation runs in a worker thread on that thread's own event loop: the DataLoaders
batch as usual, the database calls never block the server's loop, and the request's
session is used by one thread only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from graphql import GraphQLError, GraphQLSyntaxError
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from dashboard.api.contract import errors_for
from dashboard.api.errors import ApiError
from dashboard.api.graphql.context import Context
from dashboard.api.graphql.cost import coded
from dashboard.api.graphql.schema import schema
from dashboard.api.ratelimit import charge
from dashboard.api.schemas import STORABLE_TEXT
from dashboard.api.security import bearer_scheme, bearer_secret
from jobs.logs import bind
from models.api_keys import key_holder
from models.db import read_session, transaction

log = logging.getLogger("rackroom.api.graphql")
router = APIRouter(tags=["graphql"])
_threads = threading.local()


class GraphQLRequest(BaseModel):
    """A GraphQL-over-HTTP request body."""

    model_config = ConfigDict(extra="ignore")

    query: Annotated[StrictStr, Field(min_length=1, description="The GraphQL document")]
    variables: dict[str, Any] | None = None
    operationName: StrictStr | None = None


class GraphQLResponse(BaseModel):
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    extensions: dict[str, Any] | None = None


def _loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_threads, "loop", None)
    if loop is None or loop.is_closed():
        loop = _threads.loop = asyncio.new_event_loop()
    return loop


def _code(error: GraphQLError, stage: str) -> tuple[str, str]:
    """The error's code, and its message (masked for unexpected failures)."""
    code = (error.extensions or {}).get("code")
    original = error.original_error
    if code is None and original is not None:
        code = (getattr(original, "extensions", None) or {}).get("code")
    if code is not None:
        return code, error.message
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED", error.message
    if stage == "parse":
        return "GRAPHQL_PARSE_FAILED", error.message
    if stage == "validate":
        return "GRAPHQL_VALIDATION_FAILED", error.message
    if original is None or isinstance(original, GraphQLError | StrawberryGraphQLError):
        return "BAD_USER_INPUT", error.message
    log.error("GraphQL resolver failed", exc_info=original)
    return "INTERNAL_SERVER_ERROR", "Something went wrong on our side; it is logged."


def _formatted(errors: list[GraphQLError], stage: str) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        code, message = _code(error, stage)
        entry = error.formatted
        entry["message"] = message
        entry["extensions"] = {**(error.extensions or {}), "code": code}
        out.append(entry)
    return out


def _refused(status: int, code: str, message: str, details: dict | None = None) -> JSONResponse:
    gql = "UNAUTHENTICATED" if status == 401 else code.upper()
    body = {
        "error": code,
        "message": message,
        "details": details or {},
        "data": None,
        "errors": [{"message": message, "extensions": {"code": gql}}],
        "extensions": {"cost": {"requestedQueryCost": 0, "tokensTaken": 0}},
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


@dataclasses.dataclass(frozen=True)
class _Operation:
    """What a request asks to run, and which operation types its method allows."""

    query: str
    variables: dict[str, Any] | None
    name: str | None
    allowed: frozenset[OperationType]


async def _operation(request: Request, secret: str, asked: _Operation) -> JSONResponse:
    with transaction() as session:
        holder = key_holder(session, secret)
    if holder is None:
        return _refused(401, "unauthorized", "The API key or token is unknown or was revoked.")
    bind(api_key_name=holder.name)
    with read_session() as session:
        context = Context(
            request=request,
            secret=secret,
            holder=holder,
            session=session,
            operation_name=asked.name,
        )
        try:
            result = await schema.execute(
                asked.query,
                variable_values=asked.variables,
                context_value=context,
                operation_name=asked.name,
                allowed_operation_types=asked.allowed,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.MUTATION:
                return _refused(
                    405, "method_not_allowed", "Send mutations with POST.", {"allowed": ["POST"]}
                )
            result = ExecutionResult(
                data=None,
                errors=[coded("Subscriptions are not offered; poll instead.", "BAD_REQUEST")],
            )
        except CannotGetOperationTypeError as error:
            message = (
                f"No operation named {error.operation_name!r} in the document."
                if error.operation_name
                else "The document has several operations: name one with operationName."
            )
            result = ExecutionResult(data=None, errors=[coded(message, "BAD_USER_INPUT")])
    if context.stage != "execute":  # refused before running: it still counts as a request
        try:
            context.bucket = charge(request, secret, 1)
            context.tokens = 1
        except ApiError as refusal:
            return _refused(refusal.status, refusal.code, refusal.message, refusal.details)
    body: dict[str, Any] = {"data": result.data}
    if context.status != 200 and context.refusal is not None:
        body = dict(context.refusal) | body
    if result.errors:
        body["errors"] = _formatted(result.errors, context.stage)
    body["extensions"] = (result.extensions or {}) | {"cost": context.cost_report()}
    return JSONResponse(body, status_code=context.status)


def _run(request: Request, secret: str, asked: _Operation) -> JSONResponse:
    return _loop().run_until_complete(_operation(request, secret, asked))


ANY_OPERATION = frozenset({OperationType.QUERY, OperationType.MUTATION})
QUERIES_ONLY = frozenset({OperationType.QUERY})


@router.post(
    "/graphql",
    response_model=GraphQLResponse,
    response_model_exclude_none=True,
    responses={200: {"description": "The operation's result, GraphQL errors included"}}
    | errors_for(400, 401, 405, 413, 422, 429, 500),
)
async def graphql_post(
    body: GraphQLRequest, request: Request, secret: str = Depends(bearer_secret)
) -> JSONResponse:
    """Run a GraphQL query or mutation (schema: docs/schema.graphql)."""
    asked = _Operation(body.query, body.variables, body.operationName, ANY_OPERATION)
    return await run_in_threadpool(_run, request, secret, asked)


_GET_PARAMETERS = [
    {
        "name": "query",
        "in": "query",
        "required": False,
        "description": "A query (not a mutation); without it, GraphiQL is served",
        # Not blank: a query of only spaces is refused with 422 (said here so that
        # clients and fuzzers know it).
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 16_000,
            "pattern": r"^[^\x00]*\S[^\x00]*$",
        },
    },
    {
        "name": "variables",
        "in": "query",
        "required": False,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    {
        "name": "operationName",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "maxLength": 200, "pattern": STORABLE_TEXT},
    },
]


@router.get(
    "/graphql",
    response_model=GraphQLResponse,
    response_model_exclude_none=True,
    responses={200: {"content": {"text/html": {}}, "description": "GraphiQL, or the result"}}
    | errors_for(400, 401, 405, 413, 414, 422, 429, 500),
    openapi_extra={"parameters": _GET_PARAMETERS},
)
async def graphql_get(request: Request) -> Any:
    """GraphiQL for people (without `query`); with `query`, run a query (not a mutation)."""
    params = request.query_params
    query, name = params.get("query"), params.get("operationName")
    problems = []
    if query is not None and not query.strip():
        problems.append(("query", "empty"))
    if query is not None and len(query) > 16_000:
        problems.append(("query", "longer than 16000 characters"))
    if name is not None and len(name) > 200:
        problems.append(("operationName", "longer than 200 characters"))
    variables: Any = None
    if params.get("variables"):
        try:
            variables = json.loads(params["variables"])
        except ValueError:
            variables = "invalid"
        if not isinstance(variables, dict):
            problems.append(("variables", "not a JSON object"))
    if problems:
        field, problem = problems[0]
        raise ApiError(
            422,
            "validation_error",
            f"{field}: {problem}.",
            fields=[{"field": f, "problem": p} for f, p in problems],
        )
    if query is None:
        return HTMLResponse(get_graphql_ide_html(graphql_ide="graphiql"))
    secret = await bearer_secret(await bearer_scheme(request))
    asked = _Operation(query, variables, name, QUERIES_ONLY)
    return await run_in_threadpool(_run, request, secret, asked)
