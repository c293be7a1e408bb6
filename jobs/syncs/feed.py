"""Reading a JSON stock feed: pages through the cursor, items through the field mapping.

The default page shape is
``{"items": [{"sku", "location", "quantity", "updated_at"}], "next_cursor": str|null}``
with the cursor passed back as ``?cursor=`` and the page size as ``?limit=``; a
connector's mapping renames any of these (dotted paths reach into nested objects).

Every page is fetched before anything is applied. A page that is not a feed page
(HTML, malformed JSON, no item list, a cursor that loops) fails the run; items that
are wrong (negative or fractional quantities, no SKU, timestamps without a zone or
in the future) are collected as issues with their page and position, and fail the
run too, after all pages were read, so one run reports every bad item at once.

Conditional requests: the first page is sent with If-None-Match / If-Modified-Since
from the last applied run. A 304 there means the feed has not changed since, and the
run ends after that one request. (So a feed's first-page validators must describe
the whole feed, as the demo brand API's do; set mapping ``conditional: false`` for a
brand whose validators are per page.)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from jobs.syncs.fetch import Fetched, Fetcher, FetchFailed, FetchLimits

#: How far ahead of our clock a source timestamp may be (clock skew).
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """What a run needs from the connector (a plain copy: no session, no ORM object)."""

    brand_code: str
    style: str
    url: str
    token: str | None
    auth_header: str
    page_size: int
    mapping: dict[str, Any]
    etag: str | None
    last_modified: str | None

    def path(self, key: str, default: str) -> str:
        return str(self.mapping.get(key) or default)

    def request_headers(self, *, conditional: bool) -> dict[str, str]:
        headers = {"Accept": "application/json" if self.style == "json" else "text/csv, */*"}
        if self.token:
            if self.auth_header.lower() == "authorization":
                scheme = str(self.mapping.get("auth_scheme", "Bearer")).strip()
                headers["Authorization"] = f"{scheme} {self.token}".strip()
            else:
                headers[self.auth_header] = self.token
        if conditional and self.mapping.get("conditional", True):
            if self.etag:
                headers["If-None-Match"] = self.etag
            if self.last_modified:
                headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one item (or page) of a feed."""

    page: int
    item: int | None
    reason: str
    field: str = ""
    value: str = ""
    sku: str = ""
    location: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "item": self.item,
            "sku": self.sku,
            "location": self.location,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
        }


