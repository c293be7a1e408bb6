"""The GraphQL object types: the same facts the REST API answers, fetched through the
request's DataLoaders, and the typed errors mutations return (codes as in REST)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from dashboard.items import item_of
from models import catalog, errors
from models import reservations as domain_reservations
from models.attributes import ProductAttributes
from models.sizes import SizeSystem
from models.stock_queries import WarehouseStock

Info = strawberry.Info


@strawberry.type(description="A brand whose clothes Rackroom holds.")
class Brand:
    code: str
    name: str
    size_system_hint: str | None = strawberry.field(
        description="How a bare size number of this brand reads, a size system ("
        + ", ".join(SizeSystem)
        + "); null when it is guessed from the label (auto)."
    )

    @classmethod
    def of(cls, brand: catalog.Brand) -> Brand:
        return item_of(cls, brand)


@strawberry.type(description="A brand's style; its variants are colour × size.")
class Product:
    style_code: str
    name: str
    category: str
    attributes: JSON = strawberry.field(
        description="Every stored attribute, also keys an import kept (vendor, origin…)."
    )
    fabric: str = strawberry.field(description="Empty when not set.")
    care: str = strawberry.field(description="Empty when not set.")
    season: str = strawberry.field(description='Upper-case, e.g. "SS26"; empty when not set.')
    tags: list[str] = strawberry.field(description="Lower-case, without duplicates.")

    @classmethod
    def of(cls, product: catalog.Product) -> Product:
        return item_of(cls, product, **ProductAttributes.read(product.attributes).to_fields())


@strawberry.type(description="A warehouse or store that holds stock.")
class Warehouse:
    code: str
    name: str
    kind: str = strawberry.field(description="warehouse or store")
    priority: int = strawberry.field(description="Allocation order: lower is reserved first.")
    active: bool

    @classmethod
    def of(cls, warehouse: catalog.Warehouse) -> Warehouse:
        return item_of(cls, warehouse, active=warehouse.is_active)


def _warehouse(self, info: Info) -> Warehouse:
    """The warehouse of a level or a reservation (`warehouse_id`)."""
    return Warehouse.of(info.context.loaders.warehouses()[self.warehouse_id])


async def _variant(self, info: Info) -> Variant | None:
    """The variant of a level or a reservation (`variant_id`)."""
    found = await info.context.loaders.variant_by_id.load(self.variant_id)
    return Variant.of(found) if found else None


@strawberry.type(description="On hand, reserved, available (= on hand − reserved), incoming.")
class StockTotals:
    on_hand: int
    reserved: int
    available: int
    incoming: int


@strawberry.type(description="One variant's stock in one warehouse.")
class InventoryLevel:
    sku: str
    on_hand: int
    reserved: int
    available: int
    incoming: int
    updated_at: datetime | None = strawberry.field(
        description="Last change; null where the variant never had stock here."
    )
    variant_id: strawberry.Private[int]
    warehouse_id: strawberry.Private[int]

    @classmethod
    def of(cls, level: WarehouseStock) -> InventoryLevel:
        return item_of(cls, level)

    warehouse: Warehouse = strawberry.field(resolver=_warehouse)
    variant: Variant | None = strawberry.field(resolver=_variant)


@strawberry.type(description="A sellable colour × size of a product.")
class Variant:
    sku: str = strawberry.field(description="Canonical SKU, unique across brands.")
    colour: str
    size: str
    size_system: str
    barcode: str | None
    id_: strawberry.Private[int]
    brand_id: strawberry.Private[int]
    product_id: strawberry.Private[int]

    @classmethod
    def of(cls, variant: catalog.Variant) -> Variant:
        return item_of(cls, variant, id_=variant.id)

    @strawberry.field
    async def brand(self, info: Info) -> Brand:
        return Brand.of(await info.context.loaders.brand.load(self.brand_id))

    @strawberry.field
    async def product(self, info: Info) -> Product:
        return Product.of(await info.context.loaders.product.load(self.product_id))

    @strawberry.field(description="Other codes for it: brand, legacy, Shopify SKUs, barcodes.")
    async def aliases(self, info: Info) -> list[str]:
        return await info.context.loaders.aliases.load(self.id_)

    @strawberry.field(
        description="Its stock in every active warehouse, in allocation order (0 where none)."
    )
    async def inventory_levels(self, info: Info) -> list[InventoryLevel]:
        return [InventoryLevel.of(x) for x in await info.context.loaders.levels.load(self.id_)]

    @strawberry.field(description="Its stock summed over every active warehouse.")
    async def totals(self, info: Info) -> StockTotals:
        levels = await info.context.loaders.levels.load(self.id_)
        return StockTotals(
            on_hand=sum(x.on_hand for x in levels),
            reserved=sum(x.reserved for x in levels),
            available=sum(x.available for x in levels),
            incoming=sum(x.incoming for x in levels),
        )


@strawberry.type(description="Units of a hold reserved in one warehouse.")
class Allocation:
    qty: int
    warehouse_id: strawberry.Private[int]

    warehouse: Warehouse = strawberry.field(resolver=_warehouse)


@strawberry.type(description="A time-boxed hold on stock for an order at checkout.")
class Reservation:
    id: strawberry.ID = strawberry.field(description="The same id as in the REST API.")
    sku: str
    qty: int = strawberry.field(description="Units held, over every allocation.")
    channel: str
    order_ref: str
    status: str = strawberry.field(description="active, committed, released or expired")
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    allocations: list[Allocation] = strawberry.field(
        description="Where the units are held, by line: one entry unless a channel that "
        "allows splitting had to hold across several warehouses. A retry answers the same."
    )
    variant_id: strawberry.Private[int]
    warehouse_id: strawberry.Private[int]

    @classmethod
    def of(
        cls,
        reservation: domain_reservations.Reservation,
        sku: str,
        lines: Sequence[domain_reservations.Reservation] = (),
    ) -> Reservation:
        """`reservation` (the hold's first row) with every row of its hold, `lines`."""
        rows = sorted(lines or (reservation,), key=lambda r: r.line)
        return item_of(
            cls,
            reservation,
            id=strawberry.ID(str(reservation.id)),
            sku=sku,
            qty=sum(r.qty for r in rows),
            allocations=[Allocation(qty=r.qty, warehouse_id=r.warehouse_id) for r in rows],
        )

    warehouse: Warehouse = strawberry.field(
        resolver=_warehouse, description="The first (or only) warehouse of `allocations`."
    )
    variant: Variant | None = strawberry.field(resolver=_variant)


# --- connections ------------------------------------------------------------------------


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class InventoryLevelEdge:
    cursor: str
    node: InventoryLevel


@strawberry.type(description="A page of inventory levels (Relay cursor connection).")
class InventoryLevelConnection:
    edges: list[InventoryLevelEdge]
    page_info: PageInfo

    @strawberry.field(description="The edges' nodes, for clients that need no cursors.")
    def nodes(self) -> list[InventoryLevel]:
        return [edge.node for edge in self.edges]


# --- mutation inputs ----------------------------------------------------------------------


@strawberry.input(description="Where an order goes: a `nearest` channel allocates towards it.")
class ShipToInput:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. GB")
    lat: float | None = strawberry.field(default=None, description="With lon, or neither.")
    lon: float | None = None


@strawberry.input
class ReserveInput:
    sku: str = strawberry.field(description="Canonical SKU, alias or barcode.")
    qty: int
    order_ref: str
    channel: str
    warehouse: str | None = strawberry.field(
        default=None, description="Omit to let the allocation policy pick."
    )
    ttl_seconds: int = 900
    ship_to: ShipToInput | None = strawberry.field(
        default=None, description="Where the order goes (for channels that allocate by place)."
    )


@strawberry.enum(description="Why a count is set.")
class CountReason(Enum):
    COUNT = "count"
    DAMAGED = "damaged"
    FOUND = "found"
    CORRECTION = "correction"
    LOST = "lost"


@strawberry.input
class SetOnHandInput:
    sku: str
    warehouse: str
    on_hand: int
    expected_on_hand: int | None = strawberry.field(
        default=None, description="Compare-and-swap: refused unless on hand is still this."
    )
    reason: CountReason
    note: str | None = None
    reference: str | None = None


# --- typed errors ---------------------------------------------------------------------------


@strawberry.interface(description="A refusal; `code` is the REST API's error code.")
class Error:
    code: str
    message: str


@strawberry.type(description="insufficient_stock: fewer units available than asked for.")
class InsufficientStock(Error):
    available: int | None = None
    requested: int | None = None
    on_hand: int | None = None
    reserved: int | None = None


@strawberry.type(description="stale_count: on hand is no longer the expected value.")
class StaleCount(Error):
    on_hand: int = strawberry.field(description="On hand now.")
    expected_on_hand: int | None = None


@strawberry.type(description="not_found: the SKU, warehouse or reservation does not exist.")
class NotFound(Error):
    pass


@strawberry.type(description="forbidden: the key lacks the scope, or it is another brand's SKU.")
class Forbidden(Error):
    pass


@strawberry.type(description="invalid_transition: e.g. committing a released reservation.")
class InvalidTransition(Error):
    pass


@strawberry.type(description="conflict: e.g. the same order reserved again with another qty.")
class Conflict(Error):
    pass


@strawberry.type(description="validation_error or invalid_quantity, naming the field.")
class InvalidInput(Error):
    field: str | None = None


ErrorTypes = (
    InsufficientStock
    | StaleCount
    | NotFound
    | Forbidden
    | InvalidTransition
    | Conflict
    | InvalidInput
)
ReservationResult = Annotated[Reservation | ErrorTypes, strawberry.union("ReservationResult")]
InventoryLevelResult = Annotated[
    InventoryLevel | ErrorTypes, strawberry.union("InventoryLevelResult")
]


def error_type(refusal: errors.DomainError) -> Error:
    """The typed error for a domain refusal, with its facts."""
    code, message, details = refusal.code, refusal.message, refusal.details
    if isinstance(refusal, errors.InsufficientStock):
        return InsufficientStock(
            code=code,
            message=message,
            available=details.get("available"),
            requested=details.get("requested"),
            on_hand=details.get("on_hand"),
            reserved=details.get("reserved"),
        )
    if isinstance(refusal, errors.StaleCount):
        return StaleCount(
            code=code,
            message=message,
            expected_on_hand=details.get("expected_on_hand"),
            on_hand=details.get("on_hand", 0),
        )
    if isinstance(refusal, errors.NotFound):
        return NotFound(code=code, message=message)
    if isinstance(refusal, errors.InvalidTransition):
        return InvalidTransition(code=code, message=message)
    if isinstance(refusal, errors.Conflict):
        return Conflict(code=code, message=message)
    if isinstance(refusal, errors.PermissionDenied):
        return Forbidden(code="forbidden", message=message)
    return InvalidInput(code=code, message=message, field=details.get("field"))
