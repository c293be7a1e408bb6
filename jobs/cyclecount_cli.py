"""`rackroom cyclecount …`: ABC classes, the count plan, today's list, blind sheets and
variance decisions. Commands that count or decide act as a user (`--as EMAIL`), whose
role the domain checks like the dashboard's."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import click
from sqlalchemy import func, select

from jobs.cli_support import refusals as _refusals
from models import cycle_counts as cc
from models.catalog import warehouse_by_code
from models.db import read_session, transaction
from models.errors import NotFound
from models.users import User

_AS = click.option(
    "--as", "email", required=True, help="The user acting (email); their role counts."
)


def _user_id(session, email: str) -> int:
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user with email {email!r}.", field="as")
    return user.id


@click.group("cyclecount")
def cyclecount() -> None:
    """Cycle counts: classify, plan, list, start, count, submit, pending, approve, reject."""


@cyclecount.command("classify")
@click.argument("warehouse_code")
@_refusals
def classify(warehouse_code: str) -> None:
    """Class every variant at the warehouse A/B/C from its units sold over the last year."""
    with transaction() as session:
        counts = cc.classify_abc(session, warehouse_by_code(session, warehouse_code).id)
    click.echo(" ".join(f"{k} {v}" for k, v in counts.items()))


@cyclecount.command("plan")
@click.argument("warehouse_code")
@click.option("--class", "abc_class", help="Change this class (A, B or C).")
@click.option("--every", "interval_days", type=int, help="Days between counts of the class.")
@click.option("--tolerance", type=int, help="Units either way applied without approval.")
@click.option("--as", "email", help="The user changing the plan (managers and admins).")
@_refusals
def plan_command(
    warehouse_code: str,
    abc_class: str | None,
    interval_days: int | None,
    tolerance: int | None,
    email: str | None,
) -> None:
    """Show the warehouse's plan, or change one class with --class and --as."""
    with transaction() as session:
        warehouse_id = warehouse_by_code(session, warehouse_code).id
        if abc_class is not None:
            if email is None:
                raise click.UsageError("--as EMAIL is needed to change the plan.")
            actor = _user_id(session, email)
            cc.set_plan(
                session,
                warehouse_id,
                abc_class,
                actor_id=actor,
                interval_days=interval_days,
                tolerance=tolerance,
            )
        rows = cc.plan(session, warehouse_id)
    for row in rows:
        click.echo(
            f"{row.abc_class}\tevery {row.interval_days} days\ttolerance {row.tolerance}\t"
            f"{row.items} items"
        )


@cyclecount.command("list")
@click.argument("warehouse_code")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Default: today.")
@_refusals
def list_command(warehouse_code: str, on: Any) -> None:
    """Today's count list for the warehouse (class, SKU, last counted)."""
    with read_session() as session:
        warehouse_id = warehouse_by_code(session, warehouse_code).id
        due = cc.due_today(session, warehouse_id, on.date() if on else date.today())
    if not due:
        click.echo("nothing due")
    for item in due:
        click.echo(f"{item.abc_class}\t{item.sku}\t{item.last_counted_on or 'never counted'}")


def _print_sheet(sheet: cc.BlindSheet) -> None:
    click.echo(f"sheet {sheet.id}\t{sheet.warehouse}\t{sheet.count_date}\t{sheet.status}")
    for line in sheet.lines:
        counted = "-" if line.counted is None else line.counted
        click.echo(f"{line.id}\t{line.abc_class}\t{line.sku}\t{counted}\t{line.status}")


@cyclecount.command("start")
@click.argument("warehouse_code")
@_AS
@_refusals
def start(warehouse_code: str, email: str) -> None:
    """Start (or reopen) today's blind sheet: line id, class, SKU, counted, status."""
    with transaction() as session:
        actor = _user_id(session, email)
        sheet = cc.start_sheet(
            session, warehouse_by_code(session, warehouse_code).id, actor_id=actor
        )
        _print_sheet(cc.blind_sheet(session, sheet.id, actor_id=actor))


@cyclecount.command("count")
@click.argument("line_id", type=int)
@click.argument("counted")
@_AS
@_refusals
def count(line_id: int, counted: str, email: str) -> None:
    """Record what was counted on a line."""
    with transaction() as session:
        line = cc.record_count(session, line_id, counted, actor_id=_user_id(session, email))
    click.echo(f"line {line.id} {line.sku}: counted {line.counted}")


@cyclecount.command("submit")
@click.argument("sheet_id", type=int)
@_AS
@_refusals
def submit(sheet_id: int, email: str) -> None:
    """Submit a sheet: within tolerance applied, the rest waits for a manager."""
    with transaction() as session:
        result = cc.submit_sheet(session, sheet_id, actor_id=_user_id(session, email))
    click.echo(f"applied {result.applied}, waiting for approval {result.pending}")
    for sku in result.conflicts:
        click.echo(f"conflict: {sku} moved since the sheet started; count it again", err=True)
    sys.exit(1 if result.conflicts else 0)


@cyclecount.command("pending")
@_AS
@_refusals
def pending(email: str) -> None:
    """Variances waiting for approval: line id, warehouse, SKU, expected, counted."""
    with read_session() as session:
        rows = cc.pending_variances(session, actor_id=_user_id(session, email))
    if not rows:
        click.echo("no variances waiting")
    for v in rows:
        click.echo(
            f"{v.line_id}\t{v.warehouse}\t{v.sku}\texpected {v.expected}\tcounted {v.counted}"
        )


def _decide(line_id: int, email: str, note: str, decision: Callable[..., str]) -> None:
    with transaction() as session:
        outcome = decision(session, line_id, actor_id=_user_id(session, email), note=note)
    click.echo(f"line {line_id}: {outcome}")
    if outcome == cc.LineStatus.CONFLICT:
        click.echo("error: the stock moved since the count; nothing was set", err=True)
        sys.exit(1)


@cyclecount.command("approve")
@click.argument("line_id", type=int)
@_AS
@click.option("--note", default="")
@_refusals
def approve_command(line_id: int, email: str, note: str) -> None:
    """Approve a variance: the count is set (unless the stock moved meanwhile)."""
    _decide(line_id, email, note, cc.approve)


@cyclecount.command("reject")
@click.argument("line_id", type=int)
@_AS
@click.option("--note", default="")
@_refusals
def reject_command(line_id: int, email: str, note: str) -> None:
    """Reject a variance: nothing is set and the variant is due for counting again."""
    _decide(line_id, email, note, cc.reject)
