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


_TONE_ICONS = {"red": "triangle-alert", "amber": "triangle-alert", "gray": "info"}


def notice(
    message: Any, *, tone: str = "red", icon: str = "", size: str = "2", test_id: str = "",
    **props: Any,
) -> rx.Component:
    """A full-width callout. A state var as `message` shows only while it is non-empty;
    red notices are announced to screen readers as alerts."""
    if tone == "red":
        props.setdefault("role", "alert")
    if test_id:
        props["data_testid"] = test_id
    props.setdefault("width", "100%")
    callout = rx.callout(
        message, icon=icon or _TONE_ICONS.get(tone, "info"), color_scheme=tone, size=size,
        **props,
    )
    return rx.cond(message != "", callout) if isinstance(message, rx.Var) else callout
