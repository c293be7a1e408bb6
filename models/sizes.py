"""Size systems and the order sizes are shown in.

A variant stores its size label, its size system and a rank; the rank sorts a size
run the way a buyer reads it (XS before S, W28 before W30, EU 38 before EU 39).

Ranks within a system:

* alpha: the ladder XXS … 6XL in steps of 10 (S = 20, M = 30); a combined size sits
  just after its smaller part (S/M = 25: after S, before M); plain numbers written in
  the alpha system (dress sizes 8, 10, 12 of an alpha brand) after every letter size,
  in number order (1000 + 10 × number); anything else last.
* waist: waist × 100 + leg (W32 = 3200, W32 L34 = 3234).
* shoes: size × 100 (EU 42.5 = 4250), a combined "EU 41/42" + 50.

A brand's size system hint (`Brand.size_system_hint`) says how to read a bare number:
"42" is waist 42 for a jeans brand and EU 42 for a shoe brand.
"""

from __future__ import annotations

import re
from enum import StrEnum

from models.errors import InvalidQuantity


class SizeSystem(StrEnum):
    ALPHA = "alpha"
    WAIST = "waist"
    EU_SHOE = "eu_shoe"
    UK_SHOE = "uk_shoe"
    US_SHOE = "us_shoe"
    ONE_SIZE = "one_size"


ALPHA_ORDER = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL", "6XL")
#: The sizes whose absence makes a size run "broken" while others remain.
CORE_ALPHA = ("S", "M", "L")
#: A size label's sort key when nothing about it is known: after every known size.
UNKNOWN_RANK = 999_999
#: Where plain numbers in the alpha system start (after every letter size).
_ALPHA_NUMBERS = 1000

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
    "xxxxl": "4XL",
    "4xl": "4XL",
    "xxxxxl": "5XL",
    "5xl": "5XL",
    "xxxxxxl": "6XL",
    "6xl": "6XL",
}
_ONE_SIZE = {"one size", "onesize", "os", "o/s", "one-size", "default title", "n/a"}

#: The hints a brand may carry, with the words a picker shows ("auto": no hint).
SIZE_HINT_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", "Auto (guess from the label)"),
    (SizeSystem.ALPHA.value, "Alpha (XS–6XL; numbers as written)"),
    (SizeSystem.WAIST.value, "Waist (32 → W32)"),
    (SizeSystem.EU_SHOE.value, "EU shoes (42 → EU 42)"),
    (SizeSystem.UK_SHOE.value, "UK shoes (9 → UK 9)"),
    (SizeSystem.US_SHOE.value, "US shoes (10 → US 10)"),
    (SizeSystem.ONE_SIZE.value, "One size"),
)

_SHOES = {"eu": SizeSystem.EU_SHOE, "uk": SizeSystem.UK_SHOE, "us": SizeSystem.US_SHOE}
_REGION = {system: region.upper() for region, system in _SHOES.items()}
#: Bare numbers a shoe hint reads as that system's size (outside: read as auto).
_SHOE_RANGE = {
    SizeSystem.EU_SHOE: (15.0, 52.0),
    SizeSystem.UK_SHOE: (0.0, 16.0),
    SizeSystem.US_SHOE: (0.0, 17.0),
}
_NUMBER = r"\d{1,2}(?:[.,]5)?"
_SHOE = re.compile(rf"(eu|uk|us)\s*({_NUMBER})|({_NUMBER})\s*(eu|uk|us)")
_SHOE_PAIR = re.compile(rf"(?:(eu|uk|us)\s*)?({_NUMBER})\s*/\s*({_NUMBER})")
#: "W32 L34", "W32/L34", "32/34", "30x32", "32-34": waist then leg.
_WAIST_LEG = re.compile(r"(w)?\s*(\d{2})\s*(?:[/x×-]|\s|(?=l))\s*(l)?\s*(\d{2})")
_COMBINED = re.compile(r"([a-z0-9 -]+?)\s*/\s*([a-z0-9 -]+)")


#: What `--size-hint` accepts: "auto" (no hint) and every size system.
HINT_NAMES = tuple(code for code, _ in SIZE_HINT_CHOICES)


def parse_size_hint(value: str | None) -> SizeSystem | None:
    """A hint from a form or the command line: "" or "auto" → None; unknown → refused."""
    text = (value or "").strip().lower().replace("-", "_")
    if text in ("", "auto"):
        return None
    try:
        return SizeSystem(text)
    except ValueError:
        raise InvalidQuantity(
            f"Unknown size system {value!r}; choose one of {', '.join(HINT_NAMES)}.",
            field="size_hint",
            value=value,
        ) from None


def _alpha(label: str) -> str | None:
    """The ladder spelling of an alpha size ("xxxl" → 3XL), or None."""
    key = label.strip().lower()
    canonical = _ALPHA_SYNONYMS.get(key, label.strip().upper())
    return canonical if canonical in ALPHA_ORDER else None


