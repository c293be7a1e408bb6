"""The /imports page's blocking work: uploaded files on disk, and the reads it needs.

Uploaded feeds live under `var/uploads/imports/` (git-ignored, and not Reflex's own
upload folder, which the backend serves to anyone who knows a file's name). Each upload
gets a random name; the person's file name is only shown and recorded in the history.
Files older than `KEEP_FOR` are swept away on the next upload.

Everything here blocks (disk, SQL, polars): the page state calls it through
`rx.run_in_thread`, never on the event loop — except `receive_into`, which is a
coroutine that consumes the streamed upload chunk by chunk.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from dashboard.states import upload_stream
from dashboard.states.upload_stream import Received
from jobs.imports import (
    Format,
    ImportLimits,
    ImportRunRow,
    MappingSpec,
    RowError,
    detect_format,
    get_mapping,
    import_errors,
    list_imports,
    list_mappings,
    save_mapping,
)
from jobs.imports.reading import MB, read_table
from jobs.imports.validate import errors_from_json, errors_to_json
from models.admin import PAGE_SIZE, Page, brand_choices
from models.catalog import Brand, Warehouse, brand_by_code
from models.db import DATA_DIR
from models.imports import ImportRun

UPLOAD_DIR = DATA_DIR / "uploads" / "imports"
#: How long an uploaded file is kept for a dry run and apply before it is swept away.
KEEP_FOR_SECONDS = 24 * 3600
#: The importer's limits (size, columns, rows); the drop zone refuses larger files too.
LIMITS = ImportLimits()
#: Distinct values kept per column to hint at a mapping's size/colour/location labels.
VALUES_PER_COLUMN = 12
#: Columns looked at for those hints (a 500-column file needs no hints for all of them).
MAX_HINTED_COLUMNS = 200

FORMAT_LABELS = {
    Format.SHOPIFY_PRODUCTS.value: "Shopify product export",
    Format.SHOPIFY_INVENTORY.value: "Shopify inventory export",
    Format.MAPPED.value: "CSV with a saved mapping",
}


def size_label(size: int) -> str:
    """ "820 bytes", "12.4 KB", "3.1 MB"."""
    if size < 1024:
        return f"{size:,} bytes"
    if size < MB:
        return f"{size / 1024:,.1f} KB"
    if size % MB == 0:
        return f"{size // MB:,} MB"
    return f"{size / MB:,.1f} MB"


def too_big_message(limit: int = LIMITS.max_bytes) -> str:
    return (
        f"The file is larger than {size_label(limit)}, the most Rackroom reads in one "
        "import. Split it into smaller files, or ask an admin to raise the limit."
    )


# --- files on disk ------------------------------------------------------------------------


def new_upload_path() -> Path:
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    return UPLOAD_DIR / f"{uuid.uuid4().hex}.csv"


def errors_path(upload: str | Path) -> Path:
    return Path(upload).with_suffix(".errors.json")


def is_upload(path: str) -> bool:
    """Only files this module named are ever read or deleted."""
    if not path:
        return False
    candidate = Path(path)
    return candidate.parent == UPLOAD_DIR and candidate.suffix == ".csv"


def discard(path: str) -> None:
    """Delete an upload and its stored errors (nothing when `path` is not an upload)."""
    if not is_upload(path):
        return
    for file in (Path(path), errors_path(path)):
        with contextlib.suppress(FileNotFoundError):
            file.unlink()


def sweep_old_uploads(now: float | None = None) -> int:
    """Delete uploads older than `KEEP_FOR_SECONDS`; returns how many files went."""
    if not UPLOAD_DIR.exists():
        return 0
    cutoff = (now if now is not None else time.time()) - KEEP_FOR_SECONDS
    removed = 0
    for file in UPLOAD_DIR.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if file.is_file() and file.stat().st_mtime < cutoff:
                file.unlink()
                removed += 1
    return removed


async def receive_into(
    path: Path, chunks: AsyncIterator[Any], max_bytes: int = LIMITS.max_bytes
) -> Received:
    """Write a streamed upload to `path`, stopping as soon as it passes `max_bytes`
    (`dashboard.states.upload_stream`); a refused or failed file is removed."""
    return await upload_stream.receive_into(path, chunks, max_bytes, too_big_message(max_bytes))


@dataclass(frozen=True, slots=True)
class FileFacts:
    headers: list[str]
    #: The detected layout ("shopify-products", "shopify-inventory") or "".
    format: str
    encoding: str
    delimiter: str


def describe_file(path: str) -> FileFacts:
    """The file's header row and layout; raises ImportRefused (empty, binary, too wide…)."""
    if not is_upload(path):
        raise FileNotFoundError(path)
    raw = read_table(Path(path).read_bytes(), LIMITS, headers_only=True)
    detected = detect_format(raw.headers)
    return FileFacts(
        raw.headers, detected.value if detected else "", raw.encoding, raw.delimiter_name
    )


