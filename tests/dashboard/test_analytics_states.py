"""The Analytics, Demand and embed page states, called directly (no browser).

Any client can send any event with any arguments, and can set state vars, so these
tests do what a tampered client could: a vendor asks for another brand in the URL and
in the state, signed-out callers call every handler, the public embed page is voted on
twice and flooded. The data is the browser tests' seed (tests/e2e/seed.py).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import reflex as rx
from reflex._upload import UploadChunk
from reflex.istate.data import RouterData
from sqlalchemy import Engine, func, select

from dashboard.states.analytics import CHARTS, AnalyticsState
from dashboard.states.analytics_filters import NOT_YOURS, FilterParams
from dashboard.states.demand import (
    MAX_UPLOAD_BYTES,
    DemandState,
    embed_snippet,
    option_specs,
)
from dashboard.states.embed import EmbedState
from jobs.analytics.charts import NO_COUNTS, NO_COUNTS_YET, WEEK_MS
from models.catalog import Brand, Variant, Warehouse
from models.cycle_counts import (
    CountLine,
    record_count,
    set_plan,
    start_sheet,
    submit_sheet,
)
from models.db import set_default_engine, transaction
from models.polls import Poll, PollVote, is_respondent_token
from models.users import User, start_login_session
from tests.e2e.seed import MANAGER, VENDOR, Seeded, seed_database
from tests.signin import sign_in_state

ORIGIN = "http://shop.test"


@dataclass
class Shop:
    engine: Engine
    seeded: Seeded
    tokens: dict[str, str]


@pytest.fixture
def shop(sqlite_engine: Engine) -> Iterator[Shop]:
    seeded = seed_database(sqlite_engine.url.render_as_string(hide_password=False))
    set_default_engine(sqlite_engine)
    tokens = {}
    with transaction(sqlite_engine) as session:
        for role, login in (("manager", MANAGER), ("vendor", VENDOR)):
            user = session.scalar(select(User).where(User.email == login.email))
            tokens[role] = start_login_session(session, user)
    yield Shop(sqlite_engine, seeded, tokens)
    set_default_engine(None)


def page_state(state_cls: type[rx.State], token: str, path: str, **query: str) -> Any:
    """A fresh state tree for one tab with this session cookie, at `path?query`."""
    root = rx.State(_reflex_internal_init=True)
    sign_in_state(root, token)
    state = root._get_state_from_cache(state_cls)
    as_path = f"{path}?{urlencode(query)}" if query else path
    state.router = RouterData.from_router_data({
        "pathname": path, "asPath": as_path, "query": query,
        "headers": {"origin": ORIGIN}, "ip": "203.0.113.7",
    })
    state.dirty_vars.clear()
    return state


def call(state: Any, handler: str, *args: Any) -> list[Any]:
    """Run a handler to the end; every event it returned or yielded, flattened.
    Background handlers are called through their function (Reflex refuses a direct
    call of the bound handler); `async with self` on a plain state is a no-op."""
    event_handler = type(state).event_handlers[handler]
    result = (event_handler.fn(state, *args) if event_handler.is_background
              else getattr(state, handler)(*args))
    events: list[Any] = []

    async def drain() -> None:
        async for event in result:
            events.append(event)

    if inspect.isasyncgen(result):
        asyncio.run(drain())
    elif inspect.iscoroutine(result):
        events.append(asyncio.run(result))
    else:
        events.append(result)
    flat: list[Any] = []
    for event in events:
        flat.extend(event if isinstance(event, list) else [event])
    return [event for event in flat if event is not None]


def rendered(events: list[Any]) -> str:
    return " ".join(str(value) for event in events for _, value in getattr(event, "args", ()))


def upload(state: Any, name: str, data: bytes, *, count: bool = False,
           chunk: int = 64 * 1024) -> Any:
    """Run the streamed upload handler on `data`, sent in chunks as the browser would;
    with `count`, also how many bytes the handler took."""
    taken = 0

    async def chunks() -> AsyncIterator[UploadChunk]:
        nonlocal taken
        for offset in range(0, len(data), chunk):
            part = data[offset : offset + chunk]
            taken += len(part)
            yield UploadChunk(filename=name, offset=offset, content_type="text/csv",
                              data=part)

    async def run() -> Any:
        result = type(state).event_handlers["upload_csv"].fn(state, chunks())
        return await result if inspect.isawaitable(result) else result

    events = asyncio.run(run())
    events = [e for e in (events if isinstance(events, list) else [events]) if e is not None]
    return (events, taken) if count else events


def table_text(state: Any, key: str) -> str:
    view = state.charts[key]
    return " ".join(" ".join(row) for row in view.rows)


# --- analytics ------------------------------------------------------------------------------


def test_a_manager_sees_every_chart_and_the_brand_filter_narrows_them(shop: Shop) -> None:
    state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics")
    call(state, "load")
    assert state.loaded and not state.loading and state.refusal == ""
    assert all(state.charts[key].title for key in CHARTS)
    velocity = table_text(state, "velocity")
    assert "NORTH-NW-STRAIGHT-30" in velocity and "SOLS-SO-CREW-S" in velocity
    assert state.charts["trend"].range_label == "1–10 of 28"
    assert not state.charts["trend"].empty and state.charts["trend"].figure["data"]
    assert [c.value for c in state.brand_choices] == ["NORTH", "SOLS"]

    narrowed = page_state(AnalyticsState, shop.tokens["manager"], "/analytics",
                          brand="SOLS", period="90")
    call(narrowed, "load")
    velocity = table_text(narrowed, "velocity")
    assert "SOLS-SO-CREW-S" in velocity and "NORTH" not in velocity
    assert narrowed.charts["trend"].range_label == "1–10 of 90"
    assert narrowed.brand == "SOLS" and narrowed.period == "90" and narrowed.filtered


def test_a_period_without_sales_says_so(shop: Shop) -> None:
    state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics", end="2001-01-31")
    call(state, "load")
    for key in ("trend", "velocity", "movers_top", "sell_through"):
        assert state.charts[key].empty, key
        assert state.charts[key].message == "No sales in this period"
        assert state.charts[key].figure == {}
    assert state.charts["history"].message == "No stock snapshots in this period"


def test_bad_filter_values_are_explained_not_crashed_on(shop: Shop) -> None:
    for query, message in (({"end": "2026-13-40"}, "is not a date"),
                           ({"warehouse": "NOPE"}, "no warehouse with code NOPE"),
                           ({"brand": "NOPE"}, "no brand with code NOPE")):
        state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics", **query)
        call(state, "load")
        assert message in state.filter_error
        assert state.refusal == "" and not state.loaded


@pytest.mark.parametrize("brand", ["NORTH", "NOPE"])
def test_a_vendor_asking_for_another_brand_in_the_url_is_refused(shop: Shop, brand) -> None:
    """Refused whether the brand exists or not, so codes cannot be probed."""
    state = page_state(AnalyticsState, shop.tokens["vendor"], "/analytics", brand=brand)
    events = call(state, "load")
    assert state.refusal == NOT_YOURS
    assert NOT_YOURS in rendered(events)
    assert all(state.charts[key].rows == [] for key in CHARTS)
    assert all(state.charts[key].figure == {} for key in CHARTS)


def test_a_vendor_sees_only_their_brand_and_a_tampered_state_is_refused(shop: Shop) -> None:
    state = page_state(AnalyticsState, shop.tokens["vendor"], "/analytics")
    call(state, "load")
    assert state.is_vendor and state.refusal == ""
    assert [c.value for c in state.brand_choices] == ["SOLS"]
    everything = " ".join(table_text(state, key) for key in CHARTS)
    assert "SOLS-SO-CREW-S" in everything and "NORTH" not in everything

    # A client that sets the brand var itself (setvar) and asks for a page or a CSV.
    state.brand = "NORTH"
    events = call(state, "table_page", "velocity", 1)
    assert state.refusal == NOT_YOURS and state.charts["velocity"].rows == []
    events = call(state, "export_csv", "velocity")
    assert NOT_YOURS in rendered(events)
    assert "download" not in str(events).lower()


def test_signed_out_callers_get_nothing_from_any_handler(shop: Shop) -> None:
    calls = {
        "load": (), "apply_end": ({"end": "2026-01-01"},),
        "set_end": ("2026-01-01",), "clear_filters": (), "set_level": ("brand",),
        "set_window": ("7",), "set_history_by": ("brand",), "table_page": ("velocity", 2),
        "export_csv": ("velocity",),
    }
    assert set(AnalyticsState.event_handlers) - {"setvar"} == set(calls)
    for token in ("", "forged"):
        for handler, args in calls.items():
            state = page_state(AnalyticsState, token, "/analytics")
            events = call(state, handler, *args)
            assert '"/login' in rendered(events), handler
            assert all(state.charts[key].rows == [] for key in CHARTS), handler


def test_csv_export_is_the_whole_table(shop: Shop) -> None:
    state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics", period="90")
    call(state, "load")
    events = call(state, "export_csv", "trend")
    script = rendered(events)
    # The size is checked here; the browser fetches the file from the export endpoint
    # (tests/dashboard/test_exports.py), with the page's filters and the chart's choices.
    assert "/exports/analytics/trend.csv?period=90" in script and "base64" not in script
    assert "(90 rows)" in script
    call(state, "set_level", "brand")
    script = rendered(call(state, "export_csv", "velocity"))
    assert "/exports/analytics/velocity.csv?level=brand&period=90" in script


def test_chart_options_and_paging(shop: Shop) -> None:
    state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics", period="90")
    call(state, "load")
    call(state, "table_page", "trend", 3)
    assert state.charts["trend"].range_label == "21–30 of 90"
    call(state, "set_level", "brand")
    assert state.charts["velocity"].columns[:2] == ["Brand", "Brand name"]
    assert {row[0] for row in state.charts["velocity"].rows} == {"NORTH", "SOLS"}
    call(state, "set_history_by", "warehouse")
    assert {row[1] for row in state.charts["history"].rows} == {"LDN", "MCR"}


def test_count_accuracy_follows_submitted_counts_and_the_vendors_brand(shop: Shop) -> None:
    state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics")
    call(state, "load")
    assert state.charts["accuracy"].title == "Count accuracy"
    assert state.charts["accuracy"].message == NO_COUNTS_YET and state.charts["accuracy"].empty

    # A blind count of everything at London (every class due daily): every other line
    # one over, then submitted (no manager needed: one unit is within the tolerance).
    with transaction(shop.engine) as session:
        manager = session.scalar(select(User.id).where(User.email == MANAGER.email))
        london = session.scalar(select(Warehouse.id).where(Warehouse.code == "LDN"))
        for abc in "ABC":
            set_plan(session, london, abc, actor_id=manager, interval_days=1, tolerance=1)
        sheet = start_sheet(session, london, actor_id=manager)
        lines = session.execute(
            select(CountLine.id, CountLine.expected, Brand.code)
            .join(Variant, Variant.id == CountLine.variant_id)
            .join(Brand, Brand.id == Variant.brand_id)
            .where(CountLine.sheet_id == sheet.id).order_by(CountLine.position)
        ).all()
        for n, (line_id, expected, _brand) in enumerate(lines):
            record_count(session, line_id, expected + n % 2, actor_id=manager)
        submit_sheet(session, sheet.id, actor_id=manager)
    ours = [n for n, (_, _, brand) in enumerate(lines) if brand == "SOLS"]
    assert 0 < len(ours) < len(lines)

    def figures(n: list[int]) -> list[str]:
        exact = sum(1 for i in n if i % 2 == 0)
        return [str(len(n)), str(exact), str(len(n)), f"{exact / len(n) * 100:.1f}%", "100.0%"]

    call(state, "load")
    view = state.charts["accuracy"]
    assert not view.empty and [t["name"] for t in view.figure["data"]] == ["London DC"]
    assert view.figure["layout"]["xaxis"]["dtick"] == WEEK_MS  # a tick a week, not a day
    assert view.columns[:4] == ["Week of", "Warehouse", "Warehouse name", "Lines counted"]
    assert [row[1:] for row in view.rows] == [["LDN", "London DC",
                                               *figures(list(range(len(lines))))]]
    assert "/exports/analytics/accuracy.csv" in rendered(call(state, "export_csv", "accuracy"))

    vendor = page_state(AnalyticsState, shop.tokens["vendor"], "/analytics")
    call(vendor, "load")
    assert [row[1:] for row in vendor.charts["accuracy"].rows] == [["LDN", "London DC",
                                                                   *figures(ours)]]
    elsewhere = page_state(AnalyticsState, shop.tokens["manager"], "/analytics", warehouse="MCR")
    call(elsewhere, "load")
    assert elsewhere.charts["accuracy"].message == NO_COUNTS_YET  # never counted there
    earlier = page_state(AnalyticsState, shop.tokens["manager"], "/analytics", end="2001-01-31")
    call(earlier, "load")
    assert earlier.charts["accuracy"].message == NO_COUNTS


def test_long_work_runs_in_background_events() -> None:
    """The figures are computed in background events (the tab's state lock is taken only
    to read the filters and write the answer), on analytics' own thread pool."""
    for state, handlers in ((AnalyticsState, ("load", "set_level", "set_window",
                                              "set_history_by", "table_page", "export_csv")),
                            (DemandState, ("load", "refresh", "set_bucket", "table_page",
                                           "export_csv"))):
        for handler in handlers:
            assert state.event_handlers[handler].is_background, (state.__name__, handler)


