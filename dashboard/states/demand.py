"""Demand page state: polls, their votes over time, demand against stock, and the
"wanted but not stocked" list, under the same filter bar as Analytics.

Polls are created here (or by `POST /api/v1/polls`), opened and closed; votes arrive by
webhook, by the CSV export of a survey tool uploaded here, or through the public embed
page whose iframe snippet this page hands out. Every handler re-checks the session, and
the domain scopes what a vendor sees and changes to their own brand.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import logging
from typing import Any
from urllib.parse import urlencode

import polars as pl
import reflex as rx

from dashboard.formatting import exact_time, relative_time
from dashboard.states.analytics_filters import (
    FilterBar,
    FilterChoices,
    FilterParams,
    Replies,
    Reply,
    filter_choices,
    period_label,
    resolve,
)
from dashboard.states.auth import RoleGuard
from dashboard.states.charting import ChartView, chart_view
from dashboard.states.listing import db_write
from jobs.analytics import charts
from jobs.analytics.demand import demand_vs_stock, votes_over_time
from jobs.analytics.export import csv_bytes
from jobs.analytics.frames import shared_analytics
from jobs.analytics.metrics import Filters
from models.db import read_session
from models.errors import DomainError, PermissionDenied
from models.polls import (
    MAX_OPTIONS,
    PollStatus,
    PollSummary,
    create_poll,
    import_votes_csv,
    list_polls,
    set_poll_status,
)
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/demand"
EMBED_ROUTE = "/embed/poll"
#: Who may read demand, create polls and bring in votes (a vendor: their brand only).
READERS = (Role.ADMIN, Role.MANAGER, Role.MERCHANDISER, Role.VENDOR)
READ = "see customer demand"
WRITE = "manage polls"
CHARTS: tuple[str, ...] = ("votes", "demand", "wanted")
SIGNAL_KINDS: list[tuple[str, str]] = [
    ("none", "No signal"),
    ("product", "Style"),
    ("size", "Size"),
    ("colour", "Colour"),
    ("category", "Category"),
    ("brand", "Brand"),
]
_KINDS = {kind for kind, _ in SIGNAL_KINDS}
FIRST_OPTION_ROWS = 3
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROW_ERRORS_SHOWN = 50
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."
ACROSS_BRANDS = "all"

_DEMAND_COLUMNS = ["question", "label", "signal", "votes", "share", "variants", "available",
                   "units_sold", "per_day"]
_WANTED_COLUMNS = ["label", "signal", "votes", "share", "variants", "on_hand", "available",
                   "question"]


@dataclasses.dataclass
class PollItem:
    """One row of the polls list, ready to show."""

    id: int = 0
    question: str = ""
    brand: str = ""
    status: str = ""
    is_open: bool = True
    votes: str = "0"
    options: str = ""
    created: str = ""
    created_exact: str = ""
    selected: bool = False

    @classmethod
    def of(cls, poll: PollSummary, selected: int) -> PollItem:
        return cls(
            id=poll.id,
            question=poll.question,
            brand=poll.brand or "All brands",
            status=poll.status,
            is_open=poll.status == PollStatus.OPEN.value,
            votes=f"{poll.total_votes:,}",
            options=" · ".join(o.label for o in poll.options),
            created=relative_time(poll.created_at),
            created_exact=exact_time(poll.created_at),
            selected=poll.id == selected,
        )


@dataclasses.dataclass
class RowErrorItem:
    row: int = 0
    column: str = ""
    value: str = ""
    reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class DemandResult:
    filters: Filters
    choices: FilterChoices
    polls: list[PollSummary]
    selected: int
    views: dict[str, ChartView]


def compute_demand(
    params: FilterParams,
    brand_scope: int | None,
    poll_id: int,
    *,
    bucket: str = "day",
    keys: tuple[str, ...] = CHARTS,
    pages: dict[str, int] | None = None,
) -> DemandResult:
    """Polls, votes over time (of `poll_id`, else the newest poll) and demand against
    stock, as `brand_scope` may see them. Blocking: run it in a worker thread."""
    frames = shared_analytics().frames()
    filters = resolve(frames, params, brand_scope)
    pages = pages or {}
    views: dict[str, ChartView] = {}
    with read_session() as session:
        polls = list_polls(session, brand_scope=brand_scope)
        if params.brand:
            polls = [p for p in polls if p.brand == params.brand]
        ids = [p.id for p in polls]
        selected = poll_id if poll_id in ids else (ids[0] if ids else 0)
        if "votes" in keys:
            if selected:
                question = next(p.question for p in polls if p.id == selected)
                votes = votes_over_time(session, filters, brand_scope=brand_scope,
                                        poll_id=selected, bucket="week" if bucket == "week"
                                        else "day")
                votes = _gaps_for_quiet_days(votes)
                views["votes"] = chart_view(
                    "votes", charts.votes_over_time_chart(votes, question),
                    votes.filter(pl.col("share").is_not_null())
                    .sort(["period_start", "option_id"], descending=[True, False]),
                    columns=["period_start", "label", "votes", "share"],
                    page=pages.get("votes", 1),
                )
            else:
                views["votes"] = chart_view(
                    "votes", charts.votes_over_time_chart(pl.DataFrame(
                        schema={"votes": pl.Int64})), pl.DataFrame(), title="Votes over time",
                )
        if "demand" in keys or "wanted" in keys:
            table = demand_vs_stock(session, frames, filters, brand_scope=brand_scope)
            if "demand" in keys:
                views["demand"] = chart_view(
                    "demand", charts.demand_vs_stock_chart(table), table,
                    columns=_DEMAND_COLUMNS, page=pages.get("demand", 1),
                )
            if "wanted" in keys:
                wanted = table.filter(pl.col("wanted_not_stocked"))
                views["wanted"] = chart_view(
                    "wanted", None, wanted, columns=_WANTED_COLUMNS,
                    page=pages.get("wanted", 1), title="Wanted but not stocked",
                    empty_message="Nothing customers voted for is missing from stock.",
                )
    return DemandResult(filters, filter_choices(frames, brand_scope), polls, selected, views)


def _gaps_for_quiet_days(votes: pl.DataFrame) -> pl.DataFrame:
    """Shares of days (weeks) without any vote left out of the lines, not drawn as 0 %:
    a quiet day says nothing about which answer customers prefer."""
    total = pl.col("votes").sum().over("period_start")
    return votes.with_columns(
        share=pl.when(total > 0).then(pl.col("share")).otherwise(None)
    )


def demand_csv(
    key: str, params: FilterParams, brand_scope: int | None, poll_id: int, bucket: str
) -> tuple[str, bytes]:
    """(file name, CSV) of one demand table, whole. Blocking."""
    frames = shared_analytics().frames()
    filters = resolve(frames, params, brand_scope)
    start, end = filters.period()
    with read_session() as session:
        if key == "votes":
            frame = votes_over_time(session, filters, brand_scope=brand_scope, poll_id=poll_id,
                                    bucket="week" if bucket == "week" else "day")
        else:
            frame = demand_vs_stock(session, frames, filters, brand_scope=brand_scope)
            if key == "wanted":
                frame = frame.filter(pl.col("wanted_not_stocked"))
    return f"rackroom-demand-{key}-{start}-to-{end}.csv", csv_bytes(frame)


def option_specs(form: dict[str, Any], slots: list[int]) -> list[dict[str, str]]:
    """The options of the New poll form: a label and at most one signal each. Blank
    rows are skipped; a signal without a label, or a signal kind without a value, is
    refused with the row's number."""
    options = []
    for number, slot in enumerate(slots, start=1):
        label = str(form.get(f"label_{slot}", "") or "").strip()
        kind = str(form.get(f"kind_{slot}", "none") or "none")
        value = str(form.get(f"value_{slot}", "") or "").strip()
        if not label and not value:
            continue
        if not label:
            raise ValueError(f"Option {number} needs a label (what the customer picks).")
        if kind not in _KINDS:
            raise ValueError(f"Option {number}: pick what it signals.")
        option = {"label": label}
        if kind != "none":
            if not value:
                raise ValueError(f"Option {number}: enter the {kind} it signals, or pick "
                                 "No signal.")
            option[kind] = value
        options.append(option)
    if not options:
        raise ValueError("Add at least one option.")
    return options


