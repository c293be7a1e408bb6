"""Overview page state: stock figures in total, per brand and per warehouse."""

from __future__ import annotations

import dataclasses
import functools
import logging

import reflex as rx

from dashboard.formatting import plural, units
from dashboard.states.auth import ALL_ROLES, RoleGuard, SessionUser
from models.db import read_session
from models.reports import StockFigures, StockOverview, stock_overview

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FigureRow:
    """One line of figures, formatted for display (the browser does no arithmetic)."""

    label: str = ""
    on_hand: str = "0"
    reserved: str = "0"
    available: str = "0"
    incoming: str = "0"
    out_of_stock: str = "0"
    has_out_of_stock: bool = False

    @classmethod
    def of(cls, figures: StockFigures) -> FigureRow:
        return cls(
            label=figures.label,
            on_hand=units(figures.on_hand),
            reserved=units(figures.reserved),
            available=units(figures.available),
            incoming=units(figures.incoming),
            out_of_stock=units(figures.out_of_stock_variants),
            has_out_of_stock=figures.out_of_stock_variants > 0,
        )


def read_overview(brand_scope: int | None) -> StockOverview:
    """The figures of one brand (a vendor's) or of every brand. Blocking."""
    with read_session() as session:
        return stock_overview(session, brand_id=brand_scope)


class OverviewState(RoleGuard, rx.State):
    """What the Overview page shows. Every load re-checks the session and scope."""

    loading: bool = True
    load_error: str = ""
    scope_description: str = ""
    is_vendor: bool = False
    has_stock: bool = False
    variant_summary: str = ""
    empty_hint: str = ""
    total: FigureRow = FigureRow()
    by_brand: list[FigureRow] = []
    by_warehouse: list[FigureRow] = []

    @rx.event(background=True)
    async def load(self):
        """Read the figures off the event loop (the queries scan every balance)."""
        async with self:
            access = await self.require_role(*ALL_ROLES, action="see the stock figures")
            if not access or access.user is None:
                self.loading = False
                self._clear()
                return access.page_refusal
            user = access.user
            self.loading = True
            self.load_error = ""
        try:
            overview = await rx.run_in_thread(functools.partial(read_overview, user.brand_scope))
        except Exception:
            log.exception("overview: reading stock figures failed")
            async with self:
                self.loading = False
                self.load_error = (
                    "The stock figures could not be read. Refresh to try again; "
                    "if it keeps failing, check that the database is reachable."
                )
            return
        async with self:
            self.loading = False
            self._show(user, overview)

    def _show(self, user: SessionUser, overview: StockOverview) -> None:
        self.is_vendor = user.brand_scope is not None
        self.scope_description = (
            f"{user.brand_name} stock across every warehouse and store."
            if self.is_vendor
            else "Stock across every brand, warehouse and store."
        )
        # Balances exist (even all-zero ones): show the tables; none at all: empty state.
        self.has_stock = bool(overview.by_warehouse)
        self.variant_summary = plural(overview.variant_count, "variant")
        self.empty_hint = (
            f"The catalogue holds {self.variant_summary}, none with stock anywhere yet."
            if overview.variant_count
            else "The catalogue is empty too: brands and their products come first."
        )
        self.total = FigureRow.of(overview.total)
        self.by_brand = [FigureRow.of(row) for row in overview.by_brand]
        self.by_warehouse = [FigureRow.of(row) for row in overview.by_warehouse]

    def _clear(self) -> None:
        self.scope_description = ""
        self.has_stock = False
        self.variant_summary = ""
        self.empty_hint = ""
        self.total = FigureRow()
        self.by_brand = []
        self.by_warehouse = []
