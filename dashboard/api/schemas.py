"""Request and response bodies. Requests are strict: unknown fields and wrong types are 422."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Quantity = Annotated[StrictInt, Field(gt=0, le=1_000_000)]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]
Code = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Reference = Annotated[StrictStr, Field(min_length=1, max_length=128)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SetCount(Strict):
    on_hand: Count
    expected_on_hand: Count | None = Field(
        None, description="Compare-and-swap: refuse with 409 unless on hand is still this."
    )
    reason: Literal["count", "damaged", "found", "correction", "lost"]
    note: Annotated[StrictStr, Field(max_length=1000)] | None = None
    reference: Reference | None = None


class Receipt(Strict):
    qty: Quantity
    reference: Reference


class ReserveRequest(Strict):
    sku: Code
    qty: Quantity
    order_ref: Reference
    channel: Code
    warehouse: Code | None = Field(None, description="Omit to let the allocation policy pick.")
    ttl_seconds: Annotated[StrictInt, Field(ge=1, le=7 * 24 * 3600)] = 900


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


class VariantStock(BaseModel):
    sku: str
    brand: str
    style_code: str
    product: str
    colour: str
    size: str
    barcode: str | None
    warehouses: list[Balance]
    totals: Totals


class BalanceRow(Balance):
    sku: str


class BalancePage(BaseModel):
    items: list[BalanceRow]
    next_cursor: str | None = Field(description="Pass back as ?cursor= for the next page.")


class ReservationOut(BaseModel):
    id: int
    sku: str
    warehouse: str
    qty: int
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
