"""Pieces every transfers screen draws: the status badge, the link back to the list, and
the staff-only frame (the alerts pages use it too)."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.blocks import column
from dashboard.components.figures import empty_state
from dashboard.states.auth import AuthState


def staff_only(*content: rx.Component) -> rx.Component:
    """The page's content for staff; vendors read why they see nothing."""
    return rx.cond(
        AuthState.user_role == "vendor",
        rx.box(
            empty_state(
                "lock",
                "You don't have access to this page",
                "Transfers and alerts are for Rackroom staff. Your brand's stock is on the "
                "Stock page.",
                rx.link("Back to the overview", href="/", size="2", weight="medium"),
            ),
            data_testid="no-access", width="100%",
        ),
        column(*content, gap="4"),
    )


def back_to_list() -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon("arrow-left", size=14), "All transfers", spacing="1"),
        href=routes.TRANSFERS, size="2",
    )
