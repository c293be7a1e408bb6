"""How numbers and counts read on screen (one place, so every page agrees)."""

from __future__ import annotations


def units(value: int) -> str:
    """Whole units with thousands separators: 1234 -> "1,234"."""
    return f"{value:,}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """ "1 variant", "1,204 variants"."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"
