"""Turn an uploaded file's bytes into a table of strings, whatever its encoding and delimiter.

Vendors' files come from Shopify (UTF-8, comma), Excel on Windows (Windows-1252,
semicolon in much of Europe, sometimes a UTF-8 BOM) and "Unicode text" exports (UTF-16,
tab). We decode to text once (detected, or in the encoding the person chose: see
`ENCODINGS`), sniff the delimiter from the first lines, and let polars
parse everything as strings (quoted fields with newlines, CRLF, a missing final newline).

Rows keep their spreadsheet number: the header is row 1, so the first record is row 2,
and a record with a newline inside quotes still counts as one row.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobs.imports.results import ImportRefused

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportLimits:
    max_bytes: int = 50 * MB
    max_columns: int = 500
    max_rows: int = 1_000_000


DEFAULT_LIMITS = ImportLimits()
#: The encodings a person may choose instead of detection ("auto").
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16")
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
#: Column name of the spreadsheet row number in a RawTable's frame.
ROW = "__row"
#: The cells of a row beyond the header's last column, joined ("" when none): a row
#: with more cells than the header is an error naming that row, never silently cut.
EXTRA = "__extra"
#: How many cells past the header are looked at (a row's later extras are cut unseen).
_EXTRA_SLOTS = 4


@dataclass(frozen=True, slots=True)
class RawTable:
    """A parsed file: its headers as written, and a frame of string columns c0, c1, …

    `frame` also has `ROW` (the spreadsheet row number); fully blank lines are dropped.
    """

    headers: list[str]
    frame: pl.DataFrame
    encoding: str
    delimiter: str

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def column(self, index: int) -> str:
        return f"c{index}"


def load_file(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> bytes:
    """Read a file from disk, refusing before reading when it is over the size limit."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImportRefused(f"Cannot read {path.name}: {error.strerror}.", file=str(path)) from None
    _check_size(size, limits)
    return path.read_bytes()


