"""The public side of a poll: its embed page and vote, by slug, rate-limited.

A poll is public only while published and open, and only by its random slug: a
missing, unpublished or closed poll, an id instead of a slug, and a malformed slug all
get the same `NotFound` ("This poll is not available."), so nothing can be learnt by
counting ids. Votes carry a respondent token this server signed
(`models.polls.respondents`) and pass four counters: per minute for the (poll, address)
and (poll, respondent), and per UTC day for the (poll, address) and the poll.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Engine,
    delete,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.base import utcnow
from models.db import transaction
from models.errors import (
    NotFound,
)
from models.polls.manage import SLUG_PATTERN
from models.polls.respondents import respondent_of
from models.polls.tables import (
    DAY_WINDOW,
    EMBED_LIMIT_PER_IP,
    EMBED_LIMIT_PER_RESPONDENT,
    RATE_WINDOW,
    AlreadyVoted,
    InvalidVote,
    Poll,
    PollOption,
    PollRateLimit,
    PollStatus,
    PollVote,
    RateLimited,
    VoteSource,
)
from models.polls.votes import Vote, _OptionIndex
from models.settings import settings

NOT_AVAILABLE = "This poll is not available."
MINUTE_MESSAGE = "Too many votes from here; try again in {retry} s."
ADDRESS_DAY_MESSAGE = (
    "Too many votes from this address today; try again tomorrow (in {hours} h)."
)
POLL_DAY_MESSAGE = (
    "This poll has taken all the votes it takes today; try again tomorrow (in {hours} h)."
)

# --- rate limits ---------------------------------------------------------------------------


def hit_rate_limit(
    session: Session,
    buckets: Iterable[tuple[str, int]],
    *,
    now: datetime | None = None,
    window: timedelta = RATE_WINDOW,
    message: str = MINUTE_MESSAGE,
) -> None:
    """Count one hit in each (bucket, limit) for the current fixed window.

    Raises RateLimited (`message` with {retry} seconds and {hours}) when a bucket is
    over its limit. One upsert per bucket; the counter lives in the database so every
    backend worker and process shares it, and the caller commits it even when the
    request it guards then fails. Windows of different lengths keep separate counters
    (the key starts with the window's length), and a window's ended counters are
    deleted on its next hit.
    """
    now = now or utcnow()
    seconds = int(window.total_seconds())
    start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    tag = f"{seconds}s:"
    table = PollRateLimit.__table__
    session.execute(
        delete(table).where(table.c.bucket.startswith(tag), table.c.window_start < start)
    )
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    over = None
    for bucket, limit in buckets:
        statement = make_insert(table).values(
            bucket=(tag + bucket)[:200], window_start=start, hits=1
        )
        statement = statement.on_conflict_do_update(
            index_elements=["bucket", "window_start"], set_={"hits": table.c.hits + 1}
        ).returning(table.c.hits)
        hits = session.execute(statement).scalar_one()
        if hits > limit and over is None:
            over = bucket
    if over is not None:
        retry = max(1, int((start + window - now).total_seconds() + 0.999))
        hours = max(1, round(retry / 3600))
        raise RateLimited(message.format(retry=retry, hours=hours), retry_after=retry)


def address_key(client_ip: str) -> str:
    """The address a cap counts: an IPv6 client by its /64 (one subscriber's network)."""
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return (client_ip or "unknown")[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class EmbedLimits:
    """How many embed votes are let through (per minute ones are fixed; daily ones come
    from the settings)."""

    per_address_minute: int = EMBED_LIMIT_PER_IP
    per_respondent_minute: int = EMBED_LIMIT_PER_RESPONDENT
    per_address_day: int = field(default_factory=lambda: settings().poll_daily_votes_per_address)
    per_poll_day: int = field(default_factory=lambda: settings().poll_daily_votes)


def count_embed_attempt(
    session: Session,
    poll_id: int,
    respondent: str,
    client_ip: str,
    *,
    limits: EmbedLimits,
    now: datetime,
) -> None:
    """Count one vote attempt, or raise RateLimited naming the limit that was hit.

    Each stage is counted only when the one before let the attempt through, so an
    address stopped by its own caps does not use up the poll's daily allowance.
    """
    address = address_key(client_ip)
    hit_rate_limit(
        session,
        [
            (f"embed:{poll_id}:ip:{address}", limits.per_address_minute),
            (f"embed:{poll_id}:r:{respondent}", limits.per_respondent_minute),
        ],
        now=now,
    )
    hit_rate_limit(session, [(f"embed:{poll_id}:ip:{address}", limits.per_address_day)],
                   now=now, window=DAY_WINDOW, message=ADDRESS_DAY_MESSAGE)
    hit_rate_limit(session, [(f"embed:{poll_id}", limits.per_poll_day)],
                   now=now, window=DAY_WINDOW, message=POLL_DAY_MESSAGE)


# --- embed page ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmbedPoll:
    """What the public poll page shows: no counts, no secrets, no id."""

    slug: str
    question: str
    options: list[tuple[int, str]]


def public_poll(session: Session, slug: object) -> Poll:
    """The poll behind a public link, if it is published and open; else NotFound, the
    same for every reason."""
    if isinstance(slug, str) and SLUG_PATTERN.fullmatch(slug):
        poll = session.scalar(select(Poll).where(Poll.slug == slug))
        if poll is not None and poll.published and poll.status == PollStatus.OPEN.value:
            return poll
    raise NotFound(NOT_AVAILABLE)


def embed_poll(session: Session, slug: str) -> EmbedPoll:
    poll = public_poll(session, slug)
    options = session.execute(
        select(PollOption.id, PollOption.label)
        .where(PollOption.poll_id == poll.id)
        .order_by(PollOption.position, PollOption.id)
    ).all()
    return EmbedPoll(poll.slug, poll.question, [(o.id, o.label) for o in options])


def embed_vote(
    session: Session,
    slug: str,
    option: int | str,
    *,
    respondent: str,
    now: datetime | None = None,
) -> Vote:
    """One embed vote from a (checked) respondent id: refused if they already voted."""
    now = now or utcnow()
    poll = public_poll(session, slug)
    option_id = _OptionIndex(session, poll.id).resolve(option)
    if option_id is None:
        raise InvalidVote(f"{option!r} is not an option of this poll.", field="option")
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = PollVote.__table__
    inserted = session.execute(
        make_insert(table)
        .values(
            poll_id=poll.id,
            option_id=option_id,
            respondent=respondent,
            source=VoteSource.EMBED.value,
            answered_at=now,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["poll_id", "source", "respondent"])
        .returning(table.c.id)
    ).first()
    if inserted is None:
        raise AlreadyVoted("You have already voted in this poll. Thank you!")
    return Vote(option_id, respondent, now)


def submit_embed_vote(
    slug: str,
    option: int | str,
    *,
    respondent_token: str,
    client_ip: str,
    engine: Engine | None = None,
    now: datetime | None = None,
    limits: EmbedLimits | None = None,
) -> Vote:
    """The public vote: the token checked, the attempt counted (committed on its own,
    so refused attempts count too), then the vote.

    Raises InvalidRespondent for a token this server did not sign, NotFound for a poll
    that is not public, RateLimited when a cap is hit.
    """
    now = now or utcnow()
    limits = limits or EmbedLimits()
    respondent = respondent_of(respondent_token)
    with transaction(engine) as session:
        poll_id = public_poll(session, slug).id
        count_embed_attempt(session, poll_id, respondent, client_ip, limits=limits, now=now)
    with transaction(engine) as session:
        return embed_vote(session, slug, option, respondent=respondent, now=now)
