"""`rackroom connector …` and `rackroom sync BRAND`: configure brand syncs and run one now.

Tokens are write-only here as everywhere: `connector show/list` print "token: set" or
"token: not set", never the token. `--token -` reads it from standard input, to keep
it out of the shell history and the process list.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from models.db import read_session, transaction
from models.errors import DomainError
from models.syncs import (
    UNCHANGED,
    ConflictPolicy,
    ConnectorStyle,
    ConnectorView,
    get_connector,
    list_connectors,
    pause_sync,
    resume_sync,
    set_connector,
)


def _refusals(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            click.echo(f"error: {error.message}", err=True)
            sys.exit(1)

    return run


def describe(view: ConnectorView) -> str:
    state = "paused" if view.paused else f"every {view.every}"
    token = "token: set" if view.token_set else "token: not set"
    mapping = f", mapping {json.dumps(view.mapping, sort_keys=True)}" if view.mapping else ""
    return (
        f"{view.brand_code}: {view.style} {view.url} ({state}, policy {view.policy}, "
        f"page size {view.page_size}, {token}{mapping})"
    )


@click.group()
def connector() -> None:
    """Configure brand connectors (the feeds brand syncs read)."""


@connector.command("set")
@click.argument("brand")
@click.option("--style", type=click.Choice([s.value for s in ConnectorStyle]))
@click.option("--url", help="The feed's http(s) URL.")
@click.option("--token", help="Secret sent to the brand ('-' reads it from stdin).")
@click.option("--no-token", is_flag=True, help="Forget the stored token.")
@click.option("--every", help="Schedule: 15m, 1h, 1h30m, 45s …")
@click.option("--policy", type=click.Choice([p.value for p in ConflictPolicy]))
@click.option("--page-size", type=int)
@click.option("--mapping", help="Field mapping as JSON, or @file.json.")
@click.option("--auth-header", help="Header carrying the token (default Authorization).")
@_refusals
def connector_set(
    brand: str,
    style: str | None,
    url: str | None,
    token: str | None,
    no_token: bool,
    every: str | None,
    policy: str | None,
    page_size: int | None,
    mapping: str | None,
    auth_header: str | None,
) -> None:
    """Create or change BRAND's connector; options not given keep their values."""
    if token == "-":  # noqa: S105  (means: read it from stdin)
        token = sys.stdin.readline().strip()
    parsed_mapping = None
    if mapping is not None:
        text = mapping
        if mapping.startswith("@"):
            with open(mapping[1:], encoding="utf-8") as handle:
                text = handle.read()
        try:
            parsed_mapping = json.loads(text)
        except json.JSONDecodeError as error:
            raise click.BadParameter(f"not JSON: {error.msg}", param_hint="--mapping") from None
    with transaction() as session:
        view = set_connector(
            session,
            brand,
            style=style,
            url=url,
            token=None if no_token else (token if token is not None else UNCHANGED),
            every=every,
            policy=policy,
            page_size=page_size,
            mapping=parsed_mapping,
            auth_header=auth_header,
            actor="cli",
        )
    click.echo(f"connector {describe(view)}")


@connector.command("show")
@click.argument("brand")
@click.option("--json", "as_json", is_flag=True)
@_refusals
def connector_show(brand: str, as_json: bool) -> None:
    """Show BRAND's connector (never its token)."""
    with read_session() as session:
        view = get_connector(session, brand)
    click.echo(json.dumps(view.to_dict()) if as_json else describe(view))


@connector.command("list")
def connector_list() -> None:
    """Every connector, a line each."""
    with read_session() as session:
        views = list_connectors(session)
    if not views:
        click.echo("no connectors yet: rackroom connector set BRAND --style json --url URL")
    for view in views:
        click.echo(describe(view))


@connector.command("pause")
@click.argument("brand")
@_refusals
def connector_pause(brand: str) -> None:
    """Stop BRAND's scheduled syncs (rackroom sync BRAND still works)."""
    with transaction() as session:
        click.echo(f"paused {describe(pause_sync(session, brand, actor='cli'))}")


@connector.command("resume")
@click.argument("brand")
@_refusals
def connector_resume(brand: str) -> None:
    """Resume BRAND's scheduled syncs."""
    with transaction() as session:
        click.echo(f"resumed {describe(resume_sync(session, brand, actor='cli'))}")


@connector.command("demo")
@click.option("--base-url", default=None, help="The demo brand API (default 127.0.0.1:8765).")
@click.option("--if-missing", is_flag=True, help="Leave brands that have a connector alone.")
@click.option("--every", default="1m", show_default=True)
@_refusals
def connector_demo(base_url: str | None, if_missing: bool, every: str) -> None:
    """Point the demo brands at the demo brand API (python -m jobs.demo_brand_api)."""
    from jobs.syncs.demo import DEMO_API_URL, configure_demo_connectors

    with transaction() as session:
        views = configure_demo_connectors(
            session, base_url or DEMO_API_URL, every=every, only_missing=if_missing
        )
    for view in views:
        click.echo(f"connector {describe(view)}")
    if not views:
        click.echo("no demo connectors to add")


@click.command("sync")
@click.argument("brand")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON.")
@_refusals
def sync_command(brand: str, as_json: bool) -> None:
    """Sync BRAND now and print the run record; exit 1 when the run failed."""
    from jobs.syncs.run import run_sync

    run = run_sync(brand, trigger="cli")
    if as_json:
        click.echo(json.dumps(run.to_dict()))
    else:
        click.echo(run.summary())
        for error in run.errors[:10]:
            where = f"page {error.get('page')}" + (
                f", item {error['item']}" if error.get("item") is not None else ""
            )
            what = " ".join(f"{k} {error[k]!r}" for k in ("sku", "location") if error.get(k))
            click.echo(f"  {where}: {what + ': ' if what else ''}{error.get('reason')}")
        for conflict in run.conflicts[:10]:
            click.echo(
                f"  conflict {conflict['sku']} @ {conflict['location']}: platform "
                f"{conflict['platform']}, source {conflict['source']} → {conflict['won']}"
            )
    sys.exit(0 if run.ok else 1)
