"""Places: ISO 3166-1 countries (pycountry's list) and great-circle distance."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pycountry

from models.errors import InvalidQuantity

#: Mean Earth radius (IUGG), kilometres.
EARTH_RADIUS_KM = 6371.0088


def country_code(value: object, *, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased; anything else is refused naming the value."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidQuantity(
            f"{field} must be an ISO 3166-1 alpha-2 country code such as GB or ES, not {value!r}.",
            field=field,
            value=value,
        )
    return code


def coordinate(value: object, *, field: str, limit: float) -> float:
    """A latitude (limit 90) or longitude (limit 180) in degrees, range-checked."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidQuantity(f"{field} must be a number, not {value!r}.", field=field)
    try:
        number = float(value)
    except ValueError:
        raise InvalidQuantity(f"{field} must be a number, not {value!r}.", field=field) from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise InvalidQuantity(
            f"{field} must be between -{limit:g} and {limit:g} degrees, not {value!r}.",
            field=field,
            value=value,
        )
    return number


def latitude(value: object, field: str = "lat") -> float:
    return coordinate(value, field=field, limit=90)


def longitude(value: object, field: str = "lon") -> float:
    return coordinate(value, field=field, limit=180)


@dataclass(frozen=True, slots=True)
class Place:
    """Where something is: a country and, when known, a point."""

    country: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


def place(country: object, lat: object = None, lon: object = None) -> Place:
    """A checked Place: a known country; latitude and longitude both or neither."""
    if (lat is None) != (lon is None):
        raise InvalidQuantity("lat and lon go together: give both or neither.", field="lat")
    return Place(
        country_code(country) if country is not None else None,
        latitude(lat) if lat is not None else None,
        longitude(lon) if lon is not None else None,
    )


def distance_km(a: Place, b: Place) -> float | None:
    """Great-circle (haversine) distance, or None unless both places have coordinates."""
    if not (a.located and b.located):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
