"""A product's attributes: fabric, care, season and tags, checked and normalised.

`Product.attributes` is a JSON object. Four of its keys have a shape Rackroom relies on
(the product page edits them, imports set them, the grid filters on tags and season,
the API returns them); other keys an import or the demo data put there (vendor,
origin) are kept as they are and never touched by an edit.

Normalisation (so that filters can match exactly and use an index):

* tags: trimmed, inner spaces collapsed, lower-cased, duplicates dropped (first one
  kept), order kept; "Organic, organic , NEW  in" → ["organic", "new in"];
* season: trimmed and upper-cased ("ss26" → "SS26"): letters, digits and "-";
* fabric and care: trimmed, inner spaces collapsed.

Every value is one line of printable text; an empty value removes its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from models import audit
from models.catalog import Product
from models.errors import DomainError, NotFound
from models.policy import VENDOR, actor_may

FIELDS = ("fabric", "care", "season", "tags")
MAX_FABRIC = 200
MAX_CARE = 500
MAX_SEASON = 12
MAX_TAG = 40
MAX_TAGS = 20
SEASON_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")


class InvalidAttributes(DomainError):
    """An attribute value that cannot be kept; `details` names the field and value."""

    code = "invalid_attributes"


@dataclass(frozen=True, slots=True)
class ProductAttributes:
    """The typed part of a product's attributes (empty text / no tags when not set)."""

    fabric: str = ""
    care: str = ""
    season: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def read(cls, stored: Mapping[str, Any] | None) -> ProductAttributes:
        """What a stored JSON object holds, leniently (data from before this shape)."""
        stored = stored or {}

        def text(name: str) -> str:
            value = stored.get(name)
            return " ".join(value.split()) if isinstance(value, str) else ""

        raw_tags = stored.get("tags")
        tags: list[str] = []
        if isinstance(raw_tags, list):
            tags = [_tag(t) for t in raw_tags if isinstance(t, str) and _tag(t)]
        elif isinstance(raw_tags, str):
            tags = split_tags(raw_tags)
        return cls(text("fabric"), text("care"), text("season").upper(), tuple(_dedupe(tags)))

    def to_fields(self) -> dict[str, Any]:
        """Every field, empty ones too (tags as a list): what the API answers."""
        return {
            "fabric": self.fabric,
            "care": self.care,
            "season": self.season,
            "tags": list(self.tags),
        }

    def to_json(self) -> dict[str, Any]:
        """The keys this shape sets (empty ones left out)."""
        out: dict[str, Any] = {}
        for name in ("fabric", "care", "season"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.tags:
            out["tags"] = list(self.tags)
        return out

    def merged_into(self, stored: Mapping[str, Any] | None, fields: Iterable[str] = FIELDS) -> dict:
        """`stored` with `fields` replaced by this shape's values (other keys kept)."""
        out = {k: v for k, v in (stored or {}).items() if k not in set(fields)}
        mine = self.to_json()
        out.update({k: mine[k] for k in fields if k in mine})
        return out


def split_tags(text: str) -> list[str]:
    """Comma-separated tags (Shopify's Tags column, the product form), normalised."""
    return _dedupe(t for t in (_tag(part) for part in text.split(",")) if t)


def _tag(text: str) -> str:
    return " ".join(text.split()).lower()


def _dedupe(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _line(value: object, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidAttributes(f"{name} must be text, got {value!r}.", field=name, value=value)
    bad = next((ch for ch in value if not ch.isprintable() and ch not in " \t\r\n"), None)
    if bad is not None:
        raise InvalidAttributes(
            f"{name} contains a control character ({bad!r}): use plain text.",
            field=name,
            value=value[:60],
        )
    text = " ".join(value.split())
    if len(text) > limit:
        raise InvalidAttributes(
            f"{name} is {len(text)} characters long; at most {limit}.",
            field=name,
            value=text[:60],
        )
    return text


def clean_attributes(values: Mapping[str, Any]) -> ProductAttributes:
    """Check and normalise fabric, care, season and tags (a list, or comma-separated text).

    Raises `InvalidAttributes` naming the first bad field and its value. Unknown keys
    are refused too: an edit or an import sets only these four.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidAttributes(
            f"Unknown attribute(s): {', '.join(unknown)}; known: {', '.join(FIELDS)}.",
            field=unknown[0],
        )
    fabric = _line(values.get("fabric"), "fabric", MAX_FABRIC)
    care = _line(values.get("care"), "care", MAX_CARE)
    season = _line(values.get("season"), "season", MAX_SEASON).upper()
    if season and not SEASON_PATTERN.match(season):
        raise InvalidAttributes(
            f"season {season!r} must be letters, digits or '-', e.g. SS26 or AW26.",
            field="season",
            value=season,
        )
    raw = values.get("tags")
    if raw is None:
        raw = []
    if isinstance(raw, str):
        _line(raw, "tags", MAX_TAGS * (MAX_TAG + 2))
        raw = raw.split(",")
    if not isinstance(raw, list | tuple):
        raise InvalidAttributes(f"tags must be a list of text, got {raw!r}.", field="tags")
    tags: list[str] = []
    for item in raw:
        tag = _tag(_line(item, "tags", 10_000))
        if "," in tag:
            raise InvalidAttributes(f"tag {tag!r} contains a comma.", field="tags", value=tag)
        if len(tag) > MAX_TAG:
            raise InvalidAttributes(
                f"tag {tag[:MAX_TAG]}… is {len(tag)} characters long; at most {MAX_TAG}.",
                field="tags",
                value=tag[:60],
            )
        if tag:
            tags.append(tag)
    tags = _dedupe(tags)
    if len(tags) > MAX_TAGS:
        raise InvalidAttributes(
            f"{len(tags)} tags; a product has at most {MAX_TAGS}.", field="tags", value=len(tags)
        )
    return ProductAttributes(fabric, care, season, tuple(tags))


def update_attributes(
    session: Session,
    product_id: int,
    values: Mapping[str, Any],
    *,
    actor_id: int | None,
) -> Product:
    """Set a product's fabric, care, season and tags (the keys in `values`; the others and
    any extra keys stay), with an audit row `product.attributes_changed` of what changed.

    The actor must be allowed `products.edit`; a vendor only their own brand's products
    (another brand's product reads as not found). Nothing is written when nothing changed.
    """
    user = actor_may(session, actor_id, "products.edit")
    product = session.get(Product, product_id, with_for_update=True)
    if product is None or (user.role == VENDOR and product.brand_id != user.brand_id):
        raise NotFound(f"No product with id {product_id}.", product=product_id)
    wanted = clean_attributes(values)
    before = dict(product.attributes or {})
    after = wanted.merged_into(before, [name for name in FIELDS if name in values])
    changes = audit.diff({k: before.get(k) for k in FIELDS}, {k: after.get(k) for k in FIELDS})
    if not changes:
        return product
    product.attributes = after
    session.add(product)
    audit.record(
        session,
        user.email,
        "product.attributes_changed",
        target_type="product",
        target_id=product.id,
        label=product.style_code,
        changes=changes,
    )
    session.flush()
    return product
