"""Sign-in hand-off codes: how a session token reaches an HttpOnly cookie.

Sign-in happens over the websocket, which cannot set a cookie; an HttpOnly cookie
(one no script can read) must come from an HTTP answer. So sign-in opens the session
and issues a code; the browser goes to `GET /auth/session?code=…` (dashboard/api/
session.py), which redeems the code and sets the cookie. The code is the session token
Fernet-encrypted with the app key (models/secrets.py): it reveals nothing, lives
`CODE_LIFETIME`, and works once — the session row holds the code's hash, and redeeming
clears it in one conditional UPDATE, so two racing redemptions cannot both win.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session

from models.db import transaction
from models.secrets import decrypt_fresh, encrypt
from models.users import LoginSession, hash_secret

#: How long a code may take from sign-in to the browser's `GET /auth/session`.
CODE_LIFETIME = timedelta(seconds=60)
#: Codes are Fernet tokens of a short JSON; anything much longer is not one.
MAX_CODE_LENGTH = 400


def issue_code(session: Session, token: str) -> str:
    """A fresh hand-off code for the live session `token` (replacing any unredeemed
    one), in the caller's transaction; "" when there is no such session."""
    code = encrypt(json.dumps({"t": token, "n": secrets.token_urlsafe(8)}))
    changed = session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == hash_secret(token))
        .values(handoff_hash=hash_secret(code))
    )
    return code if changed.rowcount == 1 else ""


def redeem_code(code: str, *, now: int | None = None) -> str | None:
    """The session token `code` carries, once: None when the code is malformed, was made
    with another key, is older than `CODE_LIFETIME` (at `now`, Unix seconds), or was
    already redeemed (or the session ended)."""
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    plain = decrypt_fresh(code, max_age=int(CODE_LIFETIME.total_seconds()), now=now)
    if plain is None:
        return None
    try:
        token = json.loads(plain)["t"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(token, str) or not token:
        return None
    with transaction() as session:
        taken = session.execute(
            update(LoginSession)
            .where(
                LoginSession.token_hash == hash_secret(token),
                LoginSession.handoff_hash == hash_secret(code),
            )
            .values(handoff_hash=None)
        )
        return token if taken.rowcount == 1 else None
