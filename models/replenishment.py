"""Reorder suggestions for alerted stock, and the purchase list a brand is sent.

For every unresolved low-stock or out-of-stock alert (a variant in a warehouse), with
the rule that governs that balance now:

    daily velocity = net units sold there in the last `days` days / `days`
    demand uplift  = ceil(poll votes for the variant in the same window × units per vote)
    wanted         = max(ceil(daily velocity × (lead time + target cover days))
                         + demand uplift, threshold + 1)
    position       = available + incoming
    suggested      = 0 if wanted ≤ position, else max(wanted − position, reorder qty)

so an order covers the sales expected while it is on its way plus the target cover,
lifts the balance clear of the low-stock threshold, and is never smaller than the
rule's reorder quantity (the vendor's minimum or case pack). Arithmetic is exact
(fractions), so the numbers match a hand calculation.

Customer polls say what people ask for before it sells (`models.polls.demand_by_variant`):
every line carries the votes for poll options that describe its variant, and a caller
may turn them into units with `units_per_vote` (0 by default: votes are shown, not
ordered on, until a merchandiser decides how much one vote is worth).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import and_, func, select
from sqlmodel import Session

from models.alerts import Alert, AlertKind, AlertStatus, effective_rules
from models.base import utcnow
from models.catalog import Brand, Product, Variant, Warehouse
from models.csv_safety import safe_cell
from models.errors import InvalidQuantity, NotFound
from models.polls import demand_by_variant
from models.reservations import SaleLine
from models.stock import StockBalance

DEFAULT_DAYS = 28

_a = Alert.__table__
_b = StockBalance.__table__
_v = Variant.__table__
_p = Product.__table__
_w = Warehouse.__table__
_s = SaleLine.__table__
_brand = Brand.__table__


def _require_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise InvalidQuantity("days must be a whole number from 1 to 365.", field="days")
    return days


def sales_by_balance(
    session: Session,
    pairs: list[tuple[int, int]],
    *,
    days: int,
    now: datetime,
) -> dict[tuple[int, int], int]:
    """Net units sold (returns subtracted) per (variant, warehouse) in the last `days`."""
    if not pairs:
        return {}
    since = now - timedelta(days=days)
    variants = sorted({v for v, _ in pairs})
    wanted = set(pairs)
    sold: dict[tuple[int, int], int] = {}
    for start in range(0, len(variants), 5_000):
        chunk = variants[start : start + 5_000]
        rows = session.execute(
            select(_s.c.variant_id, _s.c.warehouse_id, func.sum(_s.c.qty))
            .where(_s.c.variant_id.in_(chunk), _s.c.sold_at > since, _s.c.sold_at <= now)
            .group_by(_s.c.variant_id, _s.c.warehouse_id)
        )
        for variant_id, warehouse_id, qty in rows:
            if (variant_id, warehouse_id) in wanted:
                sold[variant_id, warehouse_id] = int(qty or 0)
    return sold


#: The most units one vote may be worth (a typo such as 100 instead of 1.00 is refused).
MAX_UNITS_PER_VOTE = 10


def units_per_vote_of(value: object) -> Fraction:
    """`value` (a number or its text, e.g. "0.5") as exact units per vote, 0 to
    MAX_UNITS_PER_VOTE; InvalidQuantity naming the value otherwise."""
    text = str(value).strip() if value is not None else ""
    try:
        parsed = Fraction(Decimal(text or "0"))
    except (InvalidOperation, ValueError, OverflowError):
        parsed = None
    if isinstance(value, bool) or parsed is None or not 0 <= parsed <= MAX_UNITS_PER_VOTE:
        raise InvalidQuantity(
            f"Units per vote must be a number from 0 to {MAX_UNITS_PER_VOTE}, "
            f"not {text[:20]!r}.",
            field="units_per_vote",
            value=text[:20],
        )
    return parsed


def suggested_order_qty(
    *,
    sold: int,
    days: int,
    lead_time_days: int,
    target_cover_days: int,
    threshold: int,
    reorder_qty: int,
    available: int,
    incoming: int,
    demand_votes: int = 0,
    units_per_vote: Fraction = Fraction(0),
) -> int:
    """The formula in the module docstring, for one balance."""
    daily = Fraction(max(sold, 0), days)
    uplift = math.ceil(max(demand_votes, 0) * units_per_vote)
    wanted = max(math.ceil(daily * (lead_time_days + target_cover_days)) + uplift, threshold + 1)
    position = available + incoming
    if wanted <= position:
        return 0
    return max(wanted - position, reorder_qty)


@dataclass(frozen=True, slots=True)
class ReplenishmentLine:
    alert_id: int
    kind: str
    brand_code: str
    variant_id: int
    sku: str
    barcode: str
    style_code: str
    product: str
    colour: str
    size: str
    warehouse_id: int
    warehouse_code: str
    available: int
    incoming: int
    #: Net units sold at this warehouse in the window.
    sold: int
    days: int
    threshold: int
    reorder_qty: int
    lead_time_days: int
    target_cover_days: int
    suggested_qty: int
    #: Poll votes in the window for options that describe this variant.
    demand_votes: int = 0

    @property
    def weekly_velocity(self) -> float:
        return max(self.sold, 0) * 7 / self.days

    @property
    def weeks_of_cover(self) -> float | None:
        """(available + incoming) / weekly velocity; None when nothing sells."""
        weekly = self.weekly_velocity
        return (self.available + self.incoming) / weekly if weekly else None


def replenishment(
    session: Session,
    *,
    brand_id: int | None = None,
    warehouse_id: int | None = None,
    days: int = DEFAULT_DAYS,
    only_to_order: bool = False,
    units_per_vote: Fraction = Fraction(0),
    now: datetime | None = None,
) -> list[ReplenishmentLine]:
    """A line per alerted variant-warehouse (unresolved low/out-of-stock alert), ordered by
    brand, style, colour, size, warehouse; `only_to_order` drops lines suggesting 0.
    `units_per_vote` (see `units_per_vote_of`) adds poll demand to what is wanted."""
    days = _require_days(days)
    now = now or utcnow()
    query = (
        select(
            _a.c.id,
            _a.c.kind,
            _brand.c.code,
            _v.c.id,
            _v.c.sku,
            func.coalesce(_v.c.barcode, ""),
            _p.c.style_code,
            _p.c.name,
            _v.c.colour,
            _v.c.size,
            _w.c.id,
            _w.c.code,
            func.coalesce(_b.c.on_hand - _b.c.reserved, 0),
            func.coalesce(_b.c.incoming, 0),
        )
        .select_from(_a)
        .join(_v, _v.c.id == _a.c.variant_id)
        .join(_p, _p.c.id == _v.c.product_id)
        .join(_brand, _brand.c.id == _v.c.brand_id)
        .join(_w, _w.c.id == _a.c.warehouse_id)
        .outerjoin(
            _b, and_(_b.c.variant_id == _a.c.variant_id, _b.c.warehouse_id == _a.c.warehouse_id)
        )
        .where(
            _a.c.status != AlertStatus.RESOLVED.value,
            _a.c.kind.in_([AlertKind.LOW_STOCK.value, AlertKind.OUT_OF_STOCK.value]),
        )
        .order_by(_brand.c.code, _p.c.style_code, _v.c.colour, _v.c.size_rank, _w.c.code)
    )
    if brand_id is not None:
        query = query.where(_a.c.brand_id == brand_id)
    if warehouse_id is not None:
        query = query.where(_a.c.warehouse_id == warehouse_id)
    rows = session.execute(query).all()
    pairs = [(r[3], r[10]) for r in rows]
    sold = sales_by_balance(session, pairs, days=days, now=now)
    rules = effective_rules(session, pairs)
    votes = _votes_by_variant(session, brand_id, since=now - timedelta(days=days), now=now)
    lines = []
    for r in rows:
        rule = rules.get((r[3], r[10]))
        if rule is None:
            continue  # the rule went away; the next scan resolves the alert
        units = sold.get((r[3], r[10]), 0)
        demand = votes.get(r[3], 0)
        qty = suggested_order_qty(
            sold=units,
            days=days,
            lead_time_days=rule.lead_time_days,
            target_cover_days=rule.target_cover_days,
            threshold=rule.threshold,
            reorder_qty=rule.reorder_qty,
            available=int(r[12]),
            incoming=int(r[13]),
            demand_votes=demand,
            units_per_vote=units_per_vote,
        )
        if only_to_order and qty == 0:
            continue
        lines.append(
            ReplenishmentLine(
                *r[:12],
                available=int(r[12]),
                incoming=int(r[13]),
                sold=units,
                days=days,
                threshold=rule.threshold,
                reorder_qty=rule.reorder_qty,
                lead_time_days=rule.lead_time_days,
                target_cover_days=rule.target_cover_days,
                suggested_qty=qty,
                demand_votes=demand,
            )
        )
    return lines


def _votes_by_variant(
    session: Session, brand_id: int | None, *, since: datetime, now: datetime
) -> dict[int, int]:
    """Votes per variant answered in the window, `now` included (as sales are)."""
    until = now + timedelta(microseconds=1)
    frame = demand_by_variant(session, brand_id=brand_id, since=since, until=until)
    return dict(zip(frame["variant_id"].to_list(), frame["demand_votes"].to_list(), strict=True))


CSV_HEADER = (
    "brand",
    "sku",
    "barcode",
    "style",
    "product",
    "colour",
    "size",
    "deliver_to",
    "available",
    "incoming",
    "sold_in_window",
    "window_days",
    "weekly_velocity",
    "lead_time_days",
    "target_cover_days",
    "order_qty",
    "demand_votes",
)


#: The most lines one purchase list holds; a larger one is refused, never cut short.
PURCHASE_LIST_MAX_ROWS = 20_000


def purchase_list_lines(
    session: Session,
    brand_id: int,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    max_rows: int = PURCHASE_LIST_MAX_ROWS,
    units_per_vote: Fraction = Fraction(0),
) -> list[ReplenishmentLine]:
    """The lines of the brand's purchase list (something to order); NotFound for an
    unknown brand, InvalidQuantity when there are more than `max_rows`."""
    if session.get(Brand, brand_id) is None:
        raise NotFound(f"No brand with id {brand_id}.", brand_id=brand_id)
    lines = replenishment(
        session, brand_id=brand_id, days=days, only_to_order=True, now=now,
        units_per_vote=units_per_vote,
    )
    if len(lines) > max_rows:
        raise InvalidQuantity(
            f"The purchase list has {len(lines):,} lines; an export holds at most "
            f"{max_rows:,}.",
            field="rows",
            rows=len(lines),
            max_rows=max_rows,
        )
    return lines


def iter_purchase_list_csv(
    session: Session,
    brand_id: int,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    max_rows: int = PURCHASE_LIST_MAX_ROWS,
    chunk: int = 500,
    units_per_vote: Fraction = Fraction(0),
) -> Iterator[str]:
    """The brand's purchase list as CSV text, a few hundred lines a piece: one row per
    variant and destination with something to order. The size is checked before the
    first piece. Every cell goes through `safe_cell`, so a product name such as
    ``=HYPERLINK(...)`` stays text in a spreadsheet."""
    lines = purchase_list_lines(
        session, brand_id, days=days, now=now, max_rows=max_rows, units_per_vote=units_per_vote
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for n, x in enumerate(lines, 1):
        writer.writerow(
            [
                safe_cell(value)
                for value in (
                    x.brand_code,
                    x.sku,
                    x.barcode,
                    x.style_code,
                    x.product,
                    x.colour,
                    x.size,
                    x.warehouse_code,
                    x.available,
                    x.incoming,
                    x.sold,
                    x.days,
                    f"{x.weekly_velocity:.2f}",
                    x.lead_time_days,
                    x.target_cover_days,
                    x.suggested_qty,
                    x.demand_votes,
                )
            ]
        )
        if n % chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def purchase_list_csv(
    session: Session, brand_id: int, *, days: int = DEFAULT_DAYS, now: datetime | None = None
) -> str:
    """The whole purchase list (`iter_purchase_list_csv`) as one text."""
    return "".join(iter_purchase_list_csv(session, brand_id, days=days, now=now))
