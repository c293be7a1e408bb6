"""`rackroom`: the admin command line. Every command honours DATABASE_URL.

Refusals (unknown brand, duplicate code, drift found, ...) print a clear message
on stderr and exit non-zero.
"""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy import select

from jobs.cli_support import refusals as _refusals
from jobs.imports.reading import ENCODINGS
from jobs.logs import configure_logging
from models.admin import WAREHOUSE_FIELDS, add_brand
from models.api_keys import Scope, create_api_key, list_api_keys, revoke_api_key
from models.audit import CLI, fields_of
from models.audit import record as audit_record
from models.brands import update_brand
from models.catalog import Brand, WarehouseKind, brand_by_code, create_warehouse
from models.channels import change_warehouse
from models.db import database_url, read_session, transaction
from models.rate_limits import format_rate
from models.settings import ConfigError, settings
from models.sizes import HINT_NAMES
from models.stock import reconcile, reconcile_totals
from models.users import Role, create_user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Rackroom admin commands (database: $DATABASE_URL, default ./rackroom.db)."""
    try:
        configured = settings()
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    # Log records are JSON lines like the web and jobs processes', but on stderr: stdout
    # is the command's own output (`--json` documents included), and at WARNING unless
    # RACKROOM_LOG_LEVEL asks for more.
    explicit = "log_level" in configured.model_fields_set
    configure_logging(
        "cli", level=configured.log_level if explicit else "WARNING", stream=sys.stderr
    )


@main.command()
@click.option(
    "--scale",
    type=click.Choice(["demo", "large"]),
    default="demo",
    show_default=True,
    help="demo: a realistic catalogue to click through; large: benchmark volume.",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=7,
    show_default=True,
    help="Random seed; the same seed gives the same data.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has brands.")
@click.option("--report", is_flag=True, help="Print rows per second for each table loaded.")
@_refusals
def seed(scale: str, seed_value: int, if_empty: bool, report: bool) -> None:
    """Fill the database with demo or benchmark data."""
    from jobs.seed import run_seed

    run_seed(scale=scale, seed=seed_value, if_empty=if_empty, report=report, echo=click.echo)


@main.group()
def user() -> None:
    """Manage staff and vendor accounts."""


@user.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--brand", "brand_code", help="The vendor's brand code (required for vendors).")
@click.option("--name", default="", help="Display name (defaults from the email).")
@click.option("--password", help="Prompted for (hidden, twice) when not given.")
@_refusals
def user_create(
    email: str, role: str, brand_code: str | None, name: str, password: str | None
) -> None:
    """Create a user who can log in to the dashboard."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with transaction() as session:
        created = create_user(session, email, password, role, brand_code=brand_code, name=name)
        audit_record(
            session,
            CLI,
            "user.created",
            target_type="user",
            target_id=created.id,
            label=created.email,
            changes={"role": created.role, "brand": brand_code, "password": "secret set"},
        )
        click.echo(f"created user {created.email} ({created.role})")


@main.group()
def brand() -> None:
    """Manage brands."""


_SIZE_HINT = click.Choice(HINT_NAMES)
_SIZE_HINT_HELP = (
    "How a bare size number reads: 42 is EU 42 for eu_shoe, W42 for waist; auto guesses."
)


@brand.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--size-hint", type=_SIZE_HINT, default="auto", help=_SIZE_HINT_HELP)
@_refusals
def brand_create(code: str, name: str, size_hint: str) -> None:
    """Create a brand; CODE prefixes its canonical SKUs."""
    with transaction() as session:
        created = add_brand(session, code, name, size_hint=size_hint, actor=CLI)
        note = _hint_note(created) if created.size_system_hint else ""
        click.echo(f"created brand {created.code} ({created.name}){note}")


@brand.command("update")
@click.argument("code")
@click.option("--name", help="A new name (the code stays).")
@click.option("--size-hint", type=_SIZE_HINT, help=_SIZE_HINT_HELP)
@_refusals
def brand_update(code: str, name: str | None, size_hint: str | None) -> None:
    """Rename brand CODE or change its size system hint (later imports read sizes by it)."""
    with transaction() as session:
        found = brand_by_code(session, code.strip().upper())
        changes = {"name": name, "size_hint": size_hint}
        changed = update_brand(session, found.id, changes, actor=CLI)
        click.echo(f"brand {changed.code} ({changed.name}){_hint_note(changed)}")


def _hint_note(brand: Brand) -> str:
    return f", size system hint {brand.size_system_hint or 'auto'}"


@main.group()
def warehouse() -> None:
    """Manage warehouses and stores."""


