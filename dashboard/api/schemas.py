"""Request and response bodies. Requests are strict: unknown fields and wrong types are 422."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from models.text_safety import find_bad_text

Quantity = Annotated[StrictInt, Field(gt=0, le=1_000_000)]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]
#: What PostgreSQL can store, said in the schema (clients and fuzzers read it there): no
#: NUL. Lone surrogates are refused too (the model validator below answers 422 for
#: both), but they cannot be sent as UTF-8 and a surrogate range in a pattern is one
#: most generators cannot use, so the schema names only the NUL.
STORABLE_TEXT = r"^[^\x00]*$"


def text(max_length: int, min_length: int = 0) -> Any:
    """A request string of at most `max_length` characters that the database can store."""
    return Annotated[
        StrictStr,
        Field(
            min_length=min_length,
            max_length=max_length,
            json_schema_extra={"pattern": STORABLE_TEXT},
        ),
    ]


Code = text(64, min_length=1)
Reference = text(128, min_length=1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: object) -> object:
        """5.0 is the integer 5 in JSON (and JSON Schema): read it as 5. Strict fields still
        refuse 5.5, "5" and true."""
        if not isinstance(data, dict):
            return data
        bad = find_bad_text(data)
        if bad is not None:  # PostgreSQL cannot store it; say so instead of a 500
            raise ValueError(f"{bad[0]} {bad[1]}")
        return {
            k: int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**63 else v
            for k, v in data.items()
        }


class SetCount(Strict):
    on_hand: Count
    expected_on_hand: Count | None = Field(
        None, description="Compare-and-swap: refuse with 409 unless on hand is still this."
    )
    reason: Literal["count", "damaged", "found", "correction", "lost"]
    note: text(1000) | None = None
    reference: Reference | None = None


class Receipt(Strict):
    qty: Quantity
    reference: Reference


class ShipTo(Strict):
    """Where the order goes: a `nearest` channel allocates towards it."""

    country: Annotated[
        StrictStr, Field(min_length=1, max_length=64, description="ISO 3166-1 alpha-2, e.g. GB")
    ]
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None


class ReserveRequest(Strict):
    sku: Code
    qty: Quantity
    order_ref: Reference
    channel: Code = Field(
        description="The sales channel. A configured channel (`rackroom channel create`) "
        "allocates by its strategy and warehouses; any other code by warehouse priority."
    )
    warehouse: Code | None = Field(None, description="Omit to let the allocation policy pick.")
    ttl_seconds: Annotated[StrictInt, Field(ge=1, le=7 * 24 * 3600)] = 900
    ship_to: ShipTo | None = None


class ReturnRequest(Strict):
    sku: Code
    warehouse: Code
    qty: Quantity
    order_ref: Reference


class Balance(BaseModel):
    warehouse: str
    on_hand: int
    reserved: int
    available: int
    incoming: int
    updated_at: datetime | None = None


class Totals(BaseModel):
    on_hand: int
    reserved: int
    available: int
    incoming: int


class ProductAttributes(BaseModel):
    """The product's attributes (docs/api.md): empty text or list when not set."""

    fabric: str
    care: str
    season: str = Field(description='Upper-case, e.g. "SS26" or "AW26".')
    tags: list[str] = Field(description="Lower-case, without duplicates, in order.")


class VariantStock(BaseModel):
    sku: str
    brand: str
    style_code: str
    product: str
    colour: str
    size: str
    barcode: str | None
    attributes: ProductAttributes
    warehouses: list[Balance]
    totals: Totals


class BalanceRow(Balance):
    sku: str
    attributes: ProductAttributes = Field(description="The variant's product attributes.")


class BalancePage(BaseModel):
    items: list[BalanceRow]
    next_cursor: str | None = Field(description="Pass back as ?cursor= for the next page.")


class Allocation(BaseModel):
    warehouse: str
    qty: int


class ReservationOut(BaseModel):
    id: int
    sku: str
    warehouse: str = Field(description="The first (or only) warehouse of `allocations`.")
    qty: int = Field(description="The whole hold's units, over every allocation.")
    allocations: list[Allocation] = Field(
        description="Where the units are held: one entry, or several when a channel that "
        "allows splitting found no single warehouse with enough."
    )
    channel: str
    order_ref: str
    status: str
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None


class ReturnOut(BaseModel):
    sku: str
    warehouse: str
    qty: int
    order_ref: str
    balance: Balance


class ErrorBody(BaseModel):
    error: str
    message: str
    details: dict = {}
