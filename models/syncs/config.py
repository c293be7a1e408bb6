"""A connector's settings read and checked: schedules ("15m", "1h30m"), URLs and field mappings."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from models.syncs.tables import MAPPING_KEYS, InvalidConnector

# --- schedules ------------------------------------------------------------------------

_EVERY = re.compile(r"(\d+)\s*(d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
MIN_EVERY_SECONDS = 5
MAX_EVERY_SECONDS = 7 * 86400


def parse_every(text: str | int) -> int:
    """Seconds from "15m", "1h30m", "45s", "2d" or a plain number of seconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        raw = str(text).strip().lower().replace(" ", "")
        if raw.isdigit():
            seconds = int(raw)
        else:
            parts = _EVERY.findall(raw)
            if not parts or "".join(n + u for n, u in parts) != raw:
                raise InvalidConnector(
                    f"Schedule {text!r} is not like 15m, 1h, 1h30m or 45s.", field="every"
                )
            seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if not MIN_EVERY_SECONDS <= seconds <= MAX_EVERY_SECONDS:
        raise InvalidConnector(
            f"A sync can run at most every {MIN_EVERY_SECONDS}s and at least every 7d; "
            f"got {format_every(seconds) if seconds > 0 else text!r}.",
            field="every",
        )
    return seconds


def format_every(seconds: int) -> str:
    """900 → "15m", 5400 → "1h30m", 45 → "45s"."""
    out = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"


# --- validation -----------------------------------------------------------------------


def check_url(url: str) -> str:
    """The URL trimmed, or InvalidConnector unless it is http(s) with a host."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        shown = parts.scheme or "none"
        raise InvalidConnector(
            f"Connector URLs must be http or https (scheme: {shown}).", field="url", url=url
        )
    if not parts.hostname:
        raise InvalidConnector("The connector URL has no host.", field="url", url=url)
    if parts.username or parts.password:
        raise InvalidConnector(
            "Put credentials in --token, not in the URL (URLs are shown in the UI).", field="url"
        )
    if len(url) > 2000:
        raise InvalidConnector("The connector URL is over 2,000 characters.", field="url")
    return url


def check_mapping(mapping: dict[str, Any] | None) -> dict[str, Any]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InvalidConnector("The field mapping must be a JSON object.", field="mapping")
    unknown = sorted(set(mapping) - set(MAPPING_KEYS))
    if unknown:
        raise InvalidConnector(
            f"Unknown mapping key(s): {', '.join(unknown)}. Known: {', '.join(MAPPING_KEYS)}.",
            field="mapping",
        )
    for key, value in mapping.items():
        if key == "locations":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise InvalidConnector("mapping.locations must map names to codes.")
        elif key == "conditional":
            if not isinstance(value, bool):
                raise InvalidConnector("mapping.conditional must be true or false.")
        elif key == "unknown_skus":
            if value not in ("skip", "error"):
                raise InvalidConnector("mapping.unknown_skus must be 'skip' or 'error'.")
        elif not isinstance(value, str) or not value.strip():
            raise InvalidConnector(f"mapping.{key} must be a non-empty string.")
    return dict(mapping)
