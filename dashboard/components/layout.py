"""The one layout every signed-in page shares: sidebar, top bar, page header, content."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from dashboard.states.auth import AuthState
from dashboard.states.sidebar import SidebarState
from models.users import Role

SIDEBAR_WIDTH = "220px"
TOP_BAR_HEIGHT = "52px"


#: Who may open what (the sidebar hides the rest; each page's handlers also check).
EVERYONE = tuple(Role)
STAFF = (Role.ADMIN, Role.MERCHANDISER, Role.MANAGER)
ADMINS = (Role.ADMIN,)


@dataclass(frozen=True, slots=True)
class Section:
    label: str
    route: str
    icon: str
    built: bool = False
    roles: tuple[Role, ...] = EVERYONE
    #: A live count shown beside the label: "alerts" or "transfers" (SidebarState).
    count: str = ""


#: The sidebar, in order. Sections not built yet show as "Soon", never as dead links.
SECTIONS: tuple[Section, ...] = (
    Section("Overview", "/", "layout-dashboard", built=True),
    Section("Stock", "/stock", "package", built=True),
    Section("Transfers", "/transfers", "arrow-left-right", True, STAFF, "transfers"),
    Section("Alerts", "/alerts", "bell", True, STAFF, "alerts"),
    Section("Imports", "/imports", "file-up", built=True),
    Section("Syncs", "/syncs", "refresh-cw", built=True, roles=STAFF),
    Section("Analytics", "/analytics", "chart-line", built=True),
    Section("Demand", "/demand", "vote", built=True),
)

#: The admin pages, grouped under "Admin" and shown to admins only.
ADMIN_SECTIONS: tuple[Section, ...] = (
    Section("Users", "/admin/users", "users", built=True, roles=ADMINS),
    Section("Brands", "/admin/brands", "tags", built=True, roles=ADMINS),
    Section("Warehouses", "/admin/warehouses", "warehouse", built=True, roles=ADMINS),
    Section("API keys", "/admin/api-keys", "key-round", built=True, roles=ADMINS),
)


def _for_roles(roles: tuple[Role, ...], item: rx.Component) -> rx.Component:
    if roles == EVERYONE:
        return item
    allowed = rx.Var.create([role.value for role in roles])
    return rx.cond(allowed.contains(AuthState.user_role), item)


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
            color_scheme=color,
            variant="soft",
            size="1",
            radius="full",
            title=value.to_string() + title,
            data_testid=f"nav-count-{which}",
        ),
    )


def _nav_item(section: Section, active_route: str) -> rx.Component:
    content = [rx.icon(section.icon, size=16), rx.text(section.label, flex="1")]
    if not section.built:
        return rx.box(
            *content,
            rx.badge("Soon", variant="soft", color_scheme="gray", size="1"),
            title=f"{section.label} is coming soon",
            aria_disabled="true",
            style={**_ITEM_STYLE, "color": rx.color("gray", 9), "cursor": "default"},
        )
    active = section.route == active_route
    if section.count:
        content.append(_live_count(section.count))
    return rx.link(
        *content,
        href=section.route,
        underline="none",
        aria_current="page" if active else None,
        style={
            **_ITEM_STYLE,
            "color": rx.color("accent", 11) if active else rx.color("gray", 12),
            "background": rx.color("accent", 3) if active else "transparent",
            "font_weight": "500",
            "_hover": {"background": rx.color("accent", 4) if active else rx.color("gray", 3)},
        },
    )


def sidebar(active_route: str) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.center(
                rx.icon("boxes", size=16, color="white"),
                width="26px",
                height="26px",
                border_radius="var(--radius-2)",
                background=rx.color("accent", 9),
            ),
            rx.text("Rackroom", size="3", weight="bold"),
            align="center",
            spacing="2",
            height=TOP_BAR_HEIGHT,
            padding_x="14px",
            width="100%",
        ),
        rx.el.nav(
            rx.vstack(
                *[
                    _for_roles(section.roles, _nav_item(section, active_route))
                    for section in SECTIONS
                ],
                _for_roles(
                    ADMINS,
                    rx.vstack(
                        rx.text(
                            "Admin",
                            size="1",
                            weight="medium",
                            color=rx.color("gray", 10),
                            padding_x="10px",
                            padding_top="14px",
                            padding_bottom="2px",
                        ),
                        *[_nav_item(section, active_route) for section in ADMIN_SECTIONS],
                        spacing="1",
                        width="100%",
                        data_testid="nav-admin",
                    ),
                ),
                spacing="1",
                width="100%",
                padding_x="8px",
                padding_top="8px",
            ),
            # A real <nav> landmark (Radix Flex renders only div or span).
            aria_label="Sections",
            on_mount=SidebarState.refresh,
            width="100%",
        ),
        spacing="0",
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        height="100vh",
        position="sticky",
        top="0",
        background=rx.color("gray", 2),
        border_right=f"1px solid {rx.color('gray', 5)}",
    )


def top_bar() -> rx.Component:
    return rx.hstack(
        rx.cond(
            AuthState.brand_name != "",
            rx.text(AuthState.brand_name, size="2", color_scheme="gray"),
        ),
        rx.spacer(),
        rx.icon_button(
            rx.color_mode_cond(light=rx.icon("moon", size=16), dark=rx.icon("sun", size=16)),
            on_click=rx.toggle_color_mode,
            variant="ghost",
            color_scheme="gray",
            size="2",
            aria_label="Switch between light and dark",
            title="Switch between light and dark",
        ),
        rx.separator(orientation="vertical", size="1"),
        rx.hstack(
            rx.text(AuthState.user_name, size="2", weight="medium", data_testid="user-name"),
            rx.badge(
                AuthState.user_role,
                variant="soft",
                size="1",
                text_transform="capitalize",
                data_testid="user-role",
            ),
            align="center",
            spacing="2",
        ),
        rx.button(
            rx.icon("log-out", size=14),
            "Log out",
            on_click=AuthState.log_out,
            variant="ghost",
            color_scheme="gray",
            size="2",
        ),
        align="center",
        spacing="4",
        height=TOP_BAR_HEIGHT,
        padding_x="24px",
        width="100%",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        position="sticky",
        top="0",
        z_index="10",
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
        action,
        align="end",
        width="100%",
        padding_bottom="20px",
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
                    as_="main",
                    padding_x="32px",
                    padding_y="24px",
                    max_width="1200px",
                ),
                flex="1",
                min_width="0",
            ),
            spacing="0",
            align="start",
            width="100%",
            min_height="100vh",
        ),
        _checking_session(),
    )
