"""/transfers/pick?id=N: what to take off the shelves for one transfer, laid out for paper."""

from __future__ import annotations

import dataclasses

import reflex as rx

from dashboard.formatting import exact_time, plural, units
from dashboard.states.auth import RoleGuard, requires
from dashboard.states.listing import LoadStatus, db_read, query_param
from dashboard.states.transfers_common import status_label
from models.base import utcnow
from models.errors import NotFound
from models.transfers import pick_list


@dataclasses.dataclass
class PickItem:
    sku: str
    barcode: str
    product: str
    colour: str
    size: str
    qty: str
    on_hand: str


class PickListState(RoleGuard, LoadStatus, rx.State):
    transfer_id: int = 0
    status_label: str = ""
    source: str = ""
    dest: str = ""
    total: str = ""
    items: list[PickItem] = []
    printed_at: str = ""

    @rx.event
    @requires("transfers.read")
    async def load(self) -> None:
        try:
            self.transfer_id = int(query_param(self.router.url.query_parameters, "id"))
            found = await db_read(pick_list, self.transfer_id)
        except (ValueError, NotFound):
            self.load_error = "There is no such transfer."
            self.items, self.loaded = [], True
            return
        self.load_error = ""
        self.status_label = status_label(found.status)
        self.source = f"{found.source_code} · {found.source_name}"
        self.dest = f"{found.dest_code} · {found.dest_name}"
        self.total = plural(found.units, "unit")
        self.items = [
            PickItem(x.sku, x.barcode, x.product, x.colour, x.size, units(x.qty), units(x.on_hand))
            for x in found.lines
        ]
        self.printed_at = exact_time(utcnow())
        self.loaded = True
