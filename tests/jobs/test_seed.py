"""`rackroom seed`: the demo dataset's shape, determinism, and the bulk path on PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, text
from sqlmodel import SQLModel

from jobs.analytics.demand import demand_vs_stock
from jobs.analytics.frames import AnalyticsData
from jobs.analytics.metrics import Filters
from jobs.demo_logins import DEMO_PASSWORD, demo_logins
from jobs.seed import run_seed, seed_database
from jobs.seed_catalog import ean13
from models.alerts import Alert, AlertRule, effective_rule, scan_alerts
from models.catalog import Brand, Product, Variant, Warehouse
from models.cycle_counts import CountItem, due_today, pending_variances
from models.db import create_db_engine, read_session, transaction
from models.errors import Conflict
from models.polls import PollVote
from models.reservations import Reservation, SaleLine
from models.stock import LedgerEntry, StockBalance, get_balance, receive, reconcile
from models.transfers import Transfer, TransferLine, transfer_timeline
from models.users import User, authenticate
from tests.conftest import PostgresDatabases, migrate

AS_OF = date(2026, 6, 30)


def fresh_sqlite(path: Path) -> Engine:
    url = f"sqlite:///{path}"
    migrate(url)
    return create_db_engine(url)


def seed_demo(engine: Engine, seed: int = 7) -> list[str]:
    lines: list[str] = []
    run_seed(scale="demo", seed=seed, if_empty=False, report=True, echo=lines.append,
             engine=engine, as_of=AS_OF)
    return lines


def schema_diffs(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def digest(engine: Engine) -> str:
    """A fingerprint of catalogue, stock and sales (not of wall-clock timestamps)."""
    queries = (
        "SELECT b.code, b.name FROM brand b ORDER BY b.id",
        "SELECT id, brand_id, style_code, name, category, attributes FROM product ORDER BY id",
        "SELECT id, sku, colour, size, size_system, size_rank, barcode, price_cents "
        "FROM variant ORDER BY id",
        "SELECT variant_id, kind, code FROM sku_alias ORDER BY id",
        "SELECT variant_id, warehouse_id, on_hand, reserved FROM stock_balance "
        "ORDER BY variant_id, warehouse_id",
        "SELECT id, variant_id, warehouse_id, qty, unit_price_cents, channel, order_ref, sold_at "
        "FROM sale_line ORDER BY id",
    )
    sha = hashlib.sha256()
    with engine.connect() as conn:
        for query in queries:
            for row in conn.execute(text(query)):
                sha.update(repr(tuple(row)).encode())
    return sha.hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    engine = fresh_sqlite(tmp_path_factory.mktemp("seed") / "demo.db")
    lines = seed_demo(engine)
    yield engine, lines
    engine.dispose()


def test_demo_catalogue_has_brands_with_different_size_systems(demo):
    engine, _ = demo
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Brand)) >= 6
        assert session.scalar(select(func.count()).select_from(Product)) >= 300
        systems = set(session.scalars(select(Variant.size_system).distinct()))
        assert len(systems) >= 4
        assert {"alpha", "waist", "eu_shoe", "one_size"} <= systems
        variants = session.execute(
            select(Variant.sku, Variant.barcode, Brand.code)
            .join(Brand, Brand.id == Variant.brand_id)
        ).all()
    skus = [sku for sku, _, _ in variants]
    assert len(skus) == len(set(skus))
    assert all(sku.startswith(code + "-") for sku, _, code in variants)
    barcodes = [barcode for _, barcode, _ in variants]
    assert len(barcodes) == len(set(barcodes))
    assert all(len(b) == 13 and ean13(b[:12]) == b for b in barcodes)
    with engine.connect() as conn:
        aliases = conn.execute(text("SELECT kind, count(*) FROM sku_alias GROUP BY kind")).all()
    assert {kind for kind, _ in aliases} >= {"brand", "legacy"}


def test_ean13_check_digit():
    assert ean13("400638133393") == "4006381333931"
    assert ean13("590123412345") == "5901234123457"


def test_demo_has_three_warehouses_and_two_stores(demo):
    engine, _ = demo
    with read_session(engine) as session:
        kinds = sorted(session.scalars(select(Warehouse.kind)))
    assert kinds == ["store", "store", "warehouse", "warehouse", "warehouse"]


def test_demo_stock_reconciles_has_size_curves_stock_outs_and_broken_runs(demo):
    engine, _ = demo
    with read_session(engine) as session:
        assert reconcile(session) == []
        receipts = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.reason == "receipt")
        )
        stocked = session.scalar(
            select(func.count()).select_from(StockBalance).where(StockBalance.on_hand > 0)
        )
        # Each balance the seed stocked came in with one receipt; the stores' sold-out
        # sizes restocked by the demo's received transfer came in by that transfer.
        restocked = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.reference.like("transfer:%"), LedgerEntry.on_hand_delta > 0)
        )
        assert receipts == stocked - restocked > 0 and restocked > 0
        assert session.scalar(
            select(func.count()).select_from(StockBalance).where(StockBalance.on_hand == 0)
        ) > 0
    with engine.connect() as conn:
        by_size = dict(conn.execute(text(
            "SELECT v.size, sum(b.on_hand) FROM stock_balance b "
            "JOIN variant v ON v.id = b.variant_id "
            "WHERE v.size_system = 'alpha' GROUP BY v.size"
        )).all())
        broken = conn.execute(text(
            "SELECT count(*) FROM (SELECT v.product_id, v.colour, b.warehouse_id, "
            "sum(CASE WHEN v.size IN ('S', 'M', 'L') THEN b.on_hand ELSE 0 END) AS core, "
            "sum(CASE WHEN v.size NOT IN ('S', 'M', 'L') THEN b.on_hand ELSE 0 END) AS other "
            "FROM variant v JOIN stock_balance b ON b.variant_id = v.id "
            "WHERE v.size_system = 'alpha' "
            "GROUP BY v.product_id, v.colour, b.warehouse_id) AS runs "
            "WHERE core = 0 AND other > 0"
        )).scalar_one()
    assert by_size["M"] > by_size["XS"] and by_size["L"] > by_size["XXL"]
    assert broken >= 1


def test_demo_sales_cover_a_year_with_weekly_and_size_shape(demo):
    engine, _ = demo
    with read_session(engine) as session:
        first, last, lines = session.execute(
            select(func.min(SaleLine.sold_at), func.max(SaleLine.sold_at), func.count())
        ).one()
        bad = session.scalar(select(func.count()).where(SaleLine.qty <= 0))
        channels = set(session.scalars(select(SaleLine.channel).distinct()))
        sample = session.scalars(select(SaleLine).limit(1)).one()
    assert sample.sold_at.tzinfo is not None
    assert lines >= 50_000 and not bad
    assert channels == {"web", "store"}
    first, last = (date.fromisoformat(str(x)[:10]) for x in (first, last))
    assert first == AS_OF - timedelta(days=365) and last == AS_OF - timedelta(days=1)
    with engine.connect() as conn:
        weekday = dict(conn.execute(text(
            "SELECT strftime('%w', sold_at), sum(qty) FROM sale_line GROUP BY 1"
        )).all())
        months = dict(conn.execute(text(
            "SELECT strftime('%m', sold_at), sum(qty) FROM sale_line GROUP BY 1"
        )).all())
    assert weekday["6"] > 1.3 * weekday["2"]  # Saturday beats Tuesday
    assert months["12"] > 1.5 * months["06"]  # December beats June


def test_demo_receipts_are_dated_so_markdowns_show_a_spread_of_tiers(demo):
    """Mostly fresh deliveries (0 %), and a few dozen slow style-colours old enough
    for each of the 20 / 30 / 50 % rules; every receipt before the seed's day."""
    import polars as pl

    from jobs.analytics.frames import AnalyticsData
    from jobs.analytics.markdowns import markdown_suggestions
    from jobs.analytics.metrics import Filters

    engine, _ = demo
    with read_session(engine) as session:
        first, last = session.execute(
            select(func.min(LedgerEntry.created_at), func.max(LedgerEntry.created_at))
            .where(LedgerEntry.reason == "receipt")
        ).one()
    assert AS_OF - timedelta(days=200) <= first.date() and last.date() < AS_OF
    table = markdown_suggestions(
        AnalyticsData(engine).frames(), Filters(end=AS_OF), brand_scope=None
    )
    tiers = dict(table.group_by("tier").len().iter_rows())
    assert tiers[0] >= 0.9 * table.height, tiers
    assert all(tiers.get(tier, 0) >= 5 for tier in (20, 30, 50)), tiers
    marked = table.filter(pl.col("tier") > 0)
    assert marked["age_days"].min() >= 60 and marked["weeks_of_cover"].drop_nulls().min() >= 10


