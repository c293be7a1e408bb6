"""The polls API over real HTTP (uvicorn on 127.0.0.1), on SQLite and PostgreSQL:
creation with the secret shown once, signed webhooks (bad, old, reused signatures),
CSV uploads, and the public embed vote with its one-vote rule and rate limit."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from models.db import set_default_engine
from models.polls import EMBED_LIMIT_PER_IP, SIGNATURE_HEADER, sign
from models.settings import reload_settings
from tests.api_support import client, make_key, serve_api
from tests.factories import make_world

BODY = {
    "question": "Which size should we restock?",
    "brand": "NRD",
    "options": [
        {"label": "M", "size": "M"},
        {"label": "Navy", "colour": "Navy"},
        {"label": "Knit dress", "product": "STYLE"},
    ],
}


@pytest.fixture(scope="module")
def api_url():
    with serve_api() as url:
        yield url


@pytest.fixture
def polls(engine, api_url):
    set_default_engine(engine)
    make_world(engine)
    make_world(engine, brand="OTH", warehouses=())
    keys = {
        "polls": make_key(engine, "survey", "polls:write"),
        "stock": make_key(engine, "reader", "stock:read"),
        "oth": make_key(engine, "oth-system", "polls:write", brand="OTH"),
    }
    api = {name: client(api_url, key) for name, key in keys.items()}
    api["public"] = client(api_url, None)
    created = api["polls"].post("/polls", json=BODY)
    assert created.status_code == 201, created.text
    yield api, created.json()
    set_default_engine(None)


def error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and body["message"], body
    return body


def post_signed(api, poll_id: int, payload, secret: str, *, at: int | None = None,
                header: str | None = None) -> httpx.Response:
    raw = json.dumps(payload).encode()
    header = header or sign(secret, raw, at if at is not None else int(time.time()))
    return api["public"].post(
        f"/polls/{poll_id}/responses", content=raw,
        headers={SIGNATURE_HEADER: header, "Content-Type": "application/json"},
    )


def test_create_returns_the_secret_once_and_get_returns_counts(polls):
    api, poll = polls
    assert poll["webhook_secret"].startswith("whsec_")
    assert [o["label"] for o in poll["options"]] == ["M", "Navy", "Knit dress"]
    assert poll["options"][2]["product"] == "STYLE" and poll["brand"] == "NRD"
    read = api["polls"].get(f"/polls/{poll['id']}")
    assert read.status_code == 200
    body = read.json()
    assert "webhook_secret" not in body and poll["webhook_secret"] not in read.text
    assert body["total_votes"] == 0 and [o["votes"] for o in body["options"]] == [0, 0, 0]


def test_create_checks_scope_brand_and_body(polls):
    api, poll = polls
    error(api["stock"].post("/polls", json=BODY), 403, "forbidden")
    error(api["public"].post("/polls", json=BODY), 401, "unauthorized")
    error(api["oth"].post("/polls", json=BODY), 403, "permission_denied")
    # Another brand's poll is a 404, the same as a missing one.
    other = error(api["oth"].get(f"/polls/{poll['id']}"), 404, "not_found")
    missing = error(api["oth"].get("/polls/999999"), 404, "not_found")
    assert other["message"].replace(str(poll["id"]), "N") == missing["message"].replace(
        "999999", "N")
    own = api["oth"].post("/polls", json={"question": "Q", "options": [{"label": "A"}]})
    assert own.status_code == 201 and own.json()["brand"] == "OTH"
    error(api["polls"].post("/polls", json={**BODY, "options": []}), 422, "validation_error")
    error(api["polls"].post("/polls", json={**BODY, "colour": "x"}), 422, "validation_error")
    error(api["polls"].post("/polls", json={**BODY, "brand": "NOPE"}), 404, "not_found")
    error(api["polls"].get("/polls/999999"), 404, "not_found")


def test_signed_webhook_counts_votes(polls):
    api, poll = polls
    secret, pid = poll["webhook_secret"], poll["id"]
    one = post_signed(api, pid, {"option": "M", "respondent": "r1",
                                 "answered_at": "2026-06-29T10:00:00Z"}, secret)
    assert one.status_code == 200, one.text
    assert one.json() == {"poll_id": pid, "received": 1, "recorded": 1}
    navy = poll["options"][1]["id"]
    many = post_signed(api, pid, [{"option": navy, "respondent": "r2"},
                                  {"option": "m", "respondent": "r3"}], secret)
    assert many.json()["recorded"] == 2
    counts = {o["label"]: o["votes"] for o in api["polls"].get(f"/polls/{pid}").json()["options"]}
    assert counts == {"M": 2, "Navy": 1, "Knit dress": 0}


def test_webhook_refuses_bad_old_and_replayed_signatures(polls):
    api, poll = polls
    secret, pid = poll["webhook_secret"], poll["id"]
    payload = {"option": "M", "respondent": "r1"}
    error(post_signed(api, pid, payload, "whsec_wrong"), 401, "invalid_signature")
    error(post_signed(api, pid, payload, secret, header="t=123"), 401, "invalid_signature")
    missing = api["public"].post(f"/polls/{pid}/responses", json=payload)
    error(missing, 401, "invalid_signature")
    old = int(time.time()) - 301
    error(post_signed(api, pid, payload, secret, at=old), 401, "signature_expired")
    # The body is what is signed: the same header on another body does not verify.
    raw = json.dumps(payload).encode()
    header = sign(secret, raw, int(time.time()))
    tampered = api["public"].post(
        f"/polls/{pid}/responses", content=raw.replace(b"r1", b"r9"),
        headers={SIGNATURE_HEADER: header, "Content-Type": "application/json"},
    )
    error(tampered, 401, "invalid_signature")
    first = api["public"].post(f"/polls/{pid}/responses", content=raw,
                               headers={SIGNATURE_HEADER: header})
    assert first.status_code == 200, first.text
    replay = api["public"].post(f"/polls/{pid}/responses", content=raw,
                                headers={SIGNATURE_HEADER: header})
    error(replay, 401, "signature_reused")
    assert api["polls"].get(f"/polls/{pid}").json()["total_votes"] == 1


def test_webhook_refuses_an_option_of_another_poll(polls):
    api, poll = polls
    other = api["polls"].post("/polls", json={"question": "Other", "options": [{"label": "X"}]})
    other_option = other.json()["options"][0]["id"]
    body = error(
        post_signed(api, poll["id"], [{"option": "M", "respondent": "a"},
                                      {"option": other_option, "respondent": "b"}],
                    poll["webhook_secret"]),
        422, "invalid_vote",
    )
    assert body["details"]["fields"][0]["field"] == "[1].option"
    assert api["polls"].get(f"/polls/{poll['id']}").json()["total_votes"] == 0
    error(post_signed(api, 999999, {"option": "M", "respondent": "a"}, "x"), 404, "not_found")


def test_csv_upload_reports_unknown_options_by_row(polls):
    api, poll = polls
    url = f"/polls/{poll['id']}/responses/csv"
    bad = "respondent,answer\na,M\nb,Purple\nc,Navy\nd,Teal\n"
    body = error(api["polls"].post(url, content=bad, headers={"Content-Type": "text/csv"}),
                 422, "invalid_rows")
    assert [(e["row"], e["value"]) for e in body["details"]["errors"]] == [
        (3, "Purple"), (5, "Teal")
    ]
    assert api["polls"].get(f"/polls/{poll['id']}").json()["total_votes"] == 0
    good = api["polls"].post(url, content="respondent,answer\na,M\nc,Navy\n")
    assert good.status_code == 200, good.text
    assert good.json() == {"poll_id": poll["id"], "rows": 2, "recorded": 2, "applied": True}
    error(api["stock"].post(url, content="respondent,answer\na,M\n"), 403, "forbidden")


def _publish(api, poll) -> dict:
    published = api["polls"].patch(f"/polls/{poll['id']}", json={"published": True})
    assert published.status_code == 200, published.text
    return published.json()


def _token(api, slug: str) -> str:
    return api["public"].get(f"/polls/{slug}/embed").json()["respondent_token"]


def test_embed_vote_is_public_one_per_respondent(polls):
    api, poll = polls
    slug = _publish(api, poll)["slug"]
    assert poll["embed_path"] == f"/embed/poll/{slug}" and poll["published"] is False
    shown = api["public"].get(f"/polls/{slug}/embed")
    assert shown.status_code == 200
    body = shown.json()
    assert body["options"][0] == {"id": poll["options"][0]["id"], "label": "M"}
    assert "votes" not in shown.text and "secret" not in shown.text
    assert str(poll["id"]) not in [str(v) for v in body.values()]
    token = body["respondent_token"]
    kept = api["public"].get(f"/polls/{slug}/embed", params={"respondent_token": token})
    assert kept.json()["respondent_token"] == token  # a signed token is given back
    voted = api["public"].post(f"/polls/{slug}/embed/votes",
                               json={"option": poll["options"][1]["id"], "respondent": token})
    assert voted.status_code == 201, voted.text
    assert voted.json()["slug"] == slug
    again = api["public"].post(f"/polls/{slug}/embed/votes",
                               json={"option": "M", "respondent": token})
    error(again, 409, "already_voted")
    error(api["public"].post(f"/polls/{slug}/embed/votes",
                             json={"option": "Teal", "respondent": _token(api, slug)}),
          422, "invalid_vote")
    read = api["polls"].get(f"/polls/{poll['id']}").json()
    assert {o["label"]: o["votes"] for o in read["options"]} == {"M": 0, "Navy": 1,
                                                                 "Knit dress": 0}


def test_a_sequential_poll_id_reveals_nothing(polls):
    """Ids, unpublished, closed and other brands' polls: one identical 404, read or vote."""
    api, poll = polls
    draft = poll  # created unpublished
    other = api["oth"].post("/polls", json={"question": "Q", "published": True,
                                            "options": [{"label": "A"}]}).json()
    closed = api["polls"].post("/polls", json={**BODY, "published": True}).json()
    assert api["polls"].patch(f"/polls/{closed['id']}", json={"status": "closed"}).json()[
        "status"] == "closed"
    assert api["public"].get(f"/polls/{other['slug']}/embed").status_code == 200
    api["oth"].patch(f"/polls/{other['id']}", json={"published": False})
    token = _token(api, api["polls"].post("/polls", json={**BODY, "published": True}).json()[
        "slug"])  # a genuine token, so only the poll decides
    answers = set()
    for key in (str(poll["id"]), str(other["id"]), "1", "2", "999999", draft["slug"],
                other["slug"], closed["slug"], "not-a-slug-at-all"):
        shown = api["public"].get(f"/polls/{key}/embed")
        vote = api["public"].post(f"/polls/{key}/embed/votes",
                                  json={"option": "M", "respondent": token})
        assert shown.status_code == 404, (key, shown.text)
        answers |= {(shown.status_code, shown.text), (vote.status_code, vote.text)}
    assert len(answers) == 1
    assert json.loads(answers.pop()[1]) == {"error": "not_found",
                                            "message": "This poll is not available.",
                                            "details": {}}


