"""Any unknown address: a 404 inside the app shell, with a way back."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.layout import dead_end
from dashboard.registry import page


@page(routes.NOT_FOUND, "Page not found", description="")
def not_found_page() -> rx.Component:
    return dead_end(
        "map-pin-off", "There is no page at this address",
        "The link may be old or mistyped. The sidebar lists every page you can open.",
        "Go to the overview", "not-found",
    )