def test_an_answer_overtaken_by_a_newer_question_is_dropped(shop: Shop) -> None:
    state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics")
    call(state, "load")
    # Velocity per variant is asked for, then per brand before the first answer is in.
    slow, asked = state._start(None, ("velocity",))
    call(state, "set_level", "brand")
    assert {row[0] for row in state.charts["velocity"].rows} == {"NORTH", "SOLS"}
    assert state._arrive(slow.run(), asked, None) == ()  # the late answer is not shown
    assert {row[0] for row in state.charts["velocity"].rows} == {"NORTH", "SOLS"}
    assert state.level == "brand"


def test_each_pick_leads_to_the_pages_url_with_that_filter_changed(shop: Shop) -> None:
    """The pickers navigate from the browser to `filter_hrefs`: every choice offered has
    its URL, which keeps the other filters; "all" and the default period drop theirs."""
    state = page_state(AnalyticsState, shop.tokens["manager"], "/analytics",
                       brand="NORTH", period="90")
    call(state, "load")
    hrefs = state.filter_hrefs
    assert hrefs["brand"]["SOLS"] == "/analytics?brand=SOLS&period=90"
    assert hrefs["brand"]["all"] == "/analytics?period=90"
    assert hrefs["period"]["28"] == "/analytics?brand=NORTH"
    assert hrefs["period"]["7"] == "/analytics?brand=NORTH&period=7"
    assert set(hrefs["warehouse"]) == {"all", *(c.value for c in state.warehouse_choices)}
    assert set(hrefs["category"]) == {"all", *(c.value for c in state.category_choices)}
    vendor = page_state(AnalyticsState, shop.tokens["vendor"], "/analytics")
    call(vendor, "load")
    assert set(vendor.filter_hrefs["brand"]) == {"all", *(c.value for c in vendor.brand_choices)}
    assert len(vendor.brand_choices) == 1  # only their own brand is offered


