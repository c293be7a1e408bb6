"""Run every benchmark, each on its own freshly migrated, empty PostgreSQL database.

    python bench/run_all.py [--scale small|large]

The server comes from BENCH_POSTGRES_URL (default: the local server as `postgres`).
Each benchmark's last line (its JSON result) is collected and printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["small", "large"], default="large")
    parser.add_argument("only", nargs="*", help="benchmark names (default: all)")
    args = parser.parse_args()
    scripts = sorted(
        p
        for p in HERE.glob("*.py")
        if not p.name.startswith("_")
        and p.name != "run_all.py"
        and (not args.only or p.stem in args.only)
    )
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    results, failed = [], []
    for script in scripts:
        name = f"rackroom_bench_{script.stem}_{uuid.uuid4().hex[:6]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        env = os.environ | {"DATABASE_URL": url}
        try:
            print(f"== {script.name} (--scale {args.scale})", flush=True)
            alembic = [sys.executable, "-m", "alembic", "upgrade", "head"]
            subprocess.run(alembic, cwd=ROOT, env=env, check=True, capture_output=True)
            run = subprocess.run(
                [sys.executable, str(script), "--scale", args.scale],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            print(run.stdout, end="", flush=True)
            lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
            if run.returncode != 0 or not lines:
                failed.append(script.stem)
            else:
                results.append(json.loads(lines[-1]))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("== results")
    for result in results:
        print(json.dumps(result))
    print(summary(results))
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


#: Issue 16's aims for the headline ratio, where it names one (direction, bound).
AIMS = {
    "reservations": (">=", 0.6),
    "api_reservations": (">=", 0.5),
    "alerts": ("<=", 1.2),
    "sync": (">=", 0.6),
    "analytics": ("<=", 1.2),
    "events": (">=", 0.8),
    # median_ms / aim_ms: a brand change on /analytics shown in the browser within 0.5 s.
    "analytics_browser": ("<=", 1.0),
}
#: Further ratios a benchmark's JSON line carries, each with its own aim (a line each).
MORE_AIMS = {
    "alerts": {"ratio_first": ("<=", 3.0)},
    # The whole catalogue's low-stock and sort-by-available pages over the one-brand page.
    "grid": {"ratio_catalogue": ("<=", 10.0)},
}


def summary(results: list[dict]) -> str:
    """One line per benchmark: its headline ratio, the aim and whether this run met it."""
    lines = ["== summary", f"{'bench':<18} {'scale':<6} {'ratio':>8}  {'aim':<7} met"]
    for result in results:
        name = str(result.get("bench", "?"))
        rows = [(name, result.get("ratio"), AIMS.get(name))]
        for key, aim in MORE_AIMS.get(name, {}).items():
            rows.append((f"{name}/{key.removeprefix('ratio_')}", result.get(key), aim))
        for label, ratio, aim in rows:
            met = ""
            if aim and isinstance(ratio, int | float):
                met = "yes" if (ratio >= aim[1] if aim[0] == ">=" else ratio <= aim[1]) else "no"
            shown = f"{ratio:>8.3f}" if isinstance(ratio, int | float) else f"{'-':>8}"
            target = f"{aim[0]} {aim[1]}" if aim else ""
            lines.append(f"{label:<18} {result.get('scale', '')!s:<6} {shown}  {target:<7} {met}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
