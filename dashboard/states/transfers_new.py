"""The new-transfer dialog: source and destination, a SKU picker that shows what the
source can give, and lines checked as they are typed (every bad line reported at once;
nothing is created while any line is bad)."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from typing import TypedDict

import reflex as rx
from sqlmodel import Session

from dashboard.formatting import plural, units
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import DialogState
from dashboard.states.listing import Choice, db_read, db_write
from dashboard.states.transfers_common import detail_href, warehouse_choices
from models.catalog import Warehouse
from models.errors import InvalidQuantity, NotFound
from models.transfers import LineInput, create_transfer
from models.transfers.lines import (
    LineCheck,
    LineRequest,
    VariantHit,
    check_lines,
    search_variants,
)

log = logging.getLogger(__name__)

MAX_LINES = 200
#: How many bad lines the error names; the rest are marked in the lines table.
NAMED_PROBLEMS = 8

_LINE = re.compile(r"^\s*(?P<sku>[^\s,;×]+)\s*(?:[,;×xX*]\s*|\s+)(?P<qty>[-+]?\d+)\s*$")


# --- reading and checking the lines (blocking; run through db_read / db_write) -------------


def read_lines(text: str) -> list[LineRequest]:
    """ "SKU qty" per line (also "SKU, qty", "SKU × qty"), numbered as typed; a line
    without a quantity, or a SKU typed twice, carries its problem."""
    found: list[LineRequest] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _LINE.match(raw)
        if match is None:
            code = raw.strip().split()[0][:60]
            found.append(
                LineRequest(number, code, None, "needs a SKU and a quantity, like NORTH-NW-30 5")
            )
            continue
        sku, qty = match["sku"], int(match["qty"])
        first = seen.setdefault(sku.upper(), number)
        problem = (
            f"on lines {first} and {number}; put it on one line with the total quantity"
            if first != number
            else ""
        )
        found.append(LineRequest(number, sku, qty, problem))
    return found


def _problems(checks: Sequence[LineCheck | LineRequest]) -> list[str]:
    return [f"Line {c.row} ({c.code}): {c.problem}." for c in checks if c.problem]


def _refusal(problems: list[str]) -> str:
    named = " ".join(problems[:NAMED_PROBLEMS])
    more = len(problems) - NAMED_PROBLEMS
    head = "Nothing was created: " + plural(len(problems), "line") + " need fixing. "
    if len(problems) == 1:
        head = "Nothing was created. "
    return head + named + (f" And {more:,} more, marked below." if more > 0 else "")


class LinesRefused(InvalidQuantity):
    """Some lines cannot be drafted; `checks` says which and why (all of them)."""

    def __init__(self, checks: list[LineCheck]) -> None:
        super().__init__(_refusal(_problems(checks)), field="lines")
        self.checks = checks


def parse_lines(text: str) -> list[tuple[str, int]]:
    """The lines as (sku, qty), in order; refuses naming every bad line at once."""
    lines = read_lines(text)
    if not lines:
        raise InvalidQuantity("Add at least one line: a SKU and a quantity.", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidQuantity(f"At most {MAX_LINES} lines per transfer.", field="lines")
    problems = [
        f"Line {x.row} ({x.code}): "
        + (x.problem or f"quantity {x.qty}; quantities must be 1 or more")
        + "."
        for x in lines
        if x.problem or (x.qty or 0) <= 0
    ]
    if problems:
        raise InvalidQuantity(" ".join(problems), field="lines")
    return [(x.code, x.qty or 0) for x in lines]


def _warehouse(session: Session, value: str, role: str) -> Warehouse:
    try:
        warehouse = session.get(Warehouse, int(value))
    except (TypeError, ValueError):
        raise InvalidQuantity(f"Pick the {role} warehouse.", field=role) from None
    if warehouse is None:
        raise NotFound(f"Pick the {role} warehouse again; that one no longer exists.")
    return warehouse


def _source(session: Session, source: str) -> Warehouse | None:
    try:
        return _warehouse(session, source, "source")
    except (InvalidQuantity, NotFound):
        return None


def check_form(session: Session, source: str, text: str) -> list[LineCheck]:
    """The lines as typed, checked against the source (if one is picked)."""
    warehouse = _source(session, source)
    return check_lines(
        session,
        read_lines(text)[:MAX_LINES],
        source_warehouse_id=warehouse.id if warehouse else None,
        source_code=warehouse.code if warehouse else "the source",
    )


def find_variants(session: Session, source: str, text: str) -> tuple[str, list[VariantHit]]:
    """(source code or "", the variants matching `text`) for the picker."""
    warehouse = _source(session, source)
    hits = search_variants(session, text, warehouse_id=warehouse.id if warehouse else None)
    return (warehouse.code if warehouse else ""), hits


def create_from_form(
    session: Session, *, source: str, dest: str, lines: str, note: str, actor_id: int
) -> int:
    """Check every line, then create the draft; returns its id. Any bad line: nothing."""
    source_wh = _warehouse(session, source, "source")
    dest_wh = _warehouse(session, dest, "destination")
    requests = read_lines(lines)
    if not requests:
        raise InvalidQuantity("Add at least one line: a SKU and a quantity.", field="lines")
    if len(requests) > MAX_LINES:
        raise InvalidQuantity(f"At most {MAX_LINES} lines per transfer.", field="lines")
    checks = check_lines(
        session, requests, source_warehouse_id=source_wh.id, source_code=source_wh.code
    )
    if any(c.problem for c in checks):
        raise LinesRefused(checks)
    assert source_wh.id is not None and dest_wh.id is not None
    transfer = create_transfer(
        session,
        source_warehouse_id=source_wh.id,
        dest_warehouse_id=dest_wh.id,
        lines=[LineInput(c.variant_id or 0, c.qty or 0) for c in checks],
        actor_id=actor_id,
        note=note,
    )
    assert transfer.id is not None
    return transfer.id


# --- rows ready to show -------------------------------------------------------------------


@dataclasses.dataclass
class CheckItem:
    """One typed line as checked: "ok", "warning" or "problem", and why."""

    row: str
    code: str
    product: str
    qty: str
    asked: int
    available: str
    status: str
    reason: str

    @classmethod
    def of(cls, check: LineCheck) -> CheckItem:
        return cls(
            row=str(check.row),
            code=check.sku or check.code,
            product=check.product,
            qty=units(check.qty) if check.qty is not None else "—",
            asked=0 if check.problem else max(check.qty or 0, 0),
            available=units(check.available) if check.available is not None else "—",
            status="problem" if check.problem else ("warning" if check.warning else "ok"),
            reason=check.problem or check.warning,
        )


@dataclasses.dataclass
class HitItem:
    """One variant the picker offers."""

    sku: str
    label: str
    available: str
    short: bool

    @classmethod
    def of(cls, hit: VariantHit, source_code: str) -> HitItem:
        return cls(
            sku=hit.sku,
            label=f"{hit.product} · {hit.colour} · {hit.size}",
            available=(
                f"{units(hit.available)} available at {source_code}"
                if hit.available is not None
                else "pick a source to see what it has"
            ),
            short=hit.available is not None and hit.available <= 0,
        )


class NewTransferForm(TypedDict, total=False):
    lines: str
    note: str
    #: The picker's search box (not used: the lines are what counts).
    find: str


class NewTransferState(RoleGuard, DialogState, rx.State):
    """The new-transfer dialog, opened from the list (or the stock grid's "Add to
    transfer", through /transfers?new=1&sku=…)."""

    warehouses: list[Choice] = []
    form_source: str = ""
    form_dest: str = ""
    form_lines: str = ""
    query: str = ""
    hits: list[HitItem] = []
    checks: list[CheckItem] = []

    @rx.var
    def problem_count(self) -> int:
        return sum(1 for c in self.checks if c.status == "problem")

    @rx.var
    def check_summary(self) -> str:
        """ "3 lines · 14 units · 1 more than available" (what the checks found)."""
        if not self.checks:
            return ""
        total = sum(c.asked for c in self.checks)
        parts = [plural(len(self.checks), "line"), plural(total, "unit")]
        warnings = sum(1 for c in self.checks if c.status == "warning")
        if warnings:
            parts.append(f"{warnings:,} more than available")
        if self.problem_count:
            parts.append(plural(self.problem_count, "line") + " to fix")
        return " · ".join(parts)

    async def _open_new(self, lines: str = "") -> None:
        self._open_dialog("create")
        self.warehouses = [Choice(v, label) for v, label in await db_read(warehouse_choices)]
        if not any(c.value == self.form_source for c in self.warehouses):
            self.form_source = ""
        self.form_dest = ""
        self.form_lines = lines
        self.query, self.hits = "", []
        await self._recheck()

    async def _recheck(self) -> None:
        if not self.form_lines.strip():
            self.checks = []
            return
        found = await db_read(check_form, self.form_source, self.form_lines)
        self.checks = [CheckItem.of(c) for c in found]

    async def _search(self) -> None:
        if not self.query.strip():
            self.hits = []
            return
        code, found = await db_read(find_variants, self.form_source, self.query)
        self.hits = [HitItem.of(h, code) for h in found]

    @rx.event
    @requires("transfers.create")
    async def open_create(self) -> None:
        await self._open_new()

    @rx.event
    @requires("transfers.create")
    async def set_form_source(self, value: str) -> None:
        """The source decides what is available: the picker and the checks follow it."""
        self.form_source = value
        await self._search()
        await self._recheck()

    @rx.event
    def set_form_dest(self, value: str) -> None:
        self.form_dest = value

    @rx.event
    @requires("transfers.create")
    async def search(self, text: str) -> None:
        """The picker: variants matching what is typed, with units at the source."""
        self.query = text[:64]
        await self._search()

    @rx.event
    @requires("transfers.create")
    async def set_lines(self, text: str) -> None:
        """The lines as typed so far, checked (no data changes). An error about other
        lines than these is out of date: it goes (the checks show what is still wrong)."""
        text = text[:20_000]
        if text != self.form_lines:
            self.form_error = ""
        self.form_lines = text
        await self._recheck()

    @rx.event
    @requires("transfers.create")
    async def add_line(self, sku: str) -> None:
        """Put the picked SKU on a line (one unit), or one more unit on its line."""
        sku = sku.strip()[:64]
        if not sku:
            return
        rows = self.form_lines.splitlines()
        for line in read_lines(self.form_lines):
            if line.code.upper() == sku.upper() and line.qty is not None and not line.problem:
                rows[line.row - 1] = f"{line.code} {line.qty + 1}"
                break
        else:
            rows = [r for r in rows if r.strip()] + [f"{sku} 1"]
        self.form_lines = "\n".join(rows)
        self.query, self.hits = "", []
        await self._recheck()

    async def _create(self, lines: str, note: str) -> int:
        try:
            return await db_write(
                create_from_form,
                source=self.form_source,
                dest=self.form_dest,
                lines=lines,
                note=note,
                actor_id=signed_in_user().id,
            )
        except LinesRefused as refused:
            self.checks = [CheckItem.of(c) for c in refused.checks]
            raise

    @rx.event
    @requires("transfers.create")
    async def create(self, form: NewTransferForm):
        self.form_lines = str(form.get("lines") or self.form_lines or "")[:20_000]
        created: list[int] = []

        def done(transfer_id: int) -> str:
            created.append(transfer_id)
            log.info("%s drafted transfer %s", signed_in_user().email, transfer_id)
            return f"Transfer #{transfer_id} drafted: check the lines, then submit it."

        toast = await self._attempt(
            self._create(self.form_lines, str(form.get("note") or "")[:500]), done=done
        )
        if toast is None:
            return None
        self.form_lines, self.checks = "", []
        return [toast, rx.redirect(detail_href(created[0]))]
