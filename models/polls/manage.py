"""Creating, reading, opening and closing polls, each within the caller's brand scope."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    func,
    select,
)
from sqlmodel import Session

from models.base import utcnow
from models.catalog import Brand
from models.errors import (
    InvalidQuantity,
    NotFound,
    PermissionDenied,
)
from models.polls.tables import MAX_OPTIONS, Poll, PollOption, PollStatus, PollVote
from models.sizes import normalise_size

# --- creating and reading polls ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """An option as a person or an API client describes it."""

    label: str
    brand: str | None = None
    product: str | None = None
    size: str | None = None
    colour: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class OptionCount:
    id: int
    label: str
    brand: str | None
    product: str | None
    size: str | None
    colour: str | None
    category: str | None
    votes: int
    #: votes ÷ the poll's votes (0.0 when it has none).
    share: float

    @property
    def signal(self) -> str:
        """What choosing this option says, in words ("size M, colour Navy")."""
        return describe_signal(self.brand, self.product, self.size, self.colour, self.category)


@dataclass(frozen=True, slots=True)
class PollSummary:
    id: int
    #: The public name in embed links (`/embed/poll/{slug}`).
    slug: str
    #: Public (while open) or staff-only.
    published: bool
    question: str
    brand: str | None
    status: str
    created_at: datetime
    closed_at: datetime | None
    total_votes: int
    options: list[OptionCount]
    #: Sites that may frame its embed page (`models.polls.frames`); empty: none may.
    frame_origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CreatedPoll:
    poll: PollSummary
    #: The webhook secret; this is the only time it is shown.
    webhook_secret: str


def describe_signal(
    brand: str | None,
    product: str | None,
    size: str | None,
    colour: str | None,
    category: str | None,
) -> str:
    parts = [
        f"{name} {value}"
        for name, value in (
            ("brand", brand),
            ("style", product),
            ("category", category),
            ("colour", colour),
            ("size", size),
        )
        if value
    ]
    return ", ".join(parts) or "no signal"


SLUG_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,32}")


def new_slug() -> str:
    """A poll's public name: 96 random bits, URL-safe, never all digits (ids are)."""
    while True:
        slug = secrets.token_urlsafe(12)
        if not slug.isdigit():
            return slug


