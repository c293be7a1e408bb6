"""Respondent tokens for the public poll: issued and signed by this server.

A shopper's browser keeps one token (localStorage) and sends it with each embed vote;
the vote is refused unless the token carries this server's HMAC, so a client cannot
make up respondent ids. Tokens are free to get (the embed page and the public API hand
one out), so signing does not stop a bot from collecting many: the per-address and
per-poll daily caps do (`models.polls.embed`). What signing buys is that every
respondent id in `poll_vote` came from us, and that the per-respondent limit cannot be
dodged with ids nobody issued.

Shape: ``r1.<22 random url-safe chars>.<32 hex of HMAC-SHA256>``; the key is derived
from `RACKROOM_SECRET_KEY` (`models.secrets.derived_keys`), so a rotated key still
accepts tokens signed with the old one while it is listed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from models.polls.tables import InvalidRespondent
from models.secrets import derived_keys

PURPOSE = "poll-respondent"
_PREFIX = "r1"
_SHAPE = re.compile(r"r1\.([A-Za-z0-9_-]{22})\.([0-9a-f]{32})")


def _mac(key: bytes, ident: str) -> str:
    return hmac.new(key, f"{_PREFIX}.{ident}".encode(), hashlib.sha256).hexdigest()[:32]


def issue_respondent_token() -> str:
    """A new signed respondent token (one per browser; it is not an identity)."""
    ident = secrets.token_urlsafe(16)[:22]
    return f"{_PREFIX}.{ident}.{_mac(derived_keys(PURPOSE)[0], ident)}"


def respondent_of(token: object) -> str:
    """The respondent id inside a token this server signed; InvalidRespondent otherwise.

    The comparison is constant-time; the message says the same for a malformed, an
    unsigned and a forged token.
    """
    match = _SHAPE.fullmatch(token) if isinstance(token, str) else None
    if match is not None:
        ident, mac = match.groups()
        if any(hmac.compare_digest(mac, _mac(key, ident)) for key in derived_keys(PURPOSE)):
            return f"{_PREFIX}.{ident}"
    raise InvalidRespondent(
        "This answer form has expired or was not issued here. Reload the page and vote again.",
        field="respondent",
    )


def is_respondent_token(token: object) -> bool:
    """Whether `token` is one this server signed (keep it) or not (issue a new one)."""
    try:
        respondent_of(token)
    except InvalidRespondent:
        return False
    return True
