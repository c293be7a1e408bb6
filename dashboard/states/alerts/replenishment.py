"""/alerts/replenishment?brand=CODE&per_vote=N: what to reorder for alerted variants,
with the customer-poll votes for each and, when asked, N units more per vote, a page at
a time (`?page=`, `?per=`); and a CSV purchase list per brand (`replenishment.read`,
`replenishment.export`)."""

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
from dashboard.states.listing import (
    PagedList,
    db_read,
    page_number,
    page_offset,
    page_size,
    query_param,
)
from models.admin import Page
from models.catalog import brand_by_code
from models.errors import DomainError
from models.replenishment import purchase_list_lines, replenishment, units_per_vote_of

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ReplenishItem:
    sku: str
    variant: str
    brand: str
    warehouse: str
    kind_label: str
    color: str
    available: str
    incoming: str
    velocity: str
    cover: str
    threshold: str
    reorder_qty: str
    lead: str
    suggested: str
    to_order: bool
    votes: str


def read_replenishment(session: Session, brand: str, per_vote: str) -> list:
    brand_id = None
    if brand:
        brand_id = brand_by_code(session, brand).id
    return replenishment(session, brand_id=brand_id, units_per_vote=units_per_vote_of(per_vote))


def purchase_list_size(session: Session, brand: str, per_vote: str) -> int:
    """The lines of `brand`'s purchase list; InvalidQuantity when too many to export."""
    found = brand_by_code(session, brand)
    assert found.id is not None
    return len(purchase_list_lines(session, found.id, units_per_vote=units_per_vote_of(per_vote)))


class ReplenishmentState(RoleGuard, BrandPicker, PagedList, rx.State):
    """/alerts/replenishment?brand=CODE: what to reorder for alerted variants."""

    #: This page's lines (`total` counts every line).
    lines: list[ReplenishItem] = []
    #: Lines with something to order, over every page.
    to_order: int = 0
    #: Units added to what is wanted per poll vote (`?per_vote=`; "" is none).
    per_vote: str = ""
    downloading: bool = False

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        return f"{plural(self.total, 'alerted balance')} · {self.to_order:,} to order"

    @rx.event
    @requires("replenishment.read")
    async def load(self):
        params = self.router.url.query_parameters
        self._read_brand(params)
        self.per_vote = query_param(params, "per_vote")[:20]
        await self._read_choices(warehouses=False)
        try:
            found = await db_read(
                read_replenishment, "" if self.brand == ANY else self.brand, self.per_vote
            )
        except DomainError as error:
            self.load_error, self.lines, self.loaded = error.message, [], True
            self.total = self.to_order = 0
            return None
        except Exception:
            log.exception("alerts: reading replenishment failed")
            self.load_error = "Replenishment could not be computed. Refresh to try again."
            return None
        self.load_error = ""
        size = page_size(params)
        offset = page_offset(len(found), page_number(params), size)
        page = Page(rows=found[offset : offset + size], total=len(found), offset=offset,
                    limit=size)
        self._show_paging(
            page, REPLENISH_ROUTE,
            {"brand": "" if self.brand == ANY else self.brand, "per_vote": self.per_vote},
        )
        self.to_order = sum(1 for x in found if x.suggested_qty > 0)
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
                votes=units(x.demand_votes) if x.demand_votes else "–",
            )
            for x in page.rows
        ]
        self.loaded = True
        return None

    @rx.event
    @requires("replenishment.read")
    def filter_brand(self, code: str):
        return rx.redirect(href(REPLENISH_ROUTE, brand=code[:40], per_vote=self.per_vote))

    @rx.event
    @requires("replenishment.read")
    def apply_per_vote(self, form: dict):
        """The uplift form: units per vote into the URL (checked when the page loads)."""
        value = str(form.get("per_vote", "")).strip()[:20]
        return rx.redirect(href(REPLENISH_ROUTE, brand=self.brand, per_vote=value))

    @rx.event
    @requires("replenishment.export")
    async def download(self):
        """The brand's purchase list as CSV: the size is checked here, then the browser
        fetches it from `GET /exports/replenishment.csv` (dashboard/api/exports/)."""
        if self.brand == ANY:
            return rx.toast.error("Pick a brand first: a purchase list goes to one brand.")
        try:
            rows = await db_read(purchase_list_size, self.brand, self.per_vote)
        except DomainError as error:
            return rx.toast.error(error.message)
        query = {"brand": self.brand} | ({"per_vote": self.per_vote} if self.per_vote else {})
        return [
            download(export_href(routes.REPLENISHMENT_EXPORT, query)),
            rx.toast.success(f"Purchase list for {self.brand}: {plural(rows, 'line')}"),
        ]
