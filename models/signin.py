"""Signing in without racing the throttle or stalling the database.

One attempt goes through three steps, none of which holds a write lock while the
password hash is checked:

1. **Reserve** (one short write transaction): one UPSERT per counter — the client
   address, then the account (keyed by a hash of the email, so unknown emails count the
   same way as real ones). Each UPSERT increments and answers in the same statement
   (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so parallel attempts can never
   all read "0 failures" and all be let through.
2. **Verify** outside any transaction, under a per-process semaphore that caps the
   concurrent argon2 checks (`RACKROOM_LOGIN_CONCURRENCY`). Unknown and inactive
   accounts are verified against a dummy hash: the same answer, the same time.
3. **Record** a success (one short transaction): last sign-in, the account's counter
   cleared, the address's attempt given back (only failures use up an address), the
   address remembered as one this account signs in from.

No hard lock: once a counter has used its free attempts inside the window, it moves
to a *slow lane* of one attempt per `SLOW_LANE` — an outsider can slow guessing down
but cannot keep the owner out for good, and an address this account signed in from
before skips the account counter altogether (it still has its address counter).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Engine,
    Float,
    Integer,
    bindparam,
    case,
    delete,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from models.base import utcnow
from models.db import read_session, transaction
from models.errors import AuthenticationFailed
from models.settings import settings
from models.users import User, _verify, dummy_hash, password_hasher

#: Fixed window the free attempts are counted in (seconds).
WINDOW = 15 * 60.0
#: Free attempts per account (by email) per window; then the slow lane.
ACCOUNT_FREE_ATTEMPTS = 5
#: Free attempts per client address per window (several people may share one address).
ADDRESS_FREE_ATTEMPTS = 30
#: Once the free attempts are used: one attempt per this many seconds.
SLOW_LANE = 30.0
#: How long a sign-in waits for a verification slot before "busy, try again".
VERIFY_WAIT = 10.0
#: How long an address stays "known" for an account after a successful sign-in.
KNOWN_ADDRESS_FOR = 90 * 86400.0

WRONG = "Wrong email or password."


class LoginThrottle(SQLModel, table=True):
    """One counter: an address (`addr:`), an account (`acct:`), or a known address."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=100)
    #: Start of the current window (seconds since the epoch).
    window_start: float
    attempts: int
    #: When the slow lane lets the next attempt through (seconds since the epoch).
    slow_next: float = 0.0
    #: Whether the last reservation was let through (the UPSERT's answer).
    granted: bool = True


class SignInRefused(AuthenticationFailed):
    """Too many attempts (from this address or for this account); says how long to wait."""


@dataclass(frozen=True, slots=True)
class _Counter:
    key: str
    free: int
    refusal: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _account_key(email: str) -> str:
    return "acct:" + _digest(email)


def _address_key(client_ip: str) -> str:
    return "addr:" + _digest(client_ip or "unknown")


def _known_key(email: str, client_ip: str) -> str:
    return "known:" + _digest(f"{email}\n{client_ip or 'unknown'}")


_t = LoginThrottle.__table__
_now = bindparam("now", type_=Float)
_window = bindparam("window", type_=Float)
_slow = bindparam("slow", type_=Float)
_free = bindparam("free", type_=Integer)


def _reserve_statement(dialect: str):
    """Count one attempt and answer whether it may be verified — one statement.

    In a live window: granted while within the free attempts, then only when the slow
    lane is open (which it then closes for `slow` seconds). An expired window starts
    over. Every SET expression sees the row as it was (SQL semantics on both databases).
    """
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    expired = _t.c.window_start <= _now - _window
    within_free = _t.c.attempts + 1 <= _free
    lane_open = _t.c.slow_next <= _now
    statement = make_insert(_t).values(
        key=bindparam("key"),
        window_start=_now,
        attempts=1,
        slow_next=literal(0.0, Float),
        granted=literal(True, Boolean),
    )
    return statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "attempts": case((expired, 1), else_=_t.c.attempts + 1),
            "window_start": case((expired, _now), else_=_t.c.window_start),
            "granted": case((expired, True), (within_free, True), else_=lane_open),
            "slow_next": case(
                (expired, literal(0.0, Float)),
                (within_free, _t.c.slow_next),
                (lane_open, _now + _slow),
                else_=_t.c.slow_next,
            ),
        },
    ).returning(_t.c.granted, _t.c.slow_next)


_RESERVE = {name: _reserve_statement(name) for name in ("postgresql", "sqlite")}


def _dialect(session: Session) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


