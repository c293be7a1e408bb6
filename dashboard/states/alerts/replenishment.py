"""/alerts/replenishment?brand=CODE: what to reorder for alerted variants, and a CSV
purchase list per brand (`replenishment.read`, `replenishment.export`)."""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx
from sqlmodel import Session

from dashboard import routes
from dashboard.formatting import plural, units
from dashboard.states.alerts.common import (
    ANY,
    KIND_COLORS,
    KIND_LABELS,
    REPLENISH_ROUTE,
    BrandPicker,
    href,
)
from dashboard.states.auth import RoleGuard, requires
from dashboard.states.downloads import download, export_href
from dashboard.states.listing import db_read
from models.catalog import brand_by_code
from models.errors import DomainError
from models.replenishment import purchase_list_lines, replenishment

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ReplenishItem:
    sku: str = ""
    variant: str = ""
    brand: str = ""
    warehouse: str = ""
    kind_label: str = ""
    color: str = "gray"
    available: str = ""
    incoming: str = ""
    velocity: str = ""
    cover: str = ""
    threshold: str = ""
    reorder_qty: str = ""
    lead: str = ""
    suggested: str = ""
    to_order: bool = False


def read_replenishment(session: Session, brand: str) -> list:
    brand_id = None
    if brand:
        brand_id = brand_by_code(session, brand).id
    return replenishment(session, brand_id=brand_id)


def purchase_list_size(session: Session, brand: str) -> int:
    """The lines of `brand`'s purchase list; InvalidQuantity when too many to export."""
    found = brand_by_code(session, brand)
    assert found.id is not None
    return len(purchase_list_lines(session, found.id))


class ReplenishmentState(RoleGuard, BrandPicker, rx.State):
    """/alerts/replenishment?brand=CODE: what to reorder for alerted variants."""

    lines: list[ReplenishItem] = []
    loaded: bool = False
    load_error: str = ""
    downloading: bool = False

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        to_order = sum(1 for x in self.lines if x.to_order)
        return f"{plural(len(self.lines), 'alerted balance')} · {to_order:,} to order"

    @rx.event
    @requires("replenishment.read")
    async def load(self):
        self._read_brand(self.router.url.query_parameters)
        await self._read_choices(warehouses=False)
        try:
            found = await db_read(read_replenishment, "" if self.brand == ANY else self.brand)
        except DomainError as error:
            self.load_error, self.lines, self.loaded = error.message, [], True
            return None
        except Exception:
            log.exception("alerts: reading replenishment failed")
            self.load_error = "Replenishment could not be computed. Refresh to try again."
            return None
        self.load_error = ""
        self.lines = [
            ReplenishItem(
                sku=x.sku,
                variant=f"{x.product} · {x.colour} · {x.size}",
                brand=x.brand_code,
                warehouse=x.warehouse_code,
                kind_label=KIND_LABELS.get(x.kind, x.kind),
                color=KIND_COLORS.get(x.kind, "gray"),
                available=units(x.available),
                incoming=units(x.incoming),
                velocity=f"{x.weekly_velocity:,.1f}",
                cover="no sales" if x.weeks_of_cover is None else f"{x.weeks_of_cover:,.1f} wk",
                threshold=units(x.threshold),
                reorder_qty=units(x.reorder_qty),
                lead=f"{x.lead_time_days} + {x.target_cover_days} d",
                suggested=units(x.suggested_qty),
                to_order=x.suggested_qty > 0,
            )
            for x in found[:500]
        ]
        self.loaded = True
        return None

    @rx.event
    @requires("replenishment.read")
    def filter_brand(self, code: str):
        return rx.redirect(href(REPLENISH_ROUTE, brand=code[:40]))

    @rx.event
    @requires("replenishment.export")
    async def download(self):
        """The brand's purchase list as CSV: the size is checked here, then the browser
        fetches it from `GET /exports/replenishment.csv` (dashboard/api/exports/)."""
        if self.brand == ANY:
            return rx.toast.error("Pick a brand first: a purchase list goes to one brand.")
        try:
            rows = await db_read(purchase_list_size, self.brand)
        except DomainError as error:
            return rx.toast.error(error.message)
        return [
            download(export_href(routes.REPLENISHMENT_EXPORT, {"brand": self.brand})),
            rx.toast.success(f"Purchase list for {self.brand}: {plural(rows, 'line')}"),
        ]
