"""Sizes, colours, quantities, prices and SKUs as the catalogue spells them.

Size labels go through `models.sizes.normalise_size` (waist/leg pairs, shoe regions,
combined alpha sizes, the brand's size system hint); the few spellings vendors send that
it does not know (``Size M``, ``XX-Large``, ``sml``) are rewritten first, here, so the
catalogue has one spelling per size.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from models.sizes import SizeSystem, normalise_size, size_rank

_EXTRA_ALPHA = {
    "xx-small": "XXS",
    "extra extra small": "XXS",
    "x small": "XS",
    "x large": "XL",
    "xx large": "XXL",
    "extra extra large": "XXL",
    "xxx-large": "3XL",
    "x-l": "XL",
    "mid": "M",
    "medium/m": "M",
    "lrg": "L",
    "sml": "S",
}
_SIZE_PREFIX = re.compile(
    r"^(?:size|sz|gr\.|größe|taille|talla|maat)(?:\s*:\s*|\s+)", re.IGNORECASE
)


def normalise_size_label(label: str, hint: SizeSystem | None = None) -> tuple[SizeSystem, str, int]:
    """(size system, canonical label, rank) for a vendor's size label.

    "Medium", "med", "M" → M; "EU38", "38 EU" → EU 38; "32/34", "W32/L34" → W32 L34;
    "" and "Default Title" → One Size; "42" → EU 42 when `hint` (the brand's size
    system) is `eu_shoe`.
    """
    raw = " ".join(label.split())
    raw = _SIZE_PREFIX.sub("", raw)
    raw = _EXTRA_ALPHA.get(raw.lower(), raw)
    system, size = normalise_size(raw, hint)
    return system, size, size_rank(system, size)


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def normalise_colour(label: str) -> str:
    """Trimmed, single-spaced, each word capitalised: " NAVY  blue" → "Navy Blue".

    Apostrophes stay inside words ("Men's"); separators are kept ("Black/White").
    """
    text = " ".join(label.split())
    return _WORD.sub(lambda m: m.group(0)[0].upper() + m.group(0)[1:].lower(), text)


_QUANTITY = re.compile(r"[+-]?\d+(?:\.0*)?")


def parse_quantity(value: str) -> tuple[int | None, str | None]:
    """(quantity, None) or (None, reason). "12", "12.0", "+3" are fine; "3.5", "-2", "x" not."""
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    if not _QUANTITY.fullmatch(text):
        if re.fullmatch(r"[+-]?\d+[.,]\d+", text):
            return None, "quantity must be a whole number"
        return None, "quantity is not a number"
    number = int(text.split(".")[0])
    if number < 0:
        return None, "quantity cannot be negative"
    if number > 1_000_000_000:
        return None, "quantity is implausibly large"
    return number, None


def parse_price_cents(value: str) -> tuple[int | None, str | None]:
    """Cents from "50", "49.90", "49,90", "€ 1.299,00"; (None, reason) when not a price."""
    text = re.sub(r"[^\d.,-]", "", value)
    if not text:
        return (0, None) if not value.strip() else (None, "price is not a number")
    if "," in text and "." in text:
        # the later separator is the decimal one
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, "price is not a number"
    if amount < 0:
        return None, "price cannot be negative"
    if amount > 10_000_000:
        return None, "price is implausibly large"
    return int((amount * 100).to_integral_value()), None


def _code(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]+", "-", ascii_text.upper()).strip("-")


def style_code(handle: str) -> str:
    """The product's style code from its handle (kept as written, at most 64 characters)."""
    handle = " ".join(handle.split())
    if len(handle) <= 64:
        return handle
    digest = hashlib.sha256(handle.encode()).hexdigest()[:8]
    return f"{handle[:55]}~{digest}"


def canonical_sku(brand_code: str, style: str, colour: str, size: str, salt: int = 0) -> str:
    """Our SKU for a variant the file names without one: BRAND-STYLE-COLOUR-SIZE.

    A pure function of its inputs, so importing the same file again gives the same SKU;
    over 64 characters, the readable part is cut and a hash of the whole keeps it unique.
    `salt` > 0 gives a different SKU for the rare clash with an existing one.
    """
    size_part = "OS" if size == "One Size" else _code(size).replace("-", "")
    parts = [brand_code.upper(), _code(style), _code(colour).replace("-", ""), size_part]
    sku = "-".join(p for p in parts if p)
    if salt:
        sku = f"{sku}-{salt}"
    if len(sku) <= 64:
        return sku
    digest = hashlib.sha256("\x1f".join([*parts, str(salt)]).encode()).hexdigest()[:10].upper()
    return f"{sku[:53]}-{digest}"
