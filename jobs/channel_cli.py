"""`rackroom channel create|list|update`: sales channels, their warehouses and strategy."""

from __future__ import annotations

import json

import click

from jobs.cli_support import refusals
from models.audit import CLI
from models.channels import ChannelRow, Strategy, create_channel, list_channels, update_channel
from models.db import read_session, transaction

STRATEGIES = click.Choice([s.value for s in Strategy])


@click.group("channel")
def channel() -> None:
    """Sales channels: which warehouses a storefront reserves from, and how."""


def _line(row: ChannelRow) -> str:
    places = ",".join(row.warehouses) or "(every active warehouse)"
    split = ", split allowed" if row.allow_split else ""
    state = "" if row.is_active else " [inactive]"
    return f"{row.code}\t{row.name}\t{row.strategy}{split}\t{places}{state}"


@channel.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--strategy", type=STRATEGIES, default="priority", show_default=True)
@click.option("--warehouses", default="", help="Warehouse codes in order, e.g. LON,MAN,MAD.")
@click.option("--allow-split", is_flag=True, help="Hold across several warehouses if needed.")
@refusals
def channel_create(code: str, name: str, strategy: str, warehouses: str, allow_split: bool) -> None:
    """Create channel CODE (the `channel` the API's reservations name)."""
    with transaction() as session:
        created = create_channel(
            session,
            code,
            name,
            strategy=strategy,
            warehouses=warehouses,
            allow_split=allow_split,
            actor=CLI,
        )
        (row,) = [r for r in list_channels(session) if r.id == created.id]
    click.echo(f"created channel {_line(row)}")


@channel.command("list")
@click.option("--json", "as_json", is_flag=True)
def channel_list(as_json: bool) -> None:
    """Every channel: code, name, strategy, warehouses in order."""
    with read_session() as session:
        rows = list_channels(session)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "strategy": r.strategy,
                        "allow_split": r.allow_split,
                        "active": r.is_active,
                        "warehouses": list(r.warehouses),
                    }
                    for r in rows
                ]
            )
        )
        return
    if not rows:
        click.echo("no channels (every reservation is allocated by warehouse priority)")
    for row in rows:
        click.echo(_line(row))


@channel.command("update")
@click.argument("code")
@click.option("--name")
@click.option("--strategy", type=STRATEGIES)
@click.option("--warehouses", help="The new list, in order (replaces the old one).")
@click.option("--allow-split/--no-split", default=None)
@click.option("--active/--inactive", default=None)
@refusals
def channel_update(
    code: str,
    name: str | None,
    strategy: str | None,
    warehouses: str | None,
    allow_split: bool | None,
    active: bool | None,
) -> None:
    """Change what is given of channel CODE; nothing changes if anything is refused."""
    with transaction() as session:
        changed = update_channel(
            session,
            code,
            name=name,
            strategy=strategy,
            warehouses=warehouses,
            allow_split=allow_split,
            active=active,
            actor=CLI,
        )
        (row,) = [r for r in list_channels(session) if r.id == changed.id]
    click.echo(f"updated channel {_line(row)}")
