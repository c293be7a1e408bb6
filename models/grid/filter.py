"""What the stock grid shows: `GridFilter`, validated from code or from URL parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from models.errors import InvalidQuantity
from models.sizes import SizeSystem

#: A variant is "low" when 1..LOW_STOCK_THRESHOLD units are available across the
#: selected warehouses (per-warehouse rules come with the alerts feature).
LOW_STOCK_THRESHOLD = 3
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_TEXT_LENGTH = 100
DEFAULT_EXPORT_ROWS = 50_000

QUANTITY_COLUMNS = ("on_hand", "reserved", "available", "incoming")
SORT_COLUMNS = ("sku", "product", "colour", "size", "brand", *QUANTITY_COLUMNS)
STOCK_STATES = ("all", "low", "out")
DIRECTIONS = ("asc", "desc")
#: Size systems in the order their columns appear when a page mixes them.
SIZE_SYSTEM_ORDER = {system.value: n for n, system in enumerate(SizeSystem)}

# --- the filter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GridFilter:
    """What the grid shows. Construction validates and normalises every field.

    Bad values raise `InvalidQuantity` naming the field; `page_size` is clamped to
    1..MAX_PAGE_SIZE and a page past the end is simply empty. Empty `brand_ids` means
    every brand (a vendor's session passes its one brand); empty `warehouse_ids` means
    every active warehouse. Category, colour and size match exactly (the UI offers the
    values that exist); `tag` is one of the product's tags (lower-cased, as tags are kept)
    and `season` its season (upper-cased: "ss26" finds SS26), see models/attributes.py;
    `search` is a case-insensitive substring of SKU, alias code,
    barcode, product name or style code. `stock_state` "out" is nothing available
    across the selected warehouses, "low" 1..`low_threshold` available.
    """

    brand_ids: tuple[int, ...] = ()
    warehouse_ids: tuple[int, ...] = ()
    category: str | None = None
    colour: str | None = None
    size: str | None = None
    tag: str | None = None
    season: str | None = None
    search: str = ""
    stock_state: str = "all"
    sort: str = "sku"
    direction: str = "asc"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    low_threshold: int = LOW_STOCK_THRESHOLD

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "brand_ids", _id_tuple(self.brand_ids, "brand_ids"))
        set_(self, "warehouse_ids", _id_tuple(self.warehouse_ids, "warehouse_ids"))
        for name in ("category", "colour", "size"):
            set_(self, name, _optional_text(getattr(self, name), name))
        tag = _optional_text(self.tag, "tag")
        set_(self, "tag", " ".join(tag.split()).lower() if tag else None)
        season = _optional_text(self.season, "season")
        set_(self, "season", season.upper() if season else None)
        set_(self, "search", _search_text(self.search))
        set_(self, "stock_state", _choice(self.stock_state, STOCK_STATES, "stock_state"))
        set_(self, "sort", _choice(self.sort, SORT_COLUMNS, "sort"))
        set_(self, "direction", _choice(self.direction, DIRECTIONS, "direction"))
        set_(self, "page", _whole(self.page, "page", minimum=1))
        size = _whole(self.page_size, "page_size", minimum=None)
        set_(self, "page_size", min(max(size, 1), MAX_PAGE_SIZE))
        threshold = _whole(self.low_threshold, "low_threshold", minimum=1, maximum=_MAX_INT)
        set_(self, "low_threshold", threshold)

    @property
    def descending(self) -> bool:
        return self.direction == "desc"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @classmethod
    def from_params(cls, params: Mapping[str, str | None], **overrides: Any) -> GridFilter:
        """A filter from URL query parameters (see `to_params`); malformed values raise.

        `overrides` win over the URL: pass `brand_ids=(vendor_brand,)` for a vendor,
        whatever the URL says.
        """
        values: dict[str, Any] = {}
        for key, name in _PARAM_NAMES.items():
            raw = params.get(key)
            if raw is None or raw == "":
                continue
            if name in ("brand_ids", "warehouse_ids"):
                values[name] = _parse_ids(raw, name)
            elif name in ("page", "page_size"):
                values[name] = _parse_int(raw, name)
            else:
                values[name] = raw
        return cls(**(values | overrides))

    def to_params(self) -> dict[str, str]:
        """URL query parameters for this filter, defaults left out."""
        default = GridFilter()
        params = {}
        for key, name in _PARAM_NAMES.items():
            value = getattr(self, name)
            if value == getattr(default, name):
                continue
            params[key] = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        return params

    def with_page(self, page: int) -> GridFilter:
        return replace(self, page=page)


_PARAM_NAMES = {
    "brand": "brand_ids",
    "warehouse": "warehouse_ids",
    "category": "category",
    "colour": "colour",
    "size": "size",
    "tag": "tag",
    "season": "season",
    "q": "search",
    "stock": "stock_state",
    "sort": "sort",
    "dir": "direction",
    "page": "page",
    "per_page": "page_size",
}


#: Ids and thresholds are 32-bit integers in the database.
_MAX_INT = 2**31 - 1


def _whole(value: object, field: str, *, minimum: int | None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{field} must be a whole number, got {value!r}.", field=field)
    if minimum is not None and value < minimum:
        raise InvalidQuantity(
            f"{field} must be {minimum} or more, got {value}.", field=field, value=value
        )
    if maximum is not None and value > maximum:
        raise InvalidQuantity(f"{field} is too large: {value}.", field=field, value=value)
    return value


def _id_tuple(value: object, field: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidQuantity(f"{field} must be a list of ids, got {value!r}.", field=field)
    for item in value:
        _whole(item, field, minimum=1, maximum=_MAX_INT)
    return tuple(sorted(set(value)))


def _optional_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidQuantity(f"{field} must be text, got {value!r}.", field=field)
    value = value.strip()
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidQuantity(
            f"{field} is too long (at most {MAX_TEXT_LENGTH} characters).", field=field
        )
    return value or None


def _search_text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidQuantity(f"search must be text, got {value!r}.", field="search")
    # Tabs, newlines and NULs (which PostgreSQL text cannot hold) become spaces.
    value = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidQuantity(
            f"search is too long (at most {MAX_TEXT_LENGTH} characters).", field="search"
        )
    return value


def _choice(value: object, allowed: tuple[str, ...], field: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in allowed:
        raise InvalidQuantity(
            f"{field} must be one of {', '.join(allowed)}; got {value!r}.", field=field
        )
    return text


def _parse_int(raw: str, field: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise InvalidQuantity(
            f"{field} must be a whole number, got {raw!r}.", field=field
        ) from None


def _parse_ids(raw: str, field: str) -> tuple[int, ...]:
    return tuple(_parse_int(part, field) for part in raw.split(",") if part.strip())


def escape_like(text: str) -> str:
    """`text` with LIKE's metacharacters escaped by backslash (use with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def stock_state_of(available: int, threshold: int = LOW_STOCK_THRESHOLD) -> str:
    """The state a number of available units shows as: "out", "low" or "ok"."""
    if available <= 0:
        return "out"
    return "low" if available <= threshold else "ok"
