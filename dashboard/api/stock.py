"""`/stock`: read balances, set counts, record receipts."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from dashboard.api.errors import ApiError
from dashboard.api.lookups import variant_for, warehouse_for
from dashboard.api.schemas import (
    Balance,
    BalancePage,
    BalanceRow,
    ProductAttributes,
    Receipt,
    SetCount,
    Totals,
    VariantStock,
)
from dashboard.api.security import ApiSecret, authorize
from dashboard.items import item_of
from models.api_keys import Scope
from models.attributes import ProductAttributes as Attributes
from models.catalog import brand_by_code
from models.catalog_reads import attributes_by_product
from models.db import transaction
from models.stock import Balance as DomainBalance
from models.stock import receive, set_count
from models.stock_queries import page_of_balances, stock_by_warehouse, variant_facts

router = APIRouter(tags=["stock"])
SkuPath = Annotated[str, Path(min_length=1, max_length=64, description="Canonical SKU or alias")]
WarehousePath = Annotated[str, Path(min_length=1, max_length=32)]
MAX_PAGE = 1000


def _attributes(read: Attributes) -> ProductAttributes:
    return ProductAttributes(**read.to_fields())


def _balance(code: str, balance: DomainBalance) -> Balance:
    return item_of(Balance, balance, warehouse=code)


@router.get("/stock/{sku}", response_model=VariantStock)
def get_variant_stock(sku: SkuPath, secret: ApiSecret) -> VariantStock:
    """A variant's facts and its balance in every active warehouse, with totals."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.STOCK_READ)
        variant = variant_for(session, holder, sku)
        facts = variant_facts(session, variant)
        rows = stock_by_warehouse(session, variant.id)
    warehouses = [Balance.model_validate(r, from_attributes=True) for r in rows]
    return item_of(
        VariantStock,
        variant,
        brand=facts.brand.code,
        style_code=facts.product.style_code,
        product=facts.product.name,
        attributes=_attributes(Attributes.read(facts.product.attributes)),
        warehouses=warehouses,
        totals=Totals(
            on_hand=sum(w.on_hand for w in warehouses),
            reserved=sum(w.reserved for w in warehouses),
            available=sum(w.available for w in warehouses),
            incoming=sum(w.incoming for w in warehouses),
        ),
    )


#: What `next_cursor` looks like; cursors issued before it (base64 of the same) still work.
CURSOR_PATTERN = r"^[0-9]{1,9}\.[0-9]{1,9}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        text = cursor
        if not _CURSOR.match(text):  # a legacy base64 cursor
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
            if not _CURSOR.match(text):
                raise ValueError(cursor)
        variant_id, warehouse_id = text.split(".")
        return int(variant_id), int(warehouse_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ApiError(
            422,
            "validation_error",
            "cursor: not a cursor this API issued.",
            fields=[{"field": "cursor", "problem": "malformed"}],
        ) from None


def _parse_since(text: str) -> datetime:
    """An RFC 3339 time with its zone ("2026-12-04T10:00:00Z"); else a 422 naming it."""
    try:
        when = datetime.fromisoformat(text.strip().upper())
    except ValueError:
        raise ApiError(
            422,
            "validation_error",
            f"updated_since: {text[:40]!r} is not a time (e.g. 2026-12-04T10:00:00Z).",
            fields=[{"field": "updated_since", "problem": "not a date-time"}],
        ) from None
    if when.tzinfo is None:
        raise ApiError(
            422,
            "validation_error",
            "updated_since: give a time zone (e.g. Z).",
            fields=[{"field": "updated_since", "problem": "no time zone"}],
        )
    return when


#: A listed row's fields copied from its balance (what `item_of` would copy), by name.
_ROW_FIELDS = tuple(name for name in BalanceRow.model_fields if name != "attributes")


#: At most this many `sku` filters on one balances list.
MAX_SKUS = 100
SkuCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]


def _encode_cursor(variant_id: int, warehouse_id: int) -> str:
    return f"{variant_id}.{warehouse_id}"


@router.get("/stock", response_model=BalancePage)
def list_balances(
    secret: ApiSecret,
    brand: Annotated[str | None, Query(max_length=32)] = None,
    warehouse: Annotated[str | None, Query(max_length=32)] = None,
    updated_since: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only balances changed at or after this time (RFC 3339, with a zone).",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The previous page's next_cursor.",
            json_schema_extra={"pattern": CURSOR_PATTERN},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    sku: Annotated[
        list[SkuCode] | None,
        Query(
            max_length=MAX_SKUS,
            description=f"Only these SKUs (or their aliases or barcodes): repeat the "
            f"parameter for several, up to {MAX_SKUS}. An unknown one answers 404.",
        ),
    ] = None,
) -> BalancePage:
    """Balances in a stable order, a page at a time; follow `next_cursor` until it is null.
    Each row carries its product's attributes, read in one statement for the page."""
    since = _parse_since(updated_since) if updated_since is not None else None
    after = _decode_cursor(cursor) if cursor is not None else None
    with transaction() as session:
        holder = authorize(session, secret, Scope.STOCK_READ)
        brand_id = holder.brand_id
        if brand is not None:
            wanted = brand_by_code(session, brand.strip().upper())
            if holder.brand_id is not None and wanted.id != holder.brand_id:
                raise ApiError(403, "forbidden", "This key may only read its own brand.")
            brand_id = wanted.id
        warehouse_id = warehouse_for(session, warehouse).id if warehouse else None
        variant_ids = [variant_for(session, holder, code).id for code in sku] if sku else None
        rows = page_of_balances(
            session,
            limit=limit,
            after=after,
            brand_id=brand_id,
            warehouse_id=warehouse_id,
            updated_since=since,
            variant_ids=variant_ids,
        )
        attributes = attributes_by_product(session, (r.product_id for r in rows))
    shown = {pid: _attributes(read) for pid, read in attributes.items()}  # one per product
    last = rows[-1] if len(rows) == limit else None
    # One validation for the whole page: a model per row built in Python (`item_of`)
    # cost more than the page's statements.
    items = [
        {**{name: getattr(r, name) for name in _ROW_FIELDS}, "attributes": shown[r.product_id]}
        for r in rows
    ]
    return BalancePage.model_validate(
        {
            "items": items,
            "next_cursor": _encode_cursor(last.variant_id, last.warehouse_id) if last else None,
        }
    )


@router.put("/stock/{sku}/{warehouse}", response_model=Balance)
def put_count(sku: SkuPath, warehouse: WarehousePath, body: SetCount, secret: ApiSecret) -> Balance:
    """Set on hand to a counted value; with `expected_on_hand` a stale count answers 409."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.STOCK_WRITE)
        variant = variant_for(session, holder, sku)
        place = warehouse_for(session, warehouse)
        balance = set_count(
            session,
            variant.id,
            place.id,
            body.on_hand,
            expected_on_hand=body.expected_on_hand,
            reason=body.reason,
            actor=holder.actor,
            note=body.note,
            reference=body.reference,
        )
    return _balance(place.code, balance)


@router.post("/stock/{sku}/{warehouse}/receipts", response_model=Balance, status_code=201)
def post_receipt(
    sku: SkuPath, warehouse: WarehousePath, body: Receipt, secret: ApiSecret
) -> Balance:
    """Goods arrived: on hand goes up by `qty`."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.STOCK_WRITE)
        variant = variant_for(session, holder, sku)
        place = warehouse_for(session, warehouse)
        balance = receive(
            session, variant.id, place.id, body.qty, actor=holder.actor, reference=body.reference
        )
    return _balance(place.code, balance)
