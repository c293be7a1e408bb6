"""The browser tests' data: a small catalogue with stock, seeded through `models`.

Independent of the demo seeder, so the figures the tests assert are the ones
written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    name: str


@dataclass(frozen=True)
class Seeded:
    """What the seed put in the database, and the figures the Overview must show."""

    merchandiser: Login
    vendor: Login
    admin: Login
    vendor_brand: str
    other_brand: str
    #: The app's database, for tests that check what a click really stored.
    database_url: str
    manager: Login | None = None
    #: The poll the seed opened and published (id, public slug), and its option labels.
    poll_id: int = 0
    poll_slug: str = ""
    poll_options: tuple[str, ...] = field(default_factory=tuple)


MERCHANDISER = Login("mia@rackroom.test", "merch-password-1", "Mia Merchant")
VENDOR = Login("sol@solstice.test", "vendor-password-1", "Sol Vendor")
ADMIN = Login("ada@rackroom.test", "admin-password-1", "Ada Admin")
MANAGER = Login("max@rackroom.test", "manager-password-1", "Max Manager")

#: Sale history: (variant key, warehouse, qty, days before today). Reported earlier by
#: channels, so written as sale lines only: today's stock (the figures above) is as is.
#: Northwind's 30-waist sells 3 a day for 20 days (and sold a year ago); its 32-waist
#: three single units; Solstice's S crew 2 a day for 6 days plus 5 units 40 days ago,
#: its M crew 4 units 60 days ago.
SALES: tuple[tuple[str, str, int, int], ...] = (
    *(("NW-STRAIGHT-30", "LDN", 3, day) for day in range(1, 21)),
    *(("NW-STRAIGHT-30", "LDN", 2, 364 + day) for day in range(0, 10)),
    ("NW-STRAIGHT-32", "MCR", 1, 2),
    ("NW-STRAIGHT-32", "MCR", 1, 5),
    ("NW-STRAIGHT-32", "MCR", 1, 9),
    *(("SO-CREW-S", "LDN", 2, day) for day in range(1, 7)),
    ("SO-CREW-S", "LDN", 5, 40),
    ("SO-CREW-M", "MCR", 4, 60),
)
#: Days since Solstice's M crew arrived at Manchester: its oat crew is that old, and has
#: no end to its cover in sight (a 50 % markdown); Northwind's jean arrived today.
RECEIVED_DAYS_AGO = 150
POLL_QUESTION = "Which should we stock next?"
#: (label, signals). Nobody carries an XL crew or a black jean: both are "wanted but not
#: stocked" once voted for; the oat M crew is in stock.
POLL_OPTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("Merino crew in XL", {"product": "SO-CREW", "size": "XL"}),
    ("Oat crew in M", {"product": "SO-CREW", "size": "M"}),
    ("Black straight jean", {"brand": "NORTH", "colour": "Black"}),
)


def seed_database(url: str) -> Seeded:
    """Two brands, two warehouses, six variants, some stock and one reservation.

    Northwind: 1,000 + 200 (London) + 34 (Manchester) = 1,234 on hand, 34 reserved,
    its 34-waist jean never received (out of stock). Solstice: 500 (London) + 66
    (Manchester) = 566 on hand, its L crew never received. Totals: 1,800 on hand,
    34 reserved, 1,766 available, 2 out-of-stock variants.

    For the stock grid: categories (Jeans, Knitwear), real size systems (waist, alpha;
    the crew's run is broken: L is out while S and M remain), a barcode per variant
    and one Shopify alias (SHOP-CREW-OAT-M for the M crew).
    """
    from models.catalog import Product, SkuAlias, Variant, create_brand, create_warehouse
    from models.db import create_db_engine, transaction
    from models.reservations import reserve
    from models.sizes import size_rank
    from models.stock import receive
    from models.users import create_user

    engine = create_db_engine(url, pool_size=1)
    actor = "e2e-seed"
    try:
        with transaction(engine) as session:
            north = create_brand(session, "NORTH", "Northwind Denim")
            sol = create_brand(session, "SOLS", "Solstice Knitwear")
            london = create_warehouse(session, "LDN", "London DC", priority=10)
            manchester = create_warehouse(
                session, "MCR", "Manchester Store", kind="store", priority=20
            )
            variants: dict[str, Variant] = {}
            for n, (brand, style, name, category, colour, system, sizes) in enumerate(
                (
                    (
                        north,
                        "NW-STRAIGHT",
                        "Straight Jean",
                        "Jeans",
                        "Indigo",
                        "waist",
                        ("30", "32", "34"),
                    ),
                    (sol, "SO-CREW", "Merino Crew", "Knitwear", "Oat", "alpha", ("S", "M", "L")),
                )
            ):
                assert brand.id is not None
                product = Product(brand_id=brand.id, style_code=style, name=name, category=category)
                session.add(product)
                session.flush()
                assert product.id is not None
                for i, size in enumerate(sizes):
                    sku = f"{brand.code}-{style}-{size}"
                    variant = Variant(
                        product_id=product.id,
                        brand_id=brand.id,
                        sku=sku,
                        colour=colour,
                        size=size,
                        size_system=system,
                        size_rank=size_rank(system, size),
                        barcode=f"50000000{n}{i:04d}",
                    )
                    session.add(variant)
                    variants[f"{style}-{size}"] = variant
            session.flush()
            session.add(
                SkuAlias(
                    variant_id=variants["SO-CREW-M"].id,
                    brand_id=sol.id,
                    kind="shopify",
                    code="SHOP-CREW-OAT-M",
                )
            )

            def vid(key: str) -> int:
                variant_id = variants[key].id
                assert variant_id is not None
                return variant_id

            assert london.id is not None and manchester.id is not None
            receive(session, vid("NW-STRAIGHT-30"), london.id, 1000, actor=actor)
            receive(session, vid("NW-STRAIGHT-32"), london.id, 200, actor=actor)
            receive(session, vid("NW-STRAIGHT-32"), manchester.id, 34, actor=actor)
            receive(session, vid("SO-CREW-S"), london.id, 500, actor=actor)
            _received_long_ago(session, vid("SO-CREW-M"), manchester.id, 66, actor)
            reserve(
                session,
                vid("NW-STRAIGHT-30"),
                34,
                channel="web",
                order_ref="E2E-1",
                actor=actor,
                warehouse_id=london.id,
                ttl=timedelta(days=7),
            )
            create_user(
                session,
                MERCHANDISER.email,
                MERCHANDISER.password,
                "merchandiser",
                name=MERCHANDISER.name,
            )
            create_user(
                session,
                VENDOR.email,
                VENDOR.password,
                "vendor",
                brand_code="SOLS",
                name=VENDOR.name,
            )
            create_user(session, ADMIN.email, ADMIN.password, "admin", name=ADMIN.name)
            poll_id, poll_slug = _seed_analytics(
                session, vid, {"LDN": london.id, "MCR": manchester.id}, actor
            )
    finally:
        engine.dispose()
    return Seeded(
        MERCHANDISER,
        VENDOR,
        ADMIN,
        vendor_brand=sol.name,
        other_brand=north.name,
        database_url=url,
        manager=MANAGER,
        poll_id=poll_id,
        poll_slug=poll_slug,
        poll_options=tuple(label for label, _ in POLL_OPTIONS),
    )


def _received_long_ago(
    session: Session, variant_id: int, warehouse_id: int, qty: int, actor: str
) -> None:
    """A receipt from before Rackroom (`RECEIVED_DAYS_AGO`): like the sale history,
    written as it was recorded then (its balance and its ledger row, the row dated
    then), since the stock operations stamp every change with the time they run."""
    from models.stock import LedgerEntry, LedgerReason, StockBalance

    then = datetime.now(UTC) - timedelta(days=RECEIVED_DAYS_AGO)
    session.add(StockBalance(variant_id=variant_id, warehouse_id=warehouse_id, on_hand=qty,
                             updated_at=then))
    session.add(LedgerEntry(variant_id=variant_id, warehouse_id=warehouse_id,
                            on_hand_delta=qty, reason=LedgerReason.RECEIPT.value,
                            reference="PO-OPENING", actor=actor, created_at=then))
    session.flush()


def _seed_analytics(
    session: Session, vid: Callable[[str], int], warehouse_ids: dict[str, int], actor: str
) -> tuple[int, str]:
    """For analytics and demand: a manager, the sale history in `SALES`, three daily
    stock snapshots, and one open, published poll across brands (`POLL_OPTIONS`) with two
    votes for the oat M crew. Returns the poll's id and slug."""
    from models.polls import create_poll, embed_vote
    from models.reservations import SaleLine
    from models.snapshots import take_stock_snapshot
    from models.users import create_user

    create_user(session, MANAGER.email, MANAGER.password, "manager", name=MANAGER.name)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for n, (key, warehouse, qty, days) in enumerate(SALES):
        session.add(
            SaleLine(
                variant_id=vid(key),
                warehouse_id=warehouse_ids[warehouse],
                qty=qty,
                channel="web",
                order_ref=f"E2E-HIST-{n}",
                sold_at=now - timedelta(days=days),
            )
        )
    for days in (2, 1, 0):
        take_stock_snapshot(session, day=(now - timedelta(days=days)).date())
    poll = create_poll(
        session,
        POLL_QUESTION,
        [{"label": label, **signals} for label, signals in POLL_OPTIONS],
        actor=actor,
        brand_scope=None,
        published=True,
    ).poll
    for respondent in ("seed-1", "seed-2"):
        embed_vote(
            session, poll.slug, "Oat crew in M", respondent=respondent,
            now=now - timedelta(days=1),
        )
    return poll.id, poll.slug


def on_hand_counts(session: Session) -> dict[tuple[int, int], int]:
    """Every balance's on hand, by (variant, warehouse): what `put_counts_back` restores."""
    from sqlalchemy import select

    from models.stock import StockBalance

    balances = session.scalars(select(StockBalance))
    return {(b.variant_id, b.warehouse_id): b.on_hand for b in balances}


def put_counts_back(session: Session, counts: dict[tuple[int, int], int]) -> None:
    """Set every balance back to its count in `counts` (0 for one made since), so a module
    that changed stock leaves the shared browser database as it found it."""
    from models.stock import set_count

    for key, now in on_hand_counts(session).items():
        if now != counts.get(key, 0):
            set_count(session, *key, counts.get(key, 0), actor="e2e-restore", reason="correction")