def test_demo_users_log_in_and_reservations_are_live(demo):
    engine, lines = demo
    logins = demo_logins(engine)
    emails = {login.email for login in logins}
    assert {"admin@rackroom.test", "merch@rackroom.test", "manager@rackroom.test"} <= emails
    vendors = [login for login in logins if login.role == "vendor"]
    assert vendors and all(v.brand and v.email.endswith(".test") for v in vendors)
    assert authenticate("admin@rackroom.test", DEMO_PASSWORD, engine=engine).role == "admin"
    assert authenticate(vendors[0].email, DEMO_PASSWORD, engine=engine).brand_id is not None
    with read_session(engine) as session:
        active = session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.status == "active")
        )
    assert active >= 1
    assert lines[0].startswith("seeded demo data")
    assert any(line.startswith("overall") for line in lines)


def test_demo_watches_stock_and_asks_customers(demo, tmp_path):
    """A first `make run` has alerts to work and demand to read: the demo's rules raise
    every kind of alert at the watched centre on the first scan, each rule level shows
    in what a SKU inherits, and the polls' answers show sizes wanted and colours wanted
    but not stocked."""
    engine, lines = demo
    said = re.search(r", (\d+) alert rules, 2 polls with ([\d,]+) votes,", lines[0])
    with read_session(engine) as session:
        rules = session.scalar(select(func.count()).select_from(AlertRule))
        votes = session.scalar(select(func.count()).select_from(PollVote))
    assert said and (int(said[1]), int(said[2].replace(",", ""))) == (rules, votes)
    # A copy, so the scan's alerts stay out of the module's database.
    copy = create_db_engine(f"sqlite:///{tmp_path / 'scanned.db'}")
    with engine.connect() as source, copy.connect() as target:
        source.connection.driver_connection.backup(target.connection.driver_connection)
    with transaction(copy) as session:
        changes = scan_alerts(session)
        kinds = dict(session.execute(
            select(Alert.kind, func.count()).group_by(Alert.kind)).all())
        places = set(session.scalars(
            select(Warehouse.code).join(Alert, Alert.warehouse_id == Warehouse.id)))
        style = session.scalar(select(Product).where(Product.id == session.scalar(
            select(AlertRule.subject_id).where(AlertRule.level == "product"))))
        first, *_ = session.scalars(
            select(Variant.id).where(Variant.product_id == style.id).order_by(Variant.id))
        store, centre = (session.scalar(select(Warehouse.id).where(Warehouse.code == code))
                         for code in ("ST-LDN", "WH-MAD"))
        at_store = effective_rule(session, first, store)
        at_centre = effective_rule(session, first, centre)
    copy.dispose()
    # The demo's shipped transfers checked their SKUs' alerts as they moved them; the scan
    # raises the rest.
    assert sum(kinds.values()) >= changes.raised > 100
    assert set(kinds) == {"low_stock", "out_of_stock", "broken_size_run"}
    assert "WH-AMS" in places
    assert (at_store.level, at_store.threshold) == ("variant", 0)
    assert (at_centre.level, at_centre.threshold) == ("product", 3)

    frames = AnalyticsData(engine).frames()
    period = Filters(start=AS_OF - timedelta(days=27), end=AS_OF)
    with read_session(engine) as session:
        table = demand_vs_stock(session, frames, period, brand_scope=None)
    sizes = table.filter(pl.col("question").str.starts_with("Which size"))
    assert sizes.height >= 5 and sizes["votes"].sum() >= 150
    assert (sizes["variants"] > 0).all()
    colours = table.filter(pl.col("question").str.starts_with("Which colour"))
    missing = colours.filter(pl.col("wanted_not_stocked") & (pl.col("variants") == 0))
    assert set(missing["label"]) == {"Forest", "Burgundy"}
    assert (missing["votes"] > 0).all()


