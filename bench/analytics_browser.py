"""Browser time for /analytics to answer a brand filter change (Playwright, median of 10).

Issue 16: "analytics page, brand filter change in the browser: 3.0 s (demo data) →
≤ 0.5 s". Built on bench/grid_browser.py (the same app start, demo data and sign-in,
as its merchandiser, who sees /analytics): the brand picker is opened, and each change
is timed from the click on another brand (once the list has finished opening) until
every chart card in the viewport (1360×860, the top of the page) shows that brand's
figures: its `data-filter-key` names the filters its figures are for, and its plot
(or its "nothing to show" message) is in the DOM. The page then settles (every chart
computed) before the next change, untimed but reported. One warm-up change comes first
and is not counted.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/analytics_browser.py [--scale small]
    python bench/analytics_browser.py --scale small     # no DATABASE_URL: a temporary SQLite file

It measures the production server first (`make prod`'s start code, one web worker:
the app as its users get it, and what the aim is held against), then the dev server of
`make run` (React's development build, reported beside it); on SQLite only the dev
server. It holds /tmp/rackroom-e2e.lock like grid_browser (the shared .web folder).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from urllib.parse import urlencode

from _common import ensure_secret_key, parse_args
from _server import production_server
from grid_browser import (
    bench_database,
    build_folder_lock,
    emit_timings,
    log,
    prepare_database,
    require_browser,
    running_app,
    signed_in_page,
    skip,
)

BENCH = "analytics_browser"
CHANGES = 10
AIM_MS = 500

#: True when every chart card in the viewport holds the figures for filter key `key`.
IN_VIEW_JS = """key => {
    const cards = [...document.querySelectorAll('[data-testid^="chart-"][data-filter-key]')]
        .filter(card => {
            const box = card.getBoundingClientRect();
            return box.bottom > 0 && box.top < window.innerHeight && box.height > 0;
        });
    return cards.length > 0 && cards.every(card => card.dataset.filterKey === key
        && card.querySelector('.js-plotly-plot .main-svg, [data-testid="chart-empty"]'));
}"""
#: True when nothing is being computed and every card is for `key`.
SETTLED_JS = """key => !document.querySelector('[data-testid="analytics-loading"]')
    && [...document.querySelectorAll('[data-testid^="chart-"][data-filter-key]')]
        .every(card => card.dataset.filterKey === key)"""


def brands(url: str) -> list[tuple[str, str]]:
    """(code, picker label) of every brand, by name."""
    from sqlalchemy import select

    from models.catalog import Brand
    from models.db import create_db_engine, transaction

    engine = create_db_engine(url, pool_size=1)
    try:
        with transaction(engine) as session:
            rows = session.execute(select(Brand.code, Brand.name).order_by(Brand.name)).all()
    finally:
        engine.dispose()
    return [(code, f"{name} ({code})") for code, name in rows]


def measure(front: str, choices: list[tuple[str, str]]) -> tuple[list[float], list[float]]:
    """Milliseconds from a brand picked to the charts in view for it, and to all charts."""
    from playwright.sync_api import sync_playwright

    in_view, settled = [], []
    with sync_playwright() as playwright:
        browser, page = signed_in_page(playwright, front)
        page.goto(front + "/analytics")
        page.wait_for_selector('[data-testid="chart-trend"] .js-plotly-plot')
        page.wait_for_function(SETTLED_JS, arg="", polling="raf")
        page.wait_for_load_state("networkidle")
        for n in range(CHANGES + 1):
            code, label = choices[n % len(choices)]
            key = urlencode({"brand": code})
            page.get_by_role("combobox", name="Brand").click()
            option = page.get_by_role("option", name=label, exact=True)
            option.wait_for()
            # Playwright's click first waits until the option is stable: the list's open
            # animation (160 ms), which comes before the person's click, not after it.
            option.click(trial=True)
            started = time.perf_counter()
            option.click()
            page.wait_for_function(IN_VIEW_JS, arg=key, polling="raf", timeout=60_000)
            shown = (time.perf_counter() - started) * 1000
            page.wait_for_function(SETTLED_JS, arg=key, polling="raf", timeout=120_000)
            done = (time.perf_counter() - started) * 1000
            if n:  # the first change warms up the route's handlers
                in_view.append(shown)
                settled.append(done)
            log(f"{'warm-up' if not n else f'change {n}'}: brand={code} in view {shown:.0f} ms,"
                f" all charts {done:.0f} ms")
        browser.close()
    return in_view, settled


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    require_browser(BENCH)
    with contextlib.ExitStack() as stack:
        url, migrate = bench_database(stack)
        prepare_database(url, args.scale, migrate=migrate)
        choices = brands(url)
        if len(choices) < 2:
            skip(f"the catalogue has {len(choices)} brand(s); a change needs two", BENCH)
        stack.enter_context(build_folder_lock())
        served: dict[str, tuple[list[float], list[float]]] = {}
        if not url.startswith("sqlite"):  # production is deployed on PostgreSQL
            ensure_secret_key()
            with production_server(url) as server:
                served["production"] = measure(server.url, choices)
        with running_app(url) as front:
            served["reflex dev"] = measure(front, choices)
    for server, (timings, settled) in served.items():
        print(
            f"{BENCH}: brand change → charts in view, median of {len(timings)}: "
            f"{statistics.median(timings):.0f} ms (min {min(timings):.0f}, max "
            f"{max(timings):.0f}; every chart: median {statistics.median(settled):.0f} ms; "
            f"{server} server, --scale {args.scale}, {url.split(':', 1)[0]})",
            flush=True,
        )
    # The aim is the product as served (`make prod`); the dev server's figures go along.
    server, (timings, settled) = next(iter(served.items()))
    dev_timings, dev_settled = served["reflex dev"]
    median = statistics.median(timings)
    emit_timings(
        BENCH, timings, scale=args.scale, url=url, server=server, aim_ms=AIM_MS,
        ratio=round(median / AIM_MS, 3),
        all_charts_median_ms=round(statistics.median(settled), 1),
        dev_median_ms=round(statistics.median(dev_timings), 1),
        dev_all_charts_median_ms=round(statistics.median(dev_settled), 1),
    )


if __name__ == "__main__":
    main()