@warehouse.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option(
    "--kind",
    type=click.Choice([k.value for k in WarehouseKind]),
    default="warehouse",
    show_default=True,
)
@click.option(
    "--priority",
    type=int,
    default=100,
    show_default=True,
    help="Allocation order: lower numbers are reserved from first.",
)
@click.option("--country", help="ISO 3166-1 alpha-2, e.g. GB.")
@click.option("--lat", type=float, help="Latitude in degrees (with --lon).")
@click.option("--lon", type=float, help="Longitude in degrees (with --lat).")
@_refusals
def warehouse_create(
    code: str,
    name: str,
    kind: str,
    priority: int,
    country: str | None,
    lat: float | None,
    lon: float | None,
) -> None:
    """Create a warehouse or store."""
    with transaction() as session:
        created = create_warehouse(
            session,
            code,
            name,
            kind=kind,
            priority=priority,
            country=country,
            latitude=lat,
            longitude=lon,
        )
        audit_record(
            session,
            CLI,
            "warehouse.created",
            target_type="warehouse",
            target_id=created.id,
            label=created.code,
            changes=fields_of(created, *WAREHOUSE_FIELDS),
        )
        click.echo(
            f"created {created.kind} {created.code} ({created.name}), priority "
            f"{created.priority}{_place(created)}"
        )




def _place(warehouse) -> str:
    if warehouse.country is None:
        return ""
    point = (
        f" ({warehouse.latitude:g}, {warehouse.longitude:g})"
        if warehouse.latitude is not None
        else ""
    )
    return f", in {warehouse.country}{point}"


@warehouse.command("update")
@click.argument("code")
@click.option("--name")
@click.option("--priority", type=int)
@click.option("--country", help="ISO 3166-1 alpha-2, e.g. GB; '-' forgets the place.")
@click.option("--lat", type=float, help="Latitude in degrees (with --lon).")
@click.option("--lon", type=float, help="Longitude in degrees (with --lat).")
@click.option("--active/--inactive", default=None)
@_refusals
def warehouse_update(
    code: str,
    name: str | None,
    priority: int | None,
    country: str | None,
    lat: float | None,
    lon: float | None,
    active: bool | None,
) -> None:
    """Change what is given of warehouse CODE; nothing changes if anything is refused."""
    with transaction() as session:
        changed = change_warehouse(
            session,
            code,
            name=name,
            priority=priority,
            country=country,
            latitude=lat,
            longitude=lon,
            active=active,
            actor=CLI,
        )
        state = "" if changed.is_active else " [inactive]"
        click.echo(
            f"updated {changed.kind} {changed.code} ({changed.name}), priority "
            f"{changed.priority}{_place(changed)}{state}"
        )


@main.group()
def apikey() -> None:
    """Manage API keys for storefronts and brand systems."""


@apikey.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([s.value for s in Scope]),
    help="Repeat for several scopes.",
)
@click.option("--brand", "brand_code", help="Restrict the key to this brand's SKUs.")
@click.option(
    "--rate",
    default=None,
    help="Refill rate of its rate limit: 50/s, 600/m, 3600/h  [default: 20/s]",
)
@click.option(
    "--burst",
    type=int,
    default=None,
    help="Requests it may make at once before the rate applies  [default: 40]",
)
@_refusals
def apikey_create(
    name: str, scopes: tuple[str, ...], brand_code: str | None, rate: str | None, burst: int | None
) -> None:
    """Create a key and print it once; only its hash is stored. Its id is the OAuth2
    client_id (the key itself the client_secret)."""
    with transaction() as session:
        key, secret = create_api_key(
            session,
            name,
            list(scopes),
            brand_code=brand_code,
            rate=rate,
            burst=burst,
            actor=CLI,
        )
        brand_note = f", brand {brand_code.upper()}" if brand_code else ""
        click.echo(
            f"created API key {key.name} (id {key.id}; {' '.join(key.scopes)}{brand_note}; "
            f"{format_rate(key.rate_per_second)}, burst {key.burst})",
            err=True,
        )
        click.echo("store it now, it is not shown again:", err=True)
    click.echo(secret)


@apikey.command("list")
def apikey_list() -> None:
    """List keys (id, name, prefix, scopes, brand, rate limit, last use, state); never the
    secret."""
    with read_session() as session:
        keys = list_api_keys(session)
        brands = {b.id: b.code for b in session.scalars(select(Brand))}
    if not keys:
        click.echo("no API keys yet: rackroom apikey create NAME --scope stock:read")
        return
    for key in keys:
        state = "revoked" if key.revoked_at else "active"
        used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
        brand_code = brands.get(key.brand_id, "all brands") if key.brand_id else "all brands"
        limit = f"{format_rate(key.rate_per_second)} burst {key.burst}"
        click.echo(
            f"{key.id}\t{key.name}\t{key.prefix}…\t{','.join(key.scopes)}\t{brand_code}\t"
            f"{limit}\tused {used}\t{state}"
        )


@apikey.command("revoke")
@click.argument("name")
@_refusals
def apikey_revoke(name: str) -> None:
    """Revoke a key: requests with it are refused from now on."""
    with transaction() as session:
        revoke_api_key(session, name, actor=CLI)
    click.echo(f"revoked API key {name}")


@main.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print the drifts as JSON.")
def reconcile_command(as_json: bool) -> None:
    """Check that every balance equals the sum of its ledger, and every variant's and
    style-colour's totals the sum of its balances; exit 1 on any drift."""
    with read_session() as session:
        drifts = reconcile(session)
        totals = reconcile_totals(session)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "variant_id": d.variant_id,
                        "warehouse_id": d.warehouse_id,
                        "balance": d.balance,
                        "ledger": d.ledger,
                    }
                    for d in drifts
                ]
                + [t.detail() for t in totals]
            )
        )
    elif drifts or totals:
        for drift in [*drifts, *totals]:
            click.echo(drift.describe())
    else:
        click.echo(
            "ok: every balance matches its ledger and every variant's totals its balances"
            f" ({database_url().split('://')[0]})"
        )
    sys.exit(1 if drifts or totals else 0)


