"""Size labels as vendors write them, normalised and ranked the way buyers read them."""

from __future__ import annotations

import pytest

from models.errors import InvalidQuantity
from models.sizes import SizeSystem, normalise_size, size_rank


@pytest.mark.parametrize(
    ("label", "system", "size"),
    [
        ("Medium", SizeSystem.ALPHA, "M"),
        (" med ", SizeSystem.ALPHA, "M"),
        ("m", SizeSystem.ALPHA, "M"),
        ("X-Large", SizeSystem.ALPHA, "XL"),
        ("2XL", SizeSystem.ALPHA, "XXL"),
        ("W32 L34", SizeSystem.WAIST, "W32 L34"),
        ("w30", SizeSystem.WAIST, "W30"),
        ("32", SizeSystem.WAIST, "W32"),
        ("EU 38", SizeSystem.EU_SHOE, "EU 38"),
        ("eu42.5", SizeSystem.EU_SHOE, "EU 42.5"),
        ("UK 7", SizeSystem.UK_SHOE, "UK 7"),
        ("One Size", SizeSystem.ONE_SIZE, "One Size"),
        ("Default Title", SizeSystem.ONE_SIZE, "One Size"),
    ],
)
def test_labels_normalise(label, system, size):
    assert normalise_size(label) == (system, size)


def test_ranks_sort_size_runs_as_buyers_read_them():
    alpha = ["XL", "S", "XXS", "M", "L", "XS", "XXL"]
    assert sorted(alpha, key=lambda s: size_rank("alpha", s)) == [
        "XXS",
        "XS",
        "S",
        "M",
        "L",
        "XL",
        "XXL",
    ]
    waist = ["W32 L34", "W30 L32", "W32 L32", "W28"]
    assert sorted(waist, key=lambda s: size_rank("waist", s)) == [
        "W28",
        "W30 L32",
        "W32 L32",
        "W32 L34",
    ]
    shoes = ["EU 42", "EU 38", "EU 40.5", "EU 40"]
    assert sorted(shoes, key=lambda s: size_rank("eu_shoe", s)) == [
        "EU 38",
        "EU 40",
        "EU 40.5",
        "EU 42",
    ]


@pytest.mark.parametrize(
    ("label", "hint", "system", "size"),
    [
        ("42", None, SizeSystem.WAIST, "W42"),
        ("42", "waist", SizeSystem.WAIST, "W42"),
        ("42", "eu_shoe", SizeSystem.EU_SHOE, "EU 42"),
        ("42,5", "eu_shoe", SizeSystem.EU_SHOE, "EU 42.5"),
        ("9", "uk_shoe", SizeSystem.UK_SHOE, "UK 9"),
        ("10.5", "us_shoe", SizeSystem.US_SHOE, "US 10.5"),
        ("36", "alpha", SizeSystem.ALPHA, "36"),
        ("M", "eu_shoe", SizeSystem.ALPHA, "M"),
        ("41/42", "eu_shoe", SizeSystem.EU_SHOE, "EU 41/42"),
        ("41/42", None, SizeSystem.WAIST, "W41 L42"),
        ("9", "eu_shoe", SizeSystem.ALPHA, "9"),  # not an EU shoe size: read as auto
        ("34", "one_size", SizeSystem.WAIST, "W34"),
        ("", "eu_shoe", SizeSystem.ONE_SIZE, "One Size"),
    ],
)
def test_a_brand_hint_decides_what_a_bare_number_is(label, hint, system, size):
    assert normalise_size(label, hint) == (system, size)


@pytest.mark.parametrize(
    "label", ["32/34", "W32/L34", "w32/l34", "W32 L34", "w32l34", "32x34", "32 x 34", "32-34"]
)
def test_waist_and_leg_spellings_are_one_size(label):
    assert normalise_size(label) == (SizeSystem.WAIST, "W32 L34")
    # A shoe brand's "41/42" is a pair of shoe sizes; W/L, "x" and "-" stay waist and leg.
    shoe_pair = "/" in label and "w" not in label.lower()
    assert normalise_size(label, "eu_shoe")[0] is (
        SizeSystem.EU_SHOE if shoe_pair else SizeSystem.WAIST
    )


@pytest.mark.parametrize(
    ("label", "size"),
    [
        ("4XL", "4XL"),
        ("4xl", "4XL"),
        ("XXXL", "3XL"),
        ("XXXXL", "4XL"),
        ("5XL", "5XL"),
        ("6xl", "6XL"),
        ("S/M", "S/M"),
        ("s / m", "S/M"),
        ("M/S", "S/M"),
        ("Small/Medium", "S/M"),
        ("XS/S", "XS/S"),
        ("L/XL", "L/XL"),
        ("XL/2XL", "XL/XXL"),
    ],
)
def test_big_and_combined_alpha_sizes_normalise(label, size):
    assert normalise_size(label) == (SizeSystem.ALPHA, size)


def _by_rank(system: str, labels: list[str]) -> list[str]:
    return sorted(labels, key=lambda s: size_rank(system, s))


def test_big_alpha_sizes_sort_after_xxl():
    assert _by_rank("alpha", ["6XL", "XL", "4XL", "3XL", "XXL", "5XL"]) == [
        "XL",
        "XXL",
        "3XL",
        "4XL",
        "5XL",
        "6XL",
    ]


def test_combined_sizes_sit_just_after_their_smaller_part():
    labels = ["L/XL", "M", "S/M", "XL", "XS", "S", "M/L", "XS/S", "L"]
    assert _by_rank("alpha", labels) == ["XS", "XS/S", "S", "S/M", "M", "M/L", "L", "L/XL", "XL"]


def test_numbers_in_the_alpha_system_sort_by_number_after_letters_and_unknowns_last():
    assert _by_rank("alpha", ["12", "Petite", "8", "XL", "10", "6"]) == [
        "XL",
        "6",
        "8",
        "10",
        "12",
        "Petite",
    ]


def test_waist_leg_and_shoe_pairs_sort_in_size_order():
    waist = [normalise_size(s)[1] for s in ("32/34", "W30/L32", "30x34", "W32 L32", "31")]
    assert _by_rank("waist", waist) == ["W30 L32", "W30 L34", "W31", "W32 L32", "W32 L34"]
    shoes = [normalise_size(s, "eu_shoe")[1] for s in ("42", "41/42", "41", "40.5")]
    assert _by_rank("eu_shoe", shoes) == ["EU 40.5", "EU 41", "EU 41/42", "EU 42"]


def test_unknown_hint_is_refused_by_name():
    with pytest.raises(InvalidQuantity, match=r"Unknown size system 'shoes'.*eu_shoe"):
        normalise_size("42", "shoes")
