"""HTTP for brand feeds: every request bounded in time and size, retried when that helps.

- Timeouts per request (connect / read), and one deadline for the whole run: no
  request starts, no retry waits and no body keeps trickling past it.
- Network errors and 5xx answers are retried with exponential backoff and jitter
  (a random share of the growing delay, so many brands failing together do not
  retry in lockstep); other 4xx answers are not (they will not get better).
- 429, and 503 with a Retry-After, wait as long as it says (seconds or an HTTP
  date), if that fits in the run's time; without the header they back off like a 5xx.
- Bodies are streamed and abandoned past a byte limit (after decompression, so a
  small gzip bomb is bounded too); a Content-Length over the limit is refused first.
- Redirects are not followed: a moved feed is a configuration change to make, and
  following one could send the brand's token to another host.
- Only http and https URLs are fetched, and (with the client `jobs.syncs.run` builds)
  none inside the network unless RACKROOM_OUTBOUND_ALLOW allows it (`jobs/outbound.py`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from jobs.logs import redact
from jobs.outbound import OutboundRefused
from models.base import utcnow

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    #: Attempts per request for network errors, 5xx and 429 (the first one included).
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: Longest Retry-After honoured; longer ones fail the run (the next run retries).
    max_retry_after: float = 300.0
    #: The whole fetch of a run, retries and waits included.
    max_run_seconds: float = 600.0
    max_page_bytes: int = 20 * MB
    max_total_bytes: int = 500 * MB
    max_pages: int = 10_000
    max_items: int = 2_000_000


DEFAULT_LIMITS = FetchLimits()


class FetchFailed(Exception):
    """The feed could not be fetched (kind "fetch") or was not what a feed must be
    ("response"), or the connector cannot be fetched at all ("config")."""

    def __init__(
        self, kind: str, message: str, *, url: str | None = None, value: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.url = url
        self.value = value


@dataclass(slots=True)
class FetchStats:
    requests: int = 0
    retries: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Fetched:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str


def check_fetchable(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise FetchFailed(
            "config",
            f"Refusing to fetch {url!r}: only http and https URLs are allowed.",
            url=url,
        )


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


@dataclass
class Fetcher:
    """GETs with the retry, time and size rules above, for one run."""

    client: httpx.Client
    limits: FetchLimits = DEFAULT_LIMITS
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    stats: FetchStats = field(default_factory=FetchStats)
    deadline: float = 0.0

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.limits.max_run_seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _out_of_time(self, url: str, doing: str) -> FetchFailed:
        return FetchFailed(
            "fetch",
            f"The run's time limit ({self.limits.max_run_seconds:g}s) ran out while {doing}.",
            url=url,
        )

    def backoff(self, attempt: int) -> float:
        """Exponential delay for retry `attempt` (1, 2, …), with its upper half jittered."""
        ceiling = min(self.limits.backoff_cap, self.limits.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def _wait(self, seconds: float, url: str, doing: str) -> None:
        if seconds >= self.remaining():
            raise self._out_of_time(url, doing)
        self.sleep(seconds)

    def get(
        self,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        what: str = "the feed",
        max_bytes: int | None = None,
    ) -> Fetched:
        """The response to one GET (2xx or 304), or FetchFailed saying why not."""
        check_fetchable(url)
        limit = min(max_bytes or self.limits.max_page_bytes, self.limits.max_total_bytes)
        last_problem = ""
        for attempt in range(1, self.limits.max_attempts + 1):
            remaining = self.remaining()
            if remaining <= 0:
                raise self._out_of_time(url, f"fetching {what}")
            timeout = httpx.Timeout(
                min(self.limits.read_timeout, remaining),
                connect=min(self.limits.connect_timeout, remaining),
            )
            self.stats.requests += 1
            if attempt > 1:
                self.stats.retries += 1
            try:
                with self.client.stream(
                    "GET", url, params=params, headers=headers, timeout=timeout
                ) as response:
                    status = response.status_code
                    if status == 304 or 200 <= status < 300:
                        body = self._read(response, limit, url, what) if status != 304 else b""
                        return Fetched(status, response.headers, body, str(response.url))
                    retry_after = retry_after_seconds(response.headers.get("retry-after"))
                    snippet = _snippet(response)
            except OutboundRefused as refused:
                raise FetchFailed(
                    "config", f"Refusing to fetch {what}: {refused.message}.", url=url
                ) from None
            except httpx.TransportError as error:
                last_problem = _describe_transport(error)
                if attempt < self.limits.max_attempts:
                    self._wait(self.backoff(attempt), url, f"retrying {what}")
                continue
            if status == 429 or (status == 503 and retry_after is not None):
                last_problem = f"{status} {_reason(status)}"
                if attempt == self.limits.max_attempts:
                    break
                if retry_after is None:
                    self._wait(self.backoff(attempt), url, f"backing off from {what}")
                    continue
                if retry_after > self.limits.max_retry_after or retry_after >= self.remaining():
                    raise FetchFailed(
                        "fetch",
                        f"The brand asked to wait {retry_after:g}s ({status} Retry-After) before "
                        f"{what}; that is past this run's limit, the next run will try again.",
                        url=url,
                    )
                self.sleep(retry_after)
                continue
            if status >= 500:
                last_problem = f"{status} {_reason(status)}"
                if attempt < self.limits.max_attempts:
                    self._wait(self.backoff(attempt), url, f"retrying {what}")
                continue
            raise FetchFailed(
                "fetch", _client_error(status, what, response), url=url, value=snippet
            )
        raise FetchFailed(
            "fetch",
            f"Gave up on {what} after {self.limits.max_attempts} attempts: {last_problem}.",
            url=url,
        )

    def _read(self, response: httpx.Response, limit: int, url: str, what: str) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchFailed(
                "response",
                f"{what[0].upper()}{what[1:]} is {int(declared) / MB:,.1f} MB; the limit is "
                f"{limit / MB:,.0f} MB.",
                url=url,
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit or self.stats.bytes + size > self.limits.max_total_bytes:
                raise FetchFailed(
                    "response",
                    f"{what[0].upper()}{what[1:]} is larger than {limit / MB:,.0f} MB; stopped "
                    "reading it.",
                    url=url,
                )
            if time.monotonic() > self.deadline:
                raise self._out_of_time(url, f"reading {what}")
            chunks.append(chunk)
        self.stats.bytes += size
        return b"".join(chunks)


#: How much of a non-2xx body a run keeps (after redaction, control characters out).
SNIPPET_CHARS = 120


def _snippet(response: httpx.Response, size: int = SNIPPET_CHARS) -> str:
    """The start of an error body, for the run's error sample: short, single-line and
    with anything shaped like a secret redacted — never the whole answer, which could
    be another system's data shown to staff."""
    try:
        head = b""
        for chunk in response.iter_bytes():
            head += chunk
            if len(head) >= size * 2:
                break
        text = head[: size * 2].decode("utf-8", errors="replace")
    except httpx.HTTPError:
        return ""
    text = redact(" ".join(text.split()))
    return text[:size] + ("…" if len(text) > size else "")


def _reason(status: int) -> str:
    try:
        return httpx.codes.get_reason_phrase(status)
    except ValueError:
        return ""


def _client_error(status: int, what: str, response: httpx.Response) -> str:
    if status in (401, 403):
        return (
            f"The brand refused our credentials for {what} ({status} {_reason(status)}): "
            "check the connector's token."
        )
    if status == 404:
        return f"{what[0].upper()}{what[1:]} is missing (404 Not Found)."
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        return (
            f"The feed answered a redirect ({status}) to {location}; redirects are not "
            "followed: point the connector at the new URL."
        )
    return f"The brand answered {status} {_reason(status)} for {what}."


def _describe_transport(error: httpx.TransportError) -> str:
    kind = type(error).__name__
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({kind})"
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{kind}: {text}" if text else kind
