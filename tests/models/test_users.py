"""Accounts: argon2 passwords, throttled guessing, expiring login sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import select

from models.base import utcnow
from models.catalog import create_brand
from models.db import transaction
from models.errors import AuthenticationFailed, Conflict, InvalidQuantity, NotFound
from models.signin import ACCOUNT_FREE_ATTEMPTS, SLOW_LANE
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


def test_production_hashes_use_argon2s_recommended_cost_and_upgrade_cheaper_ones(
    sqlite_engine, standard_password_hashing
):
    """The suite hashes cheaply; the product must not. A hash made at a lower cost (an
    older setting) is replaced at the next successful sign-in."""
    with transaction(sqlite_engine) as session:
        user = create_user(session, "m@x.test", "correct horse", "manager")
        assert "$m=65536,t=3,p=4$" in user.password_hash
        user.password_hash = PasswordHasher.from_parameters(CHEAPEST).hash("correct horse")
    authenticate("m@x.test", "correct horse", engine=sqlite_engine)
    with transaction(sqlite_engine) as session:
        assert "$m=65536,t=3,p=4$" in session.get(User, user.id).password_hash


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
    """After the free attempts each further attempt waits for the slow lane (one per
    SLOW_LANE seconds); the right password then still gets in: no lock held forever."""
    now = utcnow()
    with transaction(engine) as session:
        create_user(session, "m@x.test", "the right one", "manager")
    for _ in range(ACCOUNT_FREE_ATTEMPTS):
        with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
            authenticate("m@x.test", "wrong guess", engine=engine, now=now)
    # The slow lane lets one more through, then even the right password waits.
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        authenticate("m@x.test", "wrong guess", engine=engine, now=now)
    with pytest.raises(AuthenticationFailed, match=f"Try again in {int(SLOW_LANE)} seconds"):
        authenticate("m@x.test", "the right one", engine=engine, now=now)
    later = now + timedelta(seconds=SLOW_LANE)
    user = authenticate("m@x.test", "the right one", engine=engine, now=later)
    assert user.last_login_at == later


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