def test_filter_params_round_trip() -> None:
    params = FilterParams.from_query({"brand": "sols", "period": "999", "end": "2026-01-31"})
    assert params == FilterParams(brand="SOLS", period=28, end="2026-01-31")
    assert params.href("/analytics", warehouse="LDN") == (
        "/analytics?brand=SOLS&warehouse=LDN&end=2026-01-31"
    )
    assert FilterParams().href("/analytics", brand="") == "/analytics"


# --- demand ---------------------------------------------------------------------------------


def vote_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(PollVote)).scalar_one()


def test_demand_shows_polls_votes_and_gaps(shop: Shop) -> None:
    state = page_state(DemandState, shop.tokens["manager"], "/demand")
    call(state, "load")
    assert [p.question for p in state.polls] == ["Which should we stock next?"]
    assert state.selected_poll == shop.seeded.poll_id
    assert state.polls[0].votes == "2"
    assert "Oat crew in M" in table_text(state, "demand")
    assert state.charts["wanted"].rows == []  # the only votes are for stock we have


def test_demand_exports_are_links_with_the_filters_poll_and_bucket(shop: Shop) -> None:
    state = page_state(DemandState, shop.tokens["manager"], "/demand", period="90")
    call(state, "load")
    call(state, "set_bucket", "week")
    script = rendered(call(state, "export_csv", "votes"))
    # The size is checked here; the file comes from the export endpoint
    # (tests/dashboard/test_exports.py).
    assert (f"/exports/demand/votes.csv?bucket=week&period=90&poll={shop.seeded.poll_id}"
            in script) and "base64" not in script
    assert "/exports/demand/wanted.csv?period=90" in rendered(
        call(state, "export_csv", "wanted"))
    state.selected_poll = 0  # no poll: no votes to export
    assert call(state, "export_csv", "votes") == []


