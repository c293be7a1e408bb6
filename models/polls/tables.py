"""The poll tables (polls, options, votes, replay and rate-limit rows) and the errors
a vote can meet."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidQuantity,
    PermissionDenied,
)
from models.secrets import EncryptedText

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
#: ... and fixed UTC days, per (poll, client address) and per poll (the limits are the
#: RACKROOM_POLL_DAILY_VOTES_PER_ADDRESS / RACKROOM_POLL_DAILY_VOTES settings).
DAY_WINDOW = timedelta(days=1)


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
        UniqueConstraint("slug", name="uq_poll_slug"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The poll's public name in embed links: random, unguessable (ids are sequential).
    slug: str = Field(max_length=32)
    #: Public (embed page, public vote API) only while published *and* open.
    published: bool = Field(default=False)
    question: str = Field(max_length=500)
    #: The brand the poll is about; None for a poll across brands (staff only).
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    status: str = Field(default=PollStatus.OPEN.value, max_length=16)
    #: HMAC key for the webhook. Shown once by `create_poll`, never sent again. Encrypted
    #: at rest (column webhook_secret_enc, `models.secrets`); plain here.
    webhook_secret: str = Field(
        sa_column=Column(
            "webhook_secret_enc", EncryptedText("A poll's webhook secret"), nullable=False
        )
    )
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Origins (space-separated, `models.polls.frames`) allowed to frame the embed page;
    #: empty: none may.
    frame_origins: str = Field(
        default="", max_length=2000, sa_column_kwargs={"server_default": ""}
    )


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


class InvalidRespondent(PermissionDenied):
    """A respondent token this server did not sign (HTTP 403)."""

    code = "invalid_respondent"


class PollClosed(Conflict):
    code = "poll_closed"


class AlreadyVoted(Conflict):
    code = "already_voted"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after
