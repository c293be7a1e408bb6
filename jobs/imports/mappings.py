"""Saved per-brand column mappings for CSV layouts that are not Shopify's.

A mapping says which of the file's columns holds each of our fields, how the brand
spells sizes, colours and locations, and what to assume when a column is missing or a
cell is blank. `suggest_mapping` proposes the column part from a file's own headers,
so the person building a mapping starts from a good guess.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from jobs.imports.results import ImportRefused
from models.base import utcnow
from models.errors import NotFound
from models.imports import ColumnMapping

#: Our fields a column can be mapped to, with what they mean (for the mapping form).
FIELDS: dict[str, str] = {
    "sku": "The brand's SKU (kept as an alias of our variant)",
    "handle": "Style or product code (groups the rows of one product)",
    "title": "Product name",
    "category": "Category or product type",
    "colour": "Colour",
    "size": "Size",
    "barcode": "Barcode (EAN / UPC / GTIN)",
    "price": "Price",
    "location": "Location or warehouse",
    "quantity": "Quantity on hand",
    "fabric": "Fabric or material (product attribute)",
    "care": "Care instructions (product attribute)",
    "season": "Season, e.g. SS26 (product attribute)",
    "tags": "Tags, comma-separated (product attribute)",
}

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "variant sku", "article number", "article no", "art nr", "artikelnummer",
            "item number", "item no", "item code", "product code", "reference", "ref",
            "style number", "code", "variant code", "supplier sku", "vendor sku", "mpn"),
    "handle": ("handle", "style", "style code", "style no", "style number", "model",
               "model number", "parent sku", "product id", "modell", "modele", "product"),
    "title": ("title", "name", "product name", "description", "item name", "style name",
              "bezeichnung", "produktname", "nom", "designation"),
    "category": ("category", "type", "product type", "department", "kategorie", "group",
                 "product group", "warengruppe", "categorie"),
    "colour": ("colour", "color", "colour name", "color name", "farbe", "couleur", "kleur",
               "colore", "shade"),
    "size": ("size", "size name", "groesse", "grosse", "größe", "taille", "maat", "talla",
             "taglia", "dimension"),
    "barcode": ("barcode", "ean", "ean13", "upc", "gtin", "variant barcode", "ean code"),
    "price": ("price", "retail price", "rrp", "msrp", "variant price", "preis", "prix",
              "unit price", "vk"),
    "location": ("location", "warehouse", "store", "site", "lager", "lagerort", "depot",
                 "entrepot", "branch", "shop"),
    "quantity": ("quantity", "qty", "on hand", "stock", "available", "inventory", "units",
                 "menge", "bestand", "stock level", "quantite", "soh", "free stock",
                 "variant inventory qty", "inventory quantity"),
    "fabric": ("fabric", "material", "composition", "material composition", "stoff",
               "matiere", "materiaal"),
    "care": ("care", "care instructions", "washing instructions", "pflege", "entretien"),
    "season": ("season", "saison", "seizoen", "collection season"),
    "tags": ("tags", "tag", "keywords", "labels"),
}


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-zäöüéèàç]+", " ", text.lower()).strip()


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """Propose field → header from a file's headers; each header is used at most once.

    Exact synonyms win, then headers containing a synonym as a word, then close spellings.
    Fields without a plausible column are left out.
    """
    scored: list[tuple[float, int, str, str]] = []
    for position, header in enumerate(headers):
        key = _key(header)
        if not key:
            continue
        words = set(key.split())
        for name, synonyms in _SYNONYMS.items():
            best = 0.0
            for rank, synonym in enumerate(synonyms):
                if key == synonym:
                    score = 1.0 - rank * 0.001
                elif synonym in words or (" " in synonym and f" {synonym} " in f" {key} "):
                    score = 0.8 - rank * 0.001
                else:
                    score = difflib.SequenceMatcher(None, key, synonym).ratio() * 0.75
                best = max(best, score)
            if best >= 0.6:
                scored.append((best, -position, name, header))
    scored.sort(reverse=True)
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for _score, _position, name, header in scored:
        if name not in chosen and header not in used:
            chosen[name] = header
            used.add(header)
    return {name: chosen[name] for name in FIELDS if name in chosen}


@dataclass(slots=True)
class MappingSpec:
    """How to read one brand's CSV layout.

    columns: our field → the file's header. sizes / colours: the brand's label → ours
    (matched ignoring case). locations: the brand's location label → our warehouse code.
    defaults: our field → the value for a blank cell or an unmapped column.
    """

    columns: dict[str, str]
    sizes: dict[str, str] = field(default_factory=dict)
    colours: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": dict(self.columns),
            "sizes": dict(self.sizes),
            "colours": dict(self.colours),
            "locations": dict(self.locations),
            "defaults": dict(self.defaults),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MappingSpec:
        """Check and build a spec; raises ImportRefused naming what is wrong."""
        if not isinstance(data, dict):
            raise ImportRefused("A mapping must be an object with a 'columns' entry.")
        parts: dict[str, dict[str, str]] = {}
        for part in ("columns", "sizes", "colours", "locations", "defaults"):
            value = data.get(part) or {}
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise ImportRefused(f"Mapping '{part}' must map text to text.")
            parts[part] = {k.strip(): v.strip() for k, v in value.items() if k.strip()}
        for part in ("columns", "defaults"):
            unknown = sorted(set(parts[part]) - set(FIELDS))
            if unknown:
                raise ImportRefused(
                    f"Mapping {part} name unknown fields: {', '.join(unknown)}. "
                    f"Known fields: {', '.join(FIELDS)}."
                )
        columns = {k: v for k, v in parts["columns"].items() if v}
        if "sku" not in columns and "handle" not in columns:
            raise ImportRefused("A mapping needs a SKU column or a style (handle) column.")
        return cls(
            columns, parts["sizes"], parts["colours"], parts["locations"], parts["defaults"]
        )


def save_mapping(session: Session, brand_id: int, name: str, spec: MappingSpec) -> ColumnMapping:
    """Create or replace the brand's mapping called `name`."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ImportRefused("A mapping needs a name of 1 to 100 characters.")
    spec = MappingSpec.from_json(spec.to_json())
    row = session.scalar(
        select(ColumnMapping).where(ColumnMapping.brand_id == brand_id, ColumnMapping.name == name)
    )
    if row is None:
        row = ColumnMapping(brand_id=brand_id, name=name, spec=spec.to_json())
        session.add(row)
    else:
        row.spec = spec.to_json()
        row.updated_at = utcnow()
    session.flush()
    return row


def get_mapping(session: Session, brand_id: int, name: str) -> MappingSpec:
    row = session.scalar(
        select(ColumnMapping).where(ColumnMapping.brand_id == brand_id, ColumnMapping.name == name)
    )
    if row is None:
        raise NotFound(f"This brand has no saved mapping called {name!r}.", mapping=name)
    return MappingSpec.from_json(row.spec)


def list_mappings(session: Session, brand_id: int) -> list[str]:
    """The names of the brand's saved mappings, alphabetically."""
    return list(
        session.scalars(
            select(ColumnMapping.name)
            .where(ColumnMapping.brand_id == brand_id)
            .order_by(ColumnMapping.name)
        )
    )
