"""Votes by signed webhook: HMAC-SHA256 signatures, each accepted once within five minutes."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    delete,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.base import utcnow
from models.errors import (
    NotFound,
)
from models.polls.tables import (
    MAX_VOTES_PER_REQUEST,
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE,
    InvalidSignature,
    InvalidVote,
    Poll,
    PollSignatureUse,
    SignatureExpired,
    SignatureReused,
    VoteSource,
)
from models.polls.votes import (
    Vote,
    VoteReceipt,
    _OptionIndex,
    _parse_time,
    _require_open,
    _upsert_votes,
)

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


def _consume_signature(
    session: Session, poll_id: int, checked: CheckedSignature, now: datetime
) -> None:
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
        raise InvalidVote(f"At most {MAX_VOTES_PER_REQUEST} votes per delivery.", field="body")
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
