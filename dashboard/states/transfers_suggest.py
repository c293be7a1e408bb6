"""/transfers/suggest?brand=CODE&min=3: moves from where a size sits to where it sells and
runs short, grouped by route (from → to); one draft transfer per ticked route.

Moves smaller than the minimum (`min`, 3 units unless chosen) are left out: a brand
can have hundreds of one-unit moves that cost more to pick than they help. Nothing is
ticked until the user ticks a route.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from urllib.parse import urlencode

import reflex as rx
from sqlmodel import Session

from dashboard import routes
from dashboard.formatting import plural, units
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.listing import Choice, LoadStatus, db_read, db_write, query_param
from dashboard.states.transfers_common import brand_options, list_href
from models.catalog import brand_by_code
from models.errors import DomainError, InvalidQuantity
from models.policy import allows
from models.transfer_suggestions import (
    SuggestedMove,
    create_suggested_transfers,
    suggest_transfers,
)

log = logging.getLogger(__name__)

#: The minimum move sizes offered; the default leaves out one- and two-unit moves.
MIN_CHOICES = ("1", "2", "3", "5", "10", "20")
DEFAULT_MIN = "3"


def route_key(move: SuggestedMove) -> str:
    return f"{move.from_warehouse_id}:{move.to_warehouse_id}"


def read_suggestions(session: Session, brand_code: str) -> tuple[int, list[SuggestedMove]]:
    brand = brand_by_code(session, brand_code)
    assert brand.id is not None
    return brand.id, suggest_transfers(session, brand_id=brand.id)


def create_from_suggestions(
    session: Session, brand_id: int, route_keys: list[str], min_qty: int, actor_id: int
) -> list[int]:
    """Recompute the brand's suggestions now and draft the ticked routes' moves of at
    least `min_qty` units (one transfer per route)."""
    wanted = set(route_keys)
    moves = [
        m
        for m in suggest_transfers(session, brand_id=brand_id)
        if route_key(m) in wanted and m.qty >= min_qty
    ]
    if not moves:
        raise InvalidQuantity(
            "None of the ticked routes has a suggested move any more (stock changed). "
            "Refresh the list.",
            field="routes",
        )
    made = create_suggested_transfers(session, moves, actor_id=actor_id)
    return [t.id for t in made if t.id is not None]


def _cover(weeks: float | None) -> str:
    return "no sales" if weeks is None else f"{weeks:,.1f} wk"


@dataclasses.dataclass
class MoveItem:
    sku: str
    variant: str
    qty: str
    velocity: str
    from_cover: str
    to_cover: str

    @classmethod
    def of(cls, m: SuggestedMove) -> MoveItem:
        return cls(
            sku=m.sku,
            variant=f"{m.product} · {m.colour} · {m.size}",
            qty=units(m.qty),
            velocity=f"{m.from_velocity:,.1f} → {m.to_velocity:,.1f}",
            from_cover=f"{_cover(m.from_cover_before)} → {_cover(m.from_cover_after)}",
            to_cover=f"{_cover(m.to_cover_before)} → {_cover(m.to_cover_after)}",
        )


@dataclasses.dataclass
class RouteGroup:
    """The moves of one route (from → to): one draft transfer when ticked."""

    key: str
    route: str
    summary: str
    units: int
    moves: list[MoveItem]
    selected: bool


def group_moves(moves: list[SuggestedMove], min_qty: int) -> list[RouteGroup]:
    """Moves of at least `min_qty` units by route, the biggest route first; within a
    route the biggest moves first."""
    by_route: dict[str, list[SuggestedMove]] = defaultdict(list)
    for move in moves:
        if move.qty >= min_qty:
            by_route[route_key(move)].append(move)
    groups = []
    for key, found in by_route.items():
        found.sort(key=lambda m: (-m.qty, m.sku))
        total = sum(m.qty for m in found)
        groups.append(
            RouteGroup(
                key=key,
                route=f"{found[0].from_code} → {found[0].to_code}",
                summary=f"{plural(len(found), 'move')} · {plural(total, 'unit')}",
                units=total,
                moves=[MoveItem.of(m) for m in found],
                selected=False,
            )
        )
    groups.sort(key=lambda g: (-g.units, g.route))
    return groups


class SuggestionsState(RoleGuard, LoadStatus, rx.State):
    brands: list[Choice] = []
    brand: str = ""
    brand_id: int = 0
    min_qty: str = DEFAULT_MIN
    groups: list[RouteGroup] = []
    #: Suggested moves in all, and how many the minimum leaves out.
    all_moves: int = 0
    hidden_moves: int = 0
    can_create: bool = False
    saving: bool = False

    @rx.var
    def selected_count(self) -> int:
        return sum(1 for g in self.groups if g.selected)

    @rx.var
    def draft_label(self) -> str:
        units_ticked = sum(g.units for g in self.groups if g.selected)
        if not self.selected_count:
            return "Tick a route to draft it"
        return f"Draft {plural(self.selected_count, 'transfer')} ({plural(units_ticked, 'unit')})"

    @rx.var
    def filter_note(self) -> str:
        if not self.groups:  # the empty state says why
            return ""
        shown = self.all_moves - self.hidden_moves
        note = f"{plural(shown, 'move')} on {plural(len(self.groups), 'route')}"
        if self.hidden_moves:
            note += f" · {plural(self.hidden_moves, 'smaller move')} left out"
        return note

    def _href(self, brand: str, min_qty: str) -> str:
        query = {"brand": brand[:40]}
        if min_qty != DEFAULT_MIN:
            query["min"] = min_qty
        return f"{routes.TRANSFER_SUGGESTIONS}?{urlencode(query)}"

    @rx.event
    @requires("transfers.read")
    async def load(self) -> None:
        params = self.router.url.query_parameters
        self.can_create = allows(signed_in_user().role, "transfers.create")
        self.brands = [Choice(c, label) for c, label in await db_read(brand_options)]
        self.brand = query_param(params, "brand").upper()
        wanted = query_param(params, "min")
        self.min_qty = wanted if wanted in MIN_CHOICES else DEFAULT_MIN
        self.groups, self.brand_id, self.load_error = [], 0, ""
        self.all_moves = self.hidden_moves = 0
        self.saving = False
        if self.brand:
            try:
                self.brand_id, found = await db_read(read_suggestions, self.brand)
            except DomainError as error:
                self.load_error = error.message
                found = []
            except Exception:
                log.exception("transfers: suggestions for %s failed", self.brand)
                self.load_error = "The suggestions could not be computed. Try again."
                found = []
            self.groups = group_moves(found, int(self.min_qty))
            self.all_moves = len(found)
            self.hidden_moves = self.all_moves - sum(len(g.moves) for g in self.groups)
        self.loaded = True

    @rx.event
    @requires("transfers.read")
    def pick_brand(self, code: str):
        return rx.redirect(self._href(code, self.min_qty))

    @rx.event
    @requires("transfers.read")
    def set_min(self, value: str):
        """Show moves of at least `value` units (in the URL)."""
        return rx.redirect(self._href(self.brand, value if value in MIN_CHOICES else DEFAULT_MIN))

    @rx.event
    def toggle_route(self, key: str, on: bool) -> None:
        """Tick or untick one route. Changes no data."""
        for group in self.groups:
            if group.key == key:
                group.selected = bool(on)
        self.groups = list(self.groups)

    @rx.event
    @requires("transfers.create")
    async def create_drafts(self):
        keys = [g.key for g in self.groups if g.selected]
        if not keys or not self.brand_id:
            return rx.toast.error("Tick at least one route first.")
        self.saving = True
        user = signed_in_user()
        try:
            ids = await db_write(
                create_from_suggestions, self.brand_id, keys, int(self.min_qty), user.id
            )
        except DomainError as error:
            self.saving = False
            return rx.toast.error(error.message, description="No transfer was created.")
        except Exception:
            log.exception("transfers: drafting suggestions failed")
            self.saving = False
            return rx.toast.error("Something went wrong and nothing was created.")
        self.saving = False
        log.info("%s drafted suggested transfers %s", user.email, ids)
        return [
            rx.toast.success(
                f"Drafted {plural(len(ids), 'transfer')}: " + ", ".join(f"#{i}" for i in ids),
                description="Review each, then submit it for approval.",
            ),
            rx.redirect(list_href("draft")),
        ]
