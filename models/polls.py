"""Customer demand: polls whose options signal a brand, style, size, colour or category.

Votes arrive three ways, each recorded with its `source`:

* webhook — a survey tool POSTs signed JSON; the signature is
  ``X-Rackroom-Signature: t=UNIX_SECONDS,v1=HEX`` with HEX = HMAC-SHA256 of
  ``"{t}.{raw body}"`` under the poll's own secret. Signatures older (or further in
  the future) than five minutes are refused, and each signature is accepted once: the
  replay table remembers it until its timestamp would be refused anyway.
* csv — a survey tool's export, all-or-nothing, with row numbers for what is wrong.
* embed — the public poll page: one vote per respondent per poll, rate-limited.

A respondent has one current answer per poll and source (unique key): a webhook
retry or a re-uploaded export changes nothing, and a later answer replaces an earlier
one. The poll's secret is kept as is (it must be usable to check HMACs) and is
returned only by `create_poll`.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy import (
    CheckConstraint,
    Engine,
    ForeignKeyConstraint,
    Index,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.catalog import Brand, Product, Variant
from models.db import transaction
from models.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidQuantity,
    NotFound,
    PermissionDenied,
)
from models.sizes import normalise_size

SIGNATURE_HEADER = "X-Rackroom-Signature"
#: How far a signature's timestamp may be from now, either way.
SIGNATURE_TOLERANCE = timedelta(minutes=5)
MAX_OPTIONS = 50
MAX_VOTES_PER_REQUEST = 1000
MAX_CSV_ROWS = 100_000

#: Embed voting: fixed one-minute windows, per (poll, client IP) and per (poll, respondent).
RATE_WINDOW = timedelta(minutes=1)
EMBED_LIMIT_PER_IP = 20
EMBED_LIMIT_PER_RESPONDENT = 5


class PollStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class VoteSource(StrEnum):
    WEBHOOK = "webhook"
    CSV = "csv"
    EMBED = "embed"


class Poll(SQLModel, table=True):
    __tablename__ = "poll"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="poll_status"),
        Index("ix_poll_brand_created", "brand_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=500)
    #: The brand the poll is about; None for a poll across brands (staff only).
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    status: str = Field(default=PollStatus.OPEN.value, max_length=16)
    #: HMAC key for the webhook. Shown once by `create_poll`, never sent again.
    webhook_secret: str = Field(max_length=100)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PollOption(SQLModel, table=True):
    """One answer of a poll and what choosing it signals (any of the signal_* may be None)."""

    __tablename__ = "poll_option"
    __table_args__ = (
        UniqueConstraint("poll_id", "label_key", name="uq_poll_option_label"),
        # Lets poll_vote's composite foreign key prove an option belongs to the vote's poll.
        UniqueConstraint("poll_id", "id", name="uq_poll_option_poll_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id")
    position: int = Field(default=0)
    label: str = Field(max_length=200)
    #: casefolded label, how webhook and CSV answers find the option.
    label_key: str = Field(max_length=200)
    signal_brand: str | None = Field(default=None, max_length=32)
    signal_style: str | None = Field(default=None, max_length=64)
    signal_size: str | None = Field(default=None, max_length=30)
    signal_colour: str | None = Field(default=None, max_length=60)
    signal_category: str | None = Field(default=None, max_length=100)


class PollVote(SQLModel, table=True):
    __tablename__ = "poll_vote"
    __table_args__ = (
        UniqueConstraint("poll_id", "source", "respondent", name="uq_poll_vote_respondent"),
        ForeignKeyConstraint(
            ["poll_id", "option_id"],
            ["poll_option.poll_id", "poll_option.id"],
            name="fk_poll_vote_option_of_poll",
        ),
        CheckConstraint("source IN ('webhook', 'csv', 'embed')", name="poll_vote_source"),
        Index("ix_poll_vote_poll_answered", "poll_id", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    poll_id: int = Field(foreign_key="poll.id")
    option_id: int
    respondent: str = Field(max_length=200)
    source: str = Field(max_length=16)
    answered_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PollSignatureUse(SQLModel, table=True):
    """Webhook signatures already accepted; kept until their timestamp would be refused."""

    __tablename__ = "poll_signature_use"

    poll_id: int = Field(foreign_key="poll.id", primary_key=True)
    signature: str = Field(max_length=64, primary_key=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class PollRateLimit(SQLModel, table=True):
    """Fixed-window hit counters for the public embed vote (shared by every worker)."""

    __tablename__ = "poll_rate_limit"

    bucket: str = Field(max_length=200, primary_key=True)
    window_start: datetime = Field(sa_type=UTCDateTime, primary_key=True, index=True)
    hits: int = Field(default=0)


# --- errors --------------------------------------------------------------------------------


class InvalidSignature(AuthenticationFailed):
    code = "invalid_signature"


class SignatureExpired(AuthenticationFailed):
    code = "signature_expired"


class SignatureReused(AuthenticationFailed):
    code = "signature_reused"


class InvalidVote(InvalidQuantity):
    """A vote that names no option of this poll, or is malformed (HTTP 422)."""

    code = "invalid_vote"


class PollClosed(Conflict):
    code = "poll_closed"


class AlreadyVoted(Conflict):
    code = "already_voted"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


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
    question: str
    brand: str | None
    status: str
    created_at: datetime
    closed_at: datetime | None
    total_votes: int
    options: list[OptionCount]


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
) -> CreatedPoll:
    """Create an open poll; returns it with its webhook secret (shown only this once).

    Options need distinct labels (case-insensitive). Signals name what a vote asks for;
    they need not exist in the catalogue, since "wanted but not stocked" is the point.
    A brand-bound caller (`brand_scope`) can only create polls for its own brand.
    """
    question = _text(question, "question", 500)
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
                signal_size=normalise_size(size)[1] if size else None,
                signal_colour=_text(spec.colour, f"options[{i}].colour", 60, required=False),
                signal_category=_text(
                    spec.category, f"options[{i}].category", 100, required=False
                ),
            )
        )
    poll = Poll(
        question=question,
        brand_id=brand_id,
        webhook_secret="whsec_" + secrets.token_urlsafe(32),
        created_by=actor,
    )
    session.add(poll)
    session.flush()
    for row in rows:
        row.poll_id = poll.id
        session.add(row)
    session.flush()
    return CreatedPoll(poll_summary(session, poll.id, brand_scope=brand_scope), poll.webhook_secret)


def _poll(session: Session, poll_id: int, *, brand_scope: int | None) -> Poll:
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"No poll with id {poll_id}.", poll_id=poll_id)
    brand_scope_check(brand_scope, poll.brand_id, f"poll {poll_id}")
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
        question=poll.question,
        brand=brand.code if brand else None,
        status=poll.status,
        created_at=poll.created_at,
        closed_at=poll.closed_at,
        total_votes=total,
        options=[OptionCount(*r[:-1], votes=r[-1], share=r[-1] / total if total else 0.0)
                 for r in rows],
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


# --- recording votes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vote:
    option_id: int
    respondent: str
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class VoteReceipt:
    poll_id: int
    #: Votes in the request.
    received: int
    #: Votes written: new respondents and later answers of known ones.
    recorded: int

    @property
    def unchanged(self) -> int:
        return self.received - self.recorded


class _OptionIndex:
    def __init__(self, session: Session, poll_id: int) -> None:
        rows = session.execute(
            select(PollOption.id, PollOption.label_key).where(PollOption.poll_id == poll_id)
        ).all()
        self.by_id = {row.id for row in rows}
        self.by_label = {row.label_key: row.id for row in rows}

    def resolve(self, value: object) -> int | None:
        """An option id from an id (int, or digits) or a label; None if not this poll's."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value if value in self.by_id else None
        if isinstance(value, str):
            text = " ".join(value.split())
            found = self.by_label.get(text.casefold())
            if found is None and text.isdigit() and int(text) in self.by_id:
                found = int(text)
            return found
        return None


