"""What the alert pages (inbox, rules, replenishment) share: their addresses, the
labels of kinds, views and levels, and the brand and warehouse pickers."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import reflex as rx
from sqlalchemy import select
from sqlmodel import Session

from dashboard import routes
from dashboard.states.listing import Choice, db_read, query_param
from dashboard.states.transfers import brand_options
from models.alerts import AlertKind
from models.catalog import Brand, Warehouse

ROUTE = routes.ALERTS
RULES_ROUTE = routes.ALERT_RULES
REPLENISH_ROUTE = routes.REPLENISHMENT
#: A picker's "all" choice (never a brand or warehouse code: codes are upper case).
ANY = "all"

KIND_LABELS = {
    AlertKind.LOW_STOCK.value: "Low stock",
    AlertKind.OUT_OF_STOCK.value: "Out of stock",
    AlertKind.BROKEN_SIZE_RUN.value: "Broken size run",
}
KIND_COLORS = {"low_stock": "amber", "out_of_stock": "red", "broken_size_run": "purple"}
VIEW_LABELS = {
    "open": "Open",
    "acknowledged": "Acknowledged",
    "snoozed": "Snoozed",
    "active": "All unresolved",
    "resolved": "Resolved",
}
LEVEL_LABELS = {"brand": "Brand", "product": "Product (style)", "variant": "Variant (SKU)"}


def href(route: str, **params: str) -> str:
    """`route` with the non-empty, non-"all" `params` as its query."""
    query = urlencode({k: v for k, v in params.items() if v and v != ANY})
    return f"{route}?{query}" if query else route


def code_or_any(code: str) -> str:
    """A code from the URL, upper case; ANY when there is none."""
    return code.upper() or ANY


def warehouse_code_choices(session: Session) -> list[tuple[str, str]]:
    return [
        (code, f"{code} · {name}")
        for code, name in session.execute(
            select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)
        )
    ]


def brand_id_of(session: Session, code: str) -> int | None:
    """The id of the brand `code`; None when there is no such brand."""
    return session.scalar(select(Brand.id).where(Brand.code == code)) if code else None


def warehouse_id_of(session: Session, code: str) -> int | None:
    return session.scalar(select(Warehouse.id).where(Warehouse.code == code)) if code else None


async def brand_choices() -> list[Choice]:
    return [Choice(code, label) for code, label in await db_read(brand_options)]


async def warehouse_choices() -> list[Choice]:
    return [Choice(code, label) for code, label in await db_read(warehouse_code_choices)]


class BrandPicker(rx.State, mixin=True):
    """The brand filter an alert page reads from its URL (`?brand=CODE`), and the brands
    and warehouses its pickers offer."""

    brand: str = ANY
    brands: list[Choice] = []
    warehouses: list[Choice] = []

    def _read_brand(self, params: Mapping[str, str]) -> None:
        self.brand = code_or_any(query_param(params, "brand"))

    async def _read_choices(self, *, warehouses: bool = True) -> None:
        """Read the pickers' brands (and warehouses) again."""
        self.brands = await brand_choices()
        if warehouses:
            self.warehouses = await warehouse_choices()
