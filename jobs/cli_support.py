"""What every `rackroom` command group shares: domain refusals as one line and exit 1."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from models.errors import DomainError


def refusals(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into a one-line message and exit code 1."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            click.echo(f"error: {error.message}", err=True)
            sys.exit(1)

    return run