def _upsert_votes(session: Session, poll_id: int, source: VoteSource, votes: list[Vote],
                  now: datetime) -> int:
    """Insert votes; a known respondent's vote changes only if the new answer is later."""
    if not votes:
        return 0
    latest: dict[str, Vote] = {}
    for vote in votes:
        known = latest.get(vote.respondent)
        if known is None or vote.answered_at >= known.answered_at:
            latest[vote.respondent] = vote
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = PollVote.__table__
    statement = make_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["poll_id", "source", "respondent"],
        set_={
            "option_id": statement.excluded.option_id,
            "answered_at": statement.excluded.answered_at,
            "received_at": statement.excluded.received_at,
        },
        where=(statement.excluded.answered_at > table.c.answered_at)
        & (statement.excluded.option_id != table.c.option_id),
    ).returning(table.c.id)
    recorded = 0
    rows = [
        {
            "poll_id": poll_id,
            "option_id": v.option_id,
            "respondent": v.respondent,
            "source": source.value,
            "answered_at": v.answered_at,
            "received_at": now,
        }
        for v in latest.values()
    ]
    for start in range(0, len(rows), 500):
        # One statement per batch; RETURNING gives back the rows it wrote.
        batch = rows[start : start + 500]
        recorded += len(session.execute(statement.values(batch)).all())
    return recorded


