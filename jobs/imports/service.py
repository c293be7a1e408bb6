"""The importer's front door: dry run, apply, and the history — for the CLI and the page.

    result = dry_run(data, ImportOptions(brand_code="NRD", warehouse_code="WH1"))
    result = apply_import(data, ImportOptions(..., actor="ana@…", skip_invalid=True))

Both take the file's bytes and return an `ImportResult` (plain data); neither raises for
bad input — a refusal is a result with status "refused" and a message. A dry run writes
nothing at all. An apply is one transaction: it re-plans under lock, writes the
`ImportRun` row, the catalogue and every balance with its ledger row, and commits; or it
rolls back everything and then records the refused or failed attempt on its own.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select, text
from sqlmodel import Session

from jobs.imports.apply import write_plan
from jobs.imports.formats import Feed, Format, build_feed, detect_format
from jobs.imports.lookups import all_warehouses
from jobs.imports.mappings import get_mapping, suggest_mapping
from jobs.imports.plan import SAMPLE_SIZE, Plan, Target, make_plan
from jobs.imports.reading import DEFAULT_LIMITS, ImportLimits, RawTable, read_table
from jobs.imports.results import (
    AttributeDiff,
    ImportRefused,
    ImportResult,
    ImportRunRow,
    ImportWarning,
    Progress,
    RowError,
)
from jobs.imports.validate import errors_from_json, errors_to_json
from models.base import utcnow
from models.catalog import Brand, brand_by_code, warehouse_by_code
from models.db import get_engine, read_session, transaction
from models.errors import DomainError
from models.events import EventType, emit
from models.imports import ImportRun, ImportStatus
from models.sizes import parse_size_hint

log = logging.getLogger(__name__)

#: Errors kept on an ImportRun row (the count is always exact).
STORED_ERRORS = 1_000
#: First key of PostgreSQL's two-key advisory lock that serialises one brand's imports.
_LOCK_KEY = 0x494D50


@dataclass(frozen=True, slots=True)
class ImportOptions:
    brand_code: str
    #: "shopify-products", "shopify-inventory", "mapped", or None to detect from headers.
    format: str | None = None
    mapping_name: str | None = None
    #: Where quantities without a location go (required for Shopify product exports).
    warehouse_code: str | None = None
    file_name: str = ""
    actor: str = "system"
    skip_invalid: bool = False
    limits: ImportLimits = DEFAULT_LIMITS
    sample_size: int = SAMPLE_SIZE
    #: Name the brand that owns a refused SKU/barcode (staff); vendors get no name.
    reveal_owner: bool = True
    #: The person has read the dry run's warnings and applies anyway.
    accept_warnings: bool = False
    #: One of `reading.ENCODINGS`: "auto" detects, any other is used as chosen.
    encoding: str = "auto"


class _Refusal(Exception):
    """Raised inside the apply transaction to roll it back with a plan's errors."""

    def __init__(self, plan: Plan, message: str, *, record: bool = True) -> None:
        super().__init__(message)
        self.plan = plan
        self.message = message
        #: Keep the attempt in the history (not for warnings nobody confirmed: like a
        #: dry run, that writes nothing at all).
        self.record = record


