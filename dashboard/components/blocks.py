"""The layout and control blocks every page is built from.

Pages say what they show; these say once how the app lays it out: a full-width
column, an inline group centred on one line, a button with its icon before the label.
"""

from typing import Any

import reflex as rx


def column(*children: Any, gap: str = "3", **props: Any) -> rx.Component:
    """A full-width vertical stack (`gap` is a Radix spacing step)."""
    return rx.vstack(*children, spacing=gap, width="100%", **props)


def inline(*children: Any, gap: str = "2", **props: Any) -> rx.Component:
    """Items side by side, centred on the cross axis."""
    return rx.hstack(*children, align="center", spacing=gap, **props)


def button(label: Any, icon: str, *rest: Any, icon_size: int = 14, **props: Any) -> rx.Component:
    """A button with a Lucide icon before its label."""
    return rx.button(rx.icon(icon, size=icon_size), label, *rest, **props)
