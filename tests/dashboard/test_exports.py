"""CSV exports over plain HTTP: the session cookie says who asks, the permission table
decides, a vendor gets their own brand whatever the link says, formulas are
neutralised, and a view too large is refused before the first byte."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import select

from dashboard import routes
from dashboard.api import exports
from dashboard.states import chart_panels
from dashboard.states.auth import SESSION_COOKIE
from jobs.analytics.accuracy import ACCURACY_COLUMNS
from models.alerts import scan_alerts, set_rule
from models.catalog import Brand, Product, Variant, Warehouse, brand_by_code
from models.db import set_default_engine, transaction
from models.grid import GridFilter, export_row_count
from models.imports import ImportRun
from models.stock import receive
from models.users import User, create_user, end_login_session, start_login_session
from tests.api_support import serve_api
from tests.e2e.seed import MANAGER, VENDOR, seed_database
from tests.factories import make_world


@pytest.fixture
def shop(sqlite_engine):
    set_default_engine(sqlite_engine)
    ours = make_world(sqlite_engine)
    theirs = make_world(sqlite_engine, brand="OTH", warehouses=())
    with transaction(sqlite_engine) as session:
        for variant in ours.variants.values():
            receive(session, variant, ours.warehouses["WH1"], 3, actor="setup")
        receive(session, theirs.variants["M"], ours.warehouses["WH2"], 5, actor="setup")
        # A product name a careless or hostile vendor typed: it must not run in a sheet.
        session.get(Product, session.get(Variant, theirs.variants["M"]).product_id).name = (
            '=HYPERLINK("x")'
        )
        tokens = {}
        for email, role, brand in [
            ("m@x.test", "merchandiser", None),
            ("v@x.test", "vendor", "NRD"),
        ]:
            user = create_user(session, email, "password-123", role, brand_code=brand)
            tokens[role] = start_login_session(session, user)
    with serve_api() as url:
        yield url, tokens, sqlite_engine
    set_default_engine(None)


def _get(url: str, token: str | None, query: str = "") -> httpx.Response:
    cookies = {SESSION_COOKIE: token} if token else {}
    return httpx.get(url + routes.STOCK_EXPORT + query, cookies=cookies, timeout=60)


def _rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


def test_a_merchandiser_downloads_the_whole_view_as_a_named_csv_file(shop):
    url, tokens, _ = shop
    answer = _get(url, tokens["merchandiser"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="rackroom-stock-')
    assert answer.headers["cache-control"] == "no-store"
    rows = _rows(answer)
    assert rows[0][0] == "SKU"
    assert sorted(r[0] for r in rows[1:]) == [
        "NRD-TEE1-BLK-L", "NRD-TEE1-BLK-M", "NRD-TEE1-BLK-S",
        "OTH-TEE1-BLK-L", "OTH-TEE1-BLK-M", "OTH-TEE1-BLK-S",
    ]


def test_the_link_carries_the_filter_and_a_vendor_gets_only_their_brand(shop):
    url, tokens, _ = shop
    search = _rows(_get(url, tokens["merchandiser"], "?q=BLK-M"))
    assert [r[0] for r in search[1:]] == ["NRD-TEE1-BLK-M", "OTH-TEE1-BLK-M"]
    # A vendor asking for another brand (or none) still gets their own.
    for query in ("", "?brand=2", "?brand=1,2"):
        rows = _rows(_get(url, tokens["vendor"], query))
        assert {r[0].split("-")[0] for r in rows[1:]} == {"NRD"}, query


def test_text_cells_cannot_run_as_spreadsheet_formulas(shop):
    url, tokens, _ = shop
    rows = _rows(_get(url, tokens["merchandiser"], "?q=OTH"))
    names = {r[2] for r in rows[1:]}
    assert names == {"'=HYPERLINK(\"x\")"}


def test_no_session_an_ended_one_or_a_bad_filter_gets_a_clear_refusal(shop):
    url, tokens, engine = shop
    assert _get(url, None).status_code == 401
    assert _get(url, "forged-token").status_code == 401
    with transaction(engine) as session:
        end_login_session(session, tokens["merchandiser"])
    ended = _get(url, tokens["merchandiser"])
    assert ended.status_code == 401
    assert "Sign in again" in ended.text
    bad = _get(url, tokens["vendor"], "?warehouse=abc")
    assert bad.status_code == 422
    assert "abc" in bad.text


def test_a_view_larger_than_the_limit_is_refused_before_any_row(shop, monkeypatch):
    url, tokens, engine = shop
    monkeypatch.setattr(exports, "STOCK_EXPORT_MAX_ROWS", 4)
    answer = _get(url, tokens["merchandiser"])
    assert answer.status_code == 422
    assert "6 rows" in answer.text and "at most 4" in answer.text
    with transaction(engine) as session:
        assert export_row_count(session, GridFilter(search="NRD"), max_rows=4) == 3


def test_the_link_names_every_filter_but_the_page():
    f = GridFilter(search="tee & co", warehouse_ids=(2, 1), page=7)
    href = exports.stock_export_href(f)
    assert href.startswith(routes.STOCK_EXPORT + "?")
    assert "page=" not in href and "q=tee+%26+co" in href
    assert GridFilter.from_params(dict(httpx.QueryParams(href.split("?", 1)[1]))).search == (
        "tee & co"
    )


# --- purchase lists, past import errors (the same shop) -----------------------------------


@pytest.fixture
def more(shop):
    """The shop with something to reorder for both brands (OTH's product name is a
    formula), a manager who must change their password first, and a past import per
    brand with stored errors."""
    url, tokens, engine = shop
    with transaction(engine) as session:
        merch = session.scalar(select(User).where(User.email == "m@x.test"))
        for code, warehouse, threshold in (("NRD", "WH1", 5), ("OTH", "WH2", 10)):
            brand = brand_by_code(session, code)
            variant = session.scalar(select(Variant).where(Variant.sku == f"{code}-TEE1-BLK-M"))
            set_rule(session, level="variant", subject_id=variant.id,
                     warehouse_id=session.scalar(select(Warehouse.id)
                                                 .where(Warehouse.code == warehouse)),
                     threshold=threshold, actor_id=merch.id)
            session.add(ImportRun(
                brand_id=brand.id, actor="v@x.test", file_name=f"{code}.csv", sha256=code * 8,
                format="shopify_inventory", status="refused", error_count=2,
                errors=[{"row": 2, "column": "SKU", "value": f"{code}-X", "reason": "unknown"},
                        {"row": 3, "column": "On hand", "value": "=1+1", "reason": "bad"}],
            ))
        scan_alerts(session)
        fresh = create_user(session, "new@x.test", "password-123", "manager")
        fresh.must_change_password = True
        tokens = {**tokens, "fresh": start_login_session(session, fresh)}
        runs = dict(session.execute(
            select(Brand.code, ImportRun.id).join(Brand, Brand.id == ImportRun.brand_id)
        ).all())
    return url, tokens, runs


def _fetch(url: str, path: str, token: str | None) -> httpx.Response:
    # A generous read timeout: the first analytics export builds the frames, which takes
    # seconds on a busy machine (httpx's default of 5 s failed such a run).
    return httpx.get(url + path, cookies={SESSION_COOKIE: token} if token else {}, timeout=60)


def test_a_purchase_list_streams_one_brand_with_formulas_neutralised(more):
    url, tokens, _ = more
    answer = _fetch(url, "/exports/replenishment.csv?brand=NRD", tokens["merchandiser"])
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith(
        'attachment; filename="rackroom-purchase-list-nrd-')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["sku"], r["deliver_to"]) for r in rows] == [("NRD-TEE1-BLK-M", "WH1")]
    other = list(csv.DictReader(io.StringIO(
        _fetch(url, "/exports/replenishment.csv?brand=oth", tokens["merchandiser"]).text)))
    assert [(r["sku"], r["product"]) for r in other] == [
        ("OTH-TEE1-BLK-M", "'=HYPERLINK(\"x\")")
    ]
    missing = _fetch(url, "/exports/replenishment.csv", tokens["merchandiser"])
    assert missing.status_code == 422 and "Pick a brand" in missing.text
    unknown = _fetch(url, "/exports/replenishment.csv?brand=NOPE", tokens["merchandiser"])
    assert unknown.status_code == 404 and "NOPE" in unknown.text
    # Poll demand: a votes column always, units per vote only when asked and sensible.
    assert rows[0]["demand_votes"] == "0"
    silly = _fetch(url, "/exports/replenishment.csv?brand=NRD&per_vote=1e9",
                   tokens["merchandiser"])
    assert silly.status_code == 422 and "Units per vote" in silly.text


def test_a_purchase_list_refuses_no_session_and_roles_without_the_permission(more):
    url, tokens, _ = more
    path = "/exports/replenishment.csv?brand=NRD"
    assert _fetch(url, path, None).status_code == 401
    # Vendors may not download purchase lists at all, whatever brand they name.
    for query in ("?brand=NRD", "?brand=OTH", ""):
        refused = _fetch(url, "/exports/replenishment.csv" + query, tokens["vendor"])
        assert refused.status_code == 403 and "SKU" not in refused.text
    assert _fetch(url, path, tokens["fresh"]).status_code == 403


def test_a_past_imports_errors_stream_to_its_own_brand_only(more):
    url, tokens, runs = more
    path = routes.IMPORT_ERRORS_EXPORT.format(run_id=runs["NRD"])
    answer = _fetch(url, path, tokens["vendor"])
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith(
        f'attachment; filename="rackroom-import-{runs["NRD"]}-errors-')
    assert _rows(answer) == [
        ["row", "column", "value", "reason"],
        ["2", "SKU", "NRD-X", "unknown"],
        ["3", "On hand", "'=1+1", "bad"],
    ]
    # Another brand's import is not in a vendor's history (nor is one that never was).
    theirs = _fetch(url, routes.IMPORT_ERRORS_EXPORT.format(run_id=runs["OTH"]),
                    tokens["vendor"])
    assert theirs.status_code == 404 and "OTH-X" not in theirs.text
    assert _fetch(url, routes.IMPORT_ERRORS_EXPORT.format(run_id=999), tokens["vendor"]
                  ).status_code == 404
    staff = _fetch(url, routes.IMPORT_ERRORS_EXPORT.format(run_id=runs["OTH"]),
                   tokens["merchandiser"])
    assert staff.status_code == 200 and "OTH-X" in staff.text
    assert _fetch(url, path, None).status_code == 401
    assert _fetch(url, path, tokens["fresh"]).status_code == 403


# --- analytics and demand tables (the browser tests' seed) --------------------------------


@pytest.fixture
def seeded(sqlite_engine):
    found = seed_database(sqlite_engine.url.render_as_string(hide_password=False))
    set_default_engine(sqlite_engine)
    tokens = {}
    with transaction(sqlite_engine) as session:
        # A style name a vendor typed: it must stay text in a spreadsheet.
        crew = session.scalar(select(Variant).where(Variant.sku == "SOLS-SO-CREW-S"))
        session.get(Product, crew.product_id).name = '=HYPERLINK("x")'
        for role, login in (("manager", MANAGER), ("vendor", VENDOR)):
            user = session.scalar(select(User).where(User.email == login.email))
            tokens[role] = start_login_session(session, user)
        fresh = create_user(session, "new@x.test", "password-123", "manager")
        fresh.must_change_password = True
        tokens["fresh"] = start_login_session(session, fresh)
    with serve_api() as url:
        yield url, tokens, found
    set_default_engine(None)


def test_an_analytics_table_streams_for_the_links_filters_and_choices(seeded):
    url, tokens, _ = seeded
    answer = _fetch(url, "/exports/analytics/velocity.csv?period=90", tokens["manager"])
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith(
        'attachment; filename="rackroom-velocity-')
    assert answer.text.startswith("\ufeff")  # Excel reads accents right
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert {r["sku"] for r in rows} >= {"SOLS-SO-CREW-S", "NORTH-NW-STRAIGHT-30"}
    assert {r["product"] for r in rows if r["sku"] == "SOLS-SO-CREW-S"} == {
        "'=HYPERLINK(\"x\")"
    }
    brands = list(csv.DictReader(io.StringIO(_fetch(
        url, "/exports/analytics/velocity.csv?level=brand&brand=SOLS", tokens["manager"]
    ).text.lstrip("\ufeff"))))
    assert [r["brand"] for r in brands] == ["SOLS"]
    for bad, status, says in (
        ("/exports/analytics/nope.csv", 404, "nope"),
        ("/exports/analytics/velocity.csv?level=galaxy", 422, "galaxy"),
        ("/exports/analytics/velocity.csv?end=someday", 422, "someday"),
        ("/exports/analytics/velocity.csv?warehouse=XX", 404, "XX"),
    ):
        refused = _fetch(url, bad, tokens["manager"])
        assert (refused.status_code, says in refused.text) == (status, True), bad


def test_a_vendor_gets_only_their_brand_of_any_chart(seeded):
    url, tokens, _ = seeded
    for path in ("/exports/analytics/velocity.csv", "/exports/analytics/trend.csv",
                 "/exports/analytics/history.csv?by=brand",
                 "/exports/demand/demand.csv", "/exports/demand/wanted.csv"):
        answer = _fetch(url, path, tokens["vendor"])
        assert answer.status_code == 200, path
        assert "NORTH" not in answer.text and "Northwind" not in answer.text, path
    velocity = _fetch(url, "/exports/analytics/velocity.csv", tokens["vendor"]).text
    assert "SOLS-SO-CREW-S" in velocity
    accuracy = _fetch(url, "/exports/analytics/accuracy.csv", tokens["vendor"])
    assert accuracy.status_code == 200
    assert accuracy.text.lstrip("\ufeff").splitlines() == [",".join(ACCURACY_COLUMNS)]  # none yet
    # Naming another brand is refused outright, not answered with an empty file.
    for path in ("/exports/analytics/velocity.csv?brand=NORTH",
                 "/exports/analytics/accuracy.csv?brand=NORTH",
                 "/exports/demand/demand.csv?brand=NORTH",
                 "/exports/analytics/velocity.csv?brand=GHOST"):
        refused = _fetch(url, path, tokens["vendor"])
        assert refused.status_code == 403 and "own brand" in refused.text, path


def test_demand_tables_stream_and_the_votes_need_a_poll(seeded):
    url, tokens, found = seeded
    votes = _fetch(url, f"/exports/demand/votes.csv?poll={found.poll_id}&bucket=week",
                   tokens["manager"])
    assert votes.status_code == 200
    assert votes.headers["content-disposition"].startswith(
        'attachment; filename="rackroom-demand-votes-')
    header = votes.text.lstrip("\ufeff").splitlines()[0]
    assert "period_start" in header and "votes" in header
    demand = _fetch(url, "/exports/demand/demand.csv", tokens["manager"])
    assert demand.status_code == 200 and "question" in demand.text.splitlines()[0]
    for bad, says in (("/exports/demand/votes.csv", "poll"),
                      (f"/exports/demand/votes.csv?poll={found.poll_id}&bucket=year", "year")):
        refused = _fetch(url, bad, tokens["manager"])
        assert refused.status_code == 422 and says in refused.text, bad


def test_chart_exports_refuse_no_session_and_a_password_change_first(seeded):
    url, tokens, _ = seeded
    for path in ("/exports/analytics/trend.csv", "/exports/demand/demand.csv"):
        assert _fetch(url, path, None).status_code == 401
        assert _fetch(url, path, "forged").status_code == 401
        assert _fetch(url, path, tokens["fresh"]).status_code == 403


def test_a_chart_table_larger_than_the_limit_is_refused_before_any_row(seeded, monkeypatch):
    url, tokens, _ = seeded
    monkeypatch.setattr(chart_panels, "EXPORT_MAX_ROWS", 5)
    answer = _fetch(url, "/exports/analytics/trend.csv", tokens["manager"])
    assert answer.status_code == 422
    assert "28 rows" in answer.text and "at most 5" in answer.text


# --- markdown suggestions (the same seed) ----------------------------------------------------


def _markdowns(url: str, token: str | None, query: str = "") -> httpx.Response:
    return _fetch(url, routes.MARKDOWNS_EXPORT + query, token)


def _table(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))


def test_markdowns_stream_for_the_filters_with_formulas_neutralised(seeded):
    url, tokens, _ = seeded
    answer = _markdowns(url, tokens["manager"])
    assert answer.headers["content-disposition"].startswith(
        'attachment; filename="rackroom-markdowns-')
    rows = _table(answer)
    assert [(r["brand"], r["product"], r["markdown"], r["age_days"]) for r in rows] == [
        ("SOLS", "'=HYPERLINK(\"x\")", "50 %", "150"),  # a vendor's text stays text
        ("NORTH", "Straight Jean", "0 %", "0"),
    ]
    assert rows[0]["weeks_of_cover"] == "266.4" and rows[0]["reason"].startswith("120+ days")
    assert [r["brand"] for r in _table(_markdowns(url, tokens["manager"], "?brand=NORTH"))] \
        == ["NORTH"]
    assert [r["brand"] for r in _table(_markdowns(url, tokens["manager"],
                                                  "?category=Knitwear"))] == ["SOLS"]
    assert _table(_markdowns(url, tokens["manager"], "?brand=NORTH&category=Knitwear")) == []
    unknown = _markdowns(url, tokens["manager"], "?brand=NOPE")
    assert unknown.status_code == 404 and "NOPE" in unknown.text


def test_markdowns_export_is_checked_and_scoped_to_a_vendors_brand(seeded):
    url, tokens, _ = seeded
    assert [r["brand"] for r in _table(_markdowns(url, tokens["vendor"]))] == ["SOLS"]
    for query in ("?brand=NORTH", "?brand=NOPE"):
        refused = _markdowns(url, tokens["vendor"], query)
        assert refused.status_code == 403 and "own brand" in refused.text
        assert "Straight Jean" not in refused.text
    with transaction() as session:
        merchandiser = create_user(session, "mx@x.test", "password-123", "merchandiser")
        token = start_login_session(session, merchandiser)
    refused = _markdowns(url, token)
    assert refused.status_code == 403 and "export markdown suggestions" in refused.text
    assert _markdowns(url, None).status_code == 401
    assert _markdowns(url, "forged").status_code == 401
    assert _markdowns(url, tokens["fresh"]).status_code == 403
