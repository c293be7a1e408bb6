"""Which sites may frame a poll's public page: the poll's own list of origins, checked
(scheme://host[:port], no wildcard), set through the API and the demand page, and sent
as `frame-ancestors` on that poll's /embed/ page over real HTTP ('none' when empty)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from dashboard.observability import behind_proxy
from dashboard.security_headers import security_headers
from dashboard.states.demand import DemandState
from models.db import set_default_engine, transaction
from models.errors import InvalidQuantity
from models.polls import (
    MAX_FRAME_ORIGINS,
    Poll,
    create_poll,
    parse_frame_origins,
    set_poll_frame_origins,
)
from tests.api_support import client, make_key, serve_api
from tests.dashboard.test_analytics_states import Shop, call, page_state, rendered, shop  # noqa: F401
from tests.factories import make_world

SHOP = "https://shop.example.com"
LOCAL = "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("HTTPS://Shop.Example.com:443/", [SHOP]),
        (f"{SHOP}, {LOCAL}\n{SHOP}", [SHOP, LOCAL]),  # commas, lines; duplicates dropped
        ([SHOP, " http://[::1]:9000 "], [SHOP, "http://[::1]:9000"]),
        ("http://shop.example.com:80", ["http://shop.example.com"]),
        ("", []),
        ("none", []),
        ("'none'", []),
        ([], []),
        (None, []),
    ],
)
def test_origins_are_checked_and_normalised(given, kept):
    assert parse_frame_origins(given) == kept


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("*", "wildcards"),
        ("https://*.example.com", "wildcards"),
        ("https:", "scheme://host"),
        ("'self'", "scheme://host"),
        ("shop.example.com", "scheme://host"),
        ("https://shop.example.com/poll", "scheme://host"),
        ("https://user@shop.example.com", "not a name"),
        ("https://shop.example.com;script-src", "not a name"),
        ("javascript://x", "only http"),
        ("ftp://shop.example.com", "only http"),
        ("https://shop.example.com:70000", "port"),
        ("https://[zz::1]", "IPv6"),
        ("https://bücher.example", "xn--"),
        (f"none {SHOP}", "beside sites"),
        ([f"https://s{n}.example.com" for n in range(MAX_FRAME_ORIGINS + 1)], "at most"),
    ],
)
def test_anything_but_plain_origins_is_refused(given, why):
    with pytest.raises(InvalidQuantity, match=why) as refused:
        parse_frame_origins(given)
    assert refused.value.details.get("field") == "frame_origins" or why == "at most"


def _page(_request) -> PlainTextResponse:
    return PlainTextResponse("the poll")


def _poll(engine, origins) -> tuple[int, str]:
    with transaction(engine) as session:
        created = create_poll(session, "Which?", [{"label": "A"}], actor="t", brand_scope=None,
                              published=True, frame_origins=origins)
    return created.poll.id, created.poll.slug


def test_the_embed_page_may_be_framed_by_the_polls_sites_only(engine):
    set_default_engine(engine)
    try:
        framed_id, framed = _poll(engine, [SHOP, LOCAL])
        _, unframed = _poll(engine, [])
        app = Starlette(routes=[Route("/embed/poll/{slug}", _page), Route("/", _page)])
        with serve_api(app=behind_proxy(security_headers(app))) as url:

            def headers(path: str) -> httpx.Headers:
                answer = httpx.get(url + path)
                assert answer.status_code == 200
                return answer.headers

            listed = headers(f"/embed/poll/{framed}")
            assert listed["content-security-policy"].startswith(
                f"frame-ancestors {SHOP} {LOCAL}; "
            )
            assert "x-frame-options" not in listed
            for path in (f"/embed/poll/{unframed}", "/embed/poll/NoSuchPollSlug0000", "/"):
                refused = headers(path)
                assert refused["content-security-policy"].startswith("frame-ancestors 'none'; ")
                assert refused["x-frame-options"] == "DENY"
            # A change applies to the next answer: nothing is cached.
            with transaction(engine) as session:
                set_poll_frame_origins(session, framed_id, "none", brand_scope=None)
            emptied = headers(f"/embed/poll/{framed}")
            assert emptied["content-security-policy"].startswith("frame-ancestors 'none'; ")
    finally:
        set_default_engine(None)


def test_the_api_sets_and_shows_the_sites(engine):
    set_default_engine(engine)
    try:
        make_world(engine)
        make_world(engine, brand="OTH", warehouses=())
        with serve_api() as url:
            api = client(url, make_key(engine, "survey", "polls:write"))
            other = client(url, make_key(engine, "oth", "polls:write", brand="OTH"))
            body = {"question": "Which?", "brand": "NRD", "options": [{"label": "A"}],
                    "frame_origins": ["HTTPS://Shop.Example.com"]}
            created = api.post("/polls", json=body)
            assert created.status_code == 201, created.text
            poll_id = created.json()["id"]
            assert created.json()["frame_origins"] == [SHOP]
            assert api.get(f"/polls/{poll_id}").json()["frame_origins"] == [SHOP]

            wildcard = api.patch(f"/polls/{poll_id}", json={"frame_origins": ["*"]})
            assert wildcard.status_code == 422, wildcard.text
            assert "wildcards" in wildcard.json()["message"]
            bad_create = api.post("/polls", json={**body, "frame_origins": ["https://x/a"]})
            assert bad_create.status_code == 422

            changed = api.patch(f"/polls/{poll_id}", json={"frame_origins": [SHOP, LOCAL]})
            assert changed.status_code == 200 and changed.json()["frame_origins"] == [SHOP, LOCAL]
            # Another brand's key: the poll is "not found", and stays as it was.
            assert other.patch(f"/polls/{poll_id}", json={"frame_origins": []}).status_code == 404
            assert api.patch(f"/polls/{poll_id}", json={"status": "closed"}).json()[
                "frame_origins"] == [SHOP, LOCAL]  # other changes leave the list alone
            emptied = api.patch(f"/polls/{poll_id}", json={"frame_origins": []})
            assert emptied.json()["frame_origins"] == []
        with transaction(engine) as session:
            assert session.get(Poll, poll_id).frame_origins == ""
    finally:
        set_default_engine(None)


def test_a_manager_lists_the_sites_in_the_embed_dialog(shop: Shop) -> None:  # noqa: F811
    state = page_state(DemandState, shop.tokens["manager"], "/demand")
    call(state, "load")
    call(state, "open_embed", shop.seeded.poll_id)
    assert state.dialog == "embed" and state.embed_origins == ""
    events = call(state, "save_frame_origins", {"frame_origins": f"{SHOP}/\nhttp://127.0.0.1:8081"})
    assert "2 site(s) may show it in a frame" in rendered(events)
    assert state.embed_origins == f"{SHOP}\n{LOCAL}"
    with transaction(shop.engine) as session:
        assert session.get(Poll, shop.seeded.poll_id).frame_origins == f"{SHOP} {LOCAL}"

    events = call(state, "save_frame_origins", {"frame_origins": "https://*.example.com"})
    assert "wildcards are not allowed" in rendered(events)
    with transaction(shop.engine) as session:  # refused: nothing changed
        assert session.get(Poll, shop.seeded.poll_id).frame_origins == f"{SHOP} {LOCAL}"

    call(state, "refresh")
    call(state, "on_dialog_change", False)
    call(state, "open_embed", shop.seeded.poll_id)  # reopened: the saved list is shown
    assert state.embed_origins == f"{SHOP}\n{LOCAL}"


def test_a_vendor_cannot_list_sites_for_another_brands_poll(shop: Shop) -> None:  # noqa: F811
    vendor = page_state(DemandState, shop.tokens["vendor"], "/demand")
    call(vendor, "load")
    vendor.dialog, vendor.target_id = "embed", shop.seeded.poll_id  # a tampered dialog
    events = call(vendor, "save_frame_origins", {"frame_origins": SHOP})
    assert f"No poll with id {shop.seeded.poll_id}" in rendered(events)
    with transaction(shop.engine) as session:
        assert session.get(Poll, shop.seeded.poll_id).frame_origins == ""
