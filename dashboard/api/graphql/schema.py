"""The GraphQL schema: queries over stock and the catalogue, and the checkout and count
mutations, calling the same domain functions as the REST routes.

Brand-bound keys: queries show nothing of another brand (a SKU, alias or reservation of
another brand reads as null, a connection never lists it, `brands` lists only theirs);
mutations refuse another brand's SKU with `forbidden`, as REST does.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import OperationDefinitionNode
from pydantic import BaseModel, ValidationError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig

from dashboard.api.errors import ApiError
from dashboard.api.graphql.context import Context
from dashboard.api.graphql.cost import (
    MAX_COST,
    MAX_FIRST,
    POINTS_PER_TOKEN,
    DepthLimit,
    coded,
    deprecated_uses,
    operation_cost,
    tokens_for,
)
from dashboard.api.graphql.types import (
    Brand,
    Forbidden,
    Info,
    InvalidInput,
    InventoryLevel,
    InventoryLevelConnection,
    InventoryLevelEdge,
    InventoryLevelResult,
    PageInfo,
    Reservation,
    ReservationResult,
    ReserveInput,
    SetOnHandInput,
    Variant,
    Warehouse,
    error_type,
)
from dashboard.api.lookups import owned_reservation, variant_for, warehouse_for
from dashboard.api.ratelimit import charge
from dashboard.api.reservations import reserve_for, ship_to_of
from dashboard.api.schemas import ReserveRequest, SetCount
from jobs import metrics
from models import reservations as domain
from models.api_keys import Scope
from models.catalog import Variant as DomainVariant
from models.catalog import brand_by_code
from models.catalog_reads import list_brands, list_warehouses, variants_for_codes
from models.db import transaction
from models.errors import DomainError, NotFound
from models.stock import set_count
from models.stock_queries import levels_by_variant, page_of_balances

M = TypeVar("M", bound=BaseModel)
#: At most this many SKUs in one `variants(skus:)` or `inventoryLevels(skus:)`.
MAX_SKUS = 250
#: Lexical tokens a document may have; a longer one is refused before it is parsed whole.
MAX_PARSER_TOKENS = 10_000


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def _cursor(variant_id: int, warehouse_id: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(
        f"lv1:{variant_id}:{warehouse_id}:{fingerprint}".encode()
    ).decode()


def _after(cursor: str, fingerprint: str) -> tuple[int, int]:
    try:
        tag, variant_id, warehouse_id, made_for = (
            base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        )
        position = int(variant_id), int(warehouse_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise coded(
            "after: not a cursor this API issued.", "BAD_USER_INPUT", argument="after"
        ) from None
    if tag != "lv1" or made_for != fingerprint:
        raise coded(
            "after: this cursor belongs to another query (other filters); page with the "
            "same arguments that produced it.",
            "BAD_USER_INPUT",
            argument="after",
        )
    return position


def _skus(skus: list[str] | None) -> list[str] | None:
    if skus is not None and len(skus) > MAX_SKUS:
        raise coded(
            f"skus: at most {MAX_SKUS} at once, got {len(skus)}.", "BAD_USER_INPUT", argument="skus"
        )
    return skus


@strawberry.type
class Query:
    @strawberry.field(description="A variant by canonical SKU, alias or barcode; null if none.")
    async def variant(self, info: Info, sku: str) -> Variant | None:
        info.context.require(Scope.STOCK_READ)
        found = await info.context.loaders.variant_by_code.load(sku.strip())
        return Variant.of(found) if found else None

    @strawberry.field(
        description=f"Variants by SKU, alias or barcode (at most {MAX_SKUS}), in the order "
        "asked; null where a code names none."
    )
    async def variants(self, info: Info, skus: list[str]) -> list[Variant | None]:
        info.context.require(Scope.STOCK_READ)
        loader = info.context.loaders.variant_by_code
        found = await loader.load_many([s.strip() for s in _skus(skus) or []])
        return [Variant.of(v) if v else None for v in found]

    @strawberry.field(
        description="Balances in a stable order (variant, warehouse), a page at a time: "
        f"`first` 1–{MAX_FIRST} (default 50), then `after` the last `endCursor`. Lists "
        "every balance that exists, zeros included."
    )
    def inventory_levels(
        self,
        info: Info,
        brand: str | None = None,
        warehouse: str | None = None,
        skus: list[str] | None = None,
        updated_since: datetime | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> InventoryLevelConnection:
        ctx = info.context
        ctx.require(Scope.STOCK_READ)
        first = 50 if first is None else first
        if not 1 <= first <= MAX_FIRST:
            raise coded(
                f"first: between 1 and {MAX_FIRST}, got {first}.",
                "BAD_USER_INPUT",
                argument="first",
            )
        if updated_since is not None and updated_since.tzinfo is None:
            raise coded(
                "updatedSince: give a time zone (e.g. Z).",
                "BAD_USER_INPUT",
                argument="updatedSince",
            )
        session, bound = ctx.session, ctx.holder.brand_id
        brand_id = bound
        try:
            if brand is not None:
                wanted = brand_by_code(session, brand.strip().upper())
                if bound is not None and wanted.id != bound:
                    raise coded("This key may only read its own brand.", "FORBIDDEN")
                brand_id = wanted.id
            warehouse_id = warehouse_for(session, warehouse).id if warehouse else None
        except NotFound as missing:
            argument = "brand" if "brand" in missing.details else "warehouse"
            raise coded(missing.message, "BAD_USER_INPUT", argument=argument) from None
        variant_ids = None
        if skus is not None:
            found = variants_for_codes(
                session, [c.strip() for c in _skus(skus) or []], brand_id=bound
            )
            variant_ids = sorted({v.id for v in found.values()})
        fingerprint = _fingerprint(brand_id, warehouse_id, variant_ids, updated_since)
        position = _after(after, fingerprint) if after else None
        rows = page_of_balances(
            session,
            limit=first + 1,
            after=position,
            brand_id=brand_id,
            warehouse_id=warehouse_id,
            updated_since=updated_since,
            variant_ids=variant_ids,
        )
        more, rows = len(rows) > first, rows[:first]
        edges = [
            InventoryLevelEdge(
                cursor=_cursor(r.variant_id, r.warehouse_id, fingerprint), node=InventoryLevel.of(r)
            )
            for r in rows
        ]
        return InventoryLevelConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=more,
                has_previous_page=position is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(description="Brands, by code (a brand-bound key sees only its own).")
    def brands(self, info: Info) -> list[Brand]:
        info.context.require(Scope.STOCK_READ)
        return [
            Brand.of(b)
            for b in list_brands(info.context.session, brand_id=info.context.holder.brand_id)
        ]

    @strawberry.field(description="Active warehouses and stores, in allocation order.")
    def warehouses(self, info: Info) -> list[Warehouse]:
        info.context.require(Scope.STOCK_READ)
        return [Warehouse.of(w) for w in list_warehouses(info.context.session)]

    @strawberry.field(description="A reservation by id; null if none (or another brand's).")
    def reservation(self, info: Info, id: strawberry.ID) -> Reservation | None:
        ctx = info.context
        ctx.require(Scope.RESERVATIONS_WRITE)
        try:
            number = int(id)
        except ValueError:
            raise coded(f"id: {id!r} is not a reservation id.", "BAD_USER_INPUT") from None
        if not 1 <= number <= 2**62:
            return None
        try:
            found = owned_reservation(ctx.session, ctx.holder, number)
        except (NotFound, ApiError):
            return None
        return _reservation_out(ctx.session, found, domain.sibling_lines(ctx.session, found))


def _plain(value: object) -> object:
    """An input's value as the REST body has it: an enum's value, a nested input
    (`shipTo`) as a dict of its fields."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _body(model: type[M], given: object) -> M | InvalidInput:
    """The REST request body `model` made from a mutation's input (the same field names),
    so that both APIs validate alike; a refusal as `InvalidInput`."""
    values = {name: getattr(given, name) for name in model.model_fields if hasattr(given, name)}
    try:
        return model(**{k: _plain(v) for k, v in values.items()})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "input"
        message = f"{field}: {first['msg']}"
        return InvalidInput(code="validation_error", message=message, field=field)


