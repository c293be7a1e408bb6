"""Channels allocate by strategy, split all or nothing, and retry idempotently, on both
databases, with four hand-placed warehouses (tests/channel_support.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models.allocation import Candidate, allocate
from models.catalog import Warehouse
from models.channels import Strategy, create_channel, list_channels, update_channel
from models.db import read_session, transaction
from models.errors import Conflict, InsufficientStock, InvalidQuantity, NotFound
from models.geo import Place, distance_km, place
from models.reservations import Reservation, commit_hold, release_hold, reserve
from models.stock import LedgerEntry, get_balance, reconcile
from tests.channel_support import BARCELONA, EDINBURGH, LONDON, make_europe, stock


@pytest.fixture
def europe(engine):
    return make_europe(engine)


def channel(engine, code="eu", *, strategy="priority", warehouses="LON,MAN,MAD,CPH", **kw):
    with transaction(engine) as session:
        create_channel(session, code, code.upper(), strategy=strategy, warehouses=warehouses, **kw)


def hold(engine, world, qty, order="o1", *, code="eu", ship_to=None, size="M", **kw):
    with transaction(engine) as session:
        result = reserve(
            session,
            world.variants[size],
            qty,
            channel=code,
            order_ref=order,
            actor="shop",
            ship_to=ship_to,
            **kw,
        )
    return result


def codes(world, result):
    names = {wid: code for code, wid in world.warehouses.items()}
    return [(names[wid], qty) for wid, qty in result.allocations]


def balances(engine, world, size="M"):
    with read_session(engine) as session:
        return {
            code: get_balance(session, world.variants[size], wid).reserved
            for code, wid in world.warehouses.items()
        }


def test_the_hand_placed_distances_are_right():
    assert distance_km(LONDON, Place("GB", 53.4808, -2.2426)) == pytest.approx(262, abs=3)
    assert distance_km(LONDON, Place("ES", 40.4168, -3.7038)) == pytest.approx(1264, abs=5)
    assert distance_km(LONDON, Place("DK")) is None


def test_priority_takes_the_channel_order_not_the_warehouse_priority(engine, europe):
    channel(engine, warehouses="MAD,CPH,LON,MAN")
    stock(engine, europe, LON=5, MAN=5, MAD=1, CPH=4)
    assert codes(europe, hold(engine, europe, 1, "a")) == [("MAD", 1)]
    assert codes(europe, hold(engine, europe, 3, "b")) == [("CPH", 3)]  # MAD is empty now
    assert codes(europe, hold(engine, europe, 5, "c")) == [("LON", 5)]


def test_most_stock_takes_the_fullest_and_breaks_ties_by_the_channel_order(engine, europe):
    channel(engine, strategy="most-stock", warehouses="LON,MAD,MAN,CPH")
    stock(engine, europe, LON=5, MAN=8, MAD=8, CPH=2)
    assert codes(europe, hold(engine, europe, 2, "a")) == [("MAD", 2)]  # MAD before MAN
    assert codes(europe, hold(engine, europe, 2, "b")) == [("MAN", 2)]  # now MAN has most


def test_nearest_takes_the_closest_warehouse_that_covers(engine, europe):
    channel(engine, strategy="nearest")
    stock(engine, europe, LON=5, MAN=5, MAD=2, CPH=5)
    assert codes(europe, hold(engine, europe, 1, "a", ship_to=EDINBURGH)) == [("MAN", 1)]
    assert codes(europe, hold(engine, europe, 1, "b", ship_to=BARCELONA)) == [("MAD", 1)]
    # Madrid has one left: Barcelona's next closest that covers three is London.
    assert codes(europe, hold(engine, europe, 3, "c", ship_to=BARCELONA)) == [("LON", 3)]


def test_nearest_without_coordinates_takes_the_same_country_then_the_channel_order(engine, europe):
    channel(engine, strategy="nearest", warehouses="MAN,LON,MAD,CPH")
    stock(engine, europe, LON=5, MAN=5, MAD=5, CPH=5)
    assert codes(europe, hold(engine, europe, 1, "a", ship_to=place("DK"))) == [("CPH", 1)]
    # A tie: two warehouses in Great Britain, the channel lists Manchester first.
    assert codes(europe, hold(engine, europe, 1, "b", ship_to=place("GB"))) == [("MAN", 1)]
    # No warehouse in France, no coordinates, no address: the channel's order.
    assert codes(europe, hold(engine, europe, 1, "c", ship_to=place("FR"))) == [("MAN", 1)]
    assert codes(europe, hold(engine, europe, 1, "d")) == [("MAN", 1)]


def test_a_warehouse_without_coordinates_ranks_after_those_with(engine, europe):
    with transaction(engine) as session:
        session.get(Warehouse, europe.warehouses["MAD"]).latitude = None
        session.get(Warehouse, europe.warehouses["MAD"]).longitude = None
    channel(engine, strategy="nearest")
    stock(engine, europe, LON=5, MAD=5)
    assert codes(europe, hold(engine, europe, 1, "a", ship_to=BARCELONA)) == [("LON", 1)]


def test_a_split_across_two_takes_the_fewest_then_the_nearest(engine, europe):
    channel(engine, strategy="nearest", allow_split=True)
    stock(engine, europe, LON=3, MAN=2, MAD=4, CPH=1)
    result = hold(engine, europe, 6, ship_to=LONDON)
    # Pairs that cover six: LON+MAD and MAN+MAD; London's own warehouse comes first.
    assert result.created and codes(europe, result) == [("LON", 3), ("MAD", 3)]
    assert balances(engine, europe) == {"LON": 3, "MAN": 0, "MAD": 3, "CPH": 0}
    assert [r.line for r in result.lines] == [0, 1]
    with read_session(engine) as session:
        assert reconcile(session) == []


def test_a_split_is_refused_when_the_total_is_short_and_nothing_is_reserved(engine, europe):
    channel(engine, strategy="nearest", allow_split=True)
    stock(engine, europe, LON=3, MAN=2, MAD=4, CPH=1)
    with read_session(engine) as session:
        ledger_before = session.scalar(select(func.count()).select_from(LedgerEntry))
    with pytest.raises(InsufficientStock) as refused:
        hold(engine, europe, 11, ship_to=LONDON)
    assert refused.value.details == {"available": 10, "requested": 11}
    assert balances(engine, europe) == {"LON": 0, "MAN": 0, "MAD": 0, "CPH": 0}
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Reservation)) == 0
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == ledger_before


def test_without_allow_split_no_single_warehouse_is_a_refusal(engine, europe):
    channel(engine, strategy="nearest")
    stock(engine, europe, LON=3, MAD=4)
    with pytest.raises(InsufficientStock, match="Only 4 available in any single"):
        hold(engine, europe, 6, ship_to=LONDON)


def test_a_retry_returns_the_same_allocations_and_holds_nothing_more(engine, europe):
    channel(engine, strategy="nearest", allow_split=True)
    stock(engine, europe, LON=3, MAD=4)
    first = hold(engine, europe, 6, ship_to=LONDON)
    stock(engine, europe, MAN=10)  # a retry does not re-allocate, even if it could now
    again = hold(engine, europe, 6, ship_to=EDINBURGH)
    assert not again.created
    assert codes(europe, again) == codes(europe, first) == [("LON", 3), ("MAD", 3)]
    assert again.reservation.id == first.reservation.id
    assert balances(engine, europe) == {"LON": 3, "MAN": 0, "MAD": 3, "CPH": 0}
    with pytest.raises(Conflict, match="already holds reservation"):
        hold(engine, europe, 5, ship_to=LONDON)


def test_a_split_hold_commits_and_releases_as_one(engine, europe):
    channel(engine, allow_split=True)
    stock(engine, europe, LON=2, MAN=2, MAD=2)
    first = hold(engine, europe, 4, "a")
    second = hold(engine, europe, 2, "b")
    with transaction(engine) as session:
        committed = commit_hold(session, first.lines[1].id, actor="shop")
        released = release_hold(session, second.reservation.id, actor="shop")
    assert {r.status for r in committed} == {"committed"} and len(committed) == 2
    assert [r.status for r in released] == ["released"]
    with read_session(engine) as session:
        assert reconcile(session) == []
        on_hand = {
            code: get_balance(session, europe.variants["M"], wid).on_hand
            for code, wid in europe.warehouses.items()
        }
    assert on_hand == {"LON": 0, "MAN": 0, "MAD": 2, "CPH": 0}


def test_a_named_warehouse_must_be_one_of_the_channels(engine, europe):
    channel(engine, warehouses="LON,MAN")
    stock(engine, europe, LON=2, MAD=2)
    with pytest.raises(InvalidQuantity, match="not one of channel eu"):
        hold(engine, europe, 1, warehouse_id=europe.warehouses["MAD"])
    assert codes(europe, hold(engine, europe, 1, warehouse_id=europe.warehouses["LON"])) == [
        ("LON", 1)
    ]


def test_an_unconfigured_channel_allocates_as_before(engine, europe):
    channel(engine, strategy="nearest")
    stock(engine, europe, LON=2, MAD=5)
    # "shop" has no channel row: warehouse priority, whatever the address.
    assert codes(europe, hold(engine, europe, 1, code="shop", ship_to=BARCELONA)) == [("LON", 1)]


def test_bad_channel_configuration_is_refused_by_name(engine, europe):
    with transaction(engine) as session:
        session.get(Warehouse, europe.warehouses["CPH"]).is_active = False
    with pytest.raises(NotFound, match="No warehouse with code 'PAR'"):
        channel(engine, warehouses="LON,PAR")
    with pytest.raises(Conflict, match="Warehouse CPH is inactive"):
        channel(engine, warehouses="LON,CPH")
    with pytest.raises(InvalidQuantity, match="strategy must be one of"):
        channel(engine, strategy="cheapest")
    with pytest.raises(InvalidQuantity, match="listed twice"):
        channel(engine, warehouses="LON,lon")
    channel(engine, warehouses="LON,MAN")
    with pytest.raises(Conflict, match="already exists"):
        channel(engine, warehouses="LON")
    with read_session(engine) as session:
        assert [(c.code, c.warehouses) for c in list_channels(session)] == [("eu", ("LON", "MAN"))]


def test_a_channel_whose_warehouse_was_deactivated_or_itself_inactive_refuses(engine, europe):
    channel(engine, warehouses="LON,MAN")
    stock(engine, europe, LON=2)
    with transaction(engine) as session:
        session.get(Warehouse, europe.warehouses["MAN"]).is_active = False
    with pytest.raises(Conflict, match="lists inactive warehouse"):
        hold(engine, europe, 1)
    with transaction(engine) as session:
        update_channel(session, "eu", warehouses="LON", active=False)
    with pytest.raises(Conflict, match="inactive; it cannot reserve"):
        hold(engine, europe, 1)
    with transaction(engine) as session:
        update_channel(session, "eu", active=True, strategy="most-stock")
    assert codes(europe, hold(engine, europe, 1)) == [("LON", 1)]


def test_update_refuses_a_bad_list_and_changes_nothing(engine, europe):
    channel(engine, warehouses="LON,MAN")
    with pytest.raises(NotFound), transaction(engine) as session:
        update_channel(session, "eu", name="Renamed", warehouses="LON,XXX")
    with read_session(engine) as session:
        (row,) = list_channels(session)
    assert (row.name, row.warehouses) == ("EU", ("LON", "MAN"))


@pytest.mark.parametrize(
    ("country", "lat", "lon", "message"),
    [
        ("XX", None, None, "ISO 3166-1 alpha-2"),
        ("GBR", None, None, "ISO 3166-1 alpha-2"),
        ("GB", 91, 0, "lat must be between -90 and 90"),
        ("GB", 0, -180.5, "lon must be between -180 and 180"),
        ("GB", 51.5, None, "give both or neither"),
        ("GB", "north", 1, "lat must be a number"),
    ],
)
def test_bad_places_are_refused_naming_the_value(country, lat, lon, message):
    with pytest.raises(InvalidQuantity, match=message):
        place(country, lat, lon)


def test_allocate_alone_splits_over_the_fewest():
    candidates = [Candidate(i, i, available) for i, available in enumerate([1, 1, 1, 5, 4])]
    chosen = allocate(candidates, 9, strategy=Strategy.PRIORITY, allow_split=True)
    assert chosen == [(3, 5), (4, 4)]
    assert allocate(candidates, 10, strategy=Strategy.PRIORITY, allow_split=True) == [
        (0, 1),
        (3, 5),
        (4, 4),
    ]
