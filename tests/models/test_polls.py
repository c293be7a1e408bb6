"""Polls, votes and demand signals, on SQLite and PostgreSQL (domain functions).

Shop: brand NRD with style TEE1 in Black S/M/L (available M 12, S 6, L 0), brand OTH.
Poll about NRD: "M" (size M), "Navy" (colour Navy: not carried), "The tee" (style
TEE1), "Knit dress" (style KNIT1: not carried).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import func, insert, select

from jobs.analytics.charts import is_empty, votes_over_time_chart
from jobs.analytics.demand import demand_vs_stock, votes_over_time, wanted_not_stocked
from jobs.analytics.frames import AnalyticsData
from jobs.analytics.metrics import Filters
from models.db import transaction
from models.errors import InvalidQuantity, NotFound, PermissionDenied
from models.polls import (
    AlreadyVoted,
    CsvRefused,
    InvalidSignature,
    InvalidVote,
    PollClosed,
    PollVote,
    RateLimited,
    SignatureExpired,
    SignatureReused,
    create_poll,
    demand_by_variant,
    embed_vote,
    hit_rate_limit,
    import_votes_csv,
    issue_respondent_token,
    list_polls,
    poll_summary,
    receive_webhook,
    set_poll_status,
    sign,
    submit_embed_vote,
)
from models.reservations import SaleLine
from models.stock import StockBalance
from tests.factories import make_world

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
OPTIONS = [
    {"label": "M", "size": "Medium"},
    {"label": "Navy", "colour": "navy"},
    {"label": "The tee", "product": "tee1"},
    {"label": "Knit dress", "product": "KNIT1"},
]


class Demand:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.nrd = make_world(engine)
        self.oth = make_world(engine, brand="OTH", warehouses=())
        v, wh = self.nrd.variants, self.nrd.warehouses
        with transaction(engine) as session:
            session.execute(insert(StockBalance.__table__), [
                {"variant_id": v["M"], "warehouse_id": wh["WH1"], "on_hand": 14, "reserved": 2,
                 "incoming": 0, "updated_at": NOW},
                {"variant_id": v["S"], "warehouse_id": wh["WH2"], "on_hand": 6, "reserved": 0,
                 "incoming": 0, "updated_at": NOW},
            ])
            session.execute(insert(SaleLine.__table__), [
                {"variant_id": v["M"], "warehouse_id": wh["WH1"], "qty": 14, "channel": "web",
                 "order_ref": "o1", "sold_at": NOW - timedelta(days=3)},
            ])
            created = create_poll(session, "Which should we restock?", OPTIONS, actor="test",
                                  brand_code="nrd", brand_scope=None, published=True)
            other = create_poll(session, "OTH poll", [{"label": "Yes"}], actor="test",
                                brand_code="OTH", brand_scope=None)
        self.poll, self.secret = created.poll, created.webhook_secret
        self.options = {o.label: o.id for o in self.poll.options}
        self.other_poll = other.poll

    def deliver(self, votes, *, at: datetime = NOW, secret: str | None = None, header=None):
        body = json.dumps(votes).encode()
        header = header or sign(secret or self.secret, body, int(at.timestamp()))
        with transaction(self.engine) as session:
            return receive_webhook(session, self.poll.id, header, body, now=NOW)

    def counts(self) -> dict[str, int]:
        with transaction(self.engine) as session:
            summary = poll_summary(session, self.poll.id, brand_scope=None)
        return {o.label: o.votes for o in summary.options}


@pytest.fixture
def demand(engine) -> Demand:
    return Demand(engine)


def vote(option, respondent, days_ago=0):
    return {"option": option, "respondent": respondent,
            "answered_at": (NOW - timedelta(days=days_ago)).isoformat()}


# --- creating polls ----------------------------------------------------------------------


def test_created_poll_has_options_with_normalised_signals_and_a_secret(demand):
    poll = demand.poll
    assert poll.brand == "NRD" and poll.status == "open" and poll.total_votes == 0
    assert demand.secret.startswith("whsec_") and len(demand.secret) > 40
    signals = [(o.label, o.size, o.colour, o.product, o.signal) for o in poll.options]
    assert signals == [
        ("M", "M", None, None, "size M"),
        ("Navy", None, "navy", None, "colour navy"),
        ("The tee", None, None, "TEE1", "style TEE1"),
        ("Knit dress", None, None, "KNIT1", "style KNIT1"),
    ]


def test_a_poll_reads_a_bare_size_by_its_brands_size_system(demand):
    """A shoe brand's "42" is EU 42 (matching its variants), a jeans brand's is W42."""
    from models.brands import update_brand

    with transaction(demand.engine) as session:
        update_brand(session, demand.oth.brand_id, {"size_hint": "eu_shoe"})
        options = [
            {"label": "42", "size": "42"},
            {"label": "42 at NRD", "size": "42", "brand": "nrd"},
            {"label": "S/M", "size": "s/m"},
        ]
        poll = create_poll(session, "Q", options, actor="t", brand_code="OTH", brand_scope=None)
    assert [o.size for o in poll.poll.options] == ["EU 42", "W42", "S/M"]


def test_poll_creation_refuses_bad_input(demand):
    with transaction(demand.engine) as session:
        with pytest.raises(InvalidQuantity, match="used twice"):
            create_poll(session, "Q", [{"label": "A"}, {"label": " a "}], actor="t",
                        brand_scope=None)
        with pytest.raises(InvalidQuantity):
            create_poll(session, "Q", [], actor="t", brand_scope=None)
        with pytest.raises(InvalidQuantity):
            create_poll(session, "  ", [{"label": "A"}], actor="t", brand_scope=None)
        with pytest.raises(NotFound):
            create_poll(session, "Q", [{"label": "A"}], actor="t", brand_code="NOPE",
                        brand_scope=None)
        with pytest.raises(PermissionDenied):
            create_poll(session, "Q", [{"label": "A"}], actor="t", brand_code="OTH",
                        brand_scope=demand.nrd.brand_id)
        own = create_poll(session, "Q", [{"label": "A"}], actor="t",
                          brand_scope=demand.nrd.brand_id)
        assert own.poll.brand == "NRD"  # a vendor's poll is about their brand


def test_a_vendor_sees_only_their_brands_polls(demand):
    with transaction(demand.engine) as session:
        mine = list_polls(session, brand_scope=demand.nrd.brand_id)
        assert [p.id for p in mine] == [demand.poll.id]
        assert len(list_polls(session, brand_scope=None)) == 2
        # Another brand's poll is "not found", exactly like a missing one.
        with pytest.raises(NotFound) as other:
            poll_summary(session, demand.other_poll.id, brand_scope=demand.nrd.brand_id)
        with pytest.raises(NotFound) as missing:
            poll_summary(session, 999_999, brand_scope=demand.nrd.brand_id)
        assert other.value.message.replace(str(demand.other_poll.id), "N") == \
            missing.value.message.replace("999999", "N")


# --- webhook -----------------------------------------------------------------------------


def test_signed_webhook_records_one_vote_or_a_list(demand):
    receipt = demand.deliver(vote("M", "r1"))
    assert (receipt.received, receipt.recorded) == (1, 1)
    receipt = demand.deliver([vote("m", "r2"), vote(demand.options["Navy"], "r3"),
                              vote(str(demand.options["The tee"]), "r4")],
                             at=NOW - timedelta(seconds=299))
    assert (receipt.received, receipt.recorded) == (3, 3)
    assert demand.counts() == {"M": 2, "Navy": 1, "The tee": 1, "Knit dress": 0}


def test_a_respondent_has_one_current_answer_and_retries_change_nothing(demand):
    demand.deliver(vote("M", "r1", days_ago=2))
    retry = demand.deliver(vote("M", "r1", days_ago=2), at=NOW - timedelta(seconds=1))
    assert retry.recorded == 0
    older = demand.deliver(vote("Navy", "r1", days_ago=5), at=NOW - timedelta(seconds=2))
    assert older.recorded == 0  # an earlier answer does not replace a later one
    changed = demand.deliver(vote("Navy", "r1", days_ago=1), at=NOW - timedelta(seconds=3))
    assert changed.recorded == 1
    assert demand.counts() == {"M": 0, "Navy": 1, "The tee": 0, "Knit dress": 0}


def test_webhook_refuses_bad_old_and_reused_signatures(demand):
    body = json.dumps(vote("M", "r1")).encode()
    with pytest.raises(InvalidSignature):
        demand.deliver(vote("M", "r1"), secret="whsec_not-the-secret")
    with pytest.raises(InvalidSignature):
        demand.deliver(vote("M", "r1"), header="v1=abc")
    with pytest.raises(InvalidSignature):
        demand.deliver(vote("M", "r1"), header=None or "t=1,v1=" + "0" * 64)
    tampered = sign(demand.secret, body, int(NOW.timestamp()))
    with transaction(demand.engine) as session, pytest.raises(InvalidSignature):
        receive_webhook(session, demand.poll.id, tampered, body.replace(b"r1", b"r2"), now=NOW)
    with pytest.raises(SignatureExpired):
        demand.deliver(vote("M", "r1"), at=NOW - timedelta(minutes=5, seconds=1))
    with pytest.raises(SignatureExpired):
        demand.deliver(vote("M", "r1"), at=NOW + timedelta(minutes=6))
    header = sign(demand.secret, body, int(NOW.timestamp()))
    with transaction(demand.engine) as session:
        receive_webhook(session, demand.poll.id, header, body, now=NOW)
    with transaction(demand.engine) as session, pytest.raises(SignatureReused):
        receive_webhook(session, demand.poll.id, header, body, now=NOW)
    assert demand.counts()["M"] == 1


def test_webhook_refuses_an_option_of_another_poll_and_writes_nothing(demand):
    other_option = demand.other_poll.options[0].id
    with pytest.raises(InvalidVote) as refused:
        demand.deliver([vote("M", "r1"), vote(other_option, "r2"), vote("Purple", "r3")])
    fields = refused.value.details["fields"]
    assert [f["field"] for f in fields] == ["[1].option", "[2].option"]
    assert sum(demand.counts().values()) == 0
    # The refused delivery did not use up its signature: fixed and re-signed, it goes in.
    assert demand.deliver([vote("M", "r1")]).recorded == 1


def test_webhook_refuses_malformed_votes(demand):
    for bad in ({"option": "M"}, {"option": "M", "respondent": "r", "answered_at": "soon"},
                {"option": "M", "respondent": "r", "answered_at": "2026-06-30T10:00:00"},
                {"option": "M", "respondent": "r", "colour": "x"}, [], "M"):
        with pytest.raises(InvalidVote):
            demand.deliver(bad)


def test_a_closed_poll_takes_no_votes(demand):
    with transaction(demand.engine) as session:
        set_poll_status(session, demand.poll.id, "closed", brand_scope=None)
    with pytest.raises(PollClosed):
        demand.deliver(vote("M", "r1"))


# --- CSV ---------------------------------------------------------------------------------

EXPORT = (
    "Response ID,Participant ID,Answer,Submitted At\n"
    "1,p1,M,2026-06-29T10:00:00Z\n"
    "2,p2,navy,2026-06-29T11:00:00Z\n"
    "\n"
    "3,p3,The tee,2026-06-28T09:00:00+02:00\n"
)


def test_csv_export_of_a_survey_tool_is_recorded_once(demand):
    with transaction(demand.engine) as session:
        result = import_votes_csv(session, demand.poll.id, EXPORT.encode("utf-8-sig"),
                                  brand_scope=None, now=NOW)
    assert (result.applied, result.rows, result.recorded, result.errors) == (True, 3, 3, [])
    with transaction(demand.engine) as session:
        again = import_votes_csv(session, demand.poll.id, EXPORT, brand_scope=None, now=NOW)
    assert (again.applied, again.recorded) == (True, 0)
    assert demand.counts() == {"M": 1, "Navy": 1, "The tee": 1, "Knit dress": 0}
    # "Participant ID" names the respondent better than "Response ID" does.
    with transaction(demand.engine) as session:
        respondents = set(session.scalars(select(PollVote.respondent)))
    assert respondents == {"p1", "p2", "p3"}


def test_csv_with_unknown_options_reports_rows_and_writes_nothing(demand):
    export = (
        "respondent,option,date\n"
        "a,M,2026-06-29T10:00:00Z\n"
        "b,Purple,2026-06-29T10:00:00Z\n"
        "c,The tee,yesterday\n"
        "d,,2026-06-29T10:00:00Z\n"
        ",Navy,2026-06-29T10:00:00Z\n"
    )
    with transaction(demand.engine) as session:
        result = import_votes_csv(session, demand.poll.id, export, brand_scope=None, now=NOW)
    assert not result.applied and result.rows == 5
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (3, "option", "Purple"), (4, "date", "yesterday"), (5, "option", ""),
        (6, "respondent", ""),
    ]
    assert "row 3" in result.message and "Nothing imported" in result.message
    assert sum(demand.counts().values()) == 0


def test_csv_refusals(demand):
    with transaction(demand.engine) as session:
        with pytest.raises(CsvRefused, match="option"):
            import_votes_csv(session, demand.poll.id, "respondent,colour\na,b\n",
                             brand_scope=None)
        with pytest.raises(CsvRefused):
            import_votes_csv(session, demand.poll.id, "", brand_scope=None)
        with pytest.raises(CsvRefused):
            import_votes_csv(session, demand.poll.id, b"\xff\xfe\x00", brand_scope=None)
        with pytest.raises(NotFound):  # another brand's poll: as if it did not exist
            import_votes_csv(session, demand.other_poll.id, "respondent,option\na,Yes\n",
                             brand_scope=demand.nrd.brand_id)


# --- embed -------------------------------------------------------------------------------


def test_embed_allows_one_vote_per_respondent(demand):
    slug = demand.poll.slug
    with transaction(demand.engine) as session:
        embed_vote(session, slug, demand.options["Navy"], respondent="shopper-1", now=NOW)
    with transaction(demand.engine) as session, pytest.raises(AlreadyVoted):
        embed_vote(session, slug, demand.options["M"], respondent="shopper-1", now=NOW)
    with transaction(demand.engine) as session, pytest.raises(InvalidVote):
        embed_vote(session, slug, demand.other_poll.options[0].id,
                   respondent="shopper-2", now=NOW)
    # The same respondent id through the webhook is another source's answer.
    demand.deliver(vote("M", "shopper-1"))
    assert demand.counts() == {"M": 1, "Navy": 1, "The tee": 0, "Knit dress": 0}


def test_rate_limit_is_a_fixed_window_counter(demand):
    start = datetime(2026, 6, 30, 12, 0, 0, tzinfo=UTC)
    with transaction(demand.engine) as session:
        for second in range(3):
            hit_rate_limit(session, [("k", 3)], now=start + timedelta(seconds=second))
    with transaction(demand.engine) as session, pytest.raises(RateLimited) as limited:
        hit_rate_limit(session, [("k", 3)], now=start + timedelta(seconds=50))
    assert limited.value.retry_after == 10
    with transaction(demand.engine) as session:  # the next window starts afresh
        hit_rate_limit(session, [("k", 3)], now=start + timedelta(seconds=60))
    with transaction(demand.engine) as session:  # a day's counter is another counter
        for _ in range(3):
            hit_rate_limit(session, [("k", 3)], now=start, window=timedelta(days=1))
    with transaction(demand.engine) as session, pytest.raises(RateLimited) as daily:
        hit_rate_limit(session, [("k", 3)], now=start + timedelta(minutes=5),
                       window=timedelta(days=1))
    assert daily.value.retry_after == 12 * 3600 - 300


def test_embed_votes_are_rate_limited_per_respondent_even_when_refused(demand):
    token = issue_respondent_token()
    for attempt in range(5):
        try:
            submit_embed_vote(demand.poll.slug, "M", respondent_token=token,
                              client_ip="10.0.0.1", engine=demand.engine, now=NOW)
        except AlreadyVoted:
            assert attempt > 0
    with pytest.raises(RateLimited):
        submit_embed_vote(demand.poll.slug, "M", respondent_token=token, client_ip="10.0.0.2",
                          engine=demand.engine, now=NOW)
    with transaction(demand.engine) as session:
        assert session.scalar(select(func.count()).select_from(PollVote)) == 1


# --- demand signals ----------------------------------------------------------------------


def _votes(demand):
    demand.deliver([vote("M", f"m{i}") for i in range(3)]
                   + [vote("Navy", "n1"), vote("Navy", "n2"), vote("The tee", "t1")])


def test_demand_vs_stock_and_wanted_but_not_stocked(demand):
    _votes(demand)
    frames = AnalyticsData(demand.engine).frames()
    period = Filters(start=date(2026, 6, 1), end=date(2026, 6, 30))
    with transaction(demand.engine) as session:
        table = demand_vs_stock(session, frames, period, brand_scope=None)
        wanted = wanted_not_stocked(session, frames, period, brand_scope=None)
        vendor = demand_vs_stock(session, frames, period, brand_scope=demand.oth.brand_id)
    assert [
        (r["label"], r["votes"], r["variants"], r["available"], r["units_sold"],
         r["wanted_not_stocked"])
        for r in table.filter(pl.col("poll_id") == demand.poll.id).iter_rows(named=True)
    ] == [
        ("M", 3, 1, 12, 14, False),
        ("Navy", 2, 0, 0, 0, True),
        ("The tee", 1, 3, 18, 14, False),
        ("Knit dress", 0, 0, 0, 0, False),
    ]
    assert table.filter(pl.col("label") == "M")["share"][0] == pytest.approx(0.5)
    assert table.filter(pl.col("label") == "M")["per_day"][0] == pytest.approx(14 / 28)
    assert wanted.select("label", "votes", "signal").rows() == [("Navy", 2, "colour navy")]
    assert vendor["poll_id"].to_list() == [demand.other_poll.id]


def test_demand_signal_per_variant_for_replenishment(demand):
    _votes(demand)
    with transaction(demand.engine) as session:
        signal = demand_by_variant(session)
        only_other = demand_by_variant(session, brand_id=demand.oth.brand_id)
    v = demand.nrd.variants
    by_variant = {r[0]: (r[1], r[2]) for r in signal.rows()}
    # M: 3 votes for "M" + 1 for "The tee"; S and L: the tee's vote. Six votes in the poll.
    assert by_variant.keys() == {v["M"], v["S"], v["L"]}
    assert by_variant[v["M"]] == (4, pytest.approx(4 / 6))
    assert by_variant[v["S"]] == (1, pytest.approx(1 / 6))
    assert only_other.is_empty()
    assert signal.schema == pl.Schema(
        {"variant_id": pl.Int64, "demand_votes": pl.Int64, "demand_score": pl.Float64}
    )


def test_votes_over_time_are_normalised_per_day(demand):
    demand.deliver([vote("M", "a", 1), vote("M", "b", 1), vote("Navy", "c", 1),
                    vote("Navy", "d", 0)])
    with transaction(demand.engine) as session:
        series = votes_over_time(session, Filters(start=date(2026, 6, 28), end=date(2026, 6, 30)),
                                 brand_scope=None, poll_id=demand.poll.id)
        weekly = votes_over_time(session, Filters(start=date(2026, 6, 28), end=date(2026, 6, 30)),
                                 brand_scope=None, poll_id=demand.poll.id, bucket="week")
        quiet = votes_over_time(session, Filters(start=date(2026, 1, 1), end=date(2026, 1, 3)),
                                brand_scope=None, poll_id=demand.poll.id)
        with pytest.raises(PermissionDenied):
            votes_over_time(session, Filters(), brand_scope=demand.oth.brand_id,
                            poll_id=demand.poll.id)
    day = series.filter(pl.col("period_start") == date(2026, 6, 29))
    assert day.select("label", "votes").rows() == [
        ("M", 2), ("Navy", 1), ("The tee", 0), ("Knit dress", 0)
    ]
    assert day["share"].to_list() == pytest.approx([2 / 3, 1 / 3, 0, 0])
    assert series.height == 3 * 4
    assert series.filter(pl.col("period_start") == date(2026, 6, 28))["share"].sum() == 0
    assert weekly.filter(pl.col("label") == "Navy")["votes"].to_list() == [0, 2]
    assert is_empty(votes_over_time_chart(quiet))
    assert not is_empty(votes_over_time_chart(series, "Which should we restock?"))
