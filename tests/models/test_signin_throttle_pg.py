"""Sign-in: the throttle cannot be raced, the hash check holds no write lock, unknown
emails look like real ones, and nobody can keep an owner out for good.

The argon2 check is counted by wrapping `models.signin._verify` (it still verifies).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import signin
from models.base import utcnow
from models.db import set_default_engine, transaction
from models.errors import AuthenticationFailed
from models.settings import reload_settings
from models.signin import (
    ACCOUNT_FREE_ATTEMPTS,
    ADDRESS_FREE_ATTEMPTS,
    SLOW_LANE,
    LoginThrottle,
    _account_key,
    _address_key,
    sign_in,
    verify_slots,
)
from models.stock import receive
from models.users import create_user
from tests.api_support import client, make_key, serve_api
from tests.factories import make_world


class VerifyCounter:
    """Counts argon2 checks (and optionally runs a probe inside each)."""

    def __init__(self, probe=None) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.probe = probe
        self._real = signin._verify

    def __call__(self, password_hash: str, password: str) -> bool:
        with self.lock:
            self.calls += 1
        if self.probe is not None:
            self.probe()
        return self._real(password_hash, password)


@pytest.fixture
def counted(monkeypatch):
    counter = VerifyCounter()
    monkeypatch.setattr(signin, "_verify", counter)
    return counter


@pytest.fixture
def wide_slots(monkeypatch):
    """Let all parallel attempts verify at once, so only the throttle limits them."""
    monkeypatch.setenv("RACKROOM_LOGIN_CONCURRENCY", "64")
    reload_settings()
    verify_slots.reset()
    yield
    monkeypatch.delenv("RACKROOM_LOGIN_CONCURRENCY")
    reload_settings()
    verify_slots.reset()


def _attempt(engine, email: str, password: str, ip: str) -> str:
    try:
        sign_in(email, password, client_ip=ip, engine=engine)
        return "ok"
    except AuthenticationFailed as failure:
        return failure.message


@pytest.mark.parametrize("addresses", ["one", "many"])
def test_forty_parallel_wrong_passwords_on_postgres_verify_at_most_the_allowance(
    pg_engine, counted, wide_slots, addresses
):
    with transaction(pg_engine) as session:
        create_user(session, "m@x.test", "the right one", "manager")
    ips = [("203.0.113.9" if addresses == "one" else f"203.0.113.{i}") for i in range(40)]
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda ip: _attempt(pg_engine, "m@x.test", "guess", ip), ips))
    # The free attempts, plus one through the slow lane; every attempt was counted.
    assert counted.calls <= ACCOUNT_FREE_ATTEMPTS + 1
    assert answers.count("Wrong email or password.") == counted.calls
    assert all(a.startswith("Too many sign-in attempts") for a in answers if "Wrong" not in a)
    with transaction(pg_engine) as session:
        row = session.get(LoginThrottle, _account_key("m@x.test"))
        # From one address, attempts the address refused never reach the account.
        assert row.attempts == (40 if addresses == "many" else ADDRESS_FREE_ATTEMPTS + 1)


def test_unknown_emails_get_the_same_answers_and_the_same_checks(engine, counted):
    with transaction(engine) as session:
        create_user(session, "real@x.test", "the right one", "manager")
    answers = {}
    for email in ("real@x.test", "nobody@x.test"):
        before = counted.calls
        answers[email] = [
            _attempt(engine, email, "guess", f"198.51.100.{i}")
            for i in range(ACCOUNT_FREE_ATTEMPTS + 3)
        ]
        answers[email].append(counted.calls - before)
    assert answers["real@x.test"] == answers["nobody@x.test"]
    assert answers["real@x.test"][-1] == ACCOUNT_FREE_ATTEMPTS + 1


def test_an_address_is_throttled_too_with_the_same_message_for_any_email(engine, counted):
    now = utcnow()
    for i in range(ADDRESS_FREE_ATTEMPTS + 1):  # a different email each time
        with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
            sign_in(f"n{i}@x.test", "guess", client_ip="192.0.2.1", engine=engine, now=now)
    with pytest.raises(AuthenticationFailed, match=r"from this address\. Try again in"):
        sign_in("other@x.test", "guess", client_ip="192.0.2.1", engine=engine, now=now)
    # Another address is not affected; the slow lane opens again later.
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        sign_in("other@x.test", "guess", client_ip="192.0.2.2", engine=engine, now=now)
    later = now + timedelta(seconds=SLOW_LANE)
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        sign_in("other@x.test", "guess", client_ip="192.0.2.1", engine=engine, now=later)


def test_an_office_behind_one_address_signs_in_all_day(engine):
    """Only failures use up an address: many successful sign-ins from one address (staff
    behind one office router) are never throttled, and a failure among them counts."""
    now = utcnow()
    with transaction(engine) as session:
        for n in range(3):
            create_user(session, f"staff{n}@x.test", "the right one", "merchandiser")
    for i in range(ADDRESS_FREE_ATTEMPTS * 2):
        user = sign_in(f"staff{i % 3}@x.test", "the right one", client_ip="192.0.2.80",
                       engine=engine, now=now)
        assert user.email == f"staff{i % 3}@x.test"
    with transaction(engine) as session:
        assert session.get(LoginThrottle, _address_key("192.0.2.80")).attempts == 0
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        sign_in("staff0@x.test", "guess", client_ip="192.0.2.80", engine=engine, now=now)
    with transaction(engine) as session:
        assert session.get(LoginThrottle, _address_key("192.0.2.80")).attempts == 1


def test_an_outsider_cannot_keep_the_owner_out(engine):
    now = utcnow()
    with transaction(engine) as session:
        create_user(session, "m@x.test", "the right one", "manager")
    # The owner signed in from home before.
    sign_in("m@x.test", "the right one", client_ip="192.0.2.50", engine=engine, now=now)
    # An outsider burns the account's attempts and keeps the slow lane busy…
    for i in range(ACCOUNT_FREE_ATTEMPTS + 5):
        _attempt_at = now + timedelta(seconds=i)
        with contextlib.suppress(AuthenticationFailed):
            sign_in("m@x.test", "guess", client_ip="198.51.100.7", engine=engine,
                    now=_attempt_at)
    # …yet the owner, from an address they signed in from, gets in at once,
    with_known = now + timedelta(seconds=ACCOUNT_FREE_ATTEMPTS + 5)
    assert sign_in("m@x.test", "the right one", client_ip="192.0.2.50", engine=engine,
                   now=with_known).email == "m@x.test"
    # and from a new address through the slow lane after at most SLOW_LANE seconds.
    with transaction(engine) as session:
        for _ in range(ACCOUNT_FREE_ATTEMPTS + 1):  # exhaust again (the success cleared it)
            with contextlib.suppress(AuthenticationFailed):
                sign_in("m@x.test", "guess", client_ip="198.51.100.7", engine=engine,
                        now=with_known)
        assert session.scalar(select(LoginThrottle.attempts).where(
            LoginThrottle.key == _account_key("m@x.test"))) is not None
    new_place = with_known + timedelta(seconds=SLOW_LANE)
    assert sign_in("m@x.test", "the right one", client_ip="203.0.113.77", engine=engine,
                   now=new_place).email == "m@x.test"


def test_verifications_are_capped_per_process(sqlite_engine, monkeypatch):
    """RACKROOM_LOGIN_CONCURRENCY=1: never two argon2 checks at once."""
    monkeypatch.setenv("RACKROOM_LOGIN_CONCURRENCY", "1")
    reload_settings()
    verify_slots.reset()
    running, peak, lock = 0, 0, threading.Lock()
    real = signin._verify

    def tracked(password_hash: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            return real(password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(signin, "_verify", tracked)
    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(
                lambda i: _attempt(sqlite_engine, f"u{i}@x.test", "guess", f"192.0.2.{i}"),
                range(6),
            ))
    finally:
        monkeypatch.delenv("RACKROOM_LOGIN_CONCURRENCY")
        reload_settings()
        verify_slots.reset()
    assert peak == 1


def test_no_write_lock_is_held_while_the_password_is_checked(sqlite_engine, monkeypatch):
    """During each check a writer that refuses to wait at all (busy timeout 0) gets in."""
    path = sqlite_engine.url.database
    probe_failures: list[str] = []

    def write_without_waiting() -> None:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            probe_failures.append(str(error))
        finally:
            conn.close()

    counter = VerifyCounter(write_without_waiting)
    monkeypatch.setattr(signin, "_verify", counter)
    with transaction(sqlite_engine) as session:
        create_user(session, "m@x.test", "the right one", "manager")
    for email, password in [("m@x.test", "guess"), ("nobody@x.test", "guess"),
                            ("m@x.test", "the right one")]:
        _attempt(sqlite_engine, email, password, "192.0.2.1")
    assert counter.calls == 3
    assert probe_failures == []


def test_a_sign_in_flood_on_sqlite_leaves_api_receipts_answering(
    sqlite_engine, standard_password_hashing
):
    """Sign-ins with unknown emails from many addresses while a storefront posts receipts:
    every receipt answers (no "database is locked"); the timings are printed."""
    set_default_engine(sqlite_engine)
    world = make_world(sqlite_engine)
    with transaction(sqlite_engine) as session:
        receive(session, world.variants["M"], world.warehouses["WH1"], 1, actor="setup")
    key = make_key(sqlite_engine, "storefront", "stock:read", "stock:write", rate="10000/s",
                   burst=100_000)
    stop = threading.Event()
    flood_answers: list[str] = []

    def flood(worker: int) -> None:
        i = 0
        while not stop.is_set():
            flood_answers.append(
                _attempt(sqlite_engine, f"nobody{worker}-{i}@x.test", "guess", f"10.9.{worker}.{i}")
            )
            i += 1

    statuses, timings = [], []
    try:
        with serve_api() as url, ThreadPoolExecutor(4) as pool:
            api = client(url, key)
            for worker in range(4):
                pool.submit(flood, worker)
            i = 0
            while len(flood_answers) < 40 and i < 5000:  # receipts all through the flood
                i += 1
                started = time.perf_counter()
                made = api.post(
                    "/stock/NRD-TEE1-BLK-M/WH1/receipts", json={"qty": 1, "reference": f"PO{i}"}
                )
                timings.append(time.perf_counter() - started)
                statuses.append((made.status_code, made.text if made.status_code >= 300 else ""))
            stop.set()
    finally:
        stop.set()
        set_default_engine(None)
    assert all(code == 201 or code == 200 for code, _ in statuses), statuses
    assert not any("locked" in text for _, text in statuses)
    assert flood_answers and all(a == "Wrong email or password." for a in flood_answers)
    timings.sort()
    print(f"receipts during the flood: median {timings[len(timings) // 2] * 1000:.0f} ms, "
          f"max {timings[-1] * 1000:.0f} ms; {len(flood_answers)} sign-ins")


def test_a_session_idle_longer_than_the_timeout_has_ended(engine):
    from models.users import start_login_session, touch_login_session, user_for_token

    now = utcnow()
    with transaction(engine) as session:
        user = create_user(session, "m@x.test", "the right one", "manager")
        token = start_login_session(session, user, now=now)
    with transaction(engine) as session:
        assert user_for_token(session, token, now=now + timedelta(minutes=29)) is not None
        assert user_for_token(session, token, now=now + timedelta(minutes=31)) is None
    touch_login_session(token, engine=engine, now=now + timedelta(minutes=20))
    with transaction(engine) as session:
        assert user_for_token(session, token, now=now + timedelta(minutes=45)) is not None
        assert user_for_token(session, token, now=now + timedelta(minutes=51)) is None
