"""CSV export of any analytics table, safe to open in a spreadsheet.

Every text cell goes through `models.csv_safety.safe_cell`, so a style or option label
such as ``=HYPERLINK(…)`` stays text. Floats keep 4 decimals; times are ISO 8601 UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

import polars as pl

from models.csv_safety import safe_cell


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return safe_cell(value)


def iter_csv(frame: pl.DataFrame, *, chunk: int = 500, bom: bool = False) -> Iterator[str]:
    """The table as CSV text in pieces of `chunk` rows (header row first, comma-separated,
    \\r\\n line ends); with `bom`, a UTF-8 byte-order mark first, which Excel needs to
    read accents right."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in frame.columns])
    for n, row in enumerate(frame.iter_rows(), 1):
        writer.writerow([_cell(value) for value in row])
        if n % chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def to_csv(frame: pl.DataFrame) -> str:
    """The table as CSV text (`iter_csv` in one piece)."""
    return "".join(iter_csv(frame))


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """`to_csv` as UTF-8 with a byte-order mark."""
    return "".join(iter_csv(frame, bom=True)).encode("utf-8")