def test_a_manager_creates_a_poll_and_gets_its_secret_and_snippet_once(shop: Shop) -> None:
    state = page_state(DemandState, shop.tokens["manager"], "/demand")
    call(state, "load")
    call(state, "open_create")
    form = {"question": "Which colour next?", "brand": "SOLS",
            "label_0": "Navy", "kind_0": "colour", "value_0": "Navy",
            "label_1": "Size M", "kind_1": "size", "value_1": "m"}
    events = call(state, "create_poll", form)
    assert "Poll created" in rendered(events)
    assert state.dialog == "created" and state.webhook_secret.startswith("whsec_")
    poll_id = state.target_id
    with transaction(shop.engine) as session:
        slug = session.get(Poll, poll_id).slug
    assert state.embed_url == f"{ORIGIN}/embed/poll/{slug}" and state.embed_published
    # The link names the poll by its slug, not its id (a random slug may hold the id's
    # digits somewhere: asking that they never appear in it failed now and then).
    assert state.embed_url.rsplit("/", 1)[-1] == slug != str(poll_id)
    assert 'title="Poll: Which colour next?"' in state.embed_html
    # The dialog's switch takes it back to staff-only, and publishes it again.
    call(state, "set_published", False)
    assert state.embed_published is False
    with transaction(shop.engine) as session:
        assert session.get(Poll, poll_id).published is False
    call(state, "set_published", True)
    call(state, "on_dialog_change", False)
    assert state.webhook_secret == ""
    with transaction(shop.engine) as session:
        poll = session.get(Poll, poll_id)
        assert poll.question == "Which colour next?" and poll.brand_id is not None
        assert poll.published

    call(state, "open_create")
    events = call(state, "create_poll", {"question": "Q", "label_0": "", "value_0": "Navy"})
    assert state.form_error == "Option 1 needs a label (what the customer picks)."


