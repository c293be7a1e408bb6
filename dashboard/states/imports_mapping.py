"""Imports, the mapping editor: which of a file's columns holds each of our fields, how
its sizes, colours and locations read in ours, and defaults for blank cells. Saved for
the brand and offered for its later files (`mapped:<name>` among the formats).

`MappingEditor` is a state mixin of `ImportsState`: the dialog is `dialog == "mapping"`
(`DialogState`, whose `_attempt()` saves it); it reads the uploaded file of `ImportFlow`
and the choices and `_importer()` check of `ImportsState`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TypedDict

import reflex as rx

from dashboard.states.import_files import column_values, mapping_of, store_mapping
from dashboard.states.imports_flow import MAPPED_PREFIX, on_pool
from dashboard.states.listing import db_read, db_write
from jobs.imports import FIELDS, ImportRefused, MappingSpec, suggest_mapping
from models.errors import DomainError

log = logging.getLogger(__name__)

#: The value of a mapping's column select meaning "this file has no such column".
NO_COLUMN = "__none__"
#: The value of a warehouse select meaning "no default".
NO_WAREHOUSE = "__none__"

_FIELD_LABELS = {
    "sku": "SKU",
    "handle": "Style / handle",
    "title": "Product name",
    "category": "Category",
    "colour": "Colour",
    "size": "Size",
    "barcode": "Barcode",
    "price": "Price",
    "location": "Location",
    "quantity": "Quantity on hand",
}


@dataclasses.dataclass
class MapField:
    """One of our fields in the mapping editor and the file's column chosen for it."""

    field: str = ""
    label: str = ""
    description: str = ""
    header: str = NO_COLUMN
    values_hint: str = ""


class MappingForm(TypedDict, total=False):
    name: str
    sizes: str
    colours: str
    locations: str
    default_location: str
    default_category: str
    default_colour: str
    default_size: str