def _require_open(poll: Poll) -> None:
    if poll.status != PollStatus.OPEN.value:
        raise PollClosed(f"Poll {poll.id} is closed; it takes no more votes.", poll_id=poll.id)


def _parse_time(value: object, where: str, default: datetime) -> datetime:
    if value is None:
        return default
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidVote(
                f"{where}: {value!r} is not an ISO 8601 time.", field=where
            ) from None
    else:
        raise InvalidVote(f"{where}: expected a time, got {value!r}.", field=where)
    if parsed.tzinfo is None:
        raise InvalidVote(f"{where}: give a time zone (e.g. Z).", field=where)
    return parsed.astimezone(UTC)


# --- webhook -------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value a sender puts in X-Rackroom-Signature for `body` at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@dataclass(frozen=True, slots=True)
class CheckedSignature:
    timestamp: int
    signature: str


def verify_signature(
    secret: str, header: str | None, body: bytes, *, now: datetime | None = None
) -> CheckedSignature:
    """Check `header` against `body`; returns the signature that matched.

    Several v1= entries are allowed (a sender rotating secrets); one must match. The
    comparison is constant-time.
    """
    if not header:
        raise InvalidSignature(f"Sign the request: {SIGNATURE_HEADER}: t=…,v1=….")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and len(value) == 64:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise InvalidSignature(f"{SIGNATURE_HEADER} must look like t=UNIX_SECONDS,v1=HEX.")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    matched = next((c for c in candidates if hmac.compare_digest(c, expected)), None)
    if matched is None:
        raise InvalidSignature("The signature does not match this poll's secret and body.")
    now = now or utcnow()
    skew = abs(now.timestamp() - timestamp)
    if skew > SIGNATURE_TOLERANCE.total_seconds():
        raise SignatureExpired(
            f"The signature's time is {int(skew)} s away from now; at most "
            f"{int(SIGNATURE_TOLERANCE.total_seconds())} s are allowed.",
            timestamp=timestamp,
        )
    return CheckedSignature(timestamp, matched)


def _consume_signature(session: Session, poll_id: int, checked: CheckedSignature,
                       now: datetime) -> None:
    table = PollSignatureUse.__table__
    session.execute(delete(table).where(table.c.expires_at < now))
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    expires = datetime.fromtimestamp(checked.timestamp, UTC) + SIGNATURE_TOLERANCE
    inserted = session.execute(
        make_insert(table)
        .values(poll_id=poll_id, signature=checked.signature, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["poll_id", "signature"])
        .returning(table.c.poll_id)
    ).first()
    if inserted is None:
        raise SignatureReused("This signature was already used; sign each delivery afresh.")