def _write(ctx: Context, scope: Scope, work) -> object:
    """Run one mutation in its own transaction; refusals become typed errors."""
    if ctx.lacks(scope):
        return Forbidden(code="forbidden", message=f"This key lacks the {scope.value!r} scope.")
    try:
        with transaction() as session:
            result = work(session)
    except ApiError as refusal:  # check_brand: another brand's SKU
        return Forbidden(code=refusal.code, message=refusal.message)
    except DomainError as refusal:
        return error_type(refusal)
    ctx.fresh_reads()
    return result


def _mutate(
    ctx: Context, scope: Scope, model: type[M], given: object, work: Callable[[Any, M], object]
) -> object:
    """A mutation: `given` validated as the REST body `model`, then `work(session, body)`
    in its own transaction (`_write`)."""
    body = _body(model, given)
    if isinstance(body, InvalidInput):
        return body
    return _write(ctx, scope, lambda session: work(session, body))


def _reservation_out(
    session, reservation: domain.Reservation, lines: list[domain.Reservation]
) -> Reservation:
    """`reservation` as GraphQL shows it, with every row of its hold (`lines`)."""
    variant = session.get(DomainVariant, reservation.variant_id)
    return Reservation.of(reservation, variant.sku if variant else "?", lines)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Hold stock for an order; the same (channel, orderRef, "
        "sku) again returns the same hold. A configured channel allocates by its strategy "
        "(towards `shipTo` for `nearest`) and, if it allows splitting, over several "
        "warehouses: all of `allocations` or nothing."
    )
    def reserve(self, info: Info, input: ReserveInput) -> ReservationResult:
        ctx = info.context

        def work(session, body: ReserveRequest):
            sku, result = reserve_for(session, ctx.holder, body, ship_to_of(body))
            return Reservation.of(result.reservation, sku, result.lines)

        return _mutate(ctx, Scope.RESERVATIONS_WRITE, ReserveRequest, input, work)

    @strawberry.mutation(description="The order was paid: the held units are sold.")
    def commit_reservation(self, info: Info, id: strawberry.ID) -> ReservationResult:
        return _close(info.context, id, domain.commit_hold, "committed")

    @strawberry.mutation(description="The checkout was abandoned: the units are available again.")
    def release_reservation(self, info: Info, id: strawberry.ID) -> ReservationResult:
        return _close(info.context, id, domain.release_hold, "released")

    @strawberry.mutation(
        description="Set on hand to a counted value; with expectedOnHand a "
        "stale count is refused (stale_count)."
    )
    def set_on_hand(self, info: Info, input: SetOnHandInput) -> InventoryLevelResult:
        ctx = info.context

        def work(session, body: SetCount):
            variant = variant_for(session, ctx.holder, input.sku)
            place = warehouse_for(session, input.warehouse)
            set_count(session, variant.id, place.id, actor=ctx.holder.actor, **body.model_dump())
            levels = levels_by_variant(session, [variant.id]).get(variant.id, [])
            level = next((x for x in levels if x.warehouse_id == place.id), None)
            if level is None:  # an inactive warehouse is not listed; say it as REST does
                raise NotFound(f"Warehouse {input.warehouse!r} is not active.")
            return InventoryLevel.of(level)

        return _mutate(ctx, Scope.STOCK_WRITE, SetCount, input, work)


