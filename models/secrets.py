"""Secrets Rackroom must send on, encrypted at rest with Fernet (`RACKROOM_SECRET_KEY`).

Hashing is for secrets we only check (passwords, API keys, session tokens:
`models/users.py`). Secrets we must *use* — a connector's token sent to the brand's API,
a poll's and a webhook endpoint's signing secret — are kept encrypted: one or more Fernet
keys, comma-separated, the first encrypting and all of them decrypting (MultiFernet), so
a key is rotated by putting the new one first, running `rackroom secrets rotate`, then
dropping the old one.

Every column holding ciphertext is named `…_enc` (`encrypted_columns()` finds them for
rotation). Connector tokens and poll secrets use `EncryptedText`, which encrypts on the
way in and decrypts on the way out, so the rest of the code sees plain values; webhook
endpoints call `encrypt`/`decrypt` themselves.

The key: `RACKROOM_SECRET_KEY` (required by `make prod`), else the local key in
`var/secret.key` that `make run` makes on first start (`ensure_local_key`; one machine
only). Losing the key means re-entering every connector token and rotating every poll's
and webhook's secret.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Dialect
from sqlmodel import Session, SQLModel

from models.settings import DATA_DIR, ConfigError, private_dir, settings

KEY_FILE = DATA_DIR / "secret.key"
#: Columns whose name ends so hold Fernet ciphertext (rotated by `rotate_all`).
ENCRYPTED_SUFFIX = "_enc"
MAKE_A_KEY = "`.venv/bin/rackroom secrets new-key`"


class SecretUnreadable(ConfigError):
    """A stored secret cannot be decrypted with the configured keys."""


def _unreadable(where: str) -> SecretUnreadable:
    return SecretUnreadable(
        f"{where} cannot be decrypted: RACKROOM_SECRET_KEY does not hold the key it was "
        "encrypted with (was an old key dropped before `rackroom secrets rotate` ran, or "
        "is this another installation's key?)"
    )


# --- keys ---------------------------------------------------------------------------------


def new_key() -> str:
    """A fresh Fernet key (32 random bytes, url-safe base64)."""
    return Fernet.generate_key().decode()


def ensure_local_key(path: Path = KEY_FILE) -> Path | None:
    """For `make run`: when RACKROOM_SECRET_KEY is unset, make `path` (0600, in a 0700
    folder) with a new key unless it exists. Returns the file made, else None."""
    if _setting():
        return None
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _tighten(path)
        return None
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key() + "\n")
    return path


def _tighten(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _setting() -> str:
    """RACKROOM_SECRET_KEY as set ("" when unset or blank)."""
    configured = settings().secret_key
    return configured.get_secret_value().strip() if configured is not None else ""


def _configured_keys() -> tuple[list[str], str]:
    if _setting():
        raw, source = _setting(), "RACKROOM_SECRET_KEY"
    elif KEY_FILE.exists():
        _tighten(KEY_FILE)
        raw, source = KEY_FILE.read_text(), f"the local key file {KEY_FILE}"
    else:
        raise ConfigError(
            "RACKROOM_SECRET_KEY is not set (and there is no local key in "
            f"{KEY_FILE}): set it to a Fernet key (make one with {MAKE_A_KEY}); `make run` "
            "makes a local one on first start"
        )
    return [k.strip() for k in raw.replace("\n", ",").split(",") if k.strip()], source


@functools.cache
def _fernet() -> MultiFernet:
    keys, source = _configured_keys()
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError:  # a key of the wrong length or alphabet (never echoed)
        raise ConfigError(
            f"{source}: each key must be 32 url-safe base64-encoded bytes, "
            f"comma-separated (make one with: {MAKE_A_KEY})"
        ) from None


def check_key() -> int:
    """Load the configured keys now (a clear `ConfigError` if missing or malformed);
    returns how many there are."""
    _fernet()
    return len(_configured_keys()[0])


def reset_keys() -> None:
    """Forget the loaded keys (tests, after changing the settings)."""
    _fernet.cache_clear()
    derived_keys.cache_clear()


# --- values -------------------------------------------------------------------------------


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str, *, where: str = "A stored secret") -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise _unreadable(where) from None


def decrypt_fresh(token: str, *, max_age: int, now: int | None = None) -> str | None:
    """The plaintext of `token` if these keys made it at most `max_age` seconds before
    `now` (Unix seconds; default the clock), else None: for short-lived codes."""
    try:
        data = token.encode("ascii")
        fernet = _fernet()
        if now is None:
            return fernet.decrypt(data, ttl=max_age).decode()
        return fernet.decrypt_at_time(data, ttl=max_age, current_time=now).decode()
    except (InvalidToken, UnicodeError):
        return None


def rotate_ciphertext(token: str, *, where: str = "A stored secret") -> str:
    """The same secret encrypted with the first (newest) key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise _unreadable(where) from None



@functools.cache
def derived_keys(purpose: str) -> tuple[bytes, ...]:
    """HMAC keys for one `purpose` (e.g. signing poll respondent tokens), derived from
    each configured key in order: sign with the first, accept any (rotation)."""
    keys, _source = _configured_keys()
    return tuple(
        hmac.new(key.encode(), f"rackroom:{purpose}".encode(), hashlib.sha256).digest()
        for key in keys
    )


class EncryptedText(sa.TypeDecorator):
    """Text stored Fernet-encrypted: plain in Python, ciphertext in the database.

    Only for columns never searched or compared in SQL (a ciphertext differs each time).
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, where: str = "A stored secret") -> None:
        super().__init__()
        self.where = where

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value, where=self.where)


# --- every stored secret ------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    key: str  # the table's primary key column

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    def light(self) -> sa.TableClause:
        """The table with the raw column (no decrypting type): for reading ciphertext."""
        return sa.table(self.table, sa.column(self.key), sa.column(self.column, sa.Text()))


def encrypted_columns(metadata: sa.MetaData | None = None) -> list[EncryptedColumn]:
    """Every column holding ciphertext (named `…_enc`), in a stable order."""
    found = []
    for table in (metadata or SQLModel.metadata).sorted_tables:
        for column in table.columns:
            if column.name.endswith(ENCRYPTED_SUFFIX):
                (key,) = table.primary_key.columns
                found.append(EncryptedColumn(table.name, column.name, key.name))
    return found


def _stored(session: Session, column: EncryptedColumn) -> list[tuple[Any, str]]:
    light = column.light()
    query = sa.select(light.c[column.key], light.c[column.column]).where(
        light.c[column.column].is_not(None)
    )
    return [(row[0], row[1]) for row in session.execute(query.order_by(light.c[column.key]))]


def check_all(session: Session) -> dict[str, int]:
    """Decrypt every stored secret (nothing written); counts per column. Raises
    `SecretUnreadable` naming the first row the keys cannot read."""
    counts = {}
    for column in encrypted_columns():
        rows = _stored(session, column)
        for key, value in rows:
            decrypt(value, where=f"{column.name} of row {key}")
        counts[column.name] = len(rows)
    return counts


def rotate_all(session: Session) -> dict[str, int]:
    """Re-encrypt every stored secret under the first key, in the caller's transaction
    (all or nothing: one unreadable row raises and nothing is kept). Counts per column."""
    counts = {}
    for column in encrypted_columns():
        light = column.light()
        rows = _stored(session, column)
        for key, value in rows:
            fresh = rotate_ciphertext(value, where=f"{column.name} of row {key}")
            session.execute(
                sa.update(light).where(light.c[column.key] == key).values({column.column: fresh})
            )
        counts[column.name] = len(rows)
    return counts