def receive_webhook(
    session: Session,
    poll_id: int,
    signature_header: str | None,
    body: bytes,
    *,
    now: datetime | None = None,
) -> VoteReceipt:
    """Record the votes of one signed webhook delivery, all of them or none.

    `body` is the raw request body: one vote object or a list of them, each
    ``{"option": label or id, "respondent": text, "answered_at": ISO time}``.
    """
    now = now or utcnow()
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"No poll with id {poll_id}.", poll_id=poll_id)
    checked = verify_signature(poll.webhook_secret, signature_header, body, now=now)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidVote("The body is not valid JSON.", field="body") from None
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise InvalidVote("Send at least one vote.", field="body")
    if len(items) > MAX_VOTES_PER_REQUEST:
        raise InvalidVote(
            f"At most {MAX_VOTES_PER_REQUEST} votes per delivery.", field="body"
        )
    _require_open(poll)
    options = _OptionIndex(session, poll_id)
    votes, problems = [], []
    for i, item in enumerate(items):
        where = f"[{i}]" if isinstance(payload, list) else "body"
        if not isinstance(item, dict):
            problems.append({"field": where, "problem": "must be an object"})
            continue
        extra = sorted(set(item) - {"option", "respondent", "answered_at"})
        if extra:
            problems.append({"field": where, "problem": f"unknown fields {', '.join(extra)}"})
            continue
        option_id = options.resolve(item.get("option"))
        if option_id is None:
            problems.append(
                {
                    "field": f"{where}.option",
                    "problem": f"{item.get('option')!r} is not an option of poll {poll_id}",
                }
            )
            continue
        respondent = item.get("respondent")
        if not isinstance(respondent, str) or not respondent.strip() or len(respondent) > 200:
            problems.append(
                {"field": f"{where}.respondent", "problem": "must be text of 1-200 characters"}
            )
            continue
        try:
            answered = _parse_time(item.get("answered_at"), f"{where}.answered_at", now)
        except InvalidVote as error:
            problems.append({"field": error.details["field"], "problem": error.message})
            continue
        votes.append(Vote(option_id, respondent.strip(), answered))
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidVote(f"{first['field']}: {first['problem']}{more}", fields=problems)
    _consume_signature(session, poll_id, checked, now)
    recorded = _upsert_votes(session, poll_id, VoteSource.WEBHOOK, votes, now)
    return VoteReceipt(poll_id, len(votes), recorded)


# --- CSV export of a survey tool -----------------------------------------------------------

_CSV_COLUMNS = {
    "respondent": ("respondent", "respondent id", "respondent_id", "participant",
                   "participant id", "participant_id", "response id", "response_id", "user id",
                   "user_id", "email", "customer id", "customer_id", "visitor id"),
    "option": ("option", "answer", "response", "choice", "value", "option label", "selected"),
    "answered_at": ("answered_at", "answered at", "date", "created at", "created_at",
                    "submitted at", "submitted_at", "timestamp", "time", "response date"),
}


@dataclass(frozen=True, slots=True)
class VoteRowError:
    """One problem in a survey export. `row` is the spreadsheet row (the header is row 1)."""

    row: int
    column: str
    value: str
    reason: str

    def describe(self) -> str:
        return f"row {self.row}, {self.column} {self.value!r}: {self.reason}"


@dataclass(slots=True)
class CsvVoteResult:
    poll_id: int
    rows: int = 0
    recorded: int = 0
    applied: bool = False
    errors: list[VoteRowError] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.errors:
            return (
                f"Nothing imported: {len(self.errors)} problem(s) in {self.rows} row(s); "
                f"first: {self.errors[0].describe()}."
            )
        return f"Imported {self.rows} row(s): {self.recorded} vote(s) new or changed."


class CsvRefused(InvalidQuantity):
    code = "csv_refused"


def _csv_header(header: Sequence[str]) -> dict[str, int]:
    """Which column holds what: per target, the header earliest in its list of names."""
    keys = [" ".join(name.replace("\ufeff", "").strip().lower().split()) for name in header]
    found: dict[str, int] = {}
    for target, names in _CSV_COLUMNS.items():
        ranked = [(names.index(key), index) for index, key in enumerate(keys) if key in names]
        if ranked:
            found[target] = min(ranked)[1]
    missing = [t for t in ("respondent", "option") if t not in found]
    if missing:
        raise CsvRefused(
            f"The file needs a {' and a '.join(missing)} column; its header is "
            f"{', '.join(header) or '(empty)'}.",
            missing=missing,
        )
    return found


