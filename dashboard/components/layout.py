"""The one layout every signed-in page shares: sidebar, top bar, page header, content."""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard import routes
from dashboard.components.admin import spinner_block
from dashboard.components.blocks import button, column, inline, notice
from dashboard.components.figures import empty_state
from dashboard.registry import Page, nav_pages
from dashboard.states.auth import AuthState
from dashboard.states.sidebar import SidebarState
from models.policy import roles_for

SIDEBAR_WIDTH = "220px"
#: Below this width the sidebar shows icons only (labels as tooltips).
COMPACT_BELOW = "1100px"
COMPACT_WIDTH = "56px"
TOP_BAR_HEIGHT = "52px"
_COMPACT = f"@media (max-width: {COMPACT_BELOW})"


def allowed(perm: str | None) -> rx.Var:
    """Whether the signed-in user's role may `perm` (shapes the screen only)."""
    if perm is None:
        return AuthState.is_authenticated
    return rx.Var.create(list(roles_for(perm))).contains(AuthState.user_role)


def dead_end(icon: str, title: str, hint: str, back: str, test_id: str) -> rx.Component:
    """A page the user cannot use (no access, no such page), with the way back."""
    return rx.box(
        empty_state(
            icon, title, hint,
            rx.link(back, href=routes.OVERVIEW, size="2", weight="medium"),
        ),
        data_testid=test_id, width="100%",
    )


def no_access() -> rx.Component:
    return dead_end(
        "lock", "You don't have access to this page",
        "Your role doesn't include it. If you need it, ask an admin.",
        "Back to the overview", "no-access",
    )


def gate(perm: str | None, content: rx.Component) -> rx.Component:
    """`content` for the roles `perm` allows; "You don't have access" for the others."""
    return content if perm is None else rx.cond(allowed(perm), content, no_access())


def shown_to(perm: str | None, content: rx.Component) -> rx.Component:
    """`content` for the roles `perm` allows; nothing for the others."""
    return content if perm is None else rx.cond(allowed(perm), content)


def _any_allowed(entries: list[Page]) -> rx.Var:
    roles = sorted({role for entry in entries if entry.perm for role in roles_for(entry.perm)})
    return rx.Var.create(roles).contains(AuthState.user_role)


_ITEM_STYLE = {
    "display": "flex",
    "align_items": "center",
    "gap": "10px",
    "height": "32px",
    "padding_x": "10px",
    "border_radius": "var(--radius-2)",
    "font_size": "14px",
    "width": "100%",
}


def _live_count(which: str) -> rx.Component:
    """Open alerts (red) or transfers waiting for approval (amber); nothing when zero."""
    value, color, title = (
        (SidebarState.open_alerts, "red", " open alerts")
        if which == "alerts"
        else (SidebarState.waiting_transfers, "amber", " waiting for approval")
    )
    return rx.cond(
        value > 0,
        rx.badge(
            value.to_string(),
            color_scheme=color, variant="soft", size="1", radius="full",
            title=value.to_string() + title, data_testid=f"nav-count-{which}",
        ),
    )


def _nav_item(entry: Page, active_route: str) -> rx.Component:
    nav = entry.nav
    assert nav is not None
    content = [
        rx.icon(nav.icon, size=16, flex_shrink="0"),
        rx.text(nav.label, flex="1", class_name="nav-label"),
    ]
    active = entry.route == active_route
    if nav.count:
        content.append(rx.box(_live_count(nav.count), class_name="nav-label"))
    item = rx.link(
        *content,
        href=entry.route, underline="none", aria_current="page" if active else None,
        title=nav.label, aria_label=nav.label,
        style={
            **_ITEM_STYLE,
            "color": rx.color("accent", 11) if active else rx.color("gray", 12),
            "background": rx.color("accent", 3) if active else "transparent",
            "font_weight": "500",
            "_hover": {"background": rx.color("accent", 4) if active else rx.color("gray", 3)},
        },
    )
    return shown_to(entry.perm, item)


