"""`rackroom channel …` and `rackroom warehouse create|update` with places, as a real
process against SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from models.catalog import Warehouse
from models.db import read_session
from tests.jobs.test_cli import rackroom


@pytest.fixture
def url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def ok(url: str, *args: str) -> str:
    done = rackroom(url, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(url: str, *args: str) -> str:
    done = rackroom(url, *args)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    return done.stderr


def test_warehouses_with_places_and_channels_over_them(engine, url):
    assert ok(
        url, "warehouse", "create", "lon", "--name", "London", "--country", "gb",
        "--lat", "51.5074", "--lon", "-0.1278",
    ) == "created warehouse LON (London), priority 100, in GB (51.5074, -0.1278)\n"  # fmt: skip
    ok(url, "warehouse", "create", "MAN", "--name", "Manchester", "--country", "GB")
    ok(url, "warehouse", "create", "MAD", "--name", "Madrid", "--priority", "30")
    ok(url, "warehouse", "create", "CPH", "--name", "Copenhagen")
    assert "in ES (40.4168, -3.7038)" in ok(
        url, "warehouse", "update", "MAD", "--country", "ES", "--lat", "40.4168",
        "--lon", "-3.7038",
    )  # fmt: skip
    assert ok(url, "warehouse", "update", "MAN", "--lat", "53.4808", "--lon", "-2.2426") == (
        "updated warehouse MAN (Manchester), priority 100, in GB (53.4808, -2.2426)\n"
    )

    created = ok(
        url, "channel", "create", "web-eu", "--name", "Web Europe", "--strategy", "nearest",
        "--warehouses", "LON,man,MAD", "--allow-split",
    )  # fmt: skip
    assert created == ("created channel web-eu\tWeb Europe\tnearest, split allowed\tLON,MAN,MAD\n")
    ok(url, "channel", "create", "shop", "--name", "Shop floor")
    ok(url, "channel", "update", "web-eu", "--warehouses", "MAD,LON", "--no-split")
    listed = json.loads(ok(url, "channel", "list", "--json"))
    assert listed == [
        {
            "code": "shop",
            "name": "Shop floor",
            "strategy": "priority",
            "allow_split": False,
            "active": True,
            "warehouses": [],
        },
        {
            "code": "web-eu",
            "name": "Web Europe",
            "strategy": "nearest",
            "allow_split": False,
            "active": True,
            "warehouses": ["MAD", "LON"],
        },
    ]
    assert "shop\tShop floor\tpriority\t(every active warehouse)" in ok(url, "channel", "list")
    with read_session(engine) as session:
        cph = session.scalars(select(Warehouse).where(Warehouse.code == "CPH")).one()
        assert (cph.country, cph.latitude) == (None, None)  # made without a place


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "XX"], "ISO 3166-1 alpha-2"),
        (["--country", "GB", "--lat", "91", "--lon", "0"], "lat must be between -90 and 90"),
        (["--country", "GB", "--lat", "1", "--lon", "-181"], "lon must be between -180"),
        (["--country", "GB", "--lat", "51.5"], "give both or neither"),
    ],
)
def test_bad_places_are_refused_and_nothing_is_made(engine, url, args, message):
    assert message in refused(url, "warehouse", "create", "LON", "--name", "London", *args)
    assert "No warehouse with code 'LON'" in refused(url, "warehouse", "update", "LON")


def test_bad_channels_are_refused_by_name_and_change_nothing(engine, url):
    ok(url, "warehouse", "create", "LON", "--name", "London", "--country", "GB")
    ok(url, "warehouse", "create", "OLD", "--name", "Old")
    ok(url, "warehouse", "update", "OLD", "--inactive")
    assert "No warehouse with code 'PAR'" in refused(
        url, "channel", "create", "eu", "--name", "EU", "--warehouses", "LON,PAR"
    )
    assert "Warehouse OLD is inactive" in refused(
        url, "channel", "create", "eu", "--name", "EU", "--warehouses", "LON,OLD"
    )
    bad_strategy = rackroom(url, "channel", "create", "eu", "--name", "EU", "--strategy", "x")
    assert bad_strategy.returncode == 2 and "'x' is not one of" in bad_strategy.stderr
    assert ok(url, "channel", "list") == (
        "no channels (every reservation is allocated by warehouse priority)\n"
    )
    ok(url, "channel", "create", "eu", "--name", "EU", "--warehouses", "LON")
    assert "already exists" in refused(url, "channel", "create", "eu", "--name", "EU")
    assert "listed by channel(s) eu" in refused(url, "warehouse", "update", "LON", "--inactive")
    assert "No warehouse with code 'OLDX'" in refused(
        url, "channel", "update", "eu", "--name", "Renamed", "--warehouses", "OLDX"
    )
    assert "No channel with code 'nope'" in refused(url, "channel", "update", "nope")
    assert ok(url, "channel", "list") == "eu\tEU\tpriority\tLON\n"
