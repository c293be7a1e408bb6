"""Votes from a survey tool's CSV export: all rows recorded, or none and why."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from models.base import utcnow
from models.errors import (
    InvalidQuantity,
)
from models.polls.manage import _poll
from models.polls.tables import MAX_CSV_ROWS, InvalidVote, VoteSource
from models.polls.votes import Vote, _OptionIndex, _parse_time, _require_open, _upsert_votes

# --- CSV export of a survey tool -----------------------------------------------------------

_CSV_COLUMNS = {
    "respondent": (
        "respondent",
        "respondent id",
        "respondent_id",
        "participant",
        "participant id",
        "participant_id",
        "response id",
        "response_id",
        "user id",
        "user_id",
        "email",
        "customer id",
        "customer_id",
        "visitor id",
    ),
    "option": ("option", "answer", "response", "choice", "value", "option label", "selected"),
    "answered_at": (
        "answered_at",
        "answered at",
        "date",
        "created at",
        "created_at",
        "submitted at",
        "submitted_at",
        "timestamp",
        "time",
        "response date",
    ),
}


@dataclass(frozen=True, slots=True)
class VoteRowError:
    """One problem in a survey export. `row` is the spreadsheet row (the header is row 1)."""

    row: int
    column: str
    value: str
    reason: str

    def describe(self) -> str:
        return f"row {self.row}, {self.column} {self.value!r}: {self.reason}"


@dataclass(slots=True)
class CsvVoteResult:
    poll_id: int
    rows: int = 0
    recorded: int = 0
    applied: bool = False
    errors: list[VoteRowError] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.errors:
            return (
                f"Nothing imported: {len(self.errors)} problem(s) in {self.rows} row(s); "
                f"first: {self.errors[0].describe()}."
            )
        return f"Imported {self.rows} row(s): {self.recorded} vote(s) new or changed."


class CsvRefused(InvalidQuantity):
    code = "csv_refused"


def _csv_header(header: Sequence[str]) -> dict[str, int]:
    """Which column holds what: per target, the header earliest in its list of names."""
    keys = [" ".join(name.replace("\ufeff", "").strip().lower().split()) for name in header]
    found: dict[str, int] = {}
    for target, names in _CSV_COLUMNS.items():
        ranked = [(names.index(key), index) for index, key in enumerate(keys) if key in names]
        if ranked:
            found[target] = min(ranked)[1]
    missing = [t for t in ("respondent", "option") if t not in found]
    if missing:
        raise CsvRefused(
            f"The file needs a {' and a '.join(missing)} column; its header is "
            f"{', '.join(header) or '(empty)'}.",
            missing=missing,
        )
    return found



def _csv_rows(text: str) -> Iterator[list[str]]:
    """The file's rows; a file the csv module cannot read (a NUL byte, a stray quote)
    is refused naming the line, not an internal error."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from reader
    except csv.Error as error:
        raise CsvRefused(f"Line {reader.line_num} could not be read as CSV ({error}).") from None

def import_votes_csv(
    session: Session,
    poll_id: int,
    content: bytes | str,
    *,
    brand_scope: int | None,
    now: datetime | None = None,
) -> CsvVoteResult:
    """Record the votes of a survey tool's CSV export: every row, or none.

    Columns are found by name (respondent / participant id / response id, option /
    answer / choice, answered_at / date / submitted at); the answer is an option's
    label or id. Rows naming an unknown option are reported with their row numbers and
    nothing is written. A re-upload of the same export changes nothing.
    """
    now = now or utcnow()
    poll = _poll(session, poll_id, brand_scope=brand_scope)
    _require_open(poll)
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CsvRefused("The file is not UTF-8 text.") from None
    reader = _csv_rows(content)
    header = next(reader, None)
    if header is None:
        raise CsvRefused("The file is empty.")
    columns = _csv_header(header)
    options = _OptionIndex(session, poll_id)
    result = CsvVoteResult(poll_id)
    votes: list[Vote] = []
    names = {key: header[index].strip() for key, index in columns.items()}
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        result.rows += 1
        if result.rows > MAX_CSV_ROWS:
            raise CsvRefused(f"At most {MAX_CSV_ROWS:,} rows per file.")

        def cell(key: str, row: list[str] = row) -> str:
            index = columns.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        answer, respondent = cell("option"), cell("respondent")
        option_id = options.resolve(answer)
        if option_id is None:
            result.errors.append(
                VoteRowError(row_number, names["option"], answer, "not an option of this poll")
            )
            continue
        if not respondent or len(respondent) > 200:
            result.errors.append(
                VoteRowError(
                    row_number,
                    names["respondent"],
                    respondent,
                    "a respondent id of 1-200 characters is required",
                )
            )
            continue
        when = cell("answered_at")
        try:
            answered = _parse_time(when or None, "answered_at", now)
        except InvalidVote as error:
            result.errors.append(
                VoteRowError(
                    row_number,
                    names.get("answered_at", "answered_at"),
                    when,
                    error.message.split(": ", 1)[-1],
                )
            )
            continue
        votes.append(Vote(option_id, respondent, answered))
    if result.rows == 0:
        raise CsvRefused("The file has a header but no rows.")
    if result.errors:
        return result
    result.recorded = _upsert_votes(session, poll_id, VoteSource.CSV, votes, now)
    result.applied = True
    return result
