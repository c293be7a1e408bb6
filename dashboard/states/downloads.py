"""Links to the CSV exports (`dashboard/api/exports/`) and the event that fetches one.

States import this, never the endpoints, so an endpoint may reuse a page state's
blocking work (the analytics tables, say) without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec
from reflex.utils.exec import is_prod_mode


def export_href(route: str, params: Mapping[str, str | int] | None = None) -> str:
    """`route` with `params` (sorted, empty values left out) as its query."""
    query = urlencode(sorted((k, str(v)) for k, v in (params or {}).items() if v != ""))
    return route + (f"?{query}" if query else "")


def download(href: str) -> EventSpec:
    """The event that makes the browser fetch the export at `href` as a file.

    In production pages and backend share one origin; in development the pages come
    from another port, so the link names the backend (the session cookie, set for the
    host, goes to both).
    """
    url = href if is_prod_mode() else rx.config.get_config().api_url.rstrip("/") + href
    return rx.download(url=rx.Var.create(url))