def import_votes_csv(
    session: Session,
    poll_id: int,
    content: bytes | str,
    *,
    brand_scope: int | None,
    now: datetime | None = None,
) -> CsvVoteResult:
    """Record the votes of a survey tool's CSV export: every row, or none.

    Columns are found by name (respondent / participant id / response id, option /
    answer / choice, answered_at / date / submitted at); the answer is an option's
    label or id. Rows naming an unknown option are reported with their row numbers and
    nothing is written. A re-upload of the same export changes nothing.
    """
    now = now or utcnow()
    poll = _poll(session, poll_id, brand_scope=brand_scope)
    _require_open(poll)
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CsvRefused("The file is not UTF-8 text.") from None
    reader = csv.reader(io.StringIO(content))
    header = next(reader, None)
    if header is None:
        raise CsvRefused("The file is empty.")
    columns = _csv_header(header)
    options = _OptionIndex(session, poll_id)
    result = CsvVoteResult(poll_id)
    votes: list[Vote] = []
    names = {key: header[index].strip() for key, index in columns.items()}
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        result.rows += 1
        if result.rows > MAX_CSV_ROWS:
            raise CsvRefused(f"At most {MAX_CSV_ROWS:,} rows per file.")

        def cell(key: str, row: list[str] = row) -> str:
            index = columns.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        answer, respondent = cell("option"), cell("respondent")
        option_id = options.resolve(answer)
        if option_id is None:
            result.errors.append(
                VoteRowError(row_number, names["option"], answer, "not an option of this poll")
            )
            continue
        if not respondent or len(respondent) > 200:
            result.errors.append(
                VoteRowError(row_number, names["respondent"], respondent,
                             "a respondent id of 1-200 characters is required")
            )
            continue
        when = cell("answered_at")
        try:
            answered = _parse_time(when or None, "answered_at", now)
        except InvalidVote as error:
            result.errors.append(
                VoteRowError(row_number, names.get("answered_at", "answered_at"), when,
                             error.message.split(": ", 1)[-1])
            )
            continue
        votes.append(Vote(option_id, respondent, answered))
    if result.rows == 0:
        raise CsvRefused("The file has a header but no rows.")
    if result.errors:
        return result
    result.recorded = _upsert_votes(session, poll_id, VoteSource.CSV, votes, now)
    result.applied = True
    return result


# --- embed page ----------------------------------------------------------------------------


def hit_rate_limit(
    session: Session,
    buckets: Iterable[tuple[str, int]],
    *,
    now: datetime | None = None,
    window: timedelta = RATE_WINDOW,
) -> None:
    """Count one hit in each (bucket, limit) for the current fixed window.

    Raises RateLimited when a bucket is over its limit. One upsert per bucket; the
    counter lives in the database so every backend worker and process shares it, and
    the caller commits it even when the request it guards then fails.
    """
    now = now or utcnow()
    seconds = int(window.total_seconds())
    start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    table = PollRateLimit.__table__
    session.execute(delete(table).where(table.c.window_start < start - timedelta(hours=1)))
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    over = None
    for bucket, limit in buckets:
        statement = make_insert(table).values(bucket=bucket[:200], window_start=start, hits=1)
        statement = statement.on_conflict_do_update(
            index_elements=["bucket", "window_start"], set_={"hits": table.c.hits + 1}
        ).returning(table.c.hits)
        hits = session.execute(statement).scalar_one()
        if hits > limit and over is None:
            over = bucket
    if over is not None:
        retry = max(1, int((start + window - now).total_seconds() + 0.999))
        raise RateLimited(
            f"Too many votes from here; try again in {retry} s.", retry_after=retry
        )


@dataclass(frozen=True, slots=True)
class EmbedPoll:
    """What the public poll page shows: no counts, no secrets."""

    id: int
    question: str
    status: str
    options: list[tuple[int, str]]


def embed_poll(session: Session, poll_id: int) -> EmbedPoll:
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"No poll with id {poll_id}.", poll_id=poll_id)
    options = session.execute(
        select(PollOption.id, PollOption.label)
        .where(PollOption.poll_id == poll_id)
        .order_by(PollOption.position, PollOption.id)
    ).all()
    return EmbedPoll(poll.id, poll.question, poll.status, [(o.id, o.label) for o in options])


