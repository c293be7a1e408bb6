"""The demo's alert rules and customer polls, so `/alerts` and `/demand` have something
to work on from the first `make run` (the demo scale only; benchmarks bring their own).

Everything goes through the domain, as a person would set it up: `set_rule` as the demo
admin, `create_poll`, and the polls' answers as a survey tool's CSV export
(`import_votes_csv`). The alert scan job, which runs as the app starts, raises the
alerts.

- Rules: every brand watched at the main distribution centre (low at 1 unit, reorder 12),
  one style watched everywhere at 3 units, and one of its SKUs watched at the stores
  for out of stock only (threshold 0), so "What does a SKU inherit?" shows each level.
- Polls: which size customers wear in the first style sold in EU sizes, and which
  colour should come next for it, two colours of which the catalogue does not have ("wanted but not
  stocked"), the first of them ever more popular. Several hundred answers each over
  the 28 days before `as_of`, the same for the same seed.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from jobs.analytics.metrics import day_start
from jobs.demo_logins import STAFF
from models.alerts import set_rule
from models.catalog import Brand, Product, Variant, Warehouse
from models.polls import OptionSpec, create_poll, import_votes_csv
from models.users import Role, User

#: The distribution centre every brand is watched at, and the threshold there.
MAIN_CENTRE = "WH-AMS"
BRAND_THRESHOLD = 1
STYLE_THRESHOLD = 3
#: Colours customers ask for that the polled style does not come in.
WANTED_COLOURS = ("Forest", "Burgundy")
VOTE_DAYS = 28


def seed_signals(session: Session, *, seed: int, as_of: date) -> dict[str, int]:
    """Add the demo rules and polls (see the module); the counts of what was added."""
    admin = session.scalar(
        select(User).where(User.email == next(e for e, r, _ in STAFF if r is Role.ADMIN))
    )
    style = _polled_style(session)
    if admin is None or style is None:
        return {"alert_rules": 0, "polls": 0, "votes": 0}
    rules = _rules(session, admin.id, style)
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    until = day_start(as_of)
    polls = votes = 0
    for question, options, weights, trend in _polls(style):
        created = create_poll(
            session, question, options, actor=admin.email, brand_code=style.brand_code,
            brand_scope=None, published=True,
        )
        answers = _answers(rng, [o.label for o in options], weights, trend, until)
        result = import_votes_csv(session, created.poll.id, answers, brand_scope=None, now=until)
        polls, votes = polls + 1, votes + result.recorded
    return {"alert_rules": rules, "polls": polls, "votes": votes}


@dataclass(frozen=True, slots=True)
class _Style:
    """The polled style: its product, brand code, sizes (in size order) and colours."""

    product: Product
    brand_code: str
    sizes: list[str]
    colours: list[str]


def _polled_style(session: Session) -> _Style | None:
    """The first style (by id) sold in EU sizes, with its sizes and colours."""
    row = session.execute(
        select(Product, Brand.code)
        .join(Brand, Brand.id == Product.brand_id)
        .join(Variant, Variant.product_id == Product.id)
        .where(Variant.size.like("EU %"))
        .order_by(Product.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    product, code = row
    variants = session.execute(
        select(Variant.size, Variant.colour)
        .where(Variant.product_id == product.id)
        .order_by(Variant.size_rank, Variant.colour)
    ).all()
    sizes = list(dict.fromkeys(size for size, _ in variants))
    colours = sorted({colour for _, colour in variants})
    return _Style(product, code, sizes, colours)


def _rules(session: Session, admin_id: int, style: _Style) -> int:
    """The rules at each level (see the module); how many."""
    places = dict(session.execute(select(Warehouse.code, Warehouse.id)).all())
    centre = places.get(MAIN_CENTRE)
    if centre is None:
        return 0
    first = session.scalar(
        select(Variant.id).where(Variant.product_id == style.product.id).order_by(Variant.id)
    )
    rules = [
        *(dict(level="brand", subject_id=brand_id, warehouse_id=centre,
               threshold=BRAND_THRESHOLD, reorder_qty=12)
          for brand_id in session.scalars(select(Brand.id).order_by(Brand.id))),
        dict(level="product", subject_id=style.product.id, warehouse_id=None,
             threshold=STYLE_THRESHOLD, reorder_qty=18, lead_time_days=21),
        *(dict(level="variant", subject_id=first, warehouse_id=place, threshold=0)
          for code, place in sorted(places.items()) if code.startswith("ST-")),
    ]
    for rule in rules:
        set_rule(session, **rule, actor_id=admin_id)
    return len(rules)


def _polls(style: _Style) -> list[tuple[str, list[OptionSpec], list[float], list[float]]]:
    """(question, options, how popular each option is, how much more popular it is at the
    end of the period than at its start) of each demo poll."""
    name, code = style.product.name, style.product.style_code
    middle = (len(style.sizes) - 1) / 2
    sizes = [
        OptionSpec(label=size, brand=style.brand_code, product=code, size=size)
        for size in style.sizes
    ]
    size_weights = [1.0 / (1.0 + abs(i - middle)) for i in range(len(style.sizes))]
    colours = [
        OptionSpec(label=colour, brand=style.brand_code, product=code, colour=colour)
        for colour in (*style.colours, *WANTED_COLOURS)
    ]
    colour_weights = [1.0] * len(style.colours) + [1.2, 0.9]
    colour_trend = [0.0] * len(style.colours) + [2.0, 0.0]
    return [
        (f"Which size do you wear in the {name}?", sizes, size_weights, [0.0] * len(sizes)),
        (f"Which colour should the {name} come in next?", colours, colour_weights, colour_trend),
    ]


def _answers(
    rng: random.Random,
    labels: Sequence[str],
    weights: Sequence[float],
    trend: Sequence[float],
    until: datetime,
) -> str:
    """A survey tool's CSV export: 600-900 respondents, one answer each, over the last
    VOTE_DAYS days; an option's weight grows by its `trend` (× its weight) from the
    first day to the last."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Respondent ID", "Answer", "Submitted at"])
    period = VOTE_DAYS * 86_400
    for n in range(rng.randint(600, 900)):
        ago = rng.randint(60, period)
        late = 1 - ago / period
        now_weights = [w * (1 + t * late) for w, t in zip(weights, trend, strict=True)]
        when = until - timedelta(seconds=ago)
        writer.writerow([f"demo-{n:04d}", rng.choices(labels, now_weights)[0], when.isoformat()])
    return out.getvalue()
