"""Size systems and the order sizes are shown in.

A variant stores its size label, its size system and a rank; the rank sorts a size
run the way a buyer reads it (XS before S, W28 before W30, EU 38 before EU 39).
"""

from __future__ import annotations

import re
from enum import StrEnum


class SizeSystem(StrEnum):
    ALPHA = "alpha"
    WAIST = "waist"
    EU_SHOE = "eu_shoe"
    UK_SHOE = "uk_shoe"
    US_SHOE = "us_shoe"
    ONE_SIZE = "one_size"


ALPHA_ORDER = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL")
#: The sizes whose absence makes a size run "broken" while others remain.
CORE_ALPHA = ("S", "M", "L")

_ALPHA_SYNONYMS = {
    "xxs": "XXS",
    "2xs": "XXS",
    "xs": "XS",
    "x-small": "XS",
    "extra small": "XS",
    "s": "S",
    "sm": "S",
    "small": "S",
    "m": "M",
    "med": "M",
    "medium": "M",
    "l": "L",
    "lg": "L",
    "large": "L",
    "xl": "XL",
    "x-large": "XL",
    "extra large": "XL",
    "xxl": "XXL",
    "2xl": "XXL",
    "xx-large": "XXL",
    "xxxl": "3XL",
    "3xl": "3XL",
}
_ONE_SIZE = {"one size", "onesize", "os", "o/s", "one-size", "default title", "n/a"}


def size_rank(system: SizeSystem | str, label: str) -> int:
    """Sort key of a size label within its system (unknown labels sort last)."""
    system = SizeSystem(system)
    if system is SizeSystem.ONE_SIZE:
        return 0
    if system is SizeSystem.ALPHA:
        return ALPHA_ORDER.index(label) * 10 if label in ALPHA_ORDER else 999
    numbers = re.findall(r"\d+(?:\.\d+)?", label)
    if not numbers:
        return 999_999
    if system is SizeSystem.WAIST and len(numbers) >= 2:
        # W32 L34: waist first, then leg.
        return int(float(numbers[0]) * 100 + float(numbers[1]))
    return int(float(numbers[0]) * 100)


def normalise_size(label: str) -> tuple[SizeSystem, str]:
    """Guess a size label's system and canonical spelling ("Medium" → alpha M)."""
    raw = " ".join(label.strip().split())
    key = raw.lower()
    if key in _ONE_SIZE or not key:
        return SizeSystem.ONE_SIZE, "One Size"
    if key in _ALPHA_SYNONYMS:
        return SizeSystem.ALPHA, _ALPHA_SYNONYMS[key]
    if m := re.fullmatch(r"w\s*(\d{2})(?:\s*l\s*(\d{2}))?", key):
        waist, leg = m.groups()
        return SizeSystem.WAIST, f"W{waist} L{leg}" if leg else f"W{waist}"
    if m := re.fullmatch(r"(eu|uk|us)\s*(\d{1,2}(?:\.5)?)", key):
        region, number = m.groups()
        system = {"eu": SizeSystem.EU_SHOE, "uk": SizeSystem.UK_SHOE, "us": SizeSystem.US_SHOE}
        return system[region], f"{region.upper()} {number}"
    if re.fullmatch(r"\d{2}", key) and 24 <= int(key) <= 44:
        return SizeSystem.WAIST, f"W{key}"
    return SizeSystem.ALPHA, raw.upper()
