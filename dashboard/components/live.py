"""The discreet "Live" badge of a page that follows changes by itself
(`dashboard/states/live.py`): a green dot and a word; its tooltip says when the page
last knew it was current and what updates on its own."""

from __future__ import annotations

import reflex as rx


def live_badge(label: rx.Var[str] | str, what: str, *, test_id: str = "live") -> rx.Component:
    """`label` is the state's `live_label` ("Live · checked 02:14:05 UTC"); `what` says
    what updates by itself ("rows update by themselves when stock changes elsewhere")."""
    return rx.badge(
        rx.box(width="6px", height="6px", border_radius="50%", background=rx.color("grass", 9)),
        "Live", color_scheme="grass", variant="soft", size="1", title=label + " — " + what,
        data_testid=test_id,
    )
