"""A list item as a page holds it, for tests that forge a state's list.

The dashboard's items have no defaults (each is built whole by its `.of()`); a test
names the fields its handler reads and the rest are blank values of their types.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def blank(kind: Any) -> Any:
    """The empty value of a field's type: "", 0, False, [], or a blank item."""
    origin = typing.get_origin(kind) or kind
    if origin in (str, int, float, bool, list, dict):
        return origin()
    if dataclasses.is_dataclass(origin):
        return item(origin)
    raise TypeError(f"no blank value for {kind!r}")


def item(cls: type[T], **given: Any) -> T:
    """An instance of the dataclass `cls` with `given` fields and blanks for the rest."""
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: given[f.name] if f.name in given else blank(hints[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init
    }
    return cls(**fields)