def test_forged_respondent_tokens_are_refused(polls):
    api, poll = polls
    slug = _publish(api, poll)["slug"]
    real = _token(api, slug)
    for forged in ("s1", "bot-1", real[:-1] + ("0" if real[-1] != "0" else "1"),
                   "r1.AAAAAAAAAAAAAAAAAAAAAA." + "0" * 32):
        refused = api["public"].post(f"/polls/{slug}/embed/votes",
                                     json={"option": "M", "respondent": forged})
        error(refused, 403, "invalid_respondent")
        fresh = api["public"].get(f"/polls/{slug}/embed", params={"respondent_token": forged})
        assert fresh.json()["respondent_token"] != forged  # never handed back
    assert api["polls"].get(f"/polls/{poll['id']}").json()["total_votes"] == 0


def test_publish_and_close_need_the_key_and_the_brand(polls):
    api, poll = polls
    error(api["public"].patch(f"/polls/{poll['id']}", json={"published": True}),
          401, "unauthorized")
    error(api["oth"].patch(f"/polls/{poll['id']}", json={"published": True}), 404, "not_found")
    error(api["polls"].patch(f"/polls/{poll['id']}", json={"published": "yes"}),
          422, "validation_error")
    error(api["polls"].patch(f"/polls/{poll['id']}", json={"status": "paused"}),
          422, "validation_error")
    assert api["polls"].get(f"/polls/{poll['id']}").json()["published"] is False