def reserve_attempt(session: Session, email: str, client_ip: str, *, now: float) -> None:
    """Count this attempt against the address, then the account; raise SignInRefused if
    either says no (the caller commits either way: refused attempts count too)."""
    counters = [
        _Counter(
            _address_key(client_ip),
            ADDRESS_FREE_ATTEMPTS,
            "Too many sign-in attempts from this address. Try again in {wait} seconds.",
        )
    ]
    known = session.scalar(
        select(_t.c.window_start).where(_t.c.key == _known_key(email, client_ip))
    )
    if known is None or known < now - KNOWN_ADDRESS_FOR:
        counters.append(
            _Counter(
                _account_key(email),
                ACCOUNT_FREE_ATTEMPTS,
                "Too many sign-in attempts. Try again in {wait} seconds.",
            )
        )
    statement = _RESERVE[_dialect(session)]
    for counter in counters:
        granted, slow_next = session.connection().execute(
            statement,
            {"key": counter.key, "now": now, "window": WINDOW, "slow": SLOW_LANE,
             "free": counter.free},
        ).one()
        if not granted:
            wait = max(1, int(slow_next - now + 0.999))
            raise SignInRefused(counter.refusal.format(wait=wait), retry_after=wait)


def _record_success(session: Session, user_id: int, email: str, client_ip: str, *,
                    new_hash: str | None, now: float, when: datetime) -> User | None:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    user.last_login_at = when
    user.failed_logins = 0
    user.locked_until = None
    if new_hash is not None:
        user.password_hash = new_hash
    session.execute(delete(_t).where(_t.c.key == _account_key(email)))
    # A success gives its address attempt back: only failures use up an address's
    # allowance (an office behind one address signs in many times a day).
    session.execute(
        update(_t)
        .where(_t.c.key == _address_key(client_ip), _t.c.attempts > 0)
        .values(attempts=_t.c.attempts - 1)
    )
    make_insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    session.execute(
        make_insert(_t)
        .values(key=_known_key(email, client_ip), window_start=now, attempts=0)
        .on_conflict_do_update(index_elements=["key"], set_={"window_start": now})
    )
    session.flush()
    return user


class _VerifySlots:
    """The per-process cap on concurrent password checks (sized from the settings)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._semaphore: threading.BoundedSemaphore | None = None

    def get(self) -> threading.BoundedSemaphore:
        with self._lock:
            if self._semaphore is None:
                self._semaphore = threading.BoundedSemaphore(settings().login_concurrency)
            return self._semaphore

    def reset(self) -> None:
        with self._lock:
            self._semaphore = None


verify_slots = _VerifySlots()


def verify_password(password_hash: str, password: str) -> bool:
    """The argon2 check, at most `RACKROOM_LOGIN_CONCURRENCY` at once in this process."""
    semaphore = verify_slots.get()
    if not semaphore.acquire(timeout=VERIFY_WAIT):
        raise SignInRefused("Sign-in is busy right now. Try again in a moment.", retry_after=5)
    try:
        return _verify(password_hash, password)
    finally:
        semaphore.release()


def sign_in(
    email: str,
    password: str,
    *,
    client_ip: str = "",
    engine: Engine | None = None,
    now: datetime | None = None,
) -> User:
    """The active user with these credentials, or AuthenticationFailed (SignInRefused
    when throttled). The password is checked outside any write transaction."""
    when = now or utcnow()
    stamp = when.timestamp() if now is not None else time.time()
    email = email.strip().lower()[:254]
    client_ip = (client_ip or "unknown")[:64]
    with transaction(engine) as session:
        try:
            reserve_attempt(session, email, client_ip, now=stamp)
            refusal = None
        except SignInRefused as refused:
            refusal = refused  # committed below: the refused attempt counts too
    if refusal is not None:
        raise refusal
    with read_session(engine) as session:
        row = session.execute(
            select(User.id, User.password_hash, User.is_active).where(User.email == email)
        ).one_or_none()
    if row is None or not row.is_active:
        verify_password(dummy_hash(), password)
        raise AuthenticationFailed(WRONG)
    if not verify_password(row.password_hash, password):
        raise AuthenticationFailed(WRONG)
    # Hashing is as slow as checking: done here, not inside the write transaction.
    hasher = password_hasher()
    new_hash = hasher.hash(password) if hasher.check_needs_rehash(row.password_hash) else None
    with transaction(engine) as session:
        user = _record_success(
            session, row.id, email, client_ip, new_hash=new_hash, now=stamp, when=when
        )
    if user is None:
        raise AuthenticationFailed(WRONG)
    return user


def clear_account_throttle(session: Session, email: str) -> None:
    """Forget an account's failed attempts (an admin reset its password or reactivated it)."""
    session.execute(delete(_t).where(_t.c.key == _account_key(email.strip().lower())))