def test_demo_has_transfers_and_counts_at_every_step(demo):
    """A first `make run` shows the transfer workflow and cycle counts in use: a restock
    at each step, done by the merchandiser and approved by the manager before the seed's
    day, its stock where that step puts it; today's count lists, and a variance waiting
    for the manager."""
    engine, lines = demo
    said = re.search(r", (\d+) transfers, ([\d,]+) SKUs classed for cycle counts, "
                     r"(\d+) count variances? to approve$", lines[0])
    with read_session(engine) as session:
        places = dict(session.execute(select(Warehouse.id, Warehouse.code)).all())
        staff = dict(session.execute(select(User.email, User.id)).all())
        transfers = session.scalars(select(Transfer).order_by(Transfer.id)).all()
        classed = session.scalar(select(func.count()).select_from(CountItem))
        variances = pending_variances(session, actor_id=staff["manager@rackroom.test"])
        assert said and [int(n.replace(",", "")) for n in said.groups()] == [
            len(transfers), classed, len(variances)]
        assert {t.status for t in transfers} == {"received", "in_transit", "requested",
                                                 "draft"}
        midnight = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC)
        for transfer in transfers:
            assert places[transfer.source_warehouse_id].startswith("WH-")
            assert places[transfer.dest_warehouse_id].startswith("ST-")
            assert transfer.created_by_id == staff["merch@rackroom.test"]
            steps = transfer_timeline(session, transfer.id)
            assert all(step.at < midnight for step in steps), steps
            moved = session.execute(
                select(TransferLine.variant_id, TransferLine.qty, Variant.brand_id)
                .join(Variant, Variant.id == TransferLine.variant_id)
                .where(TransferLine.transfer_id == transfer.id)
            ).all()
            assert moved and len({brand for _v, _q, brand in moved}) == 1
            at_dest = [get_balance(session, v, transfer.dest_warehouse_id) for v, _q, _b in moved]
            if transfer.status == "in_transit":
                assert [b.incoming for b in at_dest] == [q for _v, q, _b in moved]
            if transfer.status == "received":
                assert all(b.on_hand >= q for b, (_v, q, _b) in zip(at_dest, moved, strict=True))
            if transfer.status in ("received", "in_transit"):
                assert transfer.approved_by_id == staff["manager@rackroom.test"]
        assert reconcile(session) == []
        # Each warehouse has a list due today; London's was counted (not due again).
        due = {code: len(due_today(session, place, AS_OF)) for place, code in places.items()}
        assert all(due[code] > 0 for code in due if code != "ST-LDN"), due
    assert [(v.warehouse, v.expected - v.counted) for v in variances] == [("ST-LDN", 5)]


