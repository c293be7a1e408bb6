"""The outbound guard: what Rackroom may send requests to (webhooks and brand syncs)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from jobs.outbound import (
    OutboundRefused,
    forbidden_reason,
    guarded_client,
    parse_allow,
    resolve,
)
from jobs.syncs.run import run_sync
from models.db import transaction
from models.syncs import set_connector
from tests.events_support import receiver
from tests.factories import make_world

NOTHING = parse_allow("")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.10", "private"),
        ("fd00:ec2::254", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("100.64.0.1", "not a public address"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:192.168.0.1", "private"),
        ("240.0.0.1", "address"),  # reserved
    ],
)
def test_addresses_inside_the_network_are_refused(address, reason):
    found = forbidden_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found
    with pytest.raises(OutboundRefused, match="RACKROOM_OUTBOUND_ALLOW"):
        resolve(address, 80, NOTHING)


def test_public_addresses_pass_and_the_allow_list_opens_exactly_what_it_names():
    assert forbidden_reason(ipaddress.ip_address("93.184.216.34")) is None
    assert resolve("93.184.216.34", 443, NOTHING) == "93.184.216.34"
    allow = parse_allow("127.0.0.1, 10.1.0.0/16, intranet.example")
    assert resolve("127.0.0.1", 80, allow) == "127.0.0.1"
    assert resolve("10.1.2.3", 80, allow) == "10.1.2.3"
    with pytest.raises(OutboundRefused):
        resolve("10.2.0.1", 80, allow)
    with pytest.raises(ValueError, match="not a host, address or CIDR"):
        parse_allow("10.0.0.0/99")


def test_the_client_connects_only_when_allowed_and_never_follows_redirects():
    with receiver(script=[302]) as hook:
        with (
            guarded_client(timeout=5, allow=NOTHING) as strict,
            pytest.raises(OutboundRefused, match=r"127\.0\.0\.1 is a loopback address"),
        ):
            strict.post(hook.url, content=b"{}")
        assert hook.received == []
        with guarded_client(timeout=5, allow=parse_allow("127.0.0.1")) as allowed:
            answer = allowed.post(hook.url, content=b"{}")
        assert answer.status_code == 302 and len(hook.received) == 1
        assert hook.received[0].headers["host"].startswith("127.0.0.1:")


def test_a_refusal_is_not_a_network_blip():
    # Syncs retry transport errors; a refused address must fail the run at once instead.
    assert not issubclass(OutboundRefused, httpx.TransportError)
    with guarded_client(timeout=5) as client, pytest.raises(OutboundRefused, match="link-local"):
        client.get("http://169.254.169.254/latest/meta-data/")


def test_a_brand_sync_to_an_address_inside_the_network_fails_with_the_reason(engine):
    make_world(engine)
    with transaction(engine) as session:
        set_connector(
            session,
            "NRD",
            style="json",
            url="http://10.0.0.7/inventory",
            every="1h",
        )
    run = run_sync("NRD", engine=engine, trigger="manual")
    assert run.status == "failed"
    assert "10.0.0.7 is a private address" in run.message
