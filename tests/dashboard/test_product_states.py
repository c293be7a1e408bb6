"""The product page's state, its handlers called as each role: the page shows a product
with its variants and attributes; saving goes through the domain's checks (a vendor only
their own brand, bad values refused inline with nothing saved). The browser side is
tests/e2e/test_product.py."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.istate.data import RouterData
from sqlalchemy import select

from dashboard.states.product import ProductState
from models.audit import AuditEntry
from models.catalog import Product
from models.db import read_session
from tests.dashboard import test_stock_states as base
from tests.signin import sign_in_state

world = base.world  # the browser tests' seed, everyone signed in


def product_state(token: str, path: str) -> ProductState:
    root = rx.State(_reflex_internal_init=True)
    sign_in_state(root, token)
    state = root._get_state_from_cache(ProductState)
    router = RouterData.from_router_data(
        {"headers": {"origin": "http://test"}, "asPath": path, "pathname": path}
    )
    root.router = state.router = router
    state.dirty_vars.clear()
    return state


def product_ids(world: base.World) -> dict[str, int]:
    with read_session(world.engine) as session:
        return dict(session.execute(select(Product.style_code, Product.id)).all())


def stored(world: base.World, product_id: int) -> dict[str, Any]:
    with read_session(world.engine) as session:
        return dict(session.get(Product, product_id).attributes or {})


def test_the_page_shows_the_product_and_saves_its_attributes(world: base.World) -> None:
    crew = product_ids(world)["SO-CREW"]
    state = product_state(world.tokens["merchandiser"], f"/products/{crew}")
    base.call(state, "load")
    assert state.loaded and state.load_error == "" and state.may_edit
    assert state.product.name == "Merino Crew" and "style SO-CREW" in state.product.facts
    assert [v.sku for v in state.variants] == ["SOLS-SO-CREW-S", "SOLS-SO-CREW-M", "SOLS-SO-CREW-L"]

    result = base.call(state, "save", {"fabric": "Merino", "season": "aw26", "tags": "Knit"})
    assert "Saved the attributes of Merino Crew" in base.rendered(result)
    assert (state.product.season, state.product.tags, state.form_error) == ("AW26", ["knit"], "")
    assert stored(world, crew) == {"fabric": "Merino", "season": "AW26", "tags": ["knit"]}

    assert base.call(state, "save", {"season": "Autumn 26"}) is None
    assert "letters, digits" in state.form_error
    assert stored(world, crew)["season"] == "AW26"


def test_a_vendor_sees_and_edits_only_their_own_brand(world: base.World) -> None:
    ids = product_ids(world)
    token = world.tokens["vendor"]
    other = product_state(token, f"/products/{ids['NW-STRAIGHT']}")
    base.call(other, "load")
    assert other.product.name == "" and "no such product" in other.load_error
    # A forged save for the other brand's product changes nothing.
    other.current_product = ids["NW-STRAIGHT"]
    assert base.call(other, "save", {"fabric": "Denim"}) is None
    assert "No product" in other.form_error
    assert stored(world, ids["NW-STRAIGHT"]) == {}
    with read_session(world.engine) as session:
        assert session.scalar(select(AuditEntry.id)) is None

    own = product_state(token, f"/products/{ids['SO-CREW']}")
    base.call(own, "load")
    assert own.product.name == "Merino Crew"
    base.call(own, "save", {"fabric": "Wool"})
    assert stored(world, ids["SO-CREW"]) == {"fabric": "Wool"}


def test_a_malformed_address_shows_no_product(world: base.World) -> None:
    state = product_state(world.tokens["manager"], "/products/abc")
    base.call(state, "load")
    assert state.current_product == 0 and "no such product" in state.load_error
