"""Full-page screenshots of pages whose cards skip rendering while out of view."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

#: Chart cards out of view are neither laid out nor painted (`content-visibility: auto`,
#: dashboard/components/charts.py), so a full-page capture would show them blank.
_DRAW_EVERY_CARD = "[data-filter-key] { content-visibility: visible !important; }"


def whole_page(page: Page, path: Path) -> None:
    """A full-page screenshot with every chart card drawn, as a person scrolling sees it."""
    style = page.add_style_tag(content=_DRAW_EVERY_CARD)
    page.screenshot(path=path, full_page=True)
    style.evaluate("node => node.remove()")
