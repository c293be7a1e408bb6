"""Row errors out: as a downloadable CSV that no spreadsheet will execute, and as JSON.

The checks themselves run while planning (`jobs.imports.plan`), where each row is
resolved against the catalogue; this module is how their results leave the importer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from jobs.imports.results import RowError
from models.csv_safety import safe_cell

ERROR_COLUMNS = ("row", "column", "value", "reason")


def errors_csv(errors: Iterable[RowError]) -> str:
    """All errors as CSV (row, column, value, reason), every text cell formula-safe.

    The values are the vendor's own cells, so ``=HYPERLINK(…)`` comes back as the text
    ``'=HYPERLINK(…)`` rather than as a live formula.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ERROR_COLUMNS)
    for error in errors:
        writer.writerow(
            [error.row, safe_cell(error.column), safe_cell(error.value), safe_cell(error.reason)]
        )
    return buffer.getvalue()


def errors_to_json(errors: Iterable[RowError], limit: int | None = None) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        if limit is not None and len(out) >= limit:
            break
        out.append(
            {"row": error.row, "column": error.column, "value": error.value, "reason": error.reason}
        )
    return out


def errors_from_json(data: list[dict[str, Any]]) -> list[RowError]:
    return [
        RowError(int(e["row"]), str(e["column"]), str(e["value"]), str(e["reason"])) for e in data
    ]
