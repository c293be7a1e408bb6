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
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

import polars as pl
import reflex as rx

from dashboard import routes
from dashboard.items import Moment, item_of
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
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.chart_panels import ChartPanels
from dashboard.states.charting import ChartView, chart_view
from dashboard.states.dialogs import TargetDialog, row_by_id
from dashboard.states.imports_items import ErrorItem
from dashboard.states.listing import db_write
from dashboard.states.one_time import OneTimeSecrets
from dashboard.states.upload_stream import receive_bytes
from jobs.analytics import charts
from jobs.analytics.demand import demand_vs_stock, votes_over_time
from jobs.analytics.frames import shared_analytics
from jobs.analytics.metrics import Filters
from models.db import read_session
from models.errors import DomainError
from models.polls import (
    MAX_OPTIONS,
    CsvVoteResult,
    PollStatus,
    PollSummary,
    create_poll,
    import_votes_csv,
    list_polls,
    set_poll_frame_origins,
    set_poll_published,
    set_poll_status,
)

log = logging.getLogger(__name__)

ROUTE = "/demand"
EMBED_ROUTE = "/embed/poll"
#: Who may read demand, create polls and bring in votes (a vendor: their brand only).
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
TOO_BIG = "The file is larger than 10 MB; split it and upload the parts."
MAX_ROW_ERRORS_SHOWN = 50
UNEXPECTED = "Something went wrong and nothing was saved. Try again in a moment."
GONE = "That poll is not on this page any more. Refresh."
ACROSS_BRANDS = "all"

_DEMAND_COLUMNS = ["question", "label", "signal", "votes", "share", "variants", "available",
                   "units_sold", "per_day"]
_WANTED_COLUMNS = ["label", "signal", "votes", "share", "variants", "on_hand", "available",
                   "question"]


@dataclasses.dataclass
class PollItem:
    """One row of the polls list, ready to show."""

    id: int
    slug: str
    published: bool
    question: str
    brand: str
    status: str
    is_open: bool
    votes: str
    options: str
    created: Moment
    selected: bool
    #: Sites that may frame its embed page, one a line.
    frame_origins: str

    @classmethod
    def of(cls, poll: PollSummary, selected: int) -> PollItem:
        return item_of(
            cls,
            poll,
            brand=poll.brand or "All brands",
            is_open=poll.status == PollStatus.OPEN.value,
            votes=f"{poll.total_votes:,}",
            options=" · ".join(o.label for o in poll.options),
            created=Moment.of(poll.created_at),
            selected=poll.id == selected,
            frame_origins="\n".join(poll.frame_origins),
        )


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


def demand_table(
    key: str, params: FilterParams, brand_scope: int | None, poll_id: int, bucket: str
) -> tuple[str, pl.DataFrame]:
    """(file name, frame) of one demand table, whole, for its CSV. Blocking."""
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
    return f"rackroom-demand-{key}-{start}-to-{end}.csv", frame


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


def embed_snippet(origin: str, slug: str, question: str) -> tuple[str, str]:
    """(URL, iframe HTML) of a poll's public page (by its random slug), to paste into a
    storefront."""
    url = f"{origin.rstrip('/')}{EMBED_ROUTE}/{slug}"
    title = html.escape(f"Poll: {question}", quote=True)
    return url, (
        f'<iframe src="{url}" title="{title}" width="100%" height="400" '
        'style="border:0;max-width:520px" loading="lazy"></iframe>'
    )


async def _change_poll(
    change: Callable[..., PollSummary], poll_id: int, value: object, brand_scope: int | None
) -> tuple[PollSummary | None, Reply]:
    """Open/close or publish a poll: (the poll, None), or (None, the toast saying why)."""
    try:
        return await db_write(change, poll_id, value, brand_scope=brand_scope), None
    except DomainError as error:
        return None, rx.toast.error(error.message, description="Nothing was changed.")
    except Exception:
        log.exception("demand: %s(%s, %r) failed", change.__name__, poll_id, value)
        return None, rx.toast.error(UNEXPECTED)


