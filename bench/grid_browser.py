"""Browser time to show a stock-grid page after a filter change (Playwright, median of 10).

The browser half of the issue's grid benchmark (bench/grid.py times the queries).
It starts the app the way the browser tests do (`reflex run --env dev`, the dev
server, on the database in DATABASE_URL), seeds that database with the demo data at
--scale when it is empty, signs in as a merchandiser in Chromium and changes the
filter ten times: a text search (a style code) typed and submitted with Enter. Each
change is timed from the keypress until the grid shows the new view (its
`data-view-key` attribute names the filter of the rows it holds, and the rows are in
the DOM). One warm-up change comes first and is not counted.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/grid_browser.py [--scale small]
    python bench/grid_browser.py --scale small     # no DATABASE_URL: a temporary SQLite file

The app's `.web` build folder is shared with the browser tests, so the run holds
/tmp/rackroom-e2e.lock (set RACKROOM_E2E_LOCK_HELD=1 when you already hold it, e.g.
under `flock`). Without Playwright or /usr/bin/chromium it prints why and a JSON line
with "skipped", and exits 0. The figures are the dev server's (unminified bundles),
so they are an upper bound for a production build.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import emit, parse_args

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
LOCK = Path("/tmp/rackroom-e2e.lock")
CHANGES = 10
USER = ("bench-grid@rackroom.test", "bench-grid-password-1")
STARTUP_TIMEOUT_S = 900
SEED = 11


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def skip(reason: str, bench: str = "grid_browser") -> None:
    print(f"{bench} skipped: {reason}", flush=True)
    emit({"bench": bench, "skipped": reason})
    sys.exit(0)


@contextlib.contextmanager
def build_folder_lock() -> Iterator[None]:
    """The browser tests' lock on the shared .web folder (waits in line, up to 30 minutes)."""
    if os.environ.get("RACKROOM_E2E_LOCK_HELD"):
        yield
        return

    def give_up(_signum: int, _frame: object) -> None:
        skip(f"{LOCK} stayed locked (browser tests running?) for 30 minutes")

    with LOCK.open("a") as handle:
        previous = signal.signal(signal.SIGALRM, give_up)
        signal.alarm(1800)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)  # blocking: queue like `flock` does
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def prepare_database(url: str, scale: str, *, migrate: bool) -> list[str]:
    """Migrate (a fresh SQLite file), seed if empty, add the bench user; the search terms."""
    from sqlalchemy import select

    from jobs.seed import seed_database
    from models.catalog import Product
    from models.db import create_db_engine, transaction
    from models.users import User, create_user

    env = os.environ | {"DATABASE_URL": url}
    if migrate:
        subprocess.run(
            [str(VENV_BIN / "alembic"), "upgrade", "head"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    engine = create_db_engine(url, pool_size=2)
    try:
        started = time.perf_counter()
        seeded = seed_database(engine, scale=scale, seed=SEED, if_empty=True, progress=False)
        if seeded is not None:
            log(f"seeded --scale {scale} in {time.perf_counter() - started:.0f} s")
        with transaction(engine) as session:
            if session.scalar(select(User).where(User.email == USER[0])) is None:
                create_user(session, USER[0], USER[1], "merchandiser", name="Grid Bench")
            # Style codes spread over the catalogue: each search finds one style.
            codes = list(session.scalars(select(Product.style_code).order_by(Product.id)))
    finally:
        engine.dispose()
    if len(codes) < CHANGES + 1:
        skip(f"the catalogue has only {len(codes)} styles")
    step = len(codes) // (CHANGES + 1)
    return [codes[i * step] for i in range(CHANGES + 1)]


@contextlib.contextmanager
def running_app(url: str) -> Iterator[str]:
    """`reflex run --env dev` on `url`, like tests/e2e/conftest.py; yields the frontend URL."""
    from models.secrets import KEY_FILE, new_key

    frontend, backend = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="rackroom-bench-") as watch:
        env = os.environ | {
            "DATABASE_URL": url,
            "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
            "REFLEX_USE_NPM": "1",
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_HOT_RELOAD_OVERRIDE_PATHS": watch,
        }
        if not env.get("RACKROOM_SECRET_KEY") and not KEY_FILE.exists():
            # A worktree without a local key: one for this run (sign-in encrypts with it).
            env["RACKROOM_SECRET_KEY"] = new_key()
        log_path = Path(watch) / "app.log"
        with log_path.open("w") as out:
            process = subprocess.Popen(
                [
                    str(VENV_BIN / "reflex"),
                    "run",
                    "--env",
                    "dev",
                    "--frontend-port",
                    str(frontend),
                    "--backend-port",
                    str(backend),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            started = time.monotonic()
            front = f"http://localhost:{frontend}"
            while not (answers(f"http://localhost:{backend}/ping") and answers(front)):
                if process.poll() is not None:
                    tail = log_path.read_text()[-2000:]
                    raise SystemExit(f"reflex run exited with {process.returncode}:\n{tail}")
                if time.monotonic() - started > STARTUP_TIMEOUT_S:
                    raise SystemExit("the app did not start in time")
                time.sleep(1)
            log(f"app up in {time.monotonic() - started:.0f} s")
            yield front
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def signed_in_page(playwright: Any, front: str) -> tuple[Any, Any]:
    """(browser, page): Chromium at 1360×860, signed in as the bench user."""
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    )
    page = browser.new_page(viewport={"width": 1360, "height": 860})
    page.set_default_timeout(STARTUP_TIMEOUT_S * 1000)
    page.goto(front + "/login")
    page.get_by_label("Email").fill(USER[0])
    page.get_by_label("Password").fill(USER[1])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(front + "/")
    return browser, page


def measure(front: str, terms: list[str]) -> list[float]:
    """Milliseconds from Enter to the grid showing each search's rows."""
    from playwright.sync_api import sync_playwright

    from dashboard.states.stock import grid_href
    from models.grid import GridFilter

    wait_js = """key => {
        const grid = document.querySelector('[data-testid="stock-grid"]');
        return grid && grid.dataset.viewKey === key
            && grid.querySelector('[data-testid="balance-row"]') !== null;
    }"""
    timings = []
    with sync_playwright() as playwright:
        browser, page = signed_in_page(playwright, front)
        page.goto(front + "/stock")
        page.wait_for_selector('[data-testid="balance-row"]')
        page.wait_for_load_state("networkidle")
        for n, term in enumerate(terms):
            key = grid_href(GridFilter(search=term), "balances")
            search = page.get_by_label("Search stock")
            search.fill(term)
            started = time.perf_counter()
            search.press("Enter")
            page.wait_for_function(wait_js, arg=key, polling="raf", timeout=60_000)
            elapsed = (time.perf_counter() - started) * 1000
            if n:  # the first change warms up the route's handlers
                timings.append(elapsed)
            log(f"{'warm-up' if not n else f'change {n}'}: q={term!r} {elapsed:.0f} ms")
        browser.close()
    return timings


def require_browser(bench: str) -> None:
    """Skip (a JSON line, exit 0) without Playwright or Chromium."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip("Playwright is not installed (pip install pytest-playwright)", bench)
    if not CHROMIUM.exists():
        skip(f"{CHROMIUM} is missing (apt-get install chromium)", bench)


def bench_database(stack: contextlib.ExitStack) -> tuple[str, bool]:
    """(url, migrate): DATABASE_URL, or a temporary SQLite file (removed with `stack`)
    to migrate first."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url, False
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="rackroom-bench-db-"))
    return f"sqlite:///{folder}/rackroom.db", True


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    require_browser("grid_browser")
    with contextlib.ExitStack() as stack:
        url, migrate = bench_database(stack)
        terms = prepare_database(url, args.scale, migrate=migrate)
        stack.enter_context(build_folder_lock())
        front = stack.enter_context(running_app(url))
        timings = measure(front, terms)
    median = statistics.median(timings)
    print(
        f"grid_browser: filter change → page shown, median of {len(timings)}: {median:.0f} ms "
        f"(min {min(timings):.0f}, max {max(timings):.0f}; dev server, --scale {args.scale}, "
        f"{url.split(':', 1)[0]})",
        flush=True,
    )
    emit_timings("grid_browser", timings, scale=args.scale, url=url)


def emit_timings(bench: str, timings: list[float], *, scale: str, url: str,
                 server: str = "reflex dev", **extra: object) -> None:
    """The JSON line of a browser benchmark: median, min and max of `timings` (ms)."""
    median = statistics.median(timings)
    emit(
        {
            "bench": bench,
            "median_ms": round(median, 1),
            **extra,
            "min_ms": round(min(timings), 1),
            "max_ms": round(max(timings), 1),
            "changes": len(timings),
            "scale": scale,
            "database": url.split(":", 1)[0].split("+", 1)[0],
            "server": server,
        }
    )


if __name__ == "__main__":
    main()
