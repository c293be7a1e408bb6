"""CSV export of any analytics table, safe to open in a spreadsheet.

Every text cell goes through `models.csv_safety.safe_cell`, so a style or option label
such as ``=HYPERLINK(…)`` stays text. Floats keep 4 decimals; times are ISO 8601 UTC.
"""

from __future__ import annotations

import csv
import io
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


def to_csv(frame: pl.DataFrame) -> str:
    """The table as CSV text (header row first, comma-separated, \\r\\n line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in frame.columns])
    for row in frame.iter_rows():
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """`to_csv` as UTF-8 with a byte-order mark, which Excel needs to read accents right."""
    return ("\ufeff" + to_csv(frame)).encode("utf-8")
