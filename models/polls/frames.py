"""Which sites may frame a poll's public page (`/embed/poll/{slug}`).

A poll lists origins — `https://shop.example.com`, `http://127.0.0.1:8081` — and its
embed page answers with `Content-Security-Policy: frame-ancestors <those origins>`
(`dashboard/security_headers.py`); with none listed, `frame-ancestors 'none'`: no site
may show it. Only a scheme (http or https), a host and an optional port: no path, no
user, no wildcard (`*`, `*.example.com`, `https:`), so a poll never opens up to every
site by accident. Stored space-separated in `poll.frame_origins`, normalised (lower
case, no default port) so the header is exactly what was checked here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from models.errors import InvalidQuantity
from models.polls.manage import PollSummary, _poll, poll_summary
from models.polls.tables import Poll

MAX_FRAME_ORIGINS = 20
FIELD = "frame_origins"
_ORIGIN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[^\]/]*\]|[^:/?#\[\]]*)"
                     r"(?::(?P<port>[0-9]{1,5}))?/?")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NONE = {"none", "'none'"}


def _refuse(item: str, why: str) -> InvalidQuantity:
    return InvalidQuantity(
        f"{item!r} is not a site that may frame the poll: {why} Write origins such as "
        "https://shop.example.com or http://127.0.0.1:8081, or none.",
        field=FIELD,
    )


def _host(host: str, item: str) -> str:
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise _refuse(item, "the address in [ ] is not an IPv6 address.") from None
    if not host.isascii():
        raise _refuse(item, "write an international name in its xn-- form.")
    labels = host.rstrip(".").split(".")
    if not host or not all(_LABEL.fullmatch(label) for label in labels) or len(host) > 253:
        raise _refuse(item, "the host is not a name or an address.")
    return ".".join(labels)


def parse_origin(text: str) -> str:
    """One origin, checked and normalised ("HTTPS://Shop.Example.com:443/" → "https://
    shop.example.com"); InvalidQuantity naming what is wrong otherwise."""
    item = text.strip()
    if "*" in item:
        raise _refuse(item, "wildcards are not allowed; list each site.")
    match = _ORIGIN.fullmatch(item.lower())
    if match is None:
        raise _refuse(item, "it is not scheme://host[:port] (no path, no user).")
    scheme, port = match["scheme"], match["port"]
    if scheme not in _DEFAULT_PORTS:
        raise _refuse(item, "only http:// and https:// sites can frame a page.")
    host = _host(match["host"], item)
    if port is not None:
        number = int(port)
        if not 1 <= number <= 65535:
            raise _refuse(item, "the port must be from 1 to 65535.")
        if number != _DEFAULT_PORTS[scheme]:
            return f"{scheme}://{host}:{number}"
    return f"{scheme}://{host}"


def parse_frame_origins(value: str | Iterable[str] | None) -> list[str]:
    """Origins from text (separated by commas, spaces or lines) or a list; "none", an
    empty text or an empty list → []. Duplicates are dropped, the order is kept."""
    if value is None:
        return []
    if isinstance(value, str):
        items = [part for part in re.split(r"[\s,]+", value) if part]
    else:
        items = list(value)
        if not all(isinstance(item, str) for item in items):
            raise InvalidQuantity("frame_origins must be a list of texts.", field=FIELD)
        items = [item.strip() for item in items if item.strip()]
    if len(items) == 1 and items[0].lower() in _NONE:
        return []
    origins: list[str] = []
    for item in items:
        if item.lower() in _NONE:
            raise _refuse(item, "'none' cannot be listed beside sites.")
        origin = parse_origin(item)
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_FRAME_ORIGINS:
        raise InvalidQuantity(
            f"A poll lists at most {MAX_FRAME_ORIGINS} sites that may frame it.", field=FIELD
        )
    return origins


def set_poll_frame_origins(
    session: Session, poll_id: int, origins: str | Iterable[str] | None, *,
    brand_scope: int | None,
) -> PollSummary:
    """Replace the sites that may frame the poll's embed page (none: no site may)."""
    parsed = parse_frame_origins(origins)
    poll = _poll(session, poll_id, brand_scope=brand_scope)
    poll.frame_origins = " ".join(parsed)
    session.add(poll)
    session.flush()
    return poll_summary(session, poll_id, brand_scope=brand_scope)


def frame_origins_of(session: Session, slug: str) -> list[str]:
    """The origins that may frame the poll named `slug` ([] for an unknown slug)."""
    stored = session.scalar(select(Poll.frame_origins).where(Poll.slug == slug))
    return stored.split() if stored else []


def frame_ancestors(origins: Iterable[str]) -> str:
    """The CSP `frame-ancestors` source list: the origins, or 'none'."""
    return " ".join(origins) or "'none'"