def parse_value_map(text: str, what: str) -> dict[str, str]:
    """ "their label = ours" per line → dict; blank lines and blank right sides skipped."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            raise ImportRefused(
                f"{what}, line {number}: write it as “their label = ours”, e.g. “Mittel = M”."
            )
        theirs, ours = (part.strip() for part in line.split("=", 1))
        if theirs and ours:
            out[theirs] = ours
    return out


def value_map_text(values: dict[str, str]) -> str:
    return "\n".join(f"{theirs} = {ours}" for theirs, ours in values.items())


def spec_of(form: MappingForm, columns: dict[str, str]) -> MappingSpec:
    """The mapping the form describes; ImportRefused names the line it cannot read."""
    defaults = {
        "location": str(form.get("default_location") or ""),
        "category": str(form.get("default_category") or "").strip(),
        "colour": str(form.get("default_colour") or "").strip(),
        "size": str(form.get("default_size") or "").strip(),
    }
    return MappingSpec.from_json(
        {
            "columns": columns,
            "sizes": parse_value_map(str(form.get("sizes") or ""), "Sizes"),
            "colours": parse_value_map(str(form.get("colours") or ""), "Colours"),
            "locations": parse_value_map(str(form.get("locations") or ""), "Locations"),
            "defaults": {k: v for k, v in defaults.items() if v and v != NO_WAREHOUSE},
        }
    )


class MappingEditor(rx.State, mixin=True):
    """The New / Edit mapping dialog; mixed into `ImportsState`."""

    map_title: str = ""
    map_name: str = ""
    map_fields: list[MapField] = []
    map_headers: list[str] = []
    map_sizes: str = ""
    map_colours: str = ""
    map_locations: str = ""
    map_default_location: str = NO_WAREHOUSE
    map_default_category: str = ""
    map_default_colour: str = ""
    map_default_size: str = ""
    _column_values: dict[str, list[str]] = {}

    @rx.event
    def set_map_column(self, field: str, header: str) -> None:
        """A column picked in the mapping editor (saved only by save_mapping)."""
        self.map_fields = [
            dataclasses.replace(item, header=header, values_hint=self._hint(header))
            if item.field == field
            else item
            for item in self.map_fields
        ]

    def _hint(self, header: str) -> str:
        values = self._column_values.get(header, [])
        return ("In this file: " + ", ".join(values)) if values else ""

    @rx.event(background=True)
    async def open_mapping_editor(self, edit: bool):
        """Create a mapping from the uploaded file's own headers, or edit the chosen one.

        Reading the file for value hints can take a while on a large file: it runs
        without holding the state lock.
        """
        async with self:
            access = await self._importer()
            if not access:
                return access.refusal
            name = self.format_value.removeprefix(MAPPED_PREFIX) if edit else ""
            if edit and not self.format_value.startswith(MAPPED_PREFIX):
                return rx.toast.error("Choose a saved mapping to edit.")
            if not edit and not self._headers:
                return rx.toast.error(
                    "Upload a file first",
                    description="A mapping is built from the file's columns.",
                )
            brand, path, headers = self.brand_code, self._upload_path, list(self._headers)
        spec: MappingSpec | None = None
        if edit:
            try:
                spec = await db_read(mapping_of, brand, name)
            except DomainError as error:
                return rx.toast.error(error.message)
        values = await on_pool(column_values, path)
        async with self:
            if (self.brand_code, self._upload_path) != (brand, path):
                return rx.toast.warning("The file or the brand changed: open the editor again.")
            self._column_values = values
            self._fill_editor(name, headers, spec)
            self._open_dialog("mapping")
        return None

    def _fill_editor(self, name: str, headers: list[str], spec: MappingSpec | None) -> None:
        if spec is not None:
            headers += [h for h in spec.columns.values() if h not in headers]
        chosen = spec.columns if spec is not None else suggest_mapping(self._headers)
        self.map_headers = headers
        self.map_fields = [
            MapField(
                field=key,
                label=_FIELD_LABELS.get(key, key),
                description=description,
                header=chosen.get(key, NO_COLUMN),
                values_hint=self._hint(chosen.get(key, "")),
            )
            for key, description in FIELDS.items()
        ]
        self.map_name = name or Path(self.file_name).stem[:100]
        self.map_title = f"Edit mapping “{name}”" if name else "New column mapping"
        self.map_sizes = value_map_text(spec.sizes) if spec else ""
        self.map_colours = value_map_text(spec.colours) if spec else ""
        self.map_locations = (
            value_map_text(spec.locations) if spec else self._unknown_locations(chosen)
        )
        defaults = spec.defaults if spec else {}
        self.map_default_location = defaults.get("location", NO_WAREHOUSE)
        self.map_default_category = defaults.get("category", "")
        self.map_default_colour = defaults.get("colour", "")
        self.map_default_size = defaults.get("size", "")

    def _unknown_locations(self, chosen: dict[str, str]) -> str:
        """Lines to fill in for the file's locations that name no warehouse."""
        known = set()
        for choice in self.warehouses:
            known.add(choice.value.lower())
            known.add(choice.label.rsplit(" (", 1)[0].lower())
        values = self._column_values.get(chosen.get("location", ""), [])
        return "\n".join(f"{value} = " for value in values if value.lower() not in known)

    @rx.event
    async def save_mapping(self, form: MappingForm):
        """Save the mapping for the brand and choose it for this file."""
        access = await self._importer()
        if not access or access.user is None:
            return access.refusal
        if self.dialog != "mapping":
            return None
        name = " ".join(str(form.get("name") or "").split())
        columns = {
            item.field: item.header
            for item in self.map_fields
            if item.header and item.header != NO_COLUMN
        }
        brand, email = self.brand_code, access.user.email

        async def save() -> str:
            stored = await db_write(store_mapping, brand, name, spec_of(form, columns))
            log.info("%s saved mapping %r for %s", email, stored, brand)
            self.format_value = MAPPED_PREFIX + stored
            self._forget_result()
            return stored

        return await self._attempt(
            save(), done=lambda stored: f"Saved mapping “{stored}”, chosen for this file"
        )