def shown(value: Any, size: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= size else text[: size - 1] + "…"


@dataclass(slots=True)
class FeedItem:
    sku: str
    location: str
    quantity: int
    #: The source's own time for this value; None when the feed gives none.
    updated_at: datetime | None
    page: int
    index: int


@dataclass(slots=True)
class Feed:
    """Everything a run fetched, or `unchanged` when the first page answered 304."""

    unchanged: bool = False
    items: list[FeedItem] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    issue_count: int = 0
    pages: int = 0
    etag: str | None = None
    last_modified: str | None = None

    MAX_ISSUES = 50

    def add_issue(self, issue: Issue) -> None:
        self.issue_count += 1
        if len(self.issues) < self.MAX_ISSUES:
            self.issues.append(issue)


def dig(data: Any, path: str) -> Any:
    """`data["a"]["b"]` for "a.b"; None when any step is missing."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def fetch_json_feed(
    fetcher: Fetcher, config: FeedConfig, *, now: datetime, feed: Feed | None = None
) -> Feed:
    """Fetch every page of a JSON feed and read its items; raises FetchFailed on a bad page.

    Pass `feed` to keep what was read (pages, items) when a later page fails.
    """
    limits: FetchLimits = fetcher.limits
    feed = feed if feed is not None else Feed()
    cursor_param = config.path("cursor_param", "cursor")
    size_param = config.path("page_size_param", "limit")
    url = config.url
    params: dict[str, str] = {size_param: str(config.page_size)}
    seen_cursors: set[str] = set()
    reader = _ItemReader(config, now)
    while True:
        page_no = feed.pages + 1
        if page_no > limits.max_pages:
            raise FetchFailed("response", f"The feed has more than {limits.max_pages:,} pages.")
        what = "the feed" if page_no == 1 else f"page {page_no} of the feed"
        response = fetcher.get(
            url, params=params, headers=config.request_headers(conditional=page_no == 1), what=what
        )
        if response.status == 304:
            if page_no == 1:
                feed.unchanged = True
                return feed
            raise FetchFailed("response", f"Page {page_no} answered 304 Not Modified.", url=url)
        if page_no == 1:
            feed.etag = response.headers.get("etag")
            feed.last_modified = response.headers.get("last-modified")
        page = parse_json_page(response, page_no)
        feed.pages = page_no
        items = dig(page, config.path("items", "items"))
        if not isinstance(items, list):
            raise FetchFailed(
                "response",
                f"Page {page_no} has no item list at {config.path('items', 'items')!r}.",
                url=response.url,
                value=shown(page if not isinstance(page, dict) else sorted(page)),
            )
        for index, raw in enumerate(items):
            reader.read(raw, page_no, index, feed)
        if len(feed.items) > limits.max_items:
            raise FetchFailed("response", f"The feed has more than {limits.max_items:,} items.")
        cursor = dig(page, config.path("next_cursor", "next_cursor"))
        if cursor is None or cursor == "" or cursor is False:
            return feed
        if not isinstance(cursor, str | int) or isinstance(cursor, bool):
            raise FetchFailed(
                "response",
                f"Page {page_no} has a next cursor that is not a string.",
                value=shown(cursor),
            )
        cursor = str(cursor)
        if cursor in seen_cursors:
            raise FetchFailed(
                "response",
                f"Page {page_no} sent back cursor {shown(cursor, 40)!r} a second time; "
                "following it would loop forever.",
            )
        seen_cursors.add(cursor)
        if re.match(r"^https?://", cursor, re.IGNORECASE):
            url, params = _next_link(config.url, cursor), {}
        else:
            params = {cursor_param: cursor, size_param: str(config.page_size)}


def _next_link(base: str, link: str) -> str:
    """A next page given as a full URL must stay on the feed's own origin (the token goes there)."""
    a, b = urlsplit(base), urlsplit(link)
    if (a.scheme.lower(), a.hostname, a.port) != (b.scheme.lower(), b.hostname, b.port):
        raise FetchFailed(
            "response",
            f"The next page link points to another site ({b.scheme}://{b.netloc}); refusing to "
            "send the brand's token there.",
            value=shown(link),
        )
    return link


def parse_json_page(response: Fetched, page_no: int) -> Any:
    body = response.body
    content_type = response.headers.get("content-type", "").lower()
    head = body[:512].lstrip().lower()
    if "html" in content_type or head.startswith((b"<!doctype", b"<html", b"<")):
        title = re.search(rb"<title[^>]*>(.*?)</title>", body[:4096], re.IGNORECASE | re.DOTALL)
        label = f" ({title.group(1).decode('utf-8', 'replace').strip()[:80]})" if title else ""
        raise FetchFailed(
            "response",
            f"Page {page_no} is an HTML page{label}, not JSON: is the URL the API endpoint?",
            url=response.url,
            value=shown(body[:200].decode("utf-8", "replace")),
        )
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise FetchFailed(
            "response", f"Page {page_no} is not UTF-8 text.", url=response.url
        ) from None
    except json.JSONDecodeError as error:
        raise FetchFailed(
            "response",
            f"Page {page_no} is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}.",
            url=response.url,
            value=shown(body[max(0, error.pos - 40) : error.pos + 40].decode("utf-8", "replace")),
        ) from None


_QUANTITY = re.compile(r"[+-]?\d+(?:\.0*)?")


def parse_quantity_value(value: Any) -> tuple[int | None, str | None]:
    """A whole, non-negative number of units, from a JSON number or a numeric string."""
    if isinstance(value, bool) or value is None:
        return None, "quantity is missing" if value is None else "quantity is not a number"
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None, "quantity must be a whole number"
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if not _QUANTITY.fullmatch(text):
            if re.fullmatch(r"[+-]?\d+[.,]\d+", text):
                return None, "quantity must be a whole number"
            return None, "quantity is not a number"
        number = int(text.split(".")[0])
    else:
        return None, "quantity is not a number"
    if number < 0:
        return None, "quantity cannot be negative"
    if number > 1_000_000_000:
        return None, "quantity is implausibly large"
    return number, None


def parse_timestamp(value: Any, now: datetime) -> tuple[datetime | None, str | None]:
    """An aware UTC datetime from ISO 8601 text or epoch seconds; (None, None) when absent."""
    if value is None or value == "":
        return None, None
    if isinstance(value, bool):
        return None, "updated_at is not a time"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None, "updated_at is not a time"
        try:
            parsed = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None, "updated_at is out of range"
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, "updated_at is not an ISO 8601 time"
        if parsed.tzinfo is None:
            return None, "updated_at has no time zone (add Z or +00:00)"
        parsed = parsed.astimezone(UTC)
    else:
        return None, "updated_at is not a time"
    if parsed > now + FUTURE_TOLERANCE:
        return None, "updated_at is in the future"
    return parsed, None


def _getter(path: str):
    """A fast field reader: dict.get for a plain key, `dig` for a dotted path."""
    if "." not in path:
        return lambda item: item.get(path)
    return lambda item: dig(item, path)


class _ItemReader:
    """Turns raw items into FeedItems (or issues), with the mapping's field names."""

    def __init__(self, config: FeedConfig, now: datetime) -> None:
        self.sku = config.path("sku", "sku")
        self.location = config.path("location", "location")
        self.quantity = config.path("quantity", "quantity")
        self.updated_at = config.path("updated_at", "updated_at")
        self.get_sku, self.get_location, self.get_quantity, self.get_updated_at = (
            _getter(p) for p in (self.sku, self.location, self.quantity, self.updated_at)
        )
        self.now = now
        #: Feeds repeat timestamps a lot (a batch updated at once): parse each text once.
        self.times: dict[Any, tuple[datetime | None, str | None]] = {}

    def read(self, raw: Any, page: int, index: int, feed: Feed) -> None:
        if not isinstance(raw, dict):
            feed.add_issue(Issue(page, index, "item is not an object", value=shown(raw)))
            return
        sku_raw = self.get_sku(raw)
        sku = (
            sku_raw.strip()
            if type(sku_raw) is str
            else (
                str(sku_raw) if isinstance(sku_raw, int) and not isinstance(sku_raw, bool) else ""
            )
        )
        location_raw = self.get_location(raw)
        location = (
            location_raw.strip()
            if type(location_raw) is str
            else str(location_raw)
            if isinstance(location_raw, int) and not isinstance(location_raw, bool)
            else ""
        )
        ok = True
        if not sku:
            feed.add_issue(
                Issue(page, index, "SKU is missing", self.sku, shown(sku_raw), location=location)
            )
            ok = False
        if not location:
            feed.add_issue(
                Issue(page, index, "location is missing", self.location, shown(location_raw), sku)
            )
            ok = False
        quantity_raw = self.get_quantity(raw)
        if type(quantity_raw) is int and 0 <= quantity_raw <= 1_000_000_000:
            quantity, problem = quantity_raw, None
        else:
            quantity, problem = parse_quantity_value(quantity_raw)
        if problem:
            feed.add_issue(
                Issue(page, index, problem, self.quantity, shown(quantity_raw), sku, location)
            )
            ok = False
        ts_raw = self.get_updated_at(raw)
        try:
            updated_at, problem = self.times[ts_raw]
        except (KeyError, TypeError):
            updated_at, problem = parse_timestamp(ts_raw, self.now)
            if type(ts_raw) is str and len(self.times) < 100_000:
                self.times[ts_raw] = (updated_at, problem)
        if problem:
            feed.add_issue(
                Issue(page, index, problem, self.updated_at, shown(ts_raw), sku, location)
            )
            ok = False
        if ok:
            feed.items.append(FeedItem(sku, location, quantity, updated_at, page, index))
