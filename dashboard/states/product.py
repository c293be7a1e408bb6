"""/products/<id>: one product's facts, variants with stock, and its attributes form.

The attributes (fabric, care, season, tags) are saved through
`models.attributes.update_attributes`, which checks `products.edit` and a vendor's
brand again and writes the audit row; a vendor sees only their brand's products.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TypedDict

import reflex as rx

from dashboard import routes
from dashboard.formatting import units
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import DialogState
from dashboard.states.listing import LoadStatus, db_read, db_write
from models.attributes import MAX_CARE, MAX_FABRIC, MAX_SEASON, MAX_TAGS, update_attributes
from models.grid import stock_state_of
from models.policy import allows
from models.products import ProductDetail, ProductVariant, product_detail

log = logging.getLogger(__name__)
#: What the form says about the values it takes (models/attributes.py checks them).
HINTS = {
    "fabric": f"e.g. 100% organic cotton · at most {MAX_FABRIC} characters",
    "care": f"e.g. Machine wash 30 °C · at most {MAX_CARE} characters",
    "season": f"e.g. SS26 or AW26 · letters, digits, '-', at most {MAX_SEASON}",
    "tags": f"Comma-separated, at most {MAX_TAGS}; kept lower-case without duplicates",
}


class AttributesForm(TypedDict, total=False):
    fabric: str
    care: str
    season: str
    tags: str


@dataclasses.dataclass
class VariantItem:
    sku: str
    colour: str
    size: str
    barcode: str
    price: str
    on_hand: str
    available: str
    #: "out", "low" or "ok" (the grid's colours).
    state: str
    href: str


@dataclasses.dataclass
class ProductView:
    """The product as the page shows it (text ready to draw)."""

    name: str = ""
    #: "Solstice Knitwear (SOLS) · style SO-CREW · Knitwear"
    facts: str = ""
    variant_count: str = ""
    on_hand: str = ""
    available: str = ""
    fabric: str = ""
    care: str = ""
    season: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    tags_text: str = ""
    #: "vendor: partners-demo · origin: Portugal": stored keys the form does not edit.
    other_attributes: str = ""
    #: Changes with every save and load, so the form's inputs show the stored values.
    form_key: str = ""

    @classmethod
    def of(cls, p: ProductDetail) -> ProductView:
        a = p.attributes
        tags_text = ", ".join(a.tags)
        return cls(
            name=p.name,
            facts=f"{p.brand_name} ({p.brand_code}) · style {p.style_code} · "
            f"{p.category or 'no category'}",
            variant_count=units(len(p.variants)),
            on_hand=units(sum(v.on_hand for v in p.variants)),
            available=units(sum(v.available for v in p.variants)),
            fabric=a.fabric,
            care=a.care,
            season=a.season,
            tags=list(a.tags),
            tags_text=tags_text,
            other_attributes=" · ".join(
                f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in sorted(p.other_attributes.items())
            ),
            form_key=f"{p.id}:{a.fabric}:{a.care}:{a.season}:{tags_text}",
        )


def _variant_item(v: ProductVariant) -> VariantItem:
    return VariantItem(
        sku=v.sku,
        colour=v.colour or "—",
        size=v.size,
        barcode=v.barcode or "—",
        price=f"{v.price_cents / 100:,.2f}" if v.price_cents else "—",
        on_hand=units(v.on_hand),
        available=units(v.available),
        state=stock_state_of(v.available),
        href=f"{routes.STOCK}?q={v.sku}",
    )


class ProductState(RoleGuard, DialogState, LoadStatus, rx.State):
    #: Not `product_id`: the route's argument is a var of that name on every state.
    current_product: int = 0
    product: ProductView = ProductView()
    variants: list[VariantItem] = []
    may_edit: bool = False

    @rx.var
    def title(self) -> str:
        return self.product.name or "Product"

    def _product_id(self) -> int:
        raw = str(self.router.url.path or "").rstrip("/").rsplit("/", 1)[-1]
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0

    @rx.event
    @requires("products.read")
    async def load(self) -> None:
        user = signed_in_user()
        self.may_edit = allows(user.role, "products.edit")
        self._close_dialog()
        self.current_product = self._product_id()
        await self._refetch()

    async def _refetch(self) -> None:
        user = signed_in_user()
        scope = () if user.brand_scope is None else (user.brand_scope,)
        try:
            found = await db_read(product_detail, self.current_product, scope)
        except Exception:
            log.exception("product: reading product %s failed", self.current_product)
            self.load_error = "The product could not be read. Refresh to try again."
            return
        self.loaded = True
        self.load_error = (
            ""
            if found
            else (
                "There is no such product here (it may belong to a brand you can't see). "
                "Find it on the stock page."
            )
        )
        self.product = ProductView.of(found) if found else ProductView()
        self.variants = [_variant_item(v) for v in found.variants] if found else []

    @rx.event
    @requires("products.edit")
    async def save(self, form: AttributesForm):
        """Save the form's four attributes (an error shows under the form, nothing saved)."""
        values = {name: str(form.get(name) or "") for name in ("fabric", "care", "season", "tags")}
        user = signed_in_user()
        return await self._attempt(
            db_write(update_attributes, self.current_product, values, actor_id=user.id),
            done=f"Saved the attributes of {self.product.name}",
            close=False,
        )