def _close(ctx: Context, reservation_id: strawberry.ID, close, outcome: str) -> object:
    try:
        number = int(reservation_id)
    except ValueError:
        return InvalidInput(
            code="validation_error", message="id: not a reservation id.", field="id"
        )

    def work(session):
        owned_reservation(session, ctx.holder, number)
        # The whole hold closes (every warehouse of a split); the answer is this row.
        closed = close(session, number, actor=ctx.holder.actor)
        out = _reservation_out(session, next(r for r in closed if r.id == number), closed)
        metrics.count_reservation(outcome)
        return out

    if not 1 <= number <= 2**62:
        return error_type(NotFound(f"No reservation with id {number}."))
    return _write(ctx, Scope.RESERVATIONS_WRITE, work)


class Gateway(SchemaExtension):
    """Records how far an operation got, then before it runs: its cost against the
    ceiling (MAX_COST_EXCEEDED) and against the key's bucket (HTTP 429)."""

    def on_parse(self) -> Iterator[None]:
        self.execution_context.context.stage = "parse"
        yield

    def on_validate(self) -> Iterator[None]:
        self.execution_context.context.stage = "validate"
        yield

    def on_execute(self) -> Iterator[None]:
        run = self.execution_context
        ctx: Context = run.context
        ctx.stage = "execute"
        assert run.graphql_document is not None
        operations = [
            d for d in run.graphql_document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        if ctx.operation_name is None and len(operations) > 1:
            run.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    coded(
                        "The document has several operations: name one with operationName.",
                        "BAD_USER_INPUT",
                    )
                ],
            )
            _charge(ctx, 1)
            yield
            return
        cost = operation_cost(
            run.schema._schema, run.graphql_document, run.operation_name, run.variables
        )
        ctx.cost = cost
        ctx.max_cost = min(MAX_COST, ctx.holder.burst * POINTS_PER_TOKEN)
        if cost > ctx.max_cost:
            ceiling = (
                f"at most {MAX_COST}"
                if ctx.max_cost == MAX_COST
                else f"at most {ctx.max_cost} for this key (its burst × {POINTS_PER_TOKEN})"
            )
            run.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    coded(
                        f"This query costs {cost}; {ceiling}. Ask for fewer items (first, skus) or "
                        "fewer fields.",
                        "MAX_COST_EXCEEDED",
                        cost=cost,
                        maxCost=ctx.max_cost,
                    )
                ],
            )
            ctx.tokens = 1
            _charge(ctx, 1)
            yield
            return
        ctx.deprecations = deprecated_uses(run.schema._schema, run.graphql_document)
        if ctx.deprecations:  # docs/api.md "Versioning and deprecation"
            state = ctx.request.scope.setdefault("state", {})
            state["rackroom_deprecation"] = [(b"deprecation", b"@0")]
        ctx.tokens = tokens_for(cost)
        if _charge(ctx, ctx.tokens):
            yield
            return
        run.result = GraphQLExecutionResult(
            data=None,
            errors=[
                coded(
                    ctx.refusal["message"] if ctx.refusal else "Rate limited.",
                    "RATE_LIMITED",
                    **(ctx.refusal or {}).get("details", {}),
                )
            ],
        )
        yield

    def get_results(self) -> dict[str, object]:
        ctx: Context = self.execution_context.context
        results: dict[str, object] = {"cost": ctx.cost_report()}
        if ctx.deprecations:
            results["deprecations"] = ctx.deprecations
        return results


def _charge(ctx: Context, tokens: int) -> bool:
    """Take tokens from the key's bucket; False (and status 429 noted) when refused."""
    try:
        ctx.bucket = charge(ctx.request, ctx.secret, tokens)
        return True
    except ApiError as refusal:
        ctx.status = refusal.status
        ctx.refusal = {
            "error": refusal.code,
            "message": refusal.message,
            "details": refusal.details,
        }
        ctx.bucket = ctx.request.scope.get("state", {}).get("rackroom_rate_limit")
        return False


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"not an ISO 8601 time: {value!r}")
    return datetime.fromisoformat(value)


#: ISO 8601 in UTC with a Z, as the REST API writes times (2026-12-04T16:39:36.5Z).
DateTime = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 time; Rackroom writes UTC with a Z.",
    serialize=lambda value: value.isoformat().replace("+00:00", "Z"),
    parse_value=_parse_time,
)


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Client mistakes are answered, not logged; failures are logged by the endpoint."""


schema = Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        lambda: MaxTokensLimiter(max_token_count=MAX_PARSER_TOKENS),
        lambda: AddValidationRules([DepthLimit]),
        Gateway,
    ],
    config=StrawberryConfig(scalar_map={datetime: DateTime}),
)