def _away_from_a_minute_boundary(margin: float = 4.0) -> None:
    """The limit is a fixed one-minute window: do not start a burst as one ends."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.1)


def test_embed_votes_are_rate_limited_per_address(polls):
    api, poll = polls
    slug = _publish(api, poll)["slug"]
    tokens = [_token(api, slug) for _ in range(EMBED_LIMIT_PER_IP + 4)]
    _away_from_a_minute_boundary()
    statuses = [
        api["public"].post(f"/polls/{slug}/embed/votes",
                           json={"option": "M", "respondent": tokens[i]}).status_code
        for i in range(EMBED_LIMIT_PER_IP + 3)
    ]
    assert statuses[:EMBED_LIMIT_PER_IP] == [201] * EMBED_LIMIT_PER_IP
    assert statuses[EMBED_LIMIT_PER_IP:] == [429] * 3
    limited = api["public"].post(f"/polls/{slug}/embed/votes",
                                 json={"option": "M", "respondent": tokens[-1]})
    body = error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert body["details"]["retry_after"] == int(limited.headers["Retry-After"])
    assert api["polls"].get(f"/polls/{poll['id']}").json()["total_votes"] == EMBED_LIMIT_PER_IP


def test_embed_votes_are_rate_limited_per_respondent(polls):
    api, poll = polls
    slug = _publish(api, poll)["slug"]
    token = _token(api, slug)
    _away_from_a_minute_boundary()
    statuses = [
        api["public"].post(f"/polls/{slug}/embed/votes",
                           json={"option": "M", "respondent": token}).status_code
        for _ in range(7)
    ]
    assert statuses == [201, 409, 409, 409, 409, 429, 429]


def test_a_daily_cap_is_a_clear_429(polls, monkeypatch):
    api, poll = polls
    monkeypatch.setenv("RACKROOM_POLL_DAILY_VOTES_PER_ADDRESS", "3")
    reload_settings()
    try:
        slug = _publish(api, poll)["slug"]
        tokens = [_token(api, slug) for _ in range(4)]
        statuses = [api["public"].post(f"/polls/{slug}/embed/votes",
                                       json={"option": "M", "respondent": t}).status_code
                    for t in tokens]
        assert statuses == [201, 201, 201, 429]
        capped = api["public"].post(f"/polls/{slug}/embed/votes",
                                    json={"option": "M", "respondent": _token(api, slug)})
        body = error(capped, 429, "rate_limited")
        assert "Too many votes from this address today; try again tomorrow" in body["message"]
        assert 60 <= int(capped.headers["Retry-After"]) <= 86_400
    finally:
        monkeypatch.delenv("RACKROOM_POLL_DAILY_VOTES_PER_ADDRESS")
        reload_settings()
