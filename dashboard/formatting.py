"""How numbers and counts read on screen (one place, so every page agrees)."""

from __future__ import annotations

from datetime import UTC, datetime


def units(value: int) -> str:
    """Whole units with thousands separators: 1234 -> "1,234"."""
    return f"{value:,}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """ "1 variant", "1,204 variants"."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def exact_time(moment: datetime | None) -> str:
    """The exact UTC time, for hover titles: "2025-03-04 14:05 UTC"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def relative_time(
    moment: datetime | None, now: datetime | None = None, never: str = "Never"
) -> str:
    """How long ago, in words a person reads at a glance: "just now", "5 min ago",
    "3 h ago", "yesterday", "12 days ago", or the date once it is months old."""
    if moment is None:
        return never
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return exact_time(moment)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86_400)
    if days == 1:
        return "yesterday"
    if days < 60:
        return f"{days} days ago"
    return moment.astimezone(UTC).strftime("%d %b %Y")
