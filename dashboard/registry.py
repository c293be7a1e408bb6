"""The page registry: every page says its route, title, permission and sidebar entry once.

    @page(routes.BRANDS, "Brands", perm="admin.brands", load=BrandsState.load,
          nav=Nav("Brands", "tags", group="admin"), description="The brands we stock.")
    def brands_page() -> rx.Component:
        return brands_list()

`dashboard.py` registers `PAGES` with the app, the sidebar lists the entries with a `nav`
(shown to the roles the permission allows), and every signed-in page gets the shell,
the sign-in check on load, and the gate that shows "no access" to other roles. The gate
only shapes the screen: each page state's handlers check the same permission on the
server (`dashboard.states.auth.requires`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import reflex as rx
from reflex.event import EventHandler, EventSpec

Render = Callable[[], rx.Component]
Load = EventHandler | EventSpec


@dataclass(frozen=True, slots=True)
class Nav:
    """A page's sidebar entry."""

    label: str
    icon: str
    #: "main" (the sections) or "admin" (under the Admin heading).
    group: str = "main"
    #: A live count beside the label: "alerts" or "transfers" (SidebarState).
    count: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    route: str
    title: str
    render: Render
    perm: str | None
    load: tuple[Load, ...]
    nav: Nav | None
    public: bool
    description: str
    action: Render | None
    #: The sidebar entry highlighted while this page shows (its own route by default).
    section: str = ""
    #: A document made for paper (the pick list): its own frame, no sidebar.
    paper: bool = False


#: Every page of the app, in the order the sidebar shows them.
PAGES: list[Page] = []


def page(
    route: str,
    title: str,
    *,
    perm: str | None = None,
    load: Load | Sequence[Load] = (),
    nav: Nav | None = None,
    description: str = "",
    action: Render | None = None,
    section: str = "",
    public: bool = False,
    shell: bool = True,
    paper: bool = False,
) -> Callable[[Render], Render]:
    """Register the decorated function as the page at `route`.

    `perm` names the permission (models.policy) a role needs to see the page; `load`
    runs on every visit after the sign-in check; `action` renders the header's
    primary button (shown only to roles the permission allows). `public` pages (the
    sign-in page, the poll embed) get neither the shell nor the sign-in check; with
    `shell=False` the page draws its own frame; `paper` pages are documents to print
    (no sidebar at all).
    """
    loads = tuple(load) if isinstance(load, Sequence) else (load,)

    def register(render: Render) -> Render:
        if any(existing.route == route for existing in PAGES):
            raise ValueError(f"Two pages registered at {route!r}")
        PAGES.append(
            Page(
                route=route,
                title=title,
                render=render if public or paper or not shell else _in_shell(render),
                perm=perm,
                load=loads,
                nav=nav,
                public=public,
                description=description,
                action=action,
                section=section or route,
                paper=paper,
            )
        )
        return render

    def _in_shell(render: Render) -> Render:
        def framed() -> rx.Component:
            from dashboard.components.layout import app_shell, gate, shown_to

            return app_shell(
                gate(perm, render()),
                title=title,
                route=section or route,
                description=description or None,
                action=shown_to(perm, action()) if action else None,
            )

        framed.__name__ = render.__name__
        return framed

    return register


def on_load(entry: Page) -> list[Load]:
    """The sign-in check (every non-public page), then the page's own loads."""
    if entry.public:
        return list(entry.load)
    from dashboard.states.auth import AuthState

    return [AuthState.require_login, *entry.load]


def register_pages(app: rx.App) -> None:
    """`app.add_page` for every registered page: the one place pages are added."""
    for entry in PAGES:
        app.add_page(
            entry.render,
            route=entry.route,
            title=f"{entry.title} · Rackroom",
            on_load=on_load(entry),
        )


def nav_pages(group: str) -> list[Page]:
    return [entry for entry in PAGES if entry.nav is not None and entry.nav.group == group]