def sidebar(active_route: str) -> rx.Component:
    return rx.vstack(
        inline(
            rx.image(src="/logo.svg", alt="", width="26px", height="26px"),
            rx.text("Rackroom", size="3", weight="bold", class_name="nav-label"),
            height=TOP_BAR_HEIGHT, padding_x="14px", width="100%",
        ),
        rx.el.nav(
            column(
                *[_nav_item(entry, active_route) for entry in nav_pages("main")],
                rx.cond(
                    _any_allowed(nav_pages("admin")),
                    column(
                        rx.text(
                            "Admin", size="1", weight="medium", color=rx.color("gray", 10),
                            padding_x="10px", padding_top="14px", padding_bottom="2px",
                            class_name="nav-label",
                        ),
                        *[_nav_item(entry, active_route) for entry in nav_pages("admin")],
                        data_testid="nav-admin", gap="1",
                    ),
                ),
                padding_x="8px", padding_top="8px", gap="1",
            ),
            # A real <nav> landmark (Radix Flex renders only div or span).
            aria_label="Sections",
            on_mount=SidebarState.refresh,
            width="100%",
        ),
        spacing="0", width=SIDEBAR_WIDTH, min_width=SIDEBAR_WIDTH, height="100vh",
        position="sticky", top="0", background=rx.color("gray", 2),
        border_right=f"1px solid {rx.color('gray', 5)}",
        data_testid="sidebar",
        style={
            _COMPACT: {
                "width": COMPACT_WIDTH,
                "min_width": COMPACT_WIDTH,
                "& .nav-label": {"display": "none"},
            }
        },
    )


def top_bar() -> rx.Component:
    return inline(
        rx.cond(
            AuthState.brand_name != "",
            rx.text(AuthState.brand_name, size="2", color_scheme="gray"),
        ),
        rx.spacer(),
        rx.icon_button(
            rx.color_mode_cond(light=rx.icon("moon", size=16), dark=rx.icon("sun", size=16)),
            on_click=rx.toggle_color_mode, variant="ghost", color_scheme="gray", size="2",
            aria_label="Switch between light and dark", title="Switch between light and dark",
        ),
        rx.separator(orientation="vertical", size="1"),
        inline(
            rx.text(AuthState.user_name, size="2", weight="medium", data_testid="user-name"),
            rx.badge(
                AuthState.user_role, variant="soft", size="1", text_transform="capitalize",
                data_testid="user-role",
            ),
        ),
        button(
            "Log out", "log-out", on_click=AuthState.log_out, variant="ghost", color_scheme="gray",
            size="2",
        ),
        height=TOP_BAR_HEIGHT, padding_x="24px", width="100%",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1), position="sticky", top="0", z_index="10", gap="4",
    )


def page_header(
    title: str,
    description: rx.Component | str | None = None,
    action: rx.Component | None = None,
) -> rx.Component:
    """Title (one h1 per page), an optional line under it, and the page's primary action."""
    return rx.hstack(
        rx.vstack(
            rx.heading(title, as_="h1", size="6", weight="bold"),
            rx.text(description, size="2", color_scheme="gray")
            if isinstance(description, str)
            else description,
            spacing="1",
        ),
        rx.spacer(),
        action, align="end", width="100%", padding_bottom="20px",
    )


def detail_page(
    perm: str, state: Any, body: rx.Component, *, shown: rx.Var, back: rx.Component, route: str
) -> rx.Component:
    """A page about one thing in its own frame: `state.title` heads it, then the way `back`,
    `state.load_error`, and `body` once `shown` (a spinner until the first load). `route`
    is the sidebar entry it belongs to."""
    waiting = rx.cond(state.loaded, rx.fragment(), spinner_block())
    return app_shell(
        gate(perm, column(back, notice(state.load_error), rx.cond(shown, body, waiting), gap="4")),
        title=state.title,
        route=route,
    )


def _checking_session() -> rx.Component:
    return rx.center(rx.spinner(size="3"), height="100vh", width="100%")


def app_shell(
    *content: rx.Component,
    title: str,
    route: str,
    description: rx.Component | str | None = None,
    action: rx.Component | None = None,
) -> rx.Component:
    """A signed-in page. Nothing but a spinner renders until the session is confirmed."""
    return rx.cond(
        AuthState.is_authenticated,
        rx.hstack(
            sidebar(route),
            rx.box(
                top_bar(),
                rx.box(
                    page_header(title, description, action),
                    *content,
                    as_="main", padding_x="32px", padding_y="24px", max_width="1200px",
                ),
                flex="1", min_width="0",
            ),
            spacing="0", align="start", width="100%", min_height="100vh",
        ),
        _checking_session(),
    )