class DemandState(OneTimeSecrets, RoleGuard, FilterBar, ChartPanels, TargetDialog, rx.State):
    """What /demand shows. Every handler re-checks the session and the scope; the
    figures are computed in background events (`ChartPanels`)."""

    ROUTE = ROUTE
    READ = "demand.read"
    EXPORT = "demand.export"
    EXPORT_ROUTE = routes.DEMAND_EXPORT
    CHARTS = CHARTS
    UNEXPECTED = "Demand could not be computed. Refresh to try again."

    polls: list[PollItem] = []
    selected_poll: int = 0
    bucket: str = "day"
    charts: dict[str, ChartView] = {key: ChartView(key=key) for key in CHARTS}

    #: The open dialog (`dialog`): "", "create", "created", "embed", "upload".
    option_slots: list[int] = list(range(FIRST_OPTION_ROWS))
    webhook_secret: str = ""
    ONE_TIME_SECRETS: ClassVar[tuple[str, ...]] = ("webhook_secret",)
    embed_url: str = ""
    embed_html: str = ""
    embed_published: bool = False
    #: The embed dialog's sites that may frame the poll, one a line (as saved).
    embed_origins: str = ""
    upload_message: str = ""
    upload_errors: list[ErrorItem] = []

    @rx.var
    def can_add_option(self) -> bool:
        return len(self.option_slots) < MAX_OPTIONS

    def _href(self, **changes: str | int) -> str:
        """The filters' URL, keeping the selected poll (or `poll=` from changes)."""
        params = self._params().query(**{k: v for k, v in changes.items() if k != "poll"})
        poll = changes.get("poll", self.selected_poll)
        if poll:
            params["poll"] = str(poll)
        return f"{ROUTE}?{urlencode(params)}" if params else ROUTE

    # --- ChartPanels ---------------------------------------------------------------------

    def _clear(self) -> None:
        super()._clear()
        self.polls = []

    def _from_url(self, query: Mapping[str, str]) -> None:
        self._show_params(FilterParams.from_query(query))
        poll = str(query.get("poll", "") or "")
        self.selected_poll = int(poll) if poll.isdigit() and len(poll) < 10 else 0
        self.dialog = ""

    def _work(self, brand_scope: int | None, keys: tuple[str, ...]) -> Callable[[], Any]:
        return functools.partial(compute_demand, self._params(), brand_scope,
                                 self.selected_poll, bucket=self.bucket, keys=keys,
                                 pages=dict(self._pages))

    def _show(self, result: DemandResult, brand_scope: int | None,
              keys: tuple[str, ...]) -> None:
        self._show_choices(result.choices, brand_scope)
        self.period_text = period_label(result.filters)
        self.selected_poll = result.selected
        self.polls = [PollItem.of(poll, result.selected) for poll in result.polls]
        self.charts = {**self.charts, **{k: v for k, v in result.views.items() if k in keys}}

    def _table(self, key: str, brand_scope: int | None
               ) -> Callable[[], tuple[str, pl.DataFrame]] | None:
        if key == "votes" and not self.selected_poll:
            return None
        return functools.partial(demand_table, key, self._params(), brand_scope,
                                 self.selected_poll, self.bucket)

    def _export_params(self, key: str) -> dict[str, str]:
        if key != "votes":
            return self._params().query()
        return {**self._params().query(), "poll": str(self.selected_poll),
                "bucket": "week" if self.bucket == "week" else "day"}

    # --- handlers -------------------------------------------------------------------------

    @rx.event(background=True)
    async def load(self) -> Replies:
        """on_load: filters and the selected poll come from the URL."""
        async for event in self._load_page():
            yield event

    @rx.event(background=True)
    async def refresh(self) -> Replies:
        """Recompute everything (after a change made on this page)."""
        async for event in self._choose(CHARTS, lambda: None):
            yield event

    @rx.event
    @requires("demand.read")
    async def select_poll(self, poll_id: int) -> Reply:
        """Show this poll's votes over time (the poll goes into the URL)."""
        return rx.redirect(self._href(poll=int(poll_id)))

    @rx.event(background=True)
    async def set_bucket(self, bucket: str | list[str]) -> Replies:
        """Votes per day or per week."""
        async for event in self._pick("bucket", bucket, ("day", "week"), "votes"):
            yield event

    # --- dialogs --------------------------------------------------------------------------

    def _close_dialog(self) -> None:
        """Closing a dialog also forgets the secret shown once and the upload's answer."""
        super()._close_dialog()
        self.forget_secrets()
        self.upload_message = ""
        self.upload_errors = []

    @rx.event
    async def on_dialog_change(self, open_: bool) -> Reply:
        """Esc, Cancel or a click outside closes the dialog (the secret is gone then); a
        refused caller's dialog closes too."""
        access = await self.require("demand.read")
        if not access or not open_:
            self._close_dialog()
        return None if access else access.refusal

    @rx.event
    @requires("demand.manage")
    async def open_create(self) -> Reply:
        self._close_dialog()
        self.option_slots = list(range(FIRST_OPTION_ROWS))
        self.dialog = "create"
        return None

    @rx.event
    @requires("demand.manage")
    async def add_option_row(self) -> Reply:
        if len(self.option_slots) < MAX_OPTIONS:
            self.option_slots = [*self.option_slots, max(self.option_slots, default=-1) + 1]
        return None

    @rx.event
    @requires("demand.manage")
    async def create_poll(self, form: dict[str, Any]) -> Reply:
        user = signed_in_user()
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
                published=True,  # the dialog that follows hands out its link
            )
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("demand: creating a poll failed")
            self.saving, self.form_error = False, UNEXPECTED
            return None
        log.info("%s created poll %s", user.email, created.poll.id)
        self._open_target("created", created.poll.id, created.poll.question)
        self.webhook_secret = created.webhook_secret
        self.embed_url, self.embed_html = embed_snippet(
            self.router.url.origin, created.poll.slug, created.poll.question
        )
        self.embed_published = created.poll.published
        self.embed_origins = "\n".join(created.poll.frame_origins)
        self.selected_poll = created.poll.id
        return [rx.toast.success("Poll created: it is open for votes"), DemandState.refresh]

    @rx.event
    @requires("demand.manage")
    async def set_status(self, poll_id: int, status: str) -> Reply:
        """Close a poll (no more votes from any source) or open it again."""
        poll, refused = await _change_poll(set_poll_status, int(poll_id), status,
                                           signed_in_user().brand_scope)
        if poll is None:
            return refused
        word = "open for votes again" if poll.status == PollStatus.OPEN.value else "closed"
        return [rx.toast.success(f"“{poll.question}” is {word}"), DemandState.refresh]

    def _target(self, poll_id: int, dialog: str) -> PollItem | None:
        """Open `dialog` for a poll on this page (None when it is not here any more)."""
        poll = row_by_id(self.polls, int(poll_id))
        if poll is not None:
            self._open_target(dialog, poll.id, poll.question)
        return poll

    @rx.event
    @requires("demand.read")
    async def open_embed(self, poll_id: int) -> Reply:
        poll = self._target(poll_id, "embed")
        if poll is None:
            return rx.toast.error(GONE)
        self.embed_url, self.embed_html = embed_snippet(
            self.router.url.origin, poll.slug, poll.question
        )
        self.embed_published = poll.published
        self.embed_origins = poll.frame_origins
        return None

    @rx.event
    @requires("demand.manage")
    async def set_published(self, published: bool) -> Reply:
        """The embed dialog's switch: the link answers (while open) or is "not available"."""
        if self.dialog not in ("embed", "created") or not self.target_id:
            return None
        poll, refused = await _change_poll(set_poll_published, self.target_id, bool(published),
                                           signed_in_user().brand_scope)
        if poll is None:
            return refused
        self.embed_published = poll.published
        word = "public at its link" if poll.published else "staff-only: its link answers no one"
        return [rx.toast.success(f"“{poll.question}” is {word}"), DemandState.refresh]

    @rx.event
    @requires("demand.manage")
    async def save_frame_origins(self, form: dict[str, Any]) -> Reply:
        """The embed dialog's list of sites that may show the poll in a frame (their pages'
        `frame-ancestors`); empty: no site may."""
        if self.dialog not in ("embed", "created") or not self.target_id:
            return None
        poll, refused = await _change_poll(
            set_poll_frame_origins, self.target_id, str(form.get("frame_origins", "") or ""),
            signed_in_user().brand_scope,
        )
        if poll is None:
            return refused
        self.embed_origins = "\n".join(poll.frame_origins)
        sites = len(poll.frame_origins)
        word = f"{sites} site(s) may show it in a frame" if sites else "no site may frame it"
        return [rx.toast.success(f"“{poll.question}”: {word}"), DemandState.refresh]

    @rx.event
    @requires("demand.manage")
    async def open_upload(self, poll_id: int) -> Reply:
        if self._target(poll_id, "upload") is None:
            return rx.toast.error(GONE)
        return [rx.clear_selected_files("poll-csv")]

    @rx.event(background=True)
    async def upload_csv(self, chunks: rx.UploadChunkIterator):
        """A survey tool's CSV export, streamed and refused once past 10 MB (before the
        rest is read): every row recorded, or none and why."""
        async with self:
            access = await self.require("demand.manage")
            if not access or access.user is None:
                return access.refusal
            if self.dialog != "upload" or not self.target_id:
                return None
            self.upload_errors, self.upload_message, self.saving = [], "", True
            poll_id, user = self.target_id, access.user
        received, content = await receive_bytes(
            chunks, MAX_UPLOAD_BYTES, TOO_BIG,
            no_file="Choose the CSV file of the survey's answers first.",
        )
        try:
            if received.error:
                raise DomainError(received.error)
            result = await db_write(import_votes_csv, poll_id, content,
                                    brand_scope=user.brand_scope)
        except DomainError as error:
            async with self:
                self.saving, self.upload_message = False, error.message
            return None
        except Exception:
            log.exception("demand: importing votes into poll %s failed", poll_id)
            async with self:
                self.saving, self.upload_message = False, UNEXPECTED
            return None
        async with self:
            return self._show_upload(result, user.email, poll_id)

    def _show_upload(self, result: CsvVoteResult, email: str, poll_id: int) -> Reply:
        self.saving = False
        if result.errors:
            self.upload_message = result.message
            self.upload_errors = [ErrorItem.of(e) for e in result.errors[:MAX_ROW_ERRORS_SHOWN]]
            return None
        log.info("%s imported %s vote row(s) into poll %s", email, result.rows, poll_id)
        self._close_dialog()
        return [rx.toast.success(result.message), DemandState.refresh]