def _combined(label: str) -> str | None:
    """ "S/M", "m/s", "Small/Medium" → "S/M" (smaller part first), or None."""
    if not (m := _COMBINED.fullmatch(label.strip().lower())):
        return None
    parts = [_alpha(m.group(1)), _alpha(m.group(2))]
    if None in parts or parts[0] == parts[1]:
        return None
    low, high = sorted(parts, key=ALPHA_ORDER.index)  # type: ignore[arg-type]
    return f"{low}/{high}"


def _alpha_rank(label: str) -> int:
    if (single := _alpha(label)) is not None:
        return ALPHA_ORDER.index(single) * 10
    if (pair := _combined(label)) is not None:
        return ALPHA_ORDER.index(pair.split("/")[0]) * 10 + 5
    if re.fullmatch(r"\d{1,3}(?:\.\d)?", label.strip()):
        return _ALPHA_NUMBERS + int(float(label) * 10)
    return UNKNOWN_RANK


def size_rank(system: SizeSystem | str, label: str) -> int:
    """Sort key of a size label within its system (unknown labels sort last)."""
    system = SizeSystem(system)
    if system is SizeSystem.ONE_SIZE:
        return 0
    if system is SizeSystem.ALPHA:
        return _alpha_rank(label)
    numbers = re.findall(r"\d+(?:\.\d+)?", label)
    if not numbers:
        return UNKNOWN_RANK
    if system is SizeSystem.WAIST and len(numbers) >= 2:
        # W32 L34: waist first, then leg.
        return int(float(numbers[0]) * 100 + float(numbers[1]))
    combined = 50 if len(numbers) >= 2 else 0  # EU 41/42 just after EU 41
    return int(float(numbers[0]) * 100) + combined


def _shoe_number(text: str) -> str:
    number = text.replace(",", ".")
    return number.removesuffix(".0")


def _bare_number(key: str, hint: SizeSystem | None) -> tuple[SizeSystem, str] | None:
    """A label that is only a number, read by the brand's hint (None: not a number)."""
    if not re.fullmatch(r"\d{1,3}(?:[.,]\d)?", key):
        return None
    number = float(key.replace(",", "."))
    if hint in _SHOE_RANGE:
        low, high = _SHOE_RANGE[hint]
        if low <= number <= high and (number * 2).is_integer():
            return hint, f"{_REGION[hint]} {_shoe_number(key)}"
    elif hint is SizeSystem.WAIST and re.fullmatch(r"\d{2}", key) and 20 <= number <= 60:
        return SizeSystem.WAIST, f"W{key}"
    elif hint is SizeSystem.ALPHA:
        return SizeSystem.ALPHA, key.replace(",", ".")
    if re.fullmatch(r"\d{2}", key) and 24 <= number <= 44:
        return SizeSystem.WAIST, f"W{key}"
    return None


def normalise_size(label: str, hint: SizeSystem | str | None = None) -> tuple[SizeSystem, str]:
    """Guess a size label's system and canonical spelling ("Medium" → alpha M).

    `hint` is the brand's size system: it decides what a bare number is ("42" → EU 42
    for `eu_shoe`, W42 for `waist`, alpha "42" for `alpha`; without a hint 24–44 is a
    waist), and under a shoe hint "41/42" is a shoe pair, not waist 41 leg 42 (while
    "W41/L42" and "41x42" stay waist and leg).
    """
    hint = parse_size_hint(hint) if isinstance(hint, str) else hint
    raw = " ".join(label.strip().split())
    key = raw.lower()
    if key in _ONE_SIZE or not key:
        return SizeSystem.ONE_SIZE, "One Size"
    if (single := _alpha(key)) is not None:
        return SizeSystem.ALPHA, single
    if (pair := _combined(key)) is not None:
        return SizeSystem.ALPHA, pair
    if m := _SHOE.fullmatch(key):
        region = m.group(1) or m.group(4)
        return _SHOES[region], f"{region.upper()} {_shoe_number(m.group(2) or m.group(3))}"
    shoe_hint = hint in _SHOE_RANGE
    if (m := _SHOE_PAIR.fullmatch(key)) and (m.group(1) or shoe_hint):
        system = _SHOES[m.group(1)] if m.group(1) else hint
        first, second = _shoe_number(m.group(2)), _shoe_number(m.group(3))
        return system, f"{_REGION[system]} {first}/{second}"  # type: ignore[index]
    if m := re.fullmatch(r"w\s*(\d{2})", key):
        return SizeSystem.WAIST, f"W{m.group(1)}"
    if m := _WAIST_LEG.fullmatch(key):
        return SizeSystem.WAIST, f"W{m.group(2)} L{m.group(4)}"
    if (number := _bare_number(key, hint)) is not None:
        return number
    return SizeSystem.ALPHA, raw.upper()