def _text(value: object, field: str, max_length: int, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidQuantity(f"{field} must not be empty.", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidQuantity(f"{field} must be text, got {value!r}.", field=field)
    value = " ".join(value.split())
    if len(value) > max_length:
        raise InvalidQuantity(f"{field} is longer than {max_length} characters.", field=field)
    return value


def _option_spec(raw: OptionSpec | Mapping[str, Any], index: int) -> OptionSpec:
    if isinstance(raw, OptionSpec):
        return raw
    if not isinstance(raw, Mapping):
        raise InvalidQuantity(f"options[{index}] must be an object.", field=f"options[{index}]")
    known = {"label", "brand", "product", "size", "colour", "category"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidQuantity(
            f"options[{index}] has unknown fields: {', '.join(unknown)}.",
            field=f"options[{index}]",
        )
    return OptionSpec(**{k: raw.get(k) for k in known})


def brand_scope_check(brand_scope: int | None, brand_id: int | None, what: str) -> None:
    """A brand-bound viewer (vendor, brand key) may only see its own brand's polls."""
    if brand_scope is not None and brand_id != brand_scope:
        raise PermissionDenied(f"You may not see or change {what}: it is not your brand's.")


def create_poll(
    session: Session,
    question: str,
    options: Sequence[OptionSpec | Mapping[str, Any]],
    *,
    actor: str,
    brand_code: str | None = None,
    brand_scope: int | None,
    published: bool = False,
    frame_origins: str | Sequence[str] | None = None,
) -> CreatedPoll:
    """Create an open poll; returns it with its webhook secret (shown only this once).

    It is public (its embed page and public vote) only once `published`; only the
    `frame_origins` (`models.polls.frames`) may show its embed page in a frame.

    Options need distinct labels (case-insensitive). Signals name what a vote asks for;
    they need not exist in the catalogue, since "wanted but not stocked" is the point.
    A brand-bound caller (`brand_scope`) can only create polls for its own brand.
    """
    from models.polls.frames import parse_frame_origins  # frames imports this module

    question = _text(question, "question", 500)
    origins = parse_frame_origins(frame_origins)
    brand_id = None
    if brand_code is not None and brand_code.strip():
        brand = session.scalar(select(Brand).where(Brand.code == brand_code.strip().upper()))
        if brand is None:
            raise NotFound(f"No brand with code {brand_code!r}.", brand=brand_code)
        brand_id = brand.id
    if brand_scope is not None:
        if brand_id is None:
            brand_id = brand_scope
        brand_scope_check(brand_scope, brand_id, "a poll for that brand")
    if not options:
        raise InvalidQuantity("A poll needs at least one option.", field="options")
    if len(options) > MAX_OPTIONS:
        raise InvalidQuantity(f"A poll has at most {MAX_OPTIONS} options.", field="options")
    specs = [_option_spec(raw, i) for i, raw in enumerate(options)]
    # A size reads by its brand's size system hint ("42": EU 42 for a shoe brand), the
    # option's brand or else the poll's, as imports read that brand's files.
    brands = session.execute(select(Brand.id, Brand.code, Brand.size_system_hint)).all()
    hints = {code: hint for _, code, hint in brands}
    poll_brand = next((code for id_, code, _ in brands if id_ == brand_id), None)
    rows, seen = [], set()
    for i, spec in enumerate(specs):
        label = _text(spec.label, f"options[{i}].label", 200)
        key = label.casefold()
        if key in seen:
            raise InvalidQuantity(
                f"Option label {label!r} is used twice; labels must differ.",
                field=f"options[{i}].label",
            )
        seen.add(key)
        size = _text(spec.size, f"options[{i}].size", 30, required=False)
        brand = _text(spec.brand, f"options[{i}].brand", 32, required=False)
        style = _text(spec.product, f"options[{i}].product", 64, required=False)
        rows.append(
            PollOption(
                position=i,
                label=label,
                label_key=key,
                signal_brand=brand.upper() if brand else None,
                signal_style=style.upper() if style else None,
                signal_size=(
                    normalise_size(size, hints.get(brand.upper() if brand else poll_brand))[1]
                    if size
                    else None
                ),
                signal_colour=_text(spec.colour, f"options[{i}].colour", 60, required=False),
                signal_category=_text(spec.category, f"options[{i}].category", 100, required=False),
            )
        )
    poll = Poll(
        slug=new_slug(),
        published=bool(published),
        question=question,
        brand_id=brand_id,
        webhook_secret="whsec_" + secrets.token_urlsafe(32),
        created_by=actor,
        frame_origins=" ".join(origins),
    )
    session.add(poll)
    session.flush()
    for row in rows:
        row.poll_id = poll.id
        session.add(row)
    session.flush()
    return CreatedPoll(poll_summary(session, poll.id, brand_scope=brand_scope), poll.webhook_secret)


def _poll(session: Session, poll_id: int, *, brand_scope: int | None) -> Poll:
    """The poll, if the viewer may see it: another brand's poll is "not found", exactly
    like a missing one (a brand-bound viewer learns nothing about other brands' ids)."""
    poll = session.get(Poll, poll_id)
    if poll is None or (brand_scope is not None and poll.brand_id != brand_scope):
        raise NotFound(f"No poll with id {poll_id}.", poll_id=poll_id)
    return poll


def poll_summary(
    session: Session,
    poll_id: int,
    *,
    brand_scope: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PollSummary:
    """The poll with its options and vote counts (votes answered in [since, until))."""
    poll = _poll(session, poll_id, brand_scope=brand_scope)
    o, v = PollOption.__table__, PollVote.__table__
    join_on = (v.c.option_id == o.c.id) & (v.c.poll_id == o.c.poll_id)
    if since is not None:
        join_on &= v.c.answered_at >= since
    if until is not None:
        join_on &= v.c.answered_at < until
    rows = session.execute(
        select(
            o.c.id,
            o.c.label,
            o.c.signal_brand,
            o.c.signal_style,
            o.c.signal_size,
            o.c.signal_colour,
            o.c.signal_category,
            func.count(v.c.id),
        )
        .select_from(o.outerjoin(v, join_on))
        .where(o.c.poll_id == poll_id)
        .group_by(o.c.id)
        .order_by(o.c.position, o.c.id)
    ).all()
    total = sum(r[-1] for r in rows)
    brand = session.get(Brand, poll.brand_id) if poll.brand_id is not None else None
    return PollSummary(
        id=poll.id,
        slug=poll.slug,
        published=poll.published,
        question=poll.question,
        brand=brand.code if brand else None,
        status=poll.status,
        created_at=poll.created_at,
        closed_at=poll.closed_at,
        total_votes=total,
        options=[
            OptionCount(*r[:-1], votes=r[-1], share=r[-1] / total if total else 0.0) for r in rows
        ],
        frame_origins=tuple(poll.frame_origins.split()),
    )


def list_polls(session: Session, *, brand_scope: int | None) -> list[PollSummary]:
    """Every poll the viewer may see, newest first, with vote counts."""
    query = select(Poll.id).order_by(Poll.created_at.desc(), Poll.id.desc())
    if brand_scope is not None:
        query = query.where(Poll.brand_id == brand_scope)
    return [poll_summary(session, pid, brand_scope=brand_scope) for pid in session.scalars(query)]


def set_poll_status(
    session: Session, poll_id: int, status: PollStatus | str, *, brand_scope: int | None
) -> PollSummary:
    """Open or close a poll; a closed poll refuses new votes from every source."""
    poll = _poll(session, poll_id, brand_scope=brand_scope)
    try:
        status = PollStatus(status)
    except ValueError:
        raise InvalidQuantity("status must be 'open' or 'closed'.", field="status") from None
    poll.status = status.value
    poll.closed_at = utcnow() if status is PollStatus.CLOSED else None
    session.add(poll)
    session.flush()
    return poll_summary(session, poll_id, brand_scope=brand_scope)


def set_poll_published(
    session: Session, poll_id: int, published: bool, *, brand_scope: int | None
) -> PollSummary:
    """Publish a poll (its embed page and public vote answer while it is open) or take
    it back to staff-only (both answer "not found", like an unknown link)."""
    if not isinstance(published, bool):
        raise InvalidQuantity("published must be true or false.", field="published")
    poll = _poll(session, poll_id, brand_scope=brand_scope)
    poll.published = published
    session.add(poll)
    session.flush()
    return poll_summary(session, poll_id, brand_scope=brand_scope)
