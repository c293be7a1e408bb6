"""The outbound guard: requests Rackroom makes to addresses users typed (webhook
receivers, brand APIs) cannot reach inside the network.

`resolve` looks the host up and refuses it unless every address it resolves to is
globally routable: loopback, private (RFC 1918, unique-local), link-local (where the
cloud metadata services live: 169.254.169.254, fd00:ec2::254), carrier-grade NAT,
multicast, reserved and unspecified addresses are refused, as are IPv4 addresses
wrapped in IPv6. `RACKROOM_OUTBOUND_ALLOW` (host names, addresses or CIDRs,
comma-separated) lets the operator open exactly what they mean to (`127.0.0.1` for a
local receiver in tests, the demo brand API under `make run`).

`GuardedTransport` connects to the address it checked, not to a second lookup of the
name (a DNS answer that changes between check and connect — "rebinding" — cannot slip
through): the request goes to the pinned IP with the original Host header and, for
https, the original name for SNI and certificate checks. Redirects are never followed
by clients built here.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from models.settings import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundRefused(Exception):
    """The URL points somewhere Rackroom may not send requests; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[Network, ...]

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def parse_allow(value: str | Iterable[str]) -> AllowList:
    """Host names, addresses and CIDRs; ValueError naming an entry that is none of these."""
    entries = value.split(",") if isinstance(value, str) else list(value)
    hosts: set[str] = set()
    networks: list[Network] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or " " in entry:
            raise ValueError(f"RACKROOM_OUTBOUND_ALLOW: {entry!r} is not a host, address or CIDR")
        hosts.add(entry.lower().rstrip("."))
    return AllowList(frozenset(hosts), tuple(networks))


@functools.cache
def configured_allow() -> AllowList:
    return parse_allow(settings().outbound_allow)


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a request may not go to `address` (None: it may)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return forbidden_reason(mapped) and f"{forbidden_reason(mapped)} (IPv4-mapped)"
    if address.is_unspecified:
        return "not a public address (unspecified)"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_unspecified or address.is_reserved or not address.is_global:
        return "not a public address"
    return None


def _lookup(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundRefused(f"{host} cannot be resolved ({error})") from None
    seen: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address not in seen:
            seen.append(address)
    if not seen:
        raise OutboundRefused(f"{host} has no address")
    return seen


def resolve(host: str, port: int, allow: AllowList | None = None) -> str:
    """The address to connect to for `host`, or OutboundRefused naming the host and why.

    Every address the name resolves to must be allowed (a name with one public and one
    private answer is refused: which one a connection would use is not ours to pick)."""
    allow = configured_allow() if allow is None else allow
    addresses = _lookup(host, port)
    if allow.allows_host(host):
        return str(addresses[0])
    for address in addresses:
        reason = forbidden_reason(address)
        if reason and not allow.allows_address(address):
            shown = host if host == str(address) else f"{host} ({address})"
            raise OutboundRefused(
                f"{shown} is {reason}; Rackroom does not send requests inside the network "
                "(an operator can allow it in RACKROOM_OUTBOUND_ALLOW)"
            )
    return str(addresses[0])


def check_url(url: str, allow: AllowList | None = None) -> str:
    """The pinned address for an http(s) URL, or OutboundRefused."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as error:
        raise OutboundRefused(f"not a URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise OutboundRefused(f"only http and https URLs are allowed, not {url[:100]!r}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return resolve(parsed.host, port, allow)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that checks every request's host and connects to the checked
    address (see the module's docstring). OutboundRefused is raised before any byte is
    sent."""

    def __init__(self, *args, allow: AllowList | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._allow = allow

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        address = check_url(str(url), self._allow)
        if address != url.host:
            request.url = url.copy_with(host=address)
            if url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": url.host}
        return super().handle_request(request)


def guarded_client(
    *, timeout: httpx.Timeout | float, allow: AllowList | None = None, **kwargs
) -> httpx.Client:
    """An httpx client for user-given URLs: guarded, pinned, no redirects followed."""
    return httpx.Client(
        transport=GuardedTransport(allow=allow, retries=0),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        **kwargs,
    )