def dry_run(
    data: bytes,
    options: ImportOptions,
    *,
    engine: Engine | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """What applying `data` would do, with every row error. Writes nothing."""
    started = time.perf_counter()
    engine = engine or get_engine()
    result = _new_result(data, options, "dry_run")
    report = _reporter(progress)
    try:
        raw = _read(data, options, result, report)
        with read_session(engine) as session:
            brand = brand_by_code(session, options.brand_code.strip().upper())
            result.brand_code = brand.code
            feed, target = _prepare(session, brand, raw, options, result)
            report("planning", 0.0)
            plan = make_plan(session, feed, target, progress=_scaled(report, "planning"))
            already = _applied_run(session, brand.id, result.sha256)
        _fill(result, plan)
        if already is not None:
            result.already_applied_as = already
            result.message = f"This file was already applied as import {already}; applying it "
            result.message += "again changes nothing."
        elif plan.errors and not options.skip_invalid:
            result.message = (
                f"{plan.counts.errors:,} error(s) in {plan.counts.invalid_rows:,} row(s): fix "
                "them, or apply with 'skip invalid rows' to import the other rows."
            )
        elif plan.warnings:
            result.message = (
                f"{len(plan.warnings)} warning(s) to check: applying needs an explicit "
                "confirmation that you have checked them."
            )
    except DomainError as error:
        result.status, result.message = "refused", error.message
    result.seconds = time.perf_counter() - started
    report("done", 1.0)
    return result


def apply_import(
    data: bytes,
    options: ImportOptions,
    *,
    engine: Engine | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Apply `data` all-or-nothing (or without its invalid rows), in one transaction."""
    started = time.perf_counter()
    engine = engine or get_engine()
    result = _new_result(data, options, "applied")
    report = _reporter(progress)
    brand_id: int | None = None
    try:
        with read_session(engine) as session:
            brand = brand_by_code(session, options.brand_code.strip().upper())
            brand_id, result.brand_code = brand.id, brand.code
        raw = _read(data, options, result, report)
        with transaction(engine) as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _LOCK_KEY, "b": brand_id}
                )
            brand = session.get(Brand, brand_id)
            assert brand is not None
            already = _applied_run(session, brand.id, result.sha256)
            if already is not None:
                result.status, result.already_applied_as = "already_applied", already
                result.message = f"Already applied as import {already}; nothing changed."
                result.seconds = time.perf_counter() - started
                return result
            feed, target = _prepare(session, brand, raw, options, result)
            report("planning", 0.0)
            plan = make_plan(session, feed, target, progress=_scaled(report, "planning"), lock=True)
            _fill(result, plan)
            if plan.errors and not options.skip_invalid:
                raise _Refusal(
                    plan,
                    f"Nothing was applied: {plan.counts.errors:,} error(s) in "
                    f"{plan.counts.invalid_rows:,} row(s). Fix them, or apply with 'skip "
                    "invalid rows'.",
                )
            if plan.warnings and not options.accept_warnings:
                raise _Refusal(plan, warnings_refusal(plan.warnings), record=False)
            run = _run_row(brand.id, options, result, ImportStatus.APPLIED, target)
            session.add(run)
            session.flush()
            assert run.id is not None
            result.import_id = run.id
            report("writing", 0.0)
            write_plan(
                session,
                plan,
                brand_id=brand.id,
                import_id=run.id,
                actor=options.actor,
                progress=_scaled(report, "writing"),
            )
            if plan.errors:
                result.message = (
                    f"Skipped {plan.counts.invalid_rows:,} invalid row(s) "
                    f"({plan.counts.errors:,} error(s))."
                )
            run.message = result.message[:1000]
            run.finished_at = utcnow()
            c = result.counts
            emit(
                session,
                EventType.IMPORT_APPLIED,
                {
                    "import_id": run.id,
                    "brand": brand.code,
                    "file_name": options.file_name,
                    "format": run.format,
                    "rows": c.rows,
                    "changed_balances": c.changed_balances,
                    "new_products": c.new_products,
                    "new_variants": c.new_variants,
                    "invalid_rows": c.invalid_rows,
                    "actor": options.actor,
                },
                brand_id=brand.id,
                now=run.finished_at,
            )
    except _Refusal as refusal:
        result.status, result.message = "refused", refusal.message
        if refusal.record:
            result.import_id = _record(engine, brand_id, options, result, ImportStatus.REFUSED)
    except DomainError as error:
        result.status, result.message = "refused", error.message
        if brand_id is not None:
            result.import_id = _record(engine, brand_id, options, result, ImportStatus.REFUSED)
    except Exception as error:  # the apply rolled back; say so and keep the history
        log.exception("import of %s for %s failed", options.file_name, options.brand_code)
        result.status = "failed"
        result.message = f"The import failed and nothing was applied: {error}"[:1000]
        result.import_id = None
        if brand_id is not None:
            result.import_id = _record(engine, brand_id, options, result, ImportStatus.FAILED)
    result.seconds = time.perf_counter() - started
    report("done", 1.0)
    return result


# --- history --------------------------------------------------------------------------


def list_imports(
    session: Session, *, brand_id: int | None = None, limit: int = 50, offset: int = 0
) -> list[ImportRunRow]:
    """Import history, newest first (one brand's, or all)."""
    query = (
        select(ImportRun, Brand.code)
        .join(Brand, Brand.id == ImportRun.brand_id)
        .order_by(ImportRun.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if brand_id is not None:
        query = query.where(ImportRun.brand_id == brand_id)
    return [
        ImportRunRow(
            id=run.id,
            brand_code=code,
            actor=run.actor,
            file_name=run.file_name,
            format=run.format,
            mapping_name=run.mapping_name,
            status=run.status,
            rows=run.rows,
            new_products=run.new_products,
            new_variants=run.new_variants,
            changed_balances=run.changed_balances,
            error_count=run.error_count,
            message=run.message,
            created_at=run.created_at,
            finished_at=run.finished_at,
            reverted_at=run.reverted_at,
            reverted_by=run.reverted_by,
        )
        for run, code in session.execute(query)
    ]


def import_errors(session: Session, import_id: int) -> list[RowError]:
    """The errors stored with a run (the first `STORED_ERRORS`)."""
    run = session.get(ImportRun, import_id)
    return errors_from_json(run.errors) if run is not None else []


# --- the steps ---------------------------------------------------------------------------


def warnings_refusal(warnings: list[ImportWarning]) -> str:
    """Why an apply with unconfirmed warnings was refused, every warning named."""
    listed = " ".join(f"({n}) {w.describe()}" for n, w in enumerate(warnings, 1))
    return (
        f"Nothing was applied: the file has {len(warnings)} warning(s) to check first. "
        f"{listed} Apply again confirming that you have checked them "
        "(--accept-warnings)."
    )


def _new_result(data: bytes, options: ImportOptions, status: str) -> ImportResult:
    return ImportResult(
        status=status,
        brand_code=options.brand_code.strip().upper(),
        format=options.format or ("mapped" if options.mapping_name else ""),
        file_name=options.file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        mapping_name=options.mapping_name,
        warehouse_code=options.warehouse_code,
        skip_invalid=options.skip_invalid,
    )


def _reporter(progress: Progress | None) -> Progress:
    return progress or (lambda _phase, _fraction: None)


def _scaled(report: Progress, phase: str) -> Progress:
    return lambda _phase, fraction: report(phase, fraction)


def _read(data: bytes, options: ImportOptions, result: ImportResult, report: Progress) -> RawTable:
    report("reading", 0.0)
    raw = read_table(data, options.limits, encoding=options.encoding)
    result.encoding, result.delimiter = raw.encoding, raw.delimiter_name
    fmt = _format(options, raw.headers)
    result.format = fmt.value
    report("reading", 1.0)
    return raw


def _format(options: ImportOptions, headers: list[str]) -> Format:
    if options.format:
        try:
            return Format(options.format)
        except ValueError:
            known = ", ".join(f.value for f in Format)
            raise ImportRefused(f"Unknown format {options.format!r}; use one of {known}.") from None
    if options.mapping_name:
        return Format.MAPPED
    detected = detect_format(headers)
    if detected is None:
        guess = suggest_mapping(headers)
        hint = ", ".join(f"{field} ← {header!r}" for field, header in guess.items())
        raise ImportRefused(
            "These columns are not a Shopify product or inventory export. Choose a saved "
            "column mapping for this brand, or create one"
            + (f" (suggested: {hint})." if hint else "."),
            suggestion=guess,
        )
    return detected


def _prepare(
    session: Session,
    brand: Brand,
    raw: RawTable,
    options: ImportOptions,
    result: ImportResult,
) -> tuple[Feed, Target]:
    fmt = Format(result.format)
    mapping = None
    if fmt is Format.MAPPED:
        if not options.mapping_name:
            raise ImportRefused("A mapped import needs a saved column mapping: choose one.")
        mapping = get_mapping(session, brand.id, options.mapping_name)
    feed = build_feed(raw, fmt, mapping)
    default_id = None
    if options.warehouse_code:
        default_id = warehouse_by_code(session, options.warehouse_code.strip().upper()).id
    if fmt is Format.SHOPIFY_PRODUCTS and feed.has_quantity and default_id is None:
        raise ImportRefused(
            "A Shopify product export has no locations: choose the warehouse its "
            "quantities are for."
        )
    target = Target(
        brand_id=brand.id,
        brand_code=brand.code,
        warehouses=all_warehouses(session),
        default_warehouse_id=default_id,
        sample_size=options.sample_size,
        reveal_owner=options.reveal_owner,
        brand_name=brand.name,
        size_hint=parse_size_hint(brand.size_system_hint),
    )
    return feed, target


def _fill(result: ImportResult, plan: Plan) -> None:
    result.counts = plan.counts
    result.errors = plan.errors
    result.sample = plan.sample
    result.warnings = plan.warnings
    result.attribute_sample = [
        AttributeDiff(change.row, change.title or change.style, *fields)
        for change in plan.attribute_changes[:SAMPLE_SIZE]
        for fields in change.changed()
    ]


def _applied_run(session: Session, brand_id: int, sha256: str) -> int | None:
    return session.scalar(
        select(ImportRun.id)
        .where(
            ImportRun.brand_id == brand_id,
            ImportRun.sha256 == sha256,
            ImportRun.status == ImportStatus.APPLIED.value,
            ImportRun.reverted_at.is_(None),  # a reverted file may be applied again
        )
        .order_by(ImportRun.id)
        .limit(1)
    )


def _run_row(
    brand_id: int,
    options: ImportOptions,
    result: ImportResult,
    status: ImportStatus,
    target: Target | None = None,
) -> ImportRun:
    c = result.counts
    return ImportRun(
        brand_id=brand_id,
        actor=options.actor[:200],
        file_name=options.file_name[:255],
        sha256=result.sha256,
        format=(result.format or "unknown")[:32],
        mapping_name=options.mapping_name,
        warehouse_id=target.default_warehouse_id if target else None,
        status=status.value,
        skip_invalid=options.skip_invalid,
        rows=c.rows,
        new_products=c.new_products,
        new_variants=c.new_variants,
        new_aliases=c.new_aliases,
        changed_balances=c.changed_balances,
        unchanged=c.unchanged,
        error_count=c.errors,
        invalid_rows=c.invalid_rows,
        message=result.message[:1000],
        errors=errors_to_json(result.errors, STORED_ERRORS),
        finished_at=utcnow(),
    )


def _record(
    engine: Engine,
    brand_id: int | None,
    options: ImportOptions,
    result: ImportResult,
    status: ImportStatus,
) -> int | None:
    """Keep a refused or failed attempt in the history (its own small transaction)."""
    if brand_id is None:
        return None
    try:
        with transaction(engine) as session:
            run = _run_row(brand_id, options, result, status)
            session.add(run)
            session.flush()
            return run.id
    except Exception:  # the history is a courtesy; never hide the real outcome
        log.exception("could not record the %s import of %s", status, options.file_name)
        return None