def _check_size(size: int, limits: ImportLimits) -> None:
    if size > limits.max_bytes:
        raise ImportRefused(
            f"The file is {size / MB:,.1f} MB; the limit is {limits.max_bytes / MB:,.0f} MB. "
            "Split it into smaller files or ask an admin to raise the limit.",
            size=size,
            limit=limits.max_bytes,
        )


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The file's text and the encoding it was in.

    "auto" detects: BOMs win (UTF-8, UTF-16); then strict UTF-8; then Windows-1252, with
    Latin-1 for the five bytes Windows-1252 leaves undefined. Any other of `ENCODINGS`
    is used as chosen, strictly: a byte it cannot read refuses the file, naming the byte,
    its offset and line. Bytes that look like a binary file (NUL, or many control
    characters) are refused, except in UTF-16, where every other byte of ASCII is NUL.
    """
    if encoding not in ENCODINGS:
        raise ImportRefused(
            f"Unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}.",
            encoding=encoding,
        )
    if encoding == "auto":
        return _detect(data)
    if encoding != "utf-16":
        _refuse_binary(data, f" It is not {encoding} text either: is it UTF-16? Try Auto.")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _undecodable(data, encoding, error) from None
    return text.removeprefix("\ufeff"), encoding


def _detect(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(name), "utf-16"
            except UnicodeDecodeError:
                break
    _refuse_binary(data)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _refuse_binary(data: bytes, advice: str = "") -> None:
    head = data[:65536]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if b"\x00" in head or controls > max(8, len(head) // 100):
        raise ImportRefused(
            "This is not a CSV file (it looks binary). Export the sheet as CSV and upload that."
            + advice,
        )


def _undecodable(data: bytes, encoding: str, error: UnicodeDecodeError) -> ImportRefused:
    """Which byte the chosen encoding cannot read, where, and what to try instead."""
    offset = error.start
    before = data[:offset]
    if encoding == "utf-16":
        line = before.decode("utf-16", errors="replace").count("\n") + 1
    else:
        line = before.count(b"\n") + 1
    bad = data[offset : max(error.end, offset + 1)][:4].hex(" ").upper()
    return ImportRefused(
        f"The file cannot be read as {encoding}: byte {bad} at offset {offset:,} (line "
        f"{line:,}) is not valid {encoding} ({error.reason}). Choose the encoding the file "
        "was saved in (Excel on Windows saves cp1252), or Auto to detect it.",
        encoding=encoding,
        offset=offset,
        line=line,
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of fields."""
    sample = text[:65536]
    lines = sample.splitlines(keepends=True)[:30]
    if len(sample) == 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("".join(lines)), delimiter=delimiter))
        except csv.Error:
            continue
        rows = [r for r in rows if any(cell.strip() for cell in r)]
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width)
        score = (consistent if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_headers(
    data: bytes, limits: ImportLimits = DEFAULT_LIMITS, *, encoding: str = "auto"
) -> list[str]:
    """Just the header row (for building a column mapping from the file's own headers)."""
    return read_table(data, limits, headers_only=True, encoding=encoding).headers


def read_table(
    data: bytes,
    limits: ImportLimits = DEFAULT_LIMITS,
    *,
    headers_only: bool = False,
    encoding: str = "auto",
) -> RawTable:
    """Parse `data` into a RawTable, or raise ImportRefused saying what is wrong.

    `encoding` is one of `ENCODINGS`: "auto" detects, any other is used strictly."""
    _check_size(len(data), limits)
    if not data.strip():
        raise ImportRefused("The file is empty.")
    text, encoding = decode(data, encoding)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ImportRefused("The file is empty.")
    delimiter = sniff_delimiter(text)
    headers = _header_row(text, delimiter, limits)
    if headers_only:
        return RawTable(headers, pl.DataFrame(), encoding, delimiter)
    names = [f"c{i}" for i in range(len(headers))]
    slots = [f"__x{i}" for i in range(_EXTRA_SLOTS)]
    try:
        frame = pl.read_csv(
            text.encode("utf-8"),
            has_header=False,
            separator=delimiter,
            schema={name: pl.String for name in names + slots},
            missing_columns="insert",
            truncate_ragged_lines=True,
            row_index_name=ROW,
            row_index_offset=1,
            raise_if_empty=False,
            n_rows=limits.max_rows + 2,
        )
    except pl.exceptions.PolarsError as error:
        raise ImportRefused(f"The file could not be read as CSV: {error}".splitlines()[0]) from None
    frame = frame.filter(pl.col(ROW) > 1)  # the header row, read by _header_row
    if frame.height > limits.max_rows:
        raise ImportRefused(
            f"The file has more than {limits.max_rows:,} rows; split it into smaller files.",
            limit=limits.max_rows,
        )
    frame = frame.with_columns(
        pl.col(ROW).cast(pl.Int64),
        *[pl.col(name).fill_null("").str.strip_chars() for name in names],
        pl.concat_str(
            [pl.col(slot).str.strip_chars().replace("", None) for slot in slots],
            separator=delimiter,
            ignore_nulls=True,
        )
        .fill_null("")
        .alias(EXTRA),
    ).drop(slots)
    frame = frame.filter(pl.any_horizontal([pl.col(name) != "" for name in [*names, EXTRA]]))
    if frame.height == 0:
        raise ImportRefused(
            "The file has a header row but no data rows.", headers=len(headers)
        )
    return RawTable(headers, frame, encoding, delimiter)


def _header_row(text: str, delimiter: str, limits: ImportLimits) -> list[str]:
    first = text[: 4 * MB]
    try:
        row = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    except (StopIteration, csv.Error) as error:
        raise ImportRefused(f"The header row could not be read: {error}.") from None
    if len(row) > limits.max_columns:
        raise ImportRefused(
            f"The file has {len(row):,} columns; at most {limits.max_columns:,} are accepted. "
            "Is it the right file, and is the delimiter right?",
            columns=len(row),
            limit=limits.max_columns,
        )
    headers = [" ".join(h.split()) or f"Column {i + 1}" for i, h in enumerate(row)]
    if not any(h.strip() for h in row):
        raise ImportRefused("The first row is empty; it should name the columns.")
    seen: dict[str, int] = {}
    unique = []
    for header in headers:
        key = header.lower()
        seen[key] = seen.get(key, 0) + 1
        unique.append(header if seen[key] == 1 else f"{header} ({seen[key]})")
    return unique
