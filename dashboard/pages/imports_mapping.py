"""Imports, the mapping editor: which of a file's columns holds each of our fields, their
values in ours, and defaults for blank cells (a dialog; saved for the brand)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.admin import MONO, dialog_wiring, field, form_dialog, text_field
from dashboard.components.blocks import column
from dashboard.states.imports import ImportsState
from dashboard.states.imports_mapping import NO_COLUMN, NO_WAREHOUSE, MapField

S = ImportsState


def _column_picker(item: MapField) -> rx.Component:
    id_ = "map-col-" + item.field
    return column(
        rx.el.label(item.label, html_for=id_, style={"font_size": "13px", "font_weight": "500"}),
        rx.select.root(
            rx.select.trigger(id=id_, width="100%"),
            rx.select.content(
                rx.select.item("— not in this file —", value=NO_COLUMN),
                rx.select.separator(),
                rx.foreach(S.map_headers, lambda h: rx.select.item(h, value=h)),
                position="popper",
            ),
            value=item.header,
            on_change=lambda value: S.set_map_column(item.field, value),
            size="1",
        ),
        rx.text(
            rx.cond(item.values_hint != "", item.values_hint, item.description),
            size="1", color_scheme="gray", overflow="hidden", text_overflow="ellipsis",
            white_space="nowrap", max_width="100%", title=item.values_hint,
        ),
        min_width="0", gap="1",
    )


def _value_map(name: str, label: str, value: rx.Var, hint: str) -> rx.Component:
    return field(
        label,
        rx.text_area(
            id="map-" + name, name=name, default_value=value, placeholder="their label = ours",
            rows="4", size="1", width="100%", style=MONO,
        ),
        for_id="map-" + name, hint=hint,
    )


def _default_location() -> rx.Component:
    return field(
        "Location",
        rx.select.root(
            rx.select.trigger(id="map-default-location", width="100%"),
            rx.select.content(
                rx.select.item("No default", value=NO_WAREHOUSE),
                rx.select.separator(),
                rx.foreach(S.warehouses, lambda c: rx.select.item(c.label, value=c.value)),
                position="popper",
            ),
            name="default_location", default_value=S.map_default_location, size="1",
        ),
        for_id="map-default-location",
    )


def _default(key: str, label: str, value: rx.Var, placeholder: str) -> rx.Component:
    return field(
        label,
        rx.input(
            id=f"map-default-{key}", name=f"default_{key}", default_value=value, size="1",
            width="100%", placeholder=placeholder,
        ),
        for_id=f"map-default-{key}",
    )


def _subheading(text: str) -> rx.Component:
    return rx.heading(text, as_="h3", size="2", padding_top="4px")


def mapping_dialog() -> rx.Component:
    """New or edit: Enter saves, Esc or Cancel closes, a bad line shows inline."""
    return form_dialog(
        text_field(
            "Mapping name", "map-name", name="name", default_value=S.map_name, required=True,
            max_length=100, auto_focus=True, auto_complete="off",
        ),
        _subheading("Columns"),
        rx.grid(
            rx.foreach(S.map_fields, _column_picker),
            columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
        ),
        _subheading("Their values → ours"),
        rx.grid(
            _value_map("sizes", "Sizes", S.map_sizes, "e.g. Mittel = M"),
            _value_map("colours", "Colours", S.map_colours, "e.g. schwarz = Black"),
            _value_map(
                "locations", "Locations", S.map_locations,
                "their location = our warehouse code",
            ),
            columns=rx.breakpoints(initial="1", sm="3"), spacing="3", width="100%",
        ),
        _subheading("When a cell is blank"),
        rx.grid(
            _default_location(),
            _default("category", "Category", S.map_default_category, "e.g. Knitwear"),
            _default("colour", "Colour", S.map_default_colour, "e.g. Black"),
            _default("size", "Size", S.map_default_size, "e.g. One Size"),
            columns=rx.breakpoints(initial="2", sm="4"), spacing="3", width="100%",
        ),
        title=S.map_title,
        description="Which of this file's columns holds each of our fields. Suggested matches "
        "are filled in; check them. Saved for the brand, for its later files.",
        **dialog_wiring(S, "mapping"),
        on_submit=S.save_mapping, submit_label="Save mapping", test_id="mapping-dialog",
        max_width="820px",
    )