def embed_snippet(origin: str, poll_id: int, question: str) -> tuple[str, str]:
    """(URL, iframe HTML) of a poll's public page, to paste into a storefront."""
    url = f"{origin.rstrip('/')}{EMBED_ROUTE}/{poll_id}"
    title = html.escape(f"Poll: {question}", quote=True)
    return url, (
        f'<iframe src="{url}" title="{title}" width="100%" height="400" '
        'style="border:0;max-width:520px" loading="lazy"></iframe>'
    )


class DemandState(RoleGuard, FilterBar, rx.State):
    """What /demand shows. Every handler re-checks the session and the scope."""

    ROUTE = ROUTE
    READERS = READERS
    READ = READ

    loading: bool = True
    loaded: bool = False
    load_error: str = ""
    polls: list[PollItem] = []
    selected_poll: int = 0
    bucket: str = "day"
    charts: dict[str, ChartView] = {key: ChartView(key=key) for key in CHARTS}
    _pages: dict[str, int] = {}

    #: The open dialog: "", "create", "created", "embed", "upload".
    dialog: str = ""
    saving: bool = False
    form_error: str = ""
    option_slots: list[int] = list(range(FIRST_OPTION_ROWS))
    target_id: int = 0
    target_label: str = ""
    webhook_secret: str = ""
    embed_url: str = ""
    embed_html: str = ""
    upload_message: str = ""
    upload_errors: list[RowErrorItem] = []

    @rx.var
    def can_add_option(self) -> bool:
        return len(self.option_slots) < MAX_OPTIONS

    # --- loading ------------------------------------------------------------------------

    def _href(self, **changes: str | int) -> str:
        """The filters' URL, keeping the selected poll (or `poll=` from changes)."""
        params = self._params().query(**{k: v for k, v in changes.items() if k != "poll"})
        poll = changes.get("poll", self.selected_poll)
        if poll:
            params["poll"] = str(poll)
        return f"{ROUTE}?{urlencode(params)}" if params else ROUTE

    def _clear(self) -> None:
        self.charts = {key: ChartView(key=key) for key in CHARTS}
        self._pages = {}
        self.polls = []
        self.loaded = False
        self.period_text = ""

    @rx.event
    async def load(self) -> Replies:
        """on_load: filters and the selected poll come from the URL."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            self._clear()
            self.loading = False
            yield access.page_refusal
            return
        query = self.router.url.query_parameters
        self._show_params(FilterParams.from_query(query))
        poll = str(query.get("poll", "") or "")
        self.selected_poll = int(poll) if poll.isdigit() and len(poll) < 10 else 0
        self._pages = {}
        self.dialog = ""
        self.loading = True
        yield
        async for event in self._compute(access.user.brand_scope, CHARTS):
            yield event

    async def _compute(self, brand_scope: int | None, keys: tuple[str, ...]) -> Replies:
        self.load_error = ""
        try:
            result = await rx.run_in_thread(functools.partial(
                compute_demand, self._params(), brand_scope, self.selected_poll,
                bucket=self.bucket, keys=keys, pages=dict(self._pages),
            ))
        except PermissionDenied as refused:
            self._clear()
            self.refusal, self.filter_error, self.loading = refused.message, "", False
            yield rx.toast.error(refused.message, description="No figures were read.")
            return
        except DomainError as error:
            self._clear()
            self.refusal, self.filter_error, self.loading = "", error.message, False
            return
        except Exception:
            log.exception("demand: computing %s failed", ", ".join(keys))
            self.load_error = "Demand could not be computed. Refresh to try again."
            self.loading = False
            return
        self.refusal = self.filter_error = ""
        self._show_choices(result.choices, brand_scope)
        self.period_text = period_label(result.filters)
        self.selected_poll = result.selected
        self.polls = [PollItem.of(poll, result.selected) for poll in result.polls]
        self.charts = {**self.charts, **result.views}
        self.loading, self.loaded = False, True

    async def _recompute(self, brand_scope: int | None, *keys: str) -> Replies:
        self.loading = True
        yield
        async for event in self._compute(brand_scope, keys):
            yield event

    @rx.event
    async def refresh(self) -> Replies:
        """Recompute everything (after a change made on this page)."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            yield access.refusal
            return
        async for event in self._recompute(access.user.brand_scope, *CHARTS):
            yield event

    @rx.event
    async def select_poll(self, poll_id: int) -> Reply:
        """Show this poll's votes over time (the poll goes into the URL)."""
        access = await self.require_role(*READERS, action=READ)
        if not access:
            return access.refusal
        return rx.redirect(self._href(poll=int(poll_id)))

    @rx.event
    async def set_bucket(self, bucket: str | list[str]) -> Replies:
        """Votes per day or per week."""
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            yield access.refusal
            return
        if bucket in ("day", "week"):
            self.bucket = bucket
        async for event in self._recompute(access.user.brand_scope, "votes"):
            yield event

    @rx.event
    async def table_page(self, key: str, page: int) -> Replies:
        access = await self.require_role(*READERS, action=READ)
        if not access or access.user is None:
            yield access.refusal
            return
        if key not in CHARTS:
            return
        self._pages = {**self._pages, key: max(1, int(page))}
        async for event in self._recompute(access.user.brand_scope, key):
            yield event

    @rx.event
    async def export_csv(self, key: str) -> Reply:
        access = await self.require_role(*READERS, action="export demand")
        if not access or access.user is None:
            return access.refusal
        if key not in CHARTS or (key == "votes" and not self.selected_poll):
            return None
        try:
            name, data = await rx.run_in_thread(functools.partial(
                demand_csv, key, self._params(), access.user.brand_scope, self.selected_poll,
                self.bucket,
            ))
        except DomainError as error:
            return rx.toast.error(error.message, description="Nothing was exported.")
        except Exception:
            log.exception("demand: exporting %s failed", key)
            return rx.toast.error("The export failed. Try again in a moment.")
        return [
            rx.download(data=data, filename=name, mime_type="text/csv"),
            rx.toast.success(f"Exported {name}", duration=2500),
        ]

    # --- dialogs --------------------------------------------------------------------------

    def _close(self) -> None:
        self.dialog = ""
        self.saving = False
        self.form_error = ""
        self.target_id = 0
        self.target_label = ""
        self.webhook_secret = ""
        self.upload_message = ""
        self.upload_errors = []

    def _poll(self, poll_id: int) -> PollItem | None:
        return next((p for p in self.polls if p.id == poll_id), None)

    @rx.event
    async def on_dialog_change(self, open_: bool) -> Reply:
        """Esc, Cancel or a click outside closes the dialog (the secret is gone then)."""
        access = await self.require_role(*READERS, action=READ)
        if not access:
            self._close()
            return access.refusal
        if not open_:
            self._close()
        return None

    @rx.event
    async def open_create(self) -> Reply:
        access = await self.require_role(*READERS, action=WRITE)
        if not access:
            return access.refusal
        self._close()
        self.option_slots = list(range(FIRST_OPTION_ROWS))
        self.dialog = "create"
        return None

    @rx.event
    async def add_option_row(self) -> Reply:
        access = await self.require_role(*READERS, action=WRITE)
        if not access:
            return access.refusal
        if len(self.option_slots) < MAX_OPTIONS:
            self.option_slots = [*self.option_slots, max(self.option_slots, default=-1) + 1]
        return None

    @rx.event
    async def create_poll(self, form: dict[str, Any]) -> Reply:
        access = await self.require_role(*READERS, action=WRITE)
        if not access or access.user is None:
            return access.refusal
        user = access.user
        try:
            options = option_specs(form, self.option_slots)
        except ValueError as problem:
            self.form_error = str(problem)
            return None
        brand = str(form.get("brand", "") or "").strip()
        self.saving = True
        try:
            created = await db_write(
                create_poll,
                str(form.get("question", "") or ""),
                options,
                actor=user.email,
                brand_code=None if brand in ("", ACROSS_BRANDS) else brand,
                brand_scope=user.brand_scope,
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("demand: creating a poll failed")
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s created poll %s", user.email, created.poll.id)
        self._close()
        self.dialog = "created"
        self.target_id, self.target_label = created.poll.id, created.poll.question
        self.webhook_secret = created.webhook_secret
        self.embed_url, self.embed_html = embed_snippet(
            self.router.url.origin, created.poll.id, created.poll.question
        )
        self.selected_poll = created.poll.id
        return [rx.toast.success("Poll created: it is open for votes"), DemandState.refresh]

    @rx.event
    async def set_status(self, poll_id: int, status: str) -> Reply:
        """Close a poll (no more votes from any source) or open it again."""
        access = await self.require_role(*READERS, action=WRITE)
        if not access or access.user is None:
            return access.refusal
        try:
            poll = await db_write(set_poll_status, int(poll_id), status,
                                  brand_scope=access.user.brand_scope)
        except DomainError as error:
            return rx.toast.error(error.message, description="Nothing was changed.")
        except Exception:
            log.exception("demand: setting poll %s to %s failed", poll_id, status)
            return rx.toast.error(UNEXPECTED)
        word = "open for votes again" if poll.status == PollStatus.OPEN.value else "closed"
        return [rx.toast.success(f"“{poll.question}” is {word}"), DemandState.refresh]

    @rx.event
    async def open_embed(self, poll_id: int) -> Reply:
        access = await self.require_role(*READERS, action=READ)
        if not access:
            return access.refusal
        poll = self._poll(int(poll_id))
        if poll is None:
            return rx.toast.error("That poll is not on this page any more. Refresh.")
        self._close()
        self.target_id, self.target_label = poll.id, poll.question
        self.embed_url, self.embed_html = embed_snippet(
            self.router.url.origin, poll.id, poll.question
        )
        self.dialog = "embed"
        return None

    @rx.event
    async def open_upload(self, poll_id: int) -> Reply:
        access = await self.require_role(*READERS, action=WRITE)
        if not access:
            return access.refusal
        poll = self._poll(int(poll_id))
        if poll is None:
            return rx.toast.error("That poll is not on this page any more. Refresh.")
        self._close()
        self.target_id, self.target_label = poll.id, poll.question
        self.dialog = "upload"
        return [rx.clear_selected_files("poll-csv")]

    @rx.event
    async def upload_csv(self, files: list[rx.UploadFile]) -> Reply:
        """A survey tool's CSV export: every row recorded, or none and why."""
        access = await self.require_role(*READERS, action=WRITE)
        if not access or access.user is None:
            return access.refusal
        self.upload_errors = []
        if self.dialog != "upload" or not self.target_id:
            return None
        if not files:
            self.upload_message = "Choose the CSV file of the survey's answers first."
            return None
        content = await files[0].read()
        if len(content) > MAX_UPLOAD_BYTES:
            self.upload_message = "The file is larger than 10 MB; split it and upload the parts."
            return None
        self.saving = True
        try:
            result = await db_write(import_votes_csv, self.target_id, content,
                                    brand_scope=access.user.brand_scope)
        except DomainError as error:
            self.saving, self.upload_message = False, error.message
            return None
        except Exception:
            log.exception("demand: importing votes into poll %s failed", self.target_id)
            self.saving, self.upload_message = False, UNEXPECTED
            return None
        self.saving = False
        if result.errors:
            self.upload_message = result.message
            self.upload_errors = [
                RowErrorItem(e.row, e.column, e.value, e.reason)
                for e in result.errors[:MAX_ROW_ERRORS_SHOWN]
            ]
            return None
        log.info("%s imported %s vote row(s) into poll %s", access.user.email, result.rows,
                 self.target_id)
        self._close()
        return [rx.toast.success(result.message), DemandState.refresh]
