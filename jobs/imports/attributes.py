"""Product attributes from a feed: Shopify's Tags, mapped fabric / care / season / tags.

A feed says which attribute fields it carries (`Feed.attribute_fields`): a Shopify
product export its Tags column, a mapped file the fields its mapping names. Only those
are set; a file without them leaves a product's attributes alone. Values are checked
and normalised as on the product page (models/attributes.py); a bad one is a row error
naming the column. A product's first valid row decides its attributes; an existing
product whose attributes differ is an `AttributeChange` the dry run lists and the apply
writes (other keys of the product's attributes are kept), recording before and after so
that the import's revert (jobs/imports/revert.py) can put them back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from models.attributes import InvalidAttributes, ProductAttributes, clean_attributes
from models.catalog import Product
from models.imports import ImportAttributeChange

AddError = Callable[[int, int, str, str, str], None]
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """An existing product's attributes: `before` → `after` (the whole JSON object)."""

    product_id: int
    style: str
    title: str
    row: int
    before: dict[str, Any]
    after: dict[str, Any]

    def changed(self) -> list[tuple[str, str, str]]:
        """(field, old, new) of each field that differs, as text for a person."""
        fields = sorted(set(self.before) | set(self.after))
        return [
            (name, _shown(self.before.get(name)), _shown(self.after.get(name)))
            for name in fields
            if self.before.get(name) != self.after.get(name)
        ]


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def row_attributes(
    data: Mapping[str, list],
    rows: list[int],
    fields: tuple[str, ...],
    columns: Mapping[str, str],
    add_error: AddError,
) -> list[ProductAttributes | None]:
    """Each row's checked attributes (None when the feed carries none, or on an error)."""
    n = len(rows)
    if not fields:
        return [None] * n
    seen: dict[tuple[str, ...], ProductAttributes | InvalidAttributes] = {}
    out: list[ProductAttributes | None] = [None] * n
    for i in range(n):
        values = tuple(data[name][i] for name in fields)
        if values not in seen:
            try:
                seen[values] = clean_attributes(dict(zip(fields, values, strict=True)))
            except InvalidAttributes as error:
                seen[values] = error
        found = seen[values]
        if isinstance(found, InvalidAttributes):
            name = str(found.details.get("field", ""))
            raw = data[name][i] if name in fields else ""
            add_error(i, rows[i], columns.get(name, name), raw, found.message)
        else:
            out[i] = found
    return out


def attribute_changes(
    firsts: Mapping[int, tuple[int, ProductAttributes]],
    stored: Mapping[int, tuple[str, str, dict[str, Any]]],
    fields: tuple[str, ...],
) -> list[AttributeChange]:
    """Existing products whose `fields` differ from the file's.

    `firsts`: product id → (row, the attributes of its first valid row); `stored`:
    product id → (style, title, attributes now).
    """
    changes = []
    for pid, (row, wanted) in sorted(firsts.items(), key=lambda item: item[1][0]):
        style, title, before = stored[pid]
        after = wanted.merged_into(before, fields)
        if after != before:
            changes.append(AttributeChange(pid, style, title, row, dict(before), after))
    return changes


def new_product_attributes(
    vendor: str, wanted: ProductAttributes | None, fields: tuple[str, ...]
) -> dict[str, Any]:
    """A new product's attributes: the file's Vendor and the fields the file carries."""
    base: dict[str, Any] = {"vendor": vendor} if vendor else {}
    return wanted.merged_into(base, fields) if wanted is not None else base


def stored_attributes(
    session: Session, product_ids: list[int]
) -> dict[int, tuple[str, str, dict[str, Any]]]:
    """product id → (style, title, attributes) of the products a file names."""
    product = Product.__table__
    found: dict[int, tuple[str, str, dict[str, Any]]] = {}
    for start in range(0, len(product_ids), _CHUNK):
        chunk = product_ids[start : start + _CHUNK]
        query = select(
            product.c.id, product.c.style_code, product.c.name, product.c.attributes
        ).where(product.c.id.in_(chunk))
        for pid, style, title, attributes in session.execute(query):
            found[pid] = (style, title, dict(attributes or {}))
    return found


def set_attributes(session: Session, values: list[tuple[int, dict[str, Any]]]) -> None:
    """Set products' whole attributes object: (product id, attributes), one executemany."""
    if not values:
        return
    product = Product.__table__
    statement = (
        update(product)
        .where(product.c.id == bindparam("pid"))
        .values(attributes=bindparam("attributes"))
    )
    session.connection().execute(
        statement, [{"pid": pid, "attributes": attributes} for pid, attributes in values]
    )


def write_attribute_changes(
    session: Session, changes: list[AttributeChange], import_id: int
) -> None:
    """Set each changed product's attributes and record before / after for the import's
    revert (`import_attribute_change`), in the apply's transaction, in chunks."""
    for start in range(0, len(changes), _CHUNK):
        chunk = changes[start : start + _CHUNK]
        set_attributes(session, [(c.product_id, c.after) for c in chunk])
        session.connection().execute(
            insert(ImportAttributeChange.__table__),
            [
                {"import_id": import_id, "product_id": c.product_id, "before": c.before,
                 "after": c.after}
                for c in chunk
            ],
        )
