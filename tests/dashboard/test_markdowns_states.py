"""The /analytics/markdowns page state, its handlers called directly as each role.

The data is the browser tests' seed (tests/e2e/seed.py): Solstice's oat crew was first
received 150 days ago and has 266 weeks of cover (a 50 % markdown); Northwind's
indigo jean arrived today (none). A client can send any event and set any var, so a
vendor tries another brand in the URL and in the state, and a merchandiser (no
`markdowns.read`) and signed-out callers call every handler.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard.states.analytics_filters import NOT_YOURS
from dashboard.states.markdowns import TABLE, MarkdownsState
from models.db import transaction
from models.users import User, start_login_session
from tests.dashboard.test_analytics_states import (  # noqa: F401 (shop: a fixture)
    Shop,
    call,
    page_state,
    rendered,
    shop,
)
from tests.e2e.seed import MERCHANDISER

ROUTE = "/analytics/markdowns"


def shown(state) -> list[tuple[str, str, str, str, str]]:
    return [(r.product, r.colour, r.tier, r.cover, r.age) for r in state.rows]


def test_a_manager_sees_the_deepest_markdown_first(shop: Shop) -> None:  # noqa: F811
    state = page_state(MarkdownsState, shop.tokens["manager"], ROUTE)
    call(state, "load")
    assert state.loaded and not state.loading and state.refusal == state.filter_error == ""
    assert shown(state) == [
        ("Merino Crew", "Oat", "50 %", "266.4", "150 days"),
        ("Straight Jean", "Indigo", "0 %", "156.7", "0 days"),
    ]
    crew = state.rows[0]
    assert (crew.on_hand, crew.sold, crew.sell_through, crew.projected) == (
        "566", "17", "3%", "12%")
    assert crew.tier_colour == "red" and crew.reason == "120+ days old, 26+ weeks of cover"
    assert state.range_label == "1–2 of 2" and not state.filtered
    assert [c.value for c in state.brand_choices] == ["NORTH", "SOLS"]
    assert "8 weeks" in state.period_text


@pytest.mark.parametrize(("query", "products"), [
    ({"brand": "NORTH"}, ["Straight Jean"]),
    ({"category": "Knitwear"}, ["Merino Crew"]),
    ({"brand": "NORTH", "category": "Knitwear"}, []),
])
def test_brand_and_category_narrow_the_list(shop: Shop, query, products) -> None:  # noqa: F811
    state = page_state(MarkdownsState, shop.tokens["manager"], ROUTE, **query)
    call(state, "load")
    assert [r.product for r in state.rows] == products
    assert state.filtered and state.loaded and state.total == len(products)


def test_filters_go_into_the_url_and_bad_codes_are_explained(shop: Shop) -> None:  # noqa: F811
    state = page_state(MarkdownsState, shop.tokens["manager"], ROUTE)
    call(state, "load")
    hrefs = state.filter_hrefs
    assert hrefs["brand"]["SOLS"] == "/analytics/markdowns?brand=SOLS"
    assert hrefs["brand"]["all"] == "/analytics/markdowns"
    bad = page_state(MarkdownsState, shop.tokens["manager"], ROUTE, brand="NOPE")
    call(bad, "load")
    assert "no brand with code NOPE" in bad.filter_error and bad.rows == []
    # A page past the end shows the last page.
    late = page_state(MarkdownsState, shop.tokens["manager"], ROUTE, page="9")
    call(late, "load")
    assert late.range_label == "1–2 of 2"


def test_export_is_a_link_with_the_filters(shop: Shop) -> None:  # noqa: F811
    state = page_state(MarkdownsState, shop.tokens["manager"], ROUTE, brand="SOLS")
    call(state, "load")
    script = rendered(call(state, "export_csv", TABLE))
    assert "/exports/markdowns.csv?brand=SOLS" in script and "(1 row)" in script


@pytest.mark.parametrize("brand", ["NORTH", "NOPE"])
def test_a_vendor_naming_another_brand_is_refused(shop: Shop, brand) -> None:  # noqa: F811
    state = page_state(MarkdownsState, shop.tokens["vendor"], ROUTE, brand=brand)
    events = call(state, "load")
    assert state.refusal == NOT_YOURS and NOT_YOURS in rendered(events)
    assert state.rows == [] and state.total == 0


def test_a_vendor_sees_their_brand_and_a_tampered_state_is_refused(shop: Shop) -> None:  # noqa: F811
    state = page_state(MarkdownsState, shop.tokens["vendor"], ROUTE)
    call(state, "load")
    assert state.is_vendor and [r.product for r in state.rows] == ["Merino Crew"]
    assert [c.value for c in state.brand_choices] == ["SOLS"]
    state.brand = "NORTH"  # set by the client (setvar)
    events = call(state, "export_csv", TABLE)
    assert NOT_YOURS in rendered(events) and "download" not in str(events).lower()
    call(state, "table_page", TABLE, 1)
    assert state.refusal == NOT_YOURS and state.rows == []


def test_a_merchandiser_may_not_see_or_export(shop: Shop) -> None:  # noqa: F811
    with transaction(shop.engine) as session:
        user = session.scalar(select(User).where(User.email == MERCHANDISER.email))
        token = start_login_session(session, user)
    state = page_state(MarkdownsState, token, ROUTE)
    call(state, "load")
    assert state.rows == [] and not state.loaded
    events = call(state, "export_csv", TABLE)
    assert "permission to export markdown suggestions" in rendered(events)
    assert "download" not in str(events).lower()


def test_signed_out_callers_get_nothing(shop: Shop) -> None:  # noqa: F811
    calls = {
        "load": (), "apply_end": ({"end": "2026-01-01"},),
        "set_end": ("2026-01-01",), "clear_filters": (), "table_page": (TABLE, 2),
        "export_csv": (TABLE,),
    }
    # set_per_page changes no data: it only redirects to the same list with ?per=.
    assert set(MarkdownsState.event_handlers) - {"setvar", "set_per_page"} == set(calls)
    for token in ("", "forged"):
        for handler, args in calls.items():
            state = page_state(MarkdownsState, token, ROUTE)
            events = call(state, handler, *args)
            assert '"/login' in rendered(events), handler
            assert state.rows == [], handler


def test_long_work_runs_in_background_events() -> None:
    for handler in ("load", "table_page", "export_csv"):
        assert MarkdownsState.event_handlers[handler].is_background, handler
