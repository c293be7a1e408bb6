"""Text that cannot be stored: NUL characters (PostgreSQL refuses them in text) and lone
UTF-16 surrogates (not encodable as UTF-8). Refused at the edges with the field named."""

from __future__ import annotations

import re

_BAD = re.compile("[\x00\ud800-\udfff]")


def bad_text(value: str) -> str:
    """Why `value` cannot be stored ("" when it can)."""
    found = _BAD.search(value)
    if found is None:
        return ""
    return "contains a NUL character" if found.group() == "\x00" else (
        "contains a lone surrogate (not valid Unicode)"
    )


def find_bad_text(value: object, path: str = "") -> tuple[str, str] | None:
    """The first (field path, reason) of unstorable text inside a JSON-like value."""
    if isinstance(value, str):
        reason = bad_text(value)
        return (path or "value", reason) if reason else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and bad_text(key):
                return name, bad_text(key)
            found = find_bad_text(item, name)
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_bad_text(item, f"{path}[{index}]")
            if found:
                return found
    return None
