"""Domain rows turned into what a list or the API shows: `item_of` copies the fields a
row already has under the same name, `Moment` is a time as a list shows it, and
`figures_of` formats the four stock figures.

No Reflex here: the GraphQL types and the REST answers use `item_of` too.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

from dashboard.formatting import exact_time, relative_time, units

T = TypeVar("T")

#: The stock figures a row shows (a variant's totals, a warehouse's balance, an overview
#: line), each a count of units.
FIGURES = ("on_hand", "reserved", "available", "incoming")


def item_of(cls: type[T], row: object, **given: Any) -> T:
    """An instance of `cls` (a dataclass, or a pydantic model such as an API answer): the
    fields in `given` as given, every other field that `row` has an attribute of the same
    name for copied from it (the rest keep their defaults)."""
    model_fields = getattr(cls, "model_fields", None)
    names = (
        list(model_fields)
        if model_fields is not None
        else [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    )
    copied = {
        name: getattr(row, name) for name in names if name not in given and hasattr(row, name)
    }
    return cls(**copied, **given)


@dataclasses.dataclass(frozen=True)
class Moment:
    """A time in a list: how long ago ("3 h ago"), and the exact time for the hover."""

    ago: str = ""
    exact: str = ""

    @classmethod
    def of(cls, at: datetime | None, now: datetime | None = None, never: str = "Never") -> Moment:
        return cls(relative_time(at, now, never), exact_time(at))


#: No time yet: the default of an item's `Moment` field.
NO_MOMENT = Moment()


def figures_of(held: Any) -> dict[str, str]:
    """The `FIGURES` of anything that counts them (a balance, a total), formatted
    ("1,204"), as keyword arguments of an item with those fields: `Item(**figures_of(b))`."""
    return {name: units(getattr(held, name)) for name in FIGURES}