class _ImportGroup(click.Group):
    """`rackroom import FILE …` imports a file; `rackroom import revert ID` undoes one.

    An argument that is not a subcommand's name is a file: it goes to `import file`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["file", *args]
        return super().parse_args(ctx, args)


@main.group("import", cls=_ImportGroup)
def import_group() -> None:
    """Import a vendor CSV (`rackroom import FILE --brand B …`), or revert an import."""


@import_group.command("revert")
@click.argument("import_id", type=int)
@click.option("--actor", default="cli", show_default=True, help="Who the ledger names.")
@_refusals
def import_revert(import_id: int, actor: str) -> None:
    """Undo applied import ID: compensating ledger rows, and the product attributes it
    changed put back; refused (naming the balances and products) when stock has moved or
    a product was edited since, or when it was reverted already."""
    from jobs.imports import revert_import

    result = revert_import(import_id, actor=actor)
    click.echo(result.message)


@import_group.command("file")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--brand", "brand_code", required=True, help="The brand the file belongs to.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["shopify-products", "shopify-inventory", "mapped"]),
    help="Default: recognised from the headers (mapped when --mapping is given).",
)
@click.option("--mapping", "mapping_name", help="The brand's saved column mapping (mapped).")
@click.option("--warehouse", "warehouse_code", help="Where quantities without a location go.")
@click.option(
    "--encoding",
    type=click.Choice(ENCODINGS),
    default="auto",
    show_default=True,
    help="The file's text encoding; auto detects it (BOM, UTF-8, else cp1252).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Apply the valid rows, skip the others.")
@click.option(
    "--accept-warnings", is_flag=True,
    help="Apply although the dry run warned (another Vendor, generated SKUs, no colour/size).",
)
@click.option("--actor", default="cli", show_default=True, help="Who the ledger names.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def import_command(
    file: str,
    brand_code: str,
    file_format: str | None,
    mapping_name: str | None,
    warehouse_code: str | None,
    encoding: str,
    dry_run: bool,
    skip_invalid: bool,
    accept_warnings: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Import a vendor CSV (dry run first); exit 1 if refused or rows are invalid."""
    from pathlib import Path

    from jobs.imports import ImportOptions, ImportRefused, apply_import, load_file
    from jobs.imports import dry_run as plan_import
    from jobs.imports.report import report_lines

    options = ImportOptions(
        brand_code=brand_code,
        format=file_format,
        mapping_name=mapping_name,
        warehouse_code=warehouse_code,
        file_name=Path(file).name,
        actor=actor,
        skip_invalid=skip_invalid,
        accept_warnings=accept_warnings,
        encoding=encoding,
    )
    try:
        data = load_file(file, options.limits)
    except ImportRefused as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    result = (plan_import if dry_run else apply_import)(data, options)
    if as_json:
        click.echo(json.dumps(result.to_dict(), default=str))
    else:
        click.echo("\n".join(report_lines(result)))
    sys.exit(0 if result.ok else 1)


# Brand syncs: `rackroom connector …` and `rackroom sync BRAND` (jobs/sync_cli.py).
from jobs.sync_cli import connector, sync_command  # noqa: E402

main.add_command(connector)
main.add_command(sync_command)

# Webhooks: `rackroom webhook …` (jobs/webhook_cli.py).
from jobs.webhook_cli import webhook  # noqa: E402

main.add_command(webhook)

# The encryption key of stored secrets: `rackroom secrets …` (jobs/secrets_cli.py).
from jobs.secrets_cli import secrets_group  # noqa: E402

main.add_command(secrets_group)

# Channels: `rackroom channel …` (jobs/channel_cli.py).
from jobs.channel_cli import channel  # noqa: E402

main.add_command(channel)

# Cycle counts: `rackroom cyclecount …` (jobs/cyclecount_cli.py).
from jobs.cyclecount_cli import cyclecount  # noqa: E402

main.add_command(cyclecount)


@main.group()
def bi() -> None:
    """Read-only access for BI tools such as Metabase (PostgreSQL; docs/bi.md)."""


@bi.command("grant")
@click.argument("role")
@click.option("--password", help="Prompted for (hidden, twice) when not given.")
@_refusals
def bi_grant(role: str, password: str | None) -> None:
    """Create ROLE (or set its password): a login that reads the bi views and nothing else."""
    from jobs.bi import grant_bi_reader
    from models.db import get_engine

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    granted = grant_bi_reader(get_engine(), role, password)
    click.echo(
        f"{'created' if granted.created else 'updated'} role {granted.role}: reads "
        f"{len(granted.views)} views in schema bi of database {granted.database} "
        f"({', '.join(granted.views)}), nothing else"
    )


if __name__ == "__main__":
    main()