def embed_vote(
    session: Session,
    poll_id: int,
    option: int | str,
    *,
    respondent: str,
    now: datetime | None = None,
) -> Vote:
    """One embed vote: refused if this respondent already voted on this poll."""
    now = now or utcnow()
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"No poll with id {poll_id}.", poll_id=poll_id)
    _require_open(poll)
    respondent = _text(respondent, "respondent", 200)
    option_id = _OptionIndex(session, poll_id).resolve(option)
    if option_id is None:
        raise InvalidVote(f"{option!r} is not an option of poll {poll_id}.", field="option")
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = PollVote.__table__
    inserted = session.execute(
        make_insert(table)
        .values(
            poll_id=poll_id,
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
        raise AlreadyVoted("You have already voted in this poll. Thank you!", poll_id=poll_id)
    return Vote(option_id, respondent, now)


def submit_embed_vote(
    poll_id: int,
    option: int | str,
    *,
    respondent: str,
    client_ip: str,
    engine: Engine | None = None,
    now: datetime | None = None,
) -> Vote:
    """The embed page's vote: rate limit (committed on its own), then the vote.

    Limits: `EMBED_LIMIT_PER_IP` attempts per minute per (poll, client IP) and
    `EMBED_LIMIT_PER_RESPONDENT` per (poll, respondent). Refused attempts count too,
    so rotating respondent ids from one address is still capped.
    """
    now = now or utcnow()
    with transaction(engine) as session:
        hit_rate_limit(
            session,
            [
                (f"embed:{poll_id}:ip:{client_ip}", EMBED_LIMIT_PER_IP),
                (f"embed:{poll_id}:r:{respondent.strip()[:150]}", EMBED_LIMIT_PER_RESPONDENT),
            ],
            now=now,
        )
    with transaction(engine) as session:
        return embed_vote(session, poll_id, option, respondent=respondent, now=now)


# --- demand per variant (for replenishment) ------------------------------------------------


def option_signals(
    session: Session,
    *,
    brand_scope: int | None,
    poll_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """One row per option the viewer may see, with its poll, signals and votes.

    Columns: poll_id, question, poll_brand_id, option_id, label, signal_brand,
    signal_style, signal_size, signal_colour, signal_category, votes, poll_votes,
    share (votes ÷ poll_votes).
    """
    p, o, v = Poll.__table__, PollOption.__table__, PollVote.__table__
    join_on = (v.c.option_id == o.c.id) & (v.c.poll_id == o.c.poll_id)
    if since is not None:
        join_on &= v.c.answered_at >= since
    if until is not None:
        join_on &= v.c.answered_at < until
    query = (
        select(
            p.c.id.label("poll_id"),
            p.c.question,
            p.c.brand_id.label("poll_brand_id"),
            o.c.id.label("option_id"),
            o.c.label,
            o.c.signal_brand,
            o.c.signal_style,
            o.c.signal_size,
            o.c.signal_colour,
            o.c.signal_category,
            func.count(v.c.id).label("votes"),
        )
        .select_from(p.join(o, o.c.poll_id == p.c.id).outerjoin(v, join_on))
        .group_by(p.c.id, o.c.id)
        .order_by(p.c.id, o.c.position, o.c.id)
    )
    if brand_scope is not None:
        query = query.where(p.c.brand_id == brand_scope)
    if poll_ids is not None:
        query = query.where(p.c.id.in_(list(poll_ids)))
    rows = session.execute(query).all()
    schema = {
        "poll_id": pl.Int64, "question": pl.String, "poll_brand_id": pl.Int64,
        "option_id": pl.Int64, "label": pl.String, "signal_brand": pl.String,
        "signal_style": pl.String, "signal_size": pl.String, "signal_colour": pl.String,
        "signal_category": pl.String, "votes": pl.Int64,
    }
    frame = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    return frame.with_columns(
        poll_votes=pl.col("votes").sum().over("poll_id"),
    ).with_columns(
        share=pl.when(pl.col("poll_votes") > 0)
        .then(pl.col("votes") / pl.col("poll_votes"))
        .otherwise(0.0)
    )


def match_options_to_variants(
    options: pl.DataFrame, variants: pl.DataFrame, brands: pl.DataFrame
) -> pl.DataFrame:
    """(option_id, variant_id) for every variant an option's signals describe.

    `variants` needs variant_id, brand_id, style_code, size, colour, category;
    `brands` needs brand_id, code. An option's brand is its own brand signal, else the
    poll's brand, else any brand. Sizes compare in their normalised spelling, colours and
    categories case-insensitively. An option with no signal matches nothing.
    """
    empty = pl.DataFrame(schema={"option_id": pl.Int64, "variant_id": pl.Int64})
    if options.is_empty() or variants.is_empty():
        return empty
    code_to_id = dict(zip(brands["code"].to_list(), brands["brand_id"].to_list(), strict=True))
    pieces = []
    lowered = variants.with_columns(
        colour_key=pl.col("colour").str.to_lowercase(),
        category_key=pl.col("category").str.to_lowercase(),
    )
    for opt in options.iter_rows(named=True):
        signals = [opt[k] for k in ("signal_brand", "signal_style", "signal_size",
                                    "signal_colour", "signal_category")]
        if not any(signals):
            continue
        condition = pl.lit(True)
        if opt["signal_brand"]:
            brand_id = code_to_id.get(opt["signal_brand"])
            if brand_id is None:
                continue
            condition &= pl.col("brand_id") == brand_id
        elif opt["poll_brand_id"] is not None:
            condition &= pl.col("brand_id") == opt["poll_brand_id"]
        if opt["signal_style"]:
            condition &= pl.col("style_code").str.to_uppercase() == opt["signal_style"]
        if opt["signal_size"]:
            condition &= pl.col("size") == opt["signal_size"]
        if opt["signal_colour"]:
            condition &= pl.col("colour_key") == opt["signal_colour"].lower()
        if opt["signal_category"]:
            condition &= pl.col("category_key") == opt["signal_category"].lower()
        matched = lowered.filter(condition).select(
            pl.lit(opt["option_id"], dtype=pl.Int64).alias("option_id"),
            pl.col("variant_id").cast(pl.Int64),
        )
        pieces.append(matched)
    return pl.concat(pieces) if pieces else empty


def demand_by_variant(
    session: Session,
    *,
    brand_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """The customer-demand signal per variant, for a replenishment column.

    Columns: variant_id, demand_votes (votes for options that describe the variant,
    summed over polls), demand_score (the same as shares of each poll's votes, so a
    poll with many respondents does not drown the others). Only variants with a vote
    appear; join on variant_id and fill nulls with 0. `brand_id` limits to one brand's
    variants (every poll whose options describe them counts).
    """
    schema = {"variant_id": pl.Int64, "demand_votes": pl.Int64, "demand_score": pl.Float64}
    options = option_signals(session, brand_scope=None, since=since, until=until).filter(
        pl.col("votes") > 0
    )
    if options.is_empty():
        return pl.DataFrame(schema=schema)
    v, p, b = Variant.__table__, Product.__table__, Brand.__table__
    query = select(
        v.c.id.label("variant_id"), v.c.brand_id, p.c.style_code, v.c.size, v.c.colour,
        p.c.category,
    ).join(p, p.c.id == v.c.product_id)
    if brand_id is not None:
        query = query.where(v.c.brand_id == brand_id)
    variants = pl.DataFrame(
        [tuple(r) for r in session.execute(query)],
        schema={"variant_id": pl.Int64, "brand_id": pl.Int64, "style_code": pl.String,
                "size": pl.String, "colour": pl.String, "category": pl.String},
        orient="row",
    )
    brands = pl.DataFrame(
        [tuple(r) for r in session.execute(select(b.c.id, b.c.code))],
        schema={"brand_id": pl.Int64, "code": pl.String},
        orient="row",
    )
    matches = match_options_to_variants(options, variants, brands)
    return (
        matches.join(options.select("option_id", "votes", "share"), on="option_id")
        .group_by("variant_id")
        .agg(demand_votes=pl.col("votes").sum(), demand_score=pl.col("share").sum())
        .sort("variant_id")
        .cast(schema)
    )
