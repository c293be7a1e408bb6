"""The filter bar shared by Analytics and Demand: brand, category, warehouse, period.

Filters live in the URL (`?brand=NORTH&category=Denim&warehouse=LDN&period=90&end=…`):
a change navigates to the new URL (a picker straight from the browser, through
`filter_hrefs`) and the page's on_load computes from it, so a view can be bookmarked
and shared. The URL is only a wish: `resolve` turns it into the
domain's `Filters` through `jobs.analytics.metrics.scoped` with the viewer's brand
scope from the database, so a vendor who types another brand's code is refused
(PermissionDenied) before anything is read, and without learning whether it exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from urllib.parse import urlencode

import polars as pl
import reflex as rx
from reflex.event import EventHandler, EventSpec

from dashboard.states.listing import Choice, query_param
from jobs.analytics.frames import Frames
from jobs.analytics.metrics import Filters, scoped
from models.errors import InvalidQuantity, NotFound, PermissionDenied

#: What a handler hands the browser: an event, several, or nothing.
Reply = EventSpec | EventHandler | list[EventSpec | EventHandler] | None
#: What a handler that reports progress yields.
Replies = AsyncIterator[Reply]

#: "Every brand/category/warehouse" in a picker (Radix selects cannot hold "").
ALL = "all"
PERIODS: tuple[int, ...] = (7, 28, 90, 365)
DEFAULT_PERIOD = 28
PERIOD_CHOICES = [(str(days), f"Last {days} days") for days in PERIODS]
NOT_YOURS = "You may only see your own brand's figures."


@dataclasses.dataclass(frozen=True, slots=True)
class FilterParams:
    """The filter bar as the URL has it: codes and text, not yet checked."""

    brand: str = ""
    category: str = ""
    warehouse: str = ""
    period: int = DEFAULT_PERIOD
    end: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> FilterParams:
        try:
            period = int(query_param(params, "period") or DEFAULT_PERIOD)
        except ValueError:
            period = DEFAULT_PERIOD
        return cls(
            brand=query_param(params, "brand").upper(),
            category=query_param(params, "category"),
            warehouse=query_param(params, "warehouse").upper(),
            period=period if period in PERIODS else DEFAULT_PERIOD,
            end=query_param(params, "end"),
        )

    def query(self, **changes: str | int) -> dict[str, str]:
        """The URL parameters of these filters with `changes`, defaults left out."""
        values = {**dataclasses.asdict(self), **changes}
        out = {}
        for key in ("brand", "category", "warehouse", "period", "end"):
            value = str(values[key] or "").strip()
            if value in ("", ALL) or (key == "period" and value == str(DEFAULT_PERIOD)):
                continue
            out[key] = value
        return out

    def href(self, route: str, **changes: str | int) -> str:
        query = urlencode(self.query(**changes))
        return f"{route}?{query}" if query else route

    @property
    def filtered(self) -> bool:
        return bool(self.query())


def parse_end(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQuantity(
            f"{text!r} is not a date; pick one like 2026-06-30.", field="end"
        ) from None


def resolve(frames: Frames, params: FilterParams, brand_scope: int | None) -> Filters:
    """The domain's filters for `params`, as `brand_scope` may see them.

    Raises PermissionDenied for a vendor naming any brand but theirs (existing or not),
    NotFound for an unknown brand or warehouse code, InvalidQuantity for a bad date.
    """
    brand_id = None
    if params.brand:
        found = frames.brands.filter(pl.col("brand") == params.brand)
        if found.is_empty():
            if brand_scope is not None:
                raise PermissionDenied(NOT_YOURS, brand=params.brand)
            raise NotFound(f"There is no brand with code {params.brand}.", field="brand")
        brand_id = int(found["brand_id"][0])
    warehouse_id = None
    if params.warehouse:
        found = frames.warehouses.filter(pl.col("warehouse") == params.warehouse)
        if found.is_empty():
            raise NotFound(f"There is no warehouse with code {params.warehouse}.",
                           field="warehouse")
        warehouse_id = int(found["warehouse_id"][0])
    end = parse_end(params.end)
    last = end or datetime.now(UTC).date()
    filters = Filters(
        brand_id=brand_id,
        category=params.category or None,
        warehouse_id=warehouse_id,
        start=last - timedelta(days=params.period - 1),
        end=end,
    )
    if brand_scope is not None and brand_id is not None and brand_id != brand_scope:
        raise PermissionDenied(NOT_YOURS, brand=params.brand)
    return scoped(filters, brand_scope)


@dataclasses.dataclass(frozen=True, slots=True)
class FilterChoices:
    brands: list[Choice]
    categories: list[Choice]
    warehouses: list[Choice]


def filter_choices(frames: Frames, brand_scope: int | None) -> FilterChoices:
    """What the pickers offer this viewer: a vendor sees only their brand (and its
    categories); warehouses are shared by every brand."""
    brands = frames.brands
    variants = frames.variants
    if brand_scope is not None:
        brands = brands.filter(pl.col("brand_id") == brand_scope)
        variants = variants.filter(pl.col("brand_id") == brand_scope)
    categories = sorted(
        {c for c in variants["category"].unique().to_list() if c}, key=str.casefold
    )
    return FilterChoices(
        brands=[
            Choice(code, f"{name} ({code})")
            for code, name in brands.sort("brand_name").select("brand", "brand_name").rows()
        ],
        categories=[Choice(c, c) for c in categories],
        warehouses=[
            Choice(code, f"{name} ({code})")
            for code, name in frames.warehouses.sort("warehouse_name")
            .select("warehouse", "warehouse_name").rows()
        ],
    )


def period_label(filters: Filters) -> str:
    start, end = filters.period()
    days = (end - start).days + 1
    same_year = start.year == end.year
    first = start.strftime("%-d %b" if same_year else "%-d %b %Y")
    return f"{first} – {end:%-d %b %Y} ({days} days)"


class FilterBar(rx.State, mixin=True):
    """The filter bar's state and handlers; the page's on_load fills it from the URL.

    The concrete state also mixes in `RoleGuard` (every handler here checks the
    session first) and sets ROUTE and READ.
    """

    ROUTE: ClassVar[str] = "/"
    #: The permission (models.policy) every handler here checks.
    READ: ClassVar[str] = "overview.read"

    brand: str = ALL
    category: str = ALL
    warehouse: str = ALL
    period: str = str(DEFAULT_PERIOD)
    end: str = ""
    brand_choices: list[Choice] = []
    category_choices: list[Choice] = []
    warehouse_choices: list[Choice] = []
    is_vendor: bool = False
    period_text: str = ""
    #: Why the filters cannot be used (a bad code or date): shown instead of figures.
    filter_error: str = ""
    #: Set when the viewer asked for what they may not see: nothing else is shown.
    refusal: str = ""

    @rx.var
    def filtered(self) -> bool:
        return self._params().filtered

    @rx.var
    def filter_hrefs(self) -> dict[str, dict[str, str]]:
        """Where each picker's choices lead: this page's URL with that filter changed.
        A pick navigates there in the browser at once (the on_load checks and computes),
        without first asking the server where to go: a round trip less per change."""
        offered = {
            "brand": [c.value for c in self.brand_choices],
            "category": [c.value for c in self.category_choices],
            "warehouse": [c.value for c in self.warehouse_choices],
            "period": [str(p) for p in PERIODS],
        }
        params = self._params()
        return {
            name: {
                value: params.href(self.ROUTE, **{name: "" if value == ALL else value})
                for value in (ALL, *values)
            }
            for name, values in offered.items()
        }

    # --- handlers: each change goes into the URL, whose on_load recomputes ----------------

    @rx.event
    async def apply_end(self, form: dict[str, str]) -> Reply:
        """Enter in the "ending" date field."""
        access = await self.require(self.READ)
        if not access:
            return access.refusal
        return self._end_href(form.get("end", ""))

    @rx.event
    async def set_end(self, value: str) -> Reply:
        """A date picked, typed or cleared in the "ending" field applies at once."""
        access = await self.require(self.READ)
        if not access:
            return access.refusal
        return self._end_href(value)

    @rx.event
    async def clear_filters(self) -> Reply:
        access = await self.require(self.READ)
        if not access:
            return access.refusal
        return rx.redirect(self.ROUTE)

    # --- helpers ----------------------------------------------------------------------------

    def _href(self, **changes: str | int) -> str:
        """This page's URL with the filters changed."""
        return self._params().href(self.ROUTE, **changes)

    def _end_href(self, value: object) -> EventSpec | None:
        """Where a new end date leads (None when it did not change or is half typed:
        a date input reports "0002-06-30" while its year is being typed)."""
        end = str(value or "").strip()[:10]
        if end == self.end:
            return None
        if end:
            try:
                if not 1990 <= date.fromisoformat(end).year <= 2100:
                    return None
            except ValueError:
                return None
        return rx.redirect(self._href(end=end))

    def _params(self) -> FilterParams:
        return FilterParams(
            brand="" if self.brand == ALL else self.brand,
            category="" if self.category == ALL else self.category,
            warehouse="" if self.warehouse == ALL else self.warehouse,
            period=int(self.period) if self.period.isdigit() else DEFAULT_PERIOD,
            end=self.end,
        )

    def _show_params(self, params: FilterParams) -> None:
        self.brand = params.brand or ALL
        self.category = params.category or ALL
        self.warehouse = params.warehouse or ALL
        self.period = str(params.period)
        self.end = params.end

    def _show_choices(self, choices: FilterChoices, brand_scope: int | None) -> None:
        # Set only what changed: each chart's answer brings the choices again, and a
        # var set is re-sent to the browser even when equal.
        for name, value in (("brand_choices", choices.brands),
                            ("category_choices", choices.categories),
                            ("warehouse_choices", choices.warehouses),
                            ("is_vendor", brand_scope is not None)):
            if getattr(self, name) != value:
                setattr(self, name, value)
