"""Shared pieces of list pages' states: paging in the URL, picker choices, DB calls.

Blocking database work runs in a worker thread (`rx.run_in_thread`), so a slow query
never stalls other users' events.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import reflex as rx
from sqlmodel import Session

from models.admin import PAGE_SIZE, Page
from models.db import read_session, transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Query parameters are short; anything longer is not a real filter.
MAX_PARAM_LENGTH = 200
#: Beyond this a page number is nonsense (and would only make the database skip rows).
MAX_PAGE = 100_000


@dataclasses.dataclass
class Choice:
    """One option of a picker."""

    value: str
    label: str


def _read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with read_session() as session:
        return fn(session, *args, **kwargs)


def _write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with transaction() as session:
        return fn(session, *args, **kwargs)


async def db_read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(session, *args, **kwargs)` in a read session, off the event loop."""
    return await rx.run_in_thread(functools.partial(_read, fn, *args, **kwargs))


async def db_write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(session, *args, **kwargs)` in one transaction (all or nothing), off the loop."""
    return await rx.run_in_thread(functools.partial(_write, fn, *args, **kwargs))


def query_param(params: Mapping[str, str], name: str) -> str:
    """A query parameter as text, trimmed, never absurdly long."""
    return str(params.get(name, "") or "").strip()[:MAX_PARAM_LENGTH]


def page_number(params: Mapping[str, str]) -> int:
    """The `page` query parameter: 1 when missing or malformed, capped when huge."""
    try:
        return min(max(1, int(query_param(params, "page"))), MAX_PAGE)
    except ValueError:
        return 1


#: The page sizes a list offers (`?per=`); the first is the default.
PAGE_SIZES = (PAGE_SIZE, 50, 100)


def page_size(params: Mapping[str, str]) -> int:
    """The `per` query parameter when it is one of `PAGE_SIZES`, else the default."""
    value = query_param(params, "per")
    return int(value) if value in {str(size) for size in PAGE_SIZES} else PAGE_SIZE


def page_offset(total: int, page: int, per_page: int) -> int:
    """The first row of page `page` (from 1) of a list of `total` rows held whole; a page
    past the end is the last page."""
    return min(page - 1, max(0, (total - 1) // per_page)) * per_page


def fetch_page(
    session: Session,
    lister: Callable[..., Page[T]],
    page: int,
    per_page: int = PAGE_SIZE,
    **filters,
) -> Page[T]:
    """One page of `lister`; a page past the end shows the last page instead."""
    found = lister(session, offset=(page - 1) * per_page, limit=per_page, **filters)
    if not found.rows and found.total:
        last = (found.total - 1) // per_page
        found = lister(session, offset=last * per_page, limit=per_page, **filters)
    return found


class LoadStatus(rx.State, mixin=True):
    """Whether a page's data has arrived: `loaded` after the first load (a list shows a
    spinner until then), `load_error` when it could not be read (shown above it)."""

    loaded: bool = False
    load_error: str = ""


class PagedList(LoadStatus, mixin=True):
    """Paging of a list page; the page and its size live in the URL (`?page=N&per=50`).

    `components.lists.pager(State)` draws it: first / previous / next / last and the
    page size. A list says in `LoadStatus` whether it has arrived or why it could not
    be read (`_read_list`).
    """

    total: int = 0
    range_label: str = ""
    first_href: str = ""
    previous_href: str = ""
    next_href: str = ""
    last_href: str = ""
    per_page: str = str(PAGE_SIZE)
    _per_page_base: str = ""

    def _show_paging(self, page: Page, route: str, filters: Mapping[str, str]) -> None:
        self.total = page.total
        first, last = page.offset + 1, page.offset + len(page.rows)
        self.range_label = f"{first:,}–{last:,} of {page.total:,}" if page.rows else ""
        size = max(page.limit, 1)
        number, pages = page.offset // size + 1, max(1, -(-page.total // size))
        kept = {key: value for key, value in filters.items() if value}
        if size != PAGE_SIZE:
            kept["per"] = str(size)

        def href(n: int) -> str:
            query = urlencode({**kept, **({"page": str(n)} if n > 1 else {})})
            return f"{route}?{query}" if query else route

        self.first_href = href(1) if number > 2 else ""
        self.previous_href = href(number - 1) if page.offset > 0 else ""
        self.next_href = href(number + 1) if last < page.total else ""
        self.last_href = href(pages) if number < pages - 1 else ""
        self.per_page = str(size)
        base = {key: value for key, value in kept.items() if key != "per"}
        self._per_page_base = f"{route}?{urlencode(base)}" if base else f"{route}?"

    @rx.event
    def set_per_page(self, size: str):
        """Show `size` rows a page (from the first page). Changes no data."""
        if size not in {str(choice) for choice in PAGE_SIZES} or not self._per_page_base:
            return None
        joiner = "" if self._per_page_base.endswith("?") else "&"
        per = "" if size == str(PAGE_SIZE) else f"{joiner}per={size}"
        return rx.redirect((self._per_page_base + per).rstrip("?&"))

    async def _read_list(self, what: str, read: Awaitable[T]) -> T | None:
        """Await `read` (the page's database reads). On failure log it, tell the user in
        `load_error` (the state must have one) that `what` could not be read, and return
        None; on success clear `load_error` and return what was read."""
        try:
            found = await read
        except Exception:
            log.exception("%s: reading %s failed", type(self).__name__, what)
            self.load_error = f"The {what} could not be read. Refresh to try again."
            return None
        self.load_error = ""
        return found

    async def _read_rows(
        self,
        what: str,
        lister: Callable[..., Page[T]],
        route: str,
        url: Mapping[str, str],
        **filters: Any,
    ) -> list[T] | None:
        """This URL's page (`?page=`, `?per=`) of `lister(session, offset=, limit=,
        **filters)`, its paging shown with links keeping `url` (the filters as URL
        parameters); None when reading failed (see `_read_list`)."""
        params = self.router.url.query_parameters
        read = db_read(fetch_page, lister, page_number(params), page_size(params), **filters)
        found = await self._read_list(what, read)
        if found is None:
            return None
        self._show_paging(found, route, url)
        return found.rows
