"""Accounts: argon2 passwords, throttled guessing, expiring login sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models.base import utcnow
from models.catalog import create_brand
from models.db import transaction
from models.errors import AuthenticationFailed, Conflict, InvalidQuantity, NotFound
from models.users import (
    SESSION_LIFETIME,
    User,
    authenticate,
    create_user,
    end_login_session,
    start_login_session,
    user_for_token,
)


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine


def test_passwords_are_stored_as_argon2_hashes(engine):
    with transaction(engine) as session:
        create_user(session, "Merch@Example.com", "correct horse", "merchandiser")
    with transaction(engine) as session:
        user = session.scalar(select(User))
        assert user.email == "merch@example.com"
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
    assert authenticate("merch@example.com", "correct horse", engine=engine).id == user.id


def test_bad_accounts_are_refused(engine):
    with transaction(engine) as session:
        create_brand(session, "NRD", "Nordlys")
        create_user(session, "a@x.test", "long enough", "admin")
    cases = [
        (("a@x.test", "long enough", "admin"), Conflict),
        (("b@x.test", "short", "admin"), InvalidQuantity),
        (("not-an-email", "long enough", "admin"), InvalidQuantity),
        (("c@x.test", "long enough", "overlord"), InvalidQuantity),
        (("d@x.test", "long enough", "vendor"), InvalidQuantity),
    ]
    for args, error in cases:
        with pytest.raises(error), transaction(engine) as session:
            create_user(session, *args)
    with pytest.raises(NotFound), transaction(engine) as session:
        create_user(session, "v@x.test", "long enough", "vendor", brand_code="NOPE")
    with transaction(engine) as session:
        vendor = create_user(session, "v@x.test", "long enough", "vendor", brand_code="nrd")
        assert vendor.brand_id is not None


def test_repeated_failures_make_each_further_attempt_wait(engine):
    now = utcnow()
    with transaction(engine) as session:
        create_user(session, "m@x.test", "the right one", "manager")
    for _ in range(3):
        with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
            authenticate("m@x.test", "wrong guess", engine=engine, now=now)
    # Locked now: even the right password waits.
    with pytest.raises(AuthenticationFailed, match="Try again in 3 seconds"):
        authenticate("m@x.test", "the right one", engine=engine, now=now)
    user = authenticate("m@x.test", "the right one", engine=engine, now=now + timedelta(minutes=1))
    assert user.failed_logins == 0


def test_unknown_user_and_inactive_user_get_the_same_answer(engine):
    with transaction(engine) as session:
        user = create_user(session, "gone@x.test", "long enough", "merchandiser")
        user.is_active = False
    for email in ("gone@x.test", "nobody@x.test"):
        with pytest.raises(AuthenticationFailed, match=r"^Wrong email or password\.$"):
            authenticate(email, "long enough", engine=engine)


def test_login_sessions_expire_and_end(engine):
    now = utcnow()
    with transaction(engine) as session:
        user = create_user(session, "m@x.test", "long enough", "merchandiser")
        token = start_login_session(session, user, now=now)
    with transaction(engine) as session:
        assert user_for_token(session, token, now=now).email == "m@x.test"
        assert user_for_token(session, token, now=now + SESSION_LIFETIME) is None
        assert user_for_token(session, token + "x", now=now) is None
        end_login_session(session, token)
    with transaction(engine) as session:
        assert user_for_token(session, token, now=now) is None