def test_a_vendor_cannot_close_or_feed_a_poll_across_brands(shop: Shop) -> None:
    vendor = page_state(DemandState, shop.tokens["vendor"], "/demand")
    call(vendor, "load")
    assert vendor.polls == []  # the seeded poll is across brands: staff only
    events = call(vendor, "set_status", shop.seeded.poll_id, "closed")
    assert f"No poll with id {shop.seeded.poll_id}" in rendered(events)  # as if missing
    vendor.dialog, vendor.target_id = "embed", shop.seeded.poll_id  # a tampered dialog
    assert f"No poll with id {shop.seeded.poll_id}" in rendered(
        call(vendor, "set_published", False))
    with transaction(shop.engine) as session:
        assert session.get(Poll, shop.seeded.poll_id).status == "open"
        assert session.get(Poll, shop.seeded.poll_id).published


def test_a_survey_csv_with_unknown_answers_records_nothing_and_lists_the_rows(
    shop: Shop, tmp_path: Path
) -> None:
    state = page_state(DemandState, shop.tokens["manager"], "/demand")
    call(state, "load")
    call(state, "open_upload", shop.seeded.poll_id)
    before = vote_count(shop.engine)
    bad = b"Respondent ID,Answer\nr1,Merino crew in XL\nr2,Pink jeans\nr3,Nope\n"
    upload(state, "s.csv", bad)
    assert vote_count(shop.engine) == before
    assert state.upload_message.startswith("Nothing imported: 2 problem(s) in 3 row(s)")
    assert [(e.row, e.value) for e in state.upload_errors] == [("3", "Pink jeans"), ("4", "Nope")]

    good = b"Respondent ID,Answer\nr1,Merino crew in XL\nr2,Black straight jean\n"
    events = upload(state, "s.csv", good)
    assert "Imported 2 row(s)" in rendered(events)
    assert vote_count(shop.engine) == before + 2
    call(state, "refresh")
    wanted = table_text(state, "wanted")
    assert "Merino crew in XL" in wanted and "Black straight jean" in wanted


