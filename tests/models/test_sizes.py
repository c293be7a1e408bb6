"""Size labels as vendors write them, normalised and ranked the way buyers read them."""

from __future__ import annotations

import pytest

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