def test_demo_leaves_the_schema_as_migrated(demo):
    engine, _ = demo
    assert schema_diffs(engine) == []


def test_seed_skips_with_if_empty_and_refuses_otherwise(demo):
    engine, _ = demo
    lines: list[str] = []
    run_seed(scale="demo", seed=7, if_empty=True, report=False, echo=lines.append, engine=engine)
    assert lines == ["seed skipped: the database already has brands"]
    with pytest.raises(Conflict):
        run_seed(scale="demo", seed=7, if_empty=False, report=False, echo=lines.append,
                 engine=engine)


def test_same_seed_same_data_other_seed_other_data(demo, tmp_path):
    engine, _ = demo
    again = fresh_sqlite(tmp_path / "again.db")
    other = fresh_sqlite(tmp_path / "other.db")
    try:
        seed_demo(again)
        seed_demo(other, seed=8)
        assert digest(again) == digest(engine)
        assert digest(other) != digest(engine)
    finally:
        again.dispose()
        other.dispose()


@pytest.mark.postgres
def test_small_bulk_seed_on_postgres_copies_rebuilds_and_reconciles(
    pg_databases: PostgresDatabases,
):
    url = pg_databases.create("rackroom_seed")
    migrate(url)
    engine = create_db_engine(url, pool_size=2)
    try:
        result = seed_database(engine, scale="small", seed=3, as_of=AS_OF, progress=False)
        assert result is not None and result.dialect == "postgresql"
        counts = {t.table: t.rows for t in result.tables}
        assert counts["variant"] >= 20_000
        assert counts["stock_balance"] == counts["variant"] * 8
        assert counts["sale_line"] >= 190_000
        assert schema_diffs(engine) == []  # foreign keys and indexes are back, as migrated
        with read_session(engine) as session:
            assert reconcile(session) == []
            assert session.scalar(select(func.count()).select_from(SaleLine)) == counts["sale_line"]
            ledger_max = session.scalar(select(func.max(LedgerEntry.id)))
            variant_id, warehouse_id = session.execute(
                select(StockBalance.variant_id, StockBalance.warehouse_id).limit(1)
            ).one()
        with transaction(engine) as session:  # sequences continue after the copied ids
            receive(session, variant_id, warehouse_id, 1, actor="test")
        with read_session(engine) as session:
            # Past the copied ids; events share the ledger's sequence, so a reservation's
            # event may have taken the number after the last copied row.
            assert session.scalar(select(func.max(LedgerEntry.id))) > ledger_max
    finally:
        engine.dispose()
