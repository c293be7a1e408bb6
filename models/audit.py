"""The audit log: who changed a user, a brand, a warehouse, an API key, a connector, a
webhook or an alert rule, when, and what changed.

Each entry is written by the domain operation that makes the change, in the same
transaction, so a change that rolls back leaves no entry and no change goes unrecorded.
Like the stock ledger the log is history: this module has no function that updates or
deletes an entry, and the database refuses UPDATE and DELETE on the table (a trigger,
migration 0014). Secrets never reach it: a field named like a secret is recorded only as
"secret replaced" (or "secret set" / "secret removed").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Index, func, select
from sqlmodel import Field, Session, SQLModel

from models.base import BigIntId, UTCDateTime, utcnow
from models.csv_safety import safe_cell
from models.errors import InvalidQuantity

if TYPE_CHECKING:
    from models.admin import Page

#: Who made a change when no person or key did (a scheduled job, a migration, a test).
SYSTEM = "system"
#: The actor of changes made from the command line.
CLI = "cli"
#: What an entry says instead of a secret's value.
SECRET_REPLACED = "secret replaced"  # noqa: S105 (the words shown, not a secret)
SECRET_SET, SECRET_REMOVED = "secret set", "secret removed"
#: The only words a secret field may hold; anything else is replaced by SECRET_REPLACED.
SECRET_PHRASES = frozenset({SECRET_SET, SECRET_REPLACED, SECRET_REMOVED})
#: Field names whose values are never recorded (compared lower-case, as substrings).
SECRET_WORDS = ("password", "secret", "token", "key_hash", "api_key")
#: The most rows one CSV export of the log holds; a larger selection is refused.
EXPORT_MAX_ROWS = 50_000
#: How long a recorded value may be; longer ones are cut (the log is not a backup).
MAX_VALUE_CHARS = 500


class AuditEntry(SQLModel, table=True):
    """One administrative change. Rows are never updated or deleted (a trigger refuses)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: A user's email, `api:<key name>`, "cli" or "system".
    actor: str = Field(max_length=254, index=True)
    #: `area.verb`, e.g. `user.role_changed`, `api_key.revoked`.
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=32)
    target_id: str = Field(default="", max_length=64)
    #: A short name for the target as it was at the time (an email, a brand code...).
    target_label: str = Field(default="", max_length=200)
    #: {field: {"old": ..., "new": ...}} or {field: value}; never a secret's value.
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def is_secret_field(name: str) -> bool:
    """Whether a field's values must never be recorded."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _plain(value: Any) -> Any:
    """A value as JSON can hold it, short."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(item) for item in items]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _scrub(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` with every secret's value replaced by words saying what happened."""
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if not is_secret_field(name):
            clean[name] = _plain(value)
        elif isinstance(value, str) and value in SECRET_PHRASES:
            clean[name] = value
        elif isinstance(value, Mapping) and set(value) == {"old", "new"}:
            if value["old"] is None and value["new"] is not None:
                clean[name] = SECRET_SET
            elif value["new"] is None and value["old"] is not None:
                clean[name] = SECRET_REMOVED
            else:
                clean[name] = SECRET_REPLACED
        else:
            clean[name] = SECRET_REPLACED
    return clean


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{field: {"old": ..., "new": ...}} for every field whose value changed."""
    return {
        name: {"old": before.get(name), "new": after.get(name)}
        for name in after
        if before.get(name) != after.get(name)
    }


def fields_of(obj: Any, *names: str) -> dict[str, Any]:
    """The named attributes of `obj` as plain values (a "before" or "after" picture)."""
    return {name: _plain(getattr(obj, name)) for name in names}


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    target_type: str,
    target_id: object = "",
    label: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the log, in the caller's transaction (written with the change)."""
    entry = AuditEntry(
        at=utcnow(),
        actor=(str(actor or SYSTEM).strip() or SYSTEM)[:254],
        action=action[:64],
        target_type=target_type[:32],
        target_id=str(target_id if target_id is not None else "")[:64],
        target_label=str(label or "")[:200],
        changes=_scrub(changes or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def record_update(
    session: Session, actor: str, row: Any, before: Mapping[str, Any], fields: Sequence[str]
) -> None:
    """The `<table>.updated` entry of a change to `row` (labelled by its code): its
    `fields` that differ from `before`, their values when the change began; no entry
    when nothing differs."""
    if changes := diff(before, fields_of(row, *fields)):
        table = row.__tablename__
        where = {"target_type": table, "target_id": row.id, "label": row.code}
        record(session, actor, f"{table}.updated", **where, changes=changes)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to show: an exact action, an actor (part of it), a date range (UTC)."""

    action: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(
        cls, action: str = "", actor: str = "", since: str = "", until: str = ""
    ) -> AuditFilter:
        """From form or query text; a malformed date is refused naming the field."""
        first, last = _day(since, "from"), _day(until, "to")
        if first and last and last < first:
            raise InvalidQuantity(
                f"The end date {last.isoformat()} is before the start date {first.isoformat()}.",
                field="to",
            )
        return cls(action.strip()[:64], actor.strip()[:254], first, last)

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.actor:
            pattern = "%" + _escape_like(self.actor.lower()) + "%"
            found.append(func.lower(AuditEntry.actor).like(pattern, escape="\\"))
        if self.since:
            found.append(AuditEntry.at >= datetime.combine(self.since, time(), tzinfo=UTC))
        if self.until:
            end = datetime.combine(self.until + timedelta(days=1), time(), tzinfo=UTC)
            found.append(AuditEntry.at < end)
        return found

    def to_params(self) -> dict[str, str]:
        params = {
            "action": self.action,
            "actor": self.actor,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in params.items() if v}


def _day(text: str, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQuantity(
            f"{'From' if field == 'from' else 'To'} date {text[:40]!r} is not a date "
            "like 2026-12-05.",
            field=field,
        ) from None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _query(f: AuditFilter):
    query = select(AuditEntry)
    for condition in f.conditions():
        query = query.where(condition)
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def list_audit(
    session: Session,
    *,
    filters: AuditFilter | None = None,
    offset: int = 0,
    limit: int = 25,
) -> Page[AuditEntry]:
    """Entries newest first, one page of them, with how many the filters select."""
    from models.admin import Page

    f = filters or AuditFilter()
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    count = select(func.count()).select_from(AuditEntry)
    for condition in f.conditions():
        count = count.where(condition)
    rows = list(session.scalars(_query(f).offset(offset).limit(limit)))
    return Page(rows=rows, total=int(session.scalar(count) or 0), offset=offset, limit=limit)


def audit_actions(session: Session) -> list[str]:
    """Every action the log holds, alphabetically (the action filter's choices)."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def count_audit(session: Session, f: AuditFilter) -> int:
    count = select(func.count()).select_from(AuditEntry)
    for condition in f.conditions():
        count = count.where(condition)
    return int(session.scalar(count) or 0)


CSV_HEADER = ("at", "actor", "action", "target_type", "target_id", "target", "changes")


def describe_changes(changes: Mapping[str, Any]) -> str:
    """ "role: merchandiser → manager; password: secret replaced" for lists and CSV."""
    parts = []
    for name, value in changes.items():
        if isinstance(value, Mapping) and set(value) == {"old", "new"}:
            parts.append(f"{name}: {_shown(value['old'])} → {_shown(value['new'])}")
        else:
            parts.append(f"{name}: {_shown(value)}")
    return "; ".join(parts)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def iter_audit_csv(
    session: Session, f: AuditFilter, *, max_rows: int = EXPORT_MAX_ROWS, chunk: int = 500
) -> Iterator[str]:
    """The selected entries as CSV text, a few hundred rows a chunk, newest first.

    The size is checked before the first chunk: too many rows raise InvalidQuantity, so
    a file is never cut short. Every cell is neutralised against spreadsheet formulas.
    """
    total = count_audit(session, f)
    if total > max_rows:
        raise InvalidQuantity(
            f"The selection has {total:,} entries; an export holds at most {max_rows:,}. "
            "Narrow the dates or filters.",
            field="rows",
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for n, entry in enumerate(session.scalars(_query(f).execution_options(yield_per=chunk)), 1):
        writer.writerow(
            [
                safe_cell(entry.at.isoformat()),
                safe_cell(entry.actor),
                safe_cell(entry.action),
                safe_cell(entry.target_type),
                safe_cell(entry.target_id),
                safe_cell(entry.target_label),
                safe_cell(describe_changes(entry.changes or {})),
            ]
        )
        if n % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
