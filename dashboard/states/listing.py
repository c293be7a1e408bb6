"""Shared pieces of list pages' states: paging in the URL, picker choices, DB calls.

Blocking database work runs in a worker thread (`rx.run_in_thread`), so a slow query
never stalls other users' events.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import reflex as rx
from sqlmodel import Session

from models.admin import PAGE_SIZE, Page
from models.db import read_session, transaction

T = TypeVar("T")

#: Query parameters are short; anything longer is not a real filter.
MAX_PARAM_LENGTH = 200
#: Beyond this a page number is nonsense (and would only make the database skip rows).
MAX_PAGE = 100_000


@dataclasses.dataclass
class Choice:
    """One option of a picker."""

    value: str = ""
    label: str = ""


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


def fetch_page(session: Session, lister: Callable[..., Page[T]], page: int, **filters) -> Page[T]:
    """One page of `lister`; a page past the end shows the last page instead."""
    found = lister(session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, **filters)
    if not found.rows and found.total:
        last = (found.total - 1) // PAGE_SIZE
        found = lister(session, offset=last * PAGE_SIZE, limit=PAGE_SIZE, **filters)
    return found


class PagedList(rx.State, mixin=True):
    """Paging of a list page; the page number lives in the URL (`?page=N`)."""

    total: int = 0
    range_label: str = ""
    previous_href: str = ""
    next_href: str = ""

    def _show_paging(self, page: Page, route: str, filters: Mapping[str, str]) -> None:
        self.total = page.total
        first, last = page.offset + 1, page.offset + len(page.rows)
        self.range_label = f"{first:,}–{last:,} of {page.total:,}" if page.rows else ""
        number = page.offset // page.limit + 1
        kept = {key: value for key, value in filters.items() if value}

        def href(n: int) -> str:
            query = urlencode({**kept, **({"page": str(n)} if n > 1 else {})})
            return f"{route}?{query}" if query else route

        self.previous_href = href(number - 1) if page.offset > 0 else ""
        self.next_href = href(number + 1) if last < page.total else ""