def test_a_vendors_oversized_survey_csv_is_refused_without_reading_it_all(shop: Shop) -> None:
    vendor = page_state(DemandState, shop.tokens["vendor"], "/demand")
    call(vendor, "load")
    call(vendor, "open_create")
    call(vendor, "create_poll", {"question": "Which?", "label_0": "Oat crew in M"})
    poll_id = vendor.target_id
    call(vendor, "refresh")
    call(vendor, "open_upload", poll_id)
    assert vendor.dialog == "upload"
    megabyte = b"respondent,answer\n" + b"r,Oat crew in M\n" * (MAX_UPLOAD_BYTES // 10 // 16)
    megabyte = megabyte[: 1024 * 1024]
    taken = 0

    async def six_hundred_megabytes() -> AsyncIterator[UploadChunk]:
        nonlocal taken
        for n in range(600):
            taken += len(megabyte)
            yield UploadChunk(filename="huge.csv", offset=n * len(megabyte),
                              content_type="text/csv", data=megabyte)

    before = vote_count(shop.engine)
    events = asyncio.run(
        type(vendor).event_handlers["upload_csv"].fn(vendor, six_hundred_megabytes())
    )
    assert events is None
    assert vendor.upload_message == "The file is larger than 10 MB; split it and upload the parts."
    assert taken <= MAX_UPLOAD_BYTES + len(megabyte)  # stopped at the limit, not at 600 MB
    assert vote_count(shop.engine) == before and vendor.saving is False


def test_signed_out_callers_change_nothing_on_the_demand_page(shop: Shop) -> None:
    poll_id = shop.seeded.poll_id
    csv = b"respondent,answer\nr9,Oat crew in M\n"
    calls = {
        "load": (), "refresh": (), "select_poll": (poll_id,), "set_bucket": ("week",),
        "table_page": ("demand", 2), "export_csv": ("demand",),
        "on_dialog_change": (False,), "open_create": (), "add_option_row": (),
        "create_poll": ({"question": "Evil?", "label_0": "Yes"},),
        "set_status": (poll_id, "closed"), "open_embed": (poll_id,),
        "set_published": (False,), "open_upload": (poll_id,), "upload_csv": (csv,),
        "save_frame_origins": ({"frame_origins": "https://evil.example"},),
        "apply_end": ({"end": "2026-01-01"},),
        "set_end": ("2026-01-01",), "clear_filters": (),
    }
    assert set(DemandState.event_handlers) - {"setvar"} == set(calls)
    before = vote_count(shop.engine)
    for token in ("", "forged"):
        for handler, args in calls.items():
            state = page_state(DemandState, token, "/demand")
            state.dialog, state.target_id = "upload", poll_id  # as if a dialog were open
            if handler in ("set_published", "save_frame_origins"):
                state.dialog = "embed"
            if handler == "upload_csv":
                events, read = upload(state, "s.csv", *args, count=True)
                assert read == 0  # refused before a byte of the file was taken
            else:
                events = call(state, handler, *args)
            assert '"/login' in rendered(events), handler
            assert state.polls == [] and state.webhook_secret == "", handler
    assert vote_count(shop.engine) == before
    with transaction(shop.engine) as session:
        assert session.get(Poll, poll_id).status == "open"
        assert session.get(Poll, poll_id).published
        assert session.get(Poll, poll_id).frame_origins == ""
        assert session.scalar(select(func.count()).select_from(Poll)) == 1


def test_option_specs_and_snippet() -> None:
    assert option_specs({"label_0": "Navy", "kind_0": "colour", "value_0": "Navy",
                         "label_2": "Any", "kind_2": "none"}, [0, 1, 2]) == [
        {"label": "Navy", "colour": "Navy"}, {"label": "Any"}]
    with pytest.raises(ValueError, match="enter the size"):
        option_specs({"label_0": "M", "kind_0": "size"}, [0])
    with pytest.raises(ValueError, match="at least one"):
        option_specs({}, [0, 1])
    _, snippet = embed_snippet("https://x.test/", "Xq3_-abcdEFGH123", 'Say "hi" <b>')
    assert 'src="https://x.test/embed/poll/Xq3_-abcdEFGH123"' in snippet
    assert "&quot;hi&quot; &lt;b&gt;" in snippet


# --- the public embed page ------------------------------------------------------------------


def embed_state(slug: str, respondent: str = "", ip: str = "203.0.113.7") -> Any:
    state = page_state(EmbedState, "", f"/embed/poll/{slug}")
    state.router = RouterData.from_router_data({
        "pathname": "/embed/poll/[poll_id]", "asPath": f"/embed/poll/{slug}",
        "query": {"poll_id": slug}, "headers": {"origin": ORIGIN}, "ip": ip,
    })
    state.respondent = respondent
    return state


def test_the_embed_page_takes_one_vote_per_respondent(shop: Shop) -> None:
    slug = shop.seeded.poll_slug
    state = embed_state(slug)
    call(state, "load")
    assert state.status == "ready" and is_respondent_token(state.respondent)
    assert [o.label for o in state.options] == list(shop.seeded.poll_options)
    before = vote_count(shop.engine)
    xl = state.options[0].value
    call(state, "pick", xl)
    call(state, "vote", {"option": xl})
    assert state.status == "thanks" and vote_count(shop.engine) == before + 1
    assert state.voted_polls == slug

    again = embed_state(slug, respondent=state.respondent)  # same browser, storage lost
    call(again, "load")
    assert again.status == "ready" and again.respondent == state.respondent
    call(again, "vote", {"option": xl})
    assert again.status == "already" and vote_count(shop.engine) == before + 1
    revisit = embed_state(slug, respondent=state.respondent)
    revisit.voted_polls = state.voted_polls
    call(revisit, "load")
    assert revisit.status == "already"


def test_the_embed_page_replaces_a_respondent_token_it_did_not_sign(shop: Shop) -> None:
    slug = shop.seeded.poll_slug
    state = embed_state(slug, respondent="r_made-up-by-the-browser")
    call(state, "load")
    assert state.respondent != "r_made-up-by-the-browser"
    assert is_respondent_token(state.respondent)
    before = vote_count(shop.engine)
    state.respondent = "r1.AAAAAAAAAAAAAAAAAAAAAA." + "0" * 32  # edited after loading
    call(state, "vote", {"option": state.options[0].value})
    assert vote_count(shop.engine) == before and state.status == "ready"
    assert "expired" in state.message and is_respondent_token(state.respondent)
    call(state, "vote", {"option": state.options[0].value})
    assert state.status == "thanks" and vote_count(shop.engine) == before + 1


def test_the_embed_page_refuses_floods_closed_and_unknown_polls(shop: Shop) -> None:
    slug = shop.seeded.poll_slug
    statuses = []
    for n in range(25):  # new respondents from one address: capped per address
        state = embed_state(slug, respondent=f"flood-{n}", ip="198.51.100.9")
        call(state, "load")
        call(state, "vote", {"option": state.options[1].value})
        statuses.append(state.status)
    assert statuses.count("thanks") == 20 and statuses[-1] == "limited"
    assert "Too many attempts" in state.message

    with transaction(shop.engine) as session:
        session.get(Poll, shop.seeded.poll_id).status = "closed"
    closed = embed_state(slug, respondent="late")
    call(closed, "load")
    assert closed.status == "missing"
    for missing in (str(shop.seeded.poll_id), "999999", "0", "x" * 80):
        state = embed_state(missing)
        call(state, "load")
        assert state.status == "missing"
