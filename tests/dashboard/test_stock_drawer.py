"""The variant drawer and the correction dialog belong to the grid they were opened
over: a page load (another address, another filter, coming back to /stock) closes
both, so neither reappears over an unrelated grid (issue 12). The browser side is in
tests/e2e/test_stock.py."""

from __future__ import annotations

from tests.dashboard import test_stock_states as base

world = base.world  # the same seeded database and signed-in users


def test_a_page_load_closes_the_drawer_and_the_dialog(world: base.World) -> None:
    vid, ldn = world.variants["NORTH-NW-STRAIGHT-30"], world.warehouses["LDN"]
    state = base.loaded(world, "merchandiser", "/stock?q=NW-STRAIGHT")
    base.call(state, "open_variant", vid)
    base.call(state, "ledger_older")
    base.call(state, "open_correction", vid, ldn, 1000)
    assert state.drawer_open and state.drawer_sku == "NORTH-NW-STRAIGHT-30"
    assert state.edit_open

    base.call(state, "load")  # what the browser sends on every page load

    assert not state.drawer_open and state.drawer_variant == 0
    assert state._drawer_variant == 0 and state._ledger_cursors == []
    assert not state.edit_open and state._edit_variant == 0
    assert [row.sku for row in state.rows] == [
        "NORTH-NW-STRAIGHT-30",
        "NORTH-NW-STRAIGHT-32",
        "NORTH-NW-STRAIGHT-34",
    ]


def test_leaving_through_add_to_transfer_closes_the_drawer(world: base.World) -> None:
    crew, ldn = world.variants["SOLS-SO-CREW-M"], world.warehouses["LDN"]
    state = base.loaded(world, "merchandiser", "/stock?q=NW-STRAIGHT")  # the crew is not shown
    base.call(state, "open_variant", crew)
    base.call(state, "open_correction", crew, ldn, 0)  # from the drawer's balances
    assert state.edit_title == "Correct SOLS-SO-CREW-M at LDN"
    base.call(state, "on_correction_change", False)

    assert base.call(state, "on_drawer_change", False) is None  # the link's on_click
    assert not state.drawer_open and state.drawer_variant == 0
    # The closed drawer's balances are no longer something to correct.
    result = base.call(state, "open_correction", crew, ldn, 0)
    assert "not on this page" in base.rendered(result) and not state.edit_open
