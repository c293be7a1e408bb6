"""`python -m dashboard.api.graphql [--check FILE]`: print the GraphQL schema (SDL), or
with --check exit 1 when FILE differs from it (docs/schema.graphql is kept current)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard.api.graphql.schema import schema


def sdl() -> str:
    return schema.as_str().rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.api.graphql", description=__doc__)
    parser.add_argument("--check", metavar="FILE", type=Path, help="compare FILE with the schema")
    args = parser.parse_args(argv)
    if args.check is None:
        sys.stdout.write(sdl())
        return 0
    if not args.check.exists() or args.check.read_text() != sdl():
        print(f"{args.check} is not the current schema: run make graphql-schema", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
