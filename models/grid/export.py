"""The filter bar's choices, and the balances view as CSV (formulas neutralised)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    select,
)
from sqlmodel import Session

from models.csv_safety import safe_cell
from models.errors import InvalidQuantity
from models.grid.filter import DEFAULT_EXPORT_ROWS, SIZE_SYSTEM_ORDER, GridFilter, _id_tuple
from models.grid.rows import _FACT_HEADERS, _QUANTITY_HEADERS, _record
from models.grid.sql import _p, _Scope, _v
from models.grid.views import _variant_details, _variant_page

# --- filter choices -------------------------------------------------------------------------


@dataclass(frozen=True)
class GridOptions:
    """The values the filter bar offers, from the brands in scope only."""

    categories: tuple[str, ...]
    colours: tuple[str, ...]
    #: Size labels grouped by size system, then in size order.
    sizes: tuple[str, ...]


def grid_options(session: Session, brand_ids: Sequence[int] = ()) -> GridOptions:
    """Categories, colours and sizes that exist for `brand_ids` (every brand when empty).

    A vendor's filter bar passes its one brand, so no other brand's values show.
    """
    brand_ids = _id_tuple(brand_ids, "brand_ids")
    connection = session.connection()
    categories = select(_p.c.category).distinct().order_by(_p.c.category)
    colours = select(_v.c.colour).distinct().order_by(_v.c.colour)
    sizes = select(_v.c.size_system, _v.c.size_rank, _v.c.size).distinct()
    if brand_ids:
        categories = categories.where(_p.c.brand_id.in_(brand_ids))
        colours = colours.where(_v.c.brand_id.in_(brand_ids))
        sizes = sizes.where(_v.c.brand_id.in_(brand_ids))
    order: dict[str, tuple[int, int, str]] = {}
    for system, rank, label in connection.execute(sizes).all():
        key = (SIZE_SYSTEM_ORDER.get(system, len(SIZE_SYSTEM_ORDER)), rank, label)
        order[label] = min(order.get(label, key), key)
    return GridOptions(
        categories=tuple(c for c in connection.scalars(categories) if c),
        colours=tuple(c for c in connection.scalars(colours) if c),
        sizes=tuple(sorted(order, key=order.__getitem__)),
    )


# --- CSV export -----------------------------------------------------------------------------


def iter_grid_csv(
    session: Session, f: GridFilter, *, max_rows: int = DEFAULT_EXPORT_ROWS, chunk: int = 500
) -> Iterator[str]:
    """The filtered balances view as CSV text, in pieces, in the filter's order.

    Every text cell goes through `safe_cell`, so nothing a vendor typed can run as a
    spreadsheet formula. A view larger than `max_rows` is refused here, before any
    text is produced (InvalidQuantity naming `filter`), rather than cut short silently.
    """
    scope, ids, total = _variant_page(session, f, limit=max_rows + 1, offset=0, at_most=max_rows)
    _refuse_if_over(total, max_rows)
    headers = [label for _key, label in _FACT_HEADERS]
    for warehouse in scope.columns:
        headers += [f"{warehouse.code} {label}" for _name, label in _QUANTITY_HEADERS]
    headers += [f"Total {label}" for _name, label in _QUANTITY_HEADERS]
    return _csv_pieces(session, headers, ids, scope, f.brand_ids, chunk)


def export_row_count(
    session: Session, f: GridFilter, *, max_rows: int = DEFAULT_EXPORT_ROWS
) -> int:
    """The rows an export of `f` would hold; InvalidQuantity when over `max_rows`.

    Asked before a download link is handed out, so a refusal is a message on the page
    rather than an error file.
    """
    _scope, _ids, total = _variant_page(session, f, limit=1, offset=0, at_most=max_rows)
    _refuse_if_over(total, max_rows)
    return total


def _refuse_if_over(total: int, max_rows: int) -> None:
    if total > max_rows:
        raise InvalidQuantity(
            f"The view has {total:,} rows; an export holds at most {max_rows:,}. "
            "Narrow the filter (brand, warehouse, search) and export again.",
            field="filter",
            rows=total,
            max_rows=max_rows,
        )


def _csv_pieces(
    session: Session,
    headers: list[str],
    ids: list[int],
    scope: _Scope,
    brand_ids: Sequence[int],
    chunk: int,
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([safe_cell(h) for h in headers])
    yield flush()
    for start in range(0, len(ids), chunk):
        for row in _variant_details(session, ids[start : start + chunk], scope, brand_ids):
            record = _record(row, scope.columns)
            del record["variant_id"]
            writer.writerow([safe_cell(value) for value in record.values()])
        yield flush()


def grid_csv(session: Session, f: GridFilter, *, max_rows: int = DEFAULT_EXPORT_ROWS) -> str:
    """`iter_grid_csv` joined into one string (for a download)."""
    return "".join(iter_grid_csv(session, f, max_rows=max_rows))
