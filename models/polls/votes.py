"""What every way of voting shares: one current answer per respondent, poll and source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.polls.tables import (
    InvalidVote,
    Poll,
    PollClosed,
    PollOption,
    PollStatus,
    PollVote,
    VoteSource,
)

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


def _upsert_votes(
    session: Session, poll_id: int, source: VoteSource, votes: list[Vote], now: datetime
) -> int:
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
            raise InvalidVote(f"{where}: {value!r} is not an ISO 8601 time.", field=where) from None
    else:
        raise InvalidVote(f"{where}: expected a time, got {value!r}.", field=where)
    if parsed.tzinfo is None:
        raise InvalidVote(f"{where}: give a time zone (e.g. Z).", field=where)
    return parsed.astimezone(UTC)
