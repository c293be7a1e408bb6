"""/products/<id>: a product's figures, its variants with stock, and its attributes form."""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components import admin as ui
from dashboard.components.blocks import button, column, inline
from dashboard.components.figures import numeric_cell, stat_card, stat_grid
from dashboard.components.layout import detail_page
from dashboard.pages.stock_table import state_color
from dashboard.registry import page
from dashboard.states.product import HINTS, ProductState, VariantItem

S = ProductState


def _variant_row(v: VariantItem) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(v.sku, href=v.href, style=ui.SKU),
            vertical_align="middle",
        ),
        ui.cell(v.colour),
        ui.cell(v.size),
        ui.cell(rx.text(v.barcode, style=ui.MONO, size="1")),
        numeric_cell(v.price),
        numeric_cell(v.on_hand),
        numeric_cell(v.available, color=state_color(v.state), weight="medium"),
        data_testid="product-variant",
    )


def _variants() -> rx.Component:
    return column(
        rx.heading("Variants", as_="h2", size="3"),
        ui.table(
            *ui.headers(
                "SKU", "Colour", "Size", "Barcode", "Price", "On hand", "Available",
                right=("Price", "On hand", "Available"),
            ),
            body=rx.foreach(S.variants, _variant_row), test_id="product-variants",
        ),
        ui.muted("Stock over every warehouse; a SKU opens it on the stock page."),
        overflow_x="auto", gap="2",
    )


def _tag_badges() -> rx.Component:
    return rx.cond(
        S.product.tags.length() > 0,
        inline(
            rx.foreach(S.product.tags, lambda t: rx.badge(t, variant="soft", size="1")),
            wrap="wrap", gap="1", data_testid="product-tags",
        ),
        ui.muted("No tags yet."),
    )


_FIELDS = (("Fabric", "fabric", S.product.fabric), ("Care", "care", S.product.care),
           ("Season", "season", S.product.season))


def _attributes_form() -> rx.Component:
    """The four attributes; read-only text for roles that may not edit them."""
    editable = rx.form(
        column(
            *[
                ui.text_field(
                    label, f"attr-{name}",
                    name=name, default_value=value, hint=HINTS[name], auto_complete="off",
                )
                for label, name, value in (*_FIELDS, ("Tags", "tags", S.product.tags_text))
            ],
            ui.form_error(S.form_error),
            inline(
                button("Save attributes", "save", type="submit", loading=S.saving),
                justify="end", width="100%",
            ),
            gap="3",
        ),
        key=S.product.form_key, on_submit=S.save, reset_on_submit=False,
        data_testid="attributes-form",
    )
    shown = column(
        *[
            inline(ui.muted(label, width="70px"), rx.text(value, size="2"), gap="2")
            for label, _name, value in _FIELDS
        ],
        gap="2",
    )
    return rx.card(
        column(
            rx.heading("Attributes", as_="h2", size="3"),
            _tag_badges(),
            rx.cond(S.may_edit, editable, shown),
            rx.cond(
                S.product.other_attributes != "",
                ui.muted("Also stored (from imports): " + S.product.other_attributes),
            ),
            gap="3",
        ),
        width="100%",
    )


def _detail() -> rx.Component:
    return column(
        rx.text(S.product.facts, size="2", color_scheme="gray", data_testid="product-facts"),
        stat_grid(
            stat_card("Variants", S.product.variant_count, "Colour × size"),
            stat_card("On hand", S.product.on_hand, "Units over every warehouse"),
            stat_card(
                "Available", S.product.available, "On hand less reserved",
                test_id="product-available",
            ),
        ),
        rx.grid(
            _variants(),
            _attributes_form(),
            columns=rx.breakpoints(initial="1", lg="minmax(0, 3fr) minmax(300px, 2fr)"),
            spacing="5", width="100%",
        ),
        gap="5",
    )


@page(routes.PRODUCT_PAGE, "Product", perm="products.read", load=S.load, shell=False)
def product_page() -> rx.Component:
    """Its own frame: the title is the product's name."""
    back = rx.link(
        inline(rx.icon("arrow-left", size=14), "Stock", gap="1"), href=routes.STOCK, size="2"
    )
    return detail_page(
        "products.read", S, _detail(),
        shown=S.product.name != "", back=back, route=routes.STOCK,
    )