def column_values(path: str, per_column: int = VALUES_PER_COLUMN) -> dict[str, list[str]]:
    """header → its first distinct non-blank values (for a mapping's value hints)."""
    if not is_upload(path):
        return {}
    try:
        raw = read_table(Path(path).read_bytes(), LIMITS)
    except Exception:  # a refused file simply has no hints; the dry run says why
        return {}
    values: dict[str, list[str]] = {}
    for index, header in enumerate(raw.headers[:MAX_HINTED_COLUMNS]):
        column = raw.frame.get_column(raw.column(index))
        seen = column.filter(column != "").unique(maintain_order=True).head(per_column)
        values[header] = [str(v) for v in seen.to_list()]
    return values


def save_errors(upload: str, errors: list[RowError]) -> None:
    if is_upload(upload):
        errors_path(upload).write_text(json.dumps(errors_to_json(errors)), encoding="utf-8")


def load_errors(upload: str) -> list[RowError]:
    if not is_upload(upload):
        return []
    try:
        return errors_from_json(json.loads(errors_path(upload).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return []


# --- database reads and writes (each takes a session) -------------------------------------


def brand_code_of(session: Session, brand_id: int) -> str:
    brand = session.get(Brand, brand_id)
    return brand.code if brand is not None else ""


def page_choices(
    session: Session, brand_scope: int | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(brands, warehouses) as (code, name): a vendor's own brand only; active warehouses."""
    if brand_scope is None:
        brands = brand_choices(session)
    else:
        brand = session.get(Brand, brand_scope)
        brands = [(brand.code, brand.name)] if brand is not None else []
    warehouses = [
        (code, name)
        for code, name in session.execute(
            select(Warehouse.code, Warehouse.name)
            .where(Warehouse.is_active.is_(True))
            .order_by(Warehouse.priority, Warehouse.code)
        )
    ]
    return brands, warehouses


def brand_mappings(session: Session, brand_code: str) -> list[str]:
    if not brand_code:
        return []
    return list_mappings(session, brand_by_code(session, brand_code).id)


def mapping_of(session: Session, brand_code: str, name: str) -> MappingSpec:
    return get_mapping(session, brand_by_code(session, brand_code).id, name)


def store_mapping(session: Session, brand_code: str, name: str, spec: MappingSpec) -> str:
    """Save (create or replace) the brand's mapping; returns its name as stored."""
    return save_mapping(session, brand_by_code(session, brand_code).id, name, spec).name


def history_page(
    session: Session, brand_scope: int | None, *, offset: int = 0, limit: int = PAGE_SIZE
) -> Page[ImportRunRow]:
    """One page of the import history, newest first (one brand's, or every brand's)."""
    count = select(func.count()).select_from(ImportRun)
    if brand_scope is not None:
        count = count.where(ImportRun.brand_id == brand_scope)
    total = int(session.scalar(count) or 0)
    rows = list_imports(session, brand_id=brand_scope, limit=limit, offset=offset)
    return Page(rows=rows, total=total, offset=offset, limit=limit)


def run_with_errors(
    session: Session, run_id: int, brand_scope: int | None
) -> tuple[ImportRun, list[RowError]] | None:
    """A run and its stored errors, or None when it does not exist or is not visible."""
    run = session.get(ImportRun, run_id)
    if run is None or (brand_scope is not None and run.brand_id != brand_scope):
        return None
    return run, import_errors(session, run_id)
