"""`rackroom secrets …`: the key that encrypts connector tokens and signing secrets.

Rotating the key (docs/security.md):

1. `rackroom secrets new-key` and put it *first*: RACKROOM_SECRET_KEY=new,old
   (restart the services so they encrypt with it and still read the old one);
2. `rackroom secrets rotate`: every stored secret re-encrypted under the new key, in
   one transaction;
3. drop the old key (RACKROOM_SECRET_KEY=new) and restart; `rackroom secrets check`
   proves every secret still reads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from sqlmodel import Session

from models.db import read_session, transaction
from models.secrets import check_all, check_key, ensure_local_key, new_key, rotate_all
from models.settings import ConfigError


def _over_every_secret(
    action: Callable[[Session], dict[str, int]], session_of: Callable[[], Any]
) -> tuple[int, dict[str, int]]:
    """(how many keys, `action`'s counts per column); a key or secret problem is one
    line on stderr and exit 1 (the transaction, if any, rolled back)."""
    try:
        keys = check_key()
        with session_of() as session:
            return keys, action(session)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


def _table(counts: dict[str, int]) -> None:
    width = max(map(len, counts), default=0)
    for name, count in counts.items():
        click.echo(f"  {name:<{width}}  {count}")


@click.group("secrets")
def secrets_group() -> None:
    """The encryption key of stored secrets: rotate, check, new-key, local-key."""


@secrets_group.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret under the first key of RACKROOM_SECRET_KEY, all in
    one transaction; afterwards the other keys may be dropped."""
    keys, counts = _over_every_secret(rotate_all, transaction)
    click.echo(f"re-encrypted {sum(counts.values())} secret(s) under the first key:")
    _table(counts)
    if keys == 1:
        click.echo(
            "only one key is configured, so nothing changed keys: to rotate, put a new key "
            "first (RACKROOM_SECRET_KEY=new,old) and run this again",
            err=True,
        )
    else:
        click.echo(f"the other {keys - 1} key(s) may now be dropped from RACKROOM_SECRET_KEY")


@secrets_group.command("check")
def check() -> None:
    """Decrypt every stored secret (nothing written); exit 1 naming the first that the
    configured keys cannot read."""
    _keys, counts = _over_every_secret(check_all, read_session)
    click.echo(f"ok: all {sum(counts.values())} stored secret(s) decrypt:")
    _table(counts)


@secrets_group.command("new-key")
def new_key_command() -> None:
    """Print a new Fernet key (for RACKROOM_SECRET_KEY); nothing is stored."""
    click.echo(new_key())


@secrets_group.command("local-key", hidden=True)
def local_key() -> None:
    """`make run`: make var/secret.key (0600) when RACKROOM_SECRET_KEY is unset."""
    made = ensure_local_key()
    if made is not None:
        click.echo(
            f"made a local encryption key in {made} (this machine only; back it up, or set "
            "RACKROOM_SECRET_KEY)",
            err=True,
        )
