"""`dashboard.items`: domain rows turned into list items (the admin lists, the GraphQL
types) without repeating every field by hand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from dashboard.items import NO_MOMENT, Moment, figures_of, item_of


@dataclasses.dataclass
class _Row:
    id: int
    name: str
    created_at: datetime
    secret: str = "never shown"


@dataclasses.dataclass
class _Item:
    id: int = 0
    name: str = ""
    label: str = ""
    created: Moment = NO_MOMENT


def test_item_of_copies_the_fields_of_the_same_name_and_takes_the_rest_as_given():
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    item = item_of(_Item, _Row(7, "North", at), label="NORTH", created=Moment.of(at))
    assert (item.id, item.name, item.label) == (7, "North", "NORTH")
    assert item.created.exact == "2026-12-01 09:30 UTC" and item.created.ago
    assert not hasattr(item, "secret")  # what the item does not declare is not copied


def test_given_fields_win_over_the_rows():
    item = item_of(_Item, _Row(7, "North", datetime.now(UTC)), name="Shown instead")
    assert item.name == "Shown instead" and item.created == NO_MOMENT


def test_a_moment_reads_how_long_ago_and_keeps_the_exact_time():
    now = datetime.now(UTC)
    assert Moment.of(now - timedelta(hours=3)).ago == "3 h ago"
    assert Moment.of(None) == Moment("Never", "")
    assert Moment.of(None, never="") == NO_MOMENT


def test_figures_of_formats_the_four_stock_figures_and_nothing_else():
    held = _Held(on_hand=1204, reserved=3, available=1201, incoming=0, label="total")
    assert figures_of(held) == {
        "on_hand": "1,204", "reserved": "3", "available": "1,201", "incoming": "0",
    }


@dataclasses.dataclass
class _Held:
    on_hand: int
    reserved: int
    available: int
    incoming: int
    label: str


def test_item_of_fills_a_pydantic_model_too_and_given_fields_win():
    from pydantic import BaseModel

    class Out(BaseModel):
        id: int
        name: str
        label: str
        note: str | None = None

    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    out = item_of(Out, _Row(7, "North", at), label="NORTH")
    assert out == Out(id=7, name="North", label="NORTH")
    assert item_of(Out, _Row(7, "North", at), name="South", label="S").name == "South"
