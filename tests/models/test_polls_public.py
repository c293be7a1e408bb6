"""The public side of polls (issue 15), on SQLite and PostgreSQL: random slugs, public
only when published and open (one identical "not found" otherwise), server-signed
respondent tokens, daily caps per address and per poll; the migration that gives
existing polls their slugs."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from alembic.config import Config
from sqlalchemy import create_engine, text

from alembic import command
from models.db import PROJECT_ROOT, transaction
from models.errors import NotFound
from models.polls import (
    EmbedLimits,
    InvalidRespondent,
    RateLimited,
    create_poll,
    embed_poll,
    is_respondent_token,
    issue_respondent_token,
    respondent_of,
    set_poll_published,
    set_poll_status,
    submit_embed_vote,
)
from models.polls.embed import address_key
from models.secrets import reset_keys
from models.settings import reload_settings
from tests.factories import make_world

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(engine):
    make_world(engine)
    make_world(engine, brand="OTH", warehouses=())
    with transaction(engine) as session:
        polls = {
            name: create_poll(session, f"{name}?", [{"label": "Yes"}, {"label": "No"}],
                              actor="t", brand_code=brand, brand_scope=None,
                              published=published).poll
            for name, brand, published in (
                ("public", "NRD", True), ("draft", "NRD", False), ("closed", "OTH", True),
            )
        }
        set_poll_status(session, polls["closed"].id, "closed", brand_scope=None)
    return engine, polls


def _not_found(engine, slug: object) -> str:
    with transaction(engine) as session, pytest.raises(NotFound) as refused:
        embed_poll(session, slug)  # type: ignore[arg-type]
    return f"{refused.value.code}|{refused.value.message}|{refused.value.details}"


def test_a_sequential_id_or_a_hidden_poll_reveals_nothing(shop):
    engine, polls = shop
    public = polls["public"]
    assert len(public.slug) == 16 and not public.slug.isdigit()
    assert len({p.slug for p in polls.values()}) == 3
    with transaction(engine) as session:
        assert embed_poll(session, public.slug).question == "public?"
    answers = {
        _not_found(engine, slug)
        for slug in (
            str(public.id), "1", "2", "999999",  # ids, a poll's own among them
            polls["draft"].slug,  # unpublished
            polls["closed"].slug,  # published, closed, another brand's
            "A" * 16, public.slug[:-1] + ("x" if public.slug[-1] != "x" else "y"),
            "", "../../etc", "x" * 500,
        )
    }
    assert answers == {"not_found|This poll is not available.|{}"}


def test_publishing_and_closing_decide_what_is_public(shop):
    engine, polls = shop
    draft = polls["draft"]
    with transaction(engine) as session:
        assert set_poll_published(session, draft.id, True, brand_scope=None).published
    with transaction(engine) as session:
        assert embed_poll(session, draft.slug).slug == draft.slug
        set_poll_status(session, draft.id, "closed", brand_scope=None)
    _not_found(engine, draft.slug)
    with transaction(engine) as session:
        set_poll_status(session, draft.id, "open", brand_scope=None)
        set_poll_published(session, draft.id, False, brand_scope=None)
    _not_found(engine, draft.slug)
    token = issue_respondent_token()
    with pytest.raises(NotFound):
        submit_embed_vote(draft.slug, "Yes", respondent_token=token, client_ip="192.0.2.1",
                          engine=engine, now=NOW)


def test_respondent_tokens_are_signed_by_the_server(shop, monkeypatch):
    engine, polls = shop
    token = issue_respondent_token()
    assert is_respondent_token(token) and respondent_of(token) == token.rsplit(".", 1)[0]
    ident = token.split(".")[1]
    forged = [
        "shopper-1", "", None, 42, f"r1.{ident}", f"r1.{ident}.{'0' * 32}",
        f"r1.{ident[:-1]}{'A' if ident[-1] != 'A' else 'B'}.{token[-32:]}",
        token.upper(), token + "0",
    ]
    for value in forged:
        assert not is_respondent_token(value), value
        with pytest.raises(InvalidRespondent, match="Reload the page"):
            submit_embed_vote(polls["public"].slug, "Yes", respondent_token=value,
                              client_ip="192.0.2.1", engine=engine, now=NOW)
    # Another server's key: refused; a rotated key still accepts the old tokens.
    suite_key = os.environ["RACKROOM_SECRET_KEY"]
    old_key = "x5gq7kxzk5eHyO7-dVNQYbpGxwE0v5sH9pZ-3WnlTeA="
    new_key = "3sBu1cTQgm2LmL0ywQ0jW6kLVn1mhTfy3kq7xQbm5lE="
    monkeypatch.setenv("RACKROOM_SECRET_KEY", old_key)
    reload_settings(), reset_keys()
    signed_before = issue_respondent_token()
    monkeypatch.setenv("RACKROOM_SECRET_KEY", new_key)
    reload_settings(), reset_keys()
    assert not is_respondent_token(signed_before)
    monkeypatch.setenv("RACKROOM_SECRET_KEY", f"{new_key},{old_key}")
    reload_settings(), reset_keys()
    assert is_respondent_token(signed_before)
    monkeypatch.setenv("RACKROOM_SECRET_KEY", suite_key)  # the next tests' keys, loaded
    reload_settings(), reset_keys()


def test_daily_caps_per_address_and_per_poll_say_so(shop):
    engine, polls = shop
    slug = polls["public"].slug
    limits = EmbedLimits(per_address_day=4, per_poll_day=6)

    def vote(address: str, minute: int) -> None:
        submit_embed_vote(slug, "Yes", respondent_token=issue_respondent_token(),
                          client_ip=address, engine=engine,
                          now=NOW + timedelta(minutes=minute), limits=limits)

    for minute in range(4):  # well within the per-minute limit, minutes apart
        vote("198.51.100.7", minute)
    with pytest.raises(RateLimited) as address_day:
        vote("198.51.100.7", 10)
    assert "from this address today" in address_day.value.message
    assert address_day.value.retry_after == 12 * 3600 - 600  # until midnight UTC
    # One IPv6 subscriber's /64 is one address.
    vote("2001:db8:1:2::1", 11)
    vote("2001:db8:1:2::ffff", 12)
    with pytest.raises(RateLimited) as poll_day:
        vote("203.0.113.9", 13)
    assert "This poll has taken all the votes it takes today" in poll_day.value.message
    assert address_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    # The next day starts afresh.
    vote("203.0.113.9", 24 * 60)


def test_the_migration_gives_existing_polls_slugs(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "0011_password_change")
    engine = create_engine(url)
    with engine.begin() as conn:
        for n in (1, 2):
            conn.execute(text(
                "INSERT INTO poll (question, status, webhook_secret, created_by, created_at) "
                f"VALUES ('q{n}', 'open', 's', 't', '2026-01-01 00:00:00')"
            ))
    command.upgrade(config, "0013_polls")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT slug, published FROM poll")).all()
    engine.dispose()
    assert len({slug for slug, _ in rows}) == 2
    assert all(len(slug) == 16 and not published for slug, published in rows)
