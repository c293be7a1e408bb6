"""`/polls`: customer-demand polls, their signed webhook, CSV exports and the public embed vote.

Creating, reading, publishing and closing polls takes an API key with `polls:write` (a
brand-bound key sees and creates only its brand's polls; another brand's poll is a 404
like a missing one). The webhook is authenticated by the poll's own HMAC signature
instead of a key. The embed endpoints are public, since a storefront puts the poll page
in an iframe for anonymous shoppers: they name the poll by its random slug, answer only
while it is published and open (one identical 404 otherwise, and for any id), take
only respondent tokens this server signed, and are capped per minute and per day.
Only the sites a poll lists in `frame_origins` may show its embed page in a frame.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool, StrictInt
from starlette.concurrency import run_in_threadpool

from dashboard.api.errors import error_response
from dashboard.api.schemas import Strict, text
from dashboard.api.security import ApiSecret, authorize
from models.api_keys import Scope
from models.db import transaction
from models.polls import (
    MAX_FRAME_ORIGINS,
    MAX_OPTIONS,
    SIGNATURE_HEADER,
    PollSummary,
    RateLimited,
    embed_poll,
    import_votes_csv,
    is_respondent_token,
    issue_respondent_token,
    poll_summary,
    receive_webhook,
    set_poll_frame_origins,
    set_poll_published,
    set_poll_status,
    submit_embed_vote,
)
from models.polls import create_poll as create_poll_domain

router = APIRouter(tags=["polls"])
#: The public poll page's path (the dashboard's /embed/poll/{slug}).
EMBED_PATH = "/embed/poll"
PollId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Signal = text(100, min_length=1)
FrameOrigins = Annotated[
    list[text(300, min_length=1)],
    Field(
        max_length=MAX_FRAME_ORIGINS,
        description="Sites that may show the embed page in a frame: origins such as "
                    "https://shop.example.com or http://127.0.0.1:8081 (scheme, host, "
                    "optional port; no path, no wildcard). Empty: no site may frame it.",
    ),
]


class OptionIn(Strict):
    label: text(200, min_length=1)
    brand: text(32, min_length=1) | None = None
    product: text(64, min_length=1) | None = Field(
        None, description="A style code."
    )
    size: text(30, min_length=1) | None = None
    colour: text(60, min_length=1) | None = None
    category: Signal | None = None


class CreatePoll(Strict):
    question: text(500, min_length=1)
    brand: text(32, min_length=1) | None = None
    options: Annotated[list[OptionIn], Field(min_length=1, max_length=MAX_OPTIONS)]
    published: StrictBool = Field(
        False, description="Public at its embed link (while open). Default: staff-only."
    )
    frame_origins: FrameOrigins = []


class ChangePoll(Strict):
    published: StrictBool | None = None
    status: Literal["open", "closed"] | None = None
    frame_origins: FrameOrigins | None = Field(
        None, description="Replaces the list of sites that may frame the embed page."
    )


class OptionOut(BaseModel):
    id: int
    label: str
    brand: str | None
    product: str | None
    size: str | None
    colour: str | None
    category: str | None
    signal: str
    votes: int
    share: float


class PollOut(BaseModel):
    id: int
    slug: str = Field(description="The poll's public name: its embed page is /embed/poll/{slug}.")
    published: bool
    embed_path: str = Field(description="The public page (answers while published and open).")
    question: str
    brand: str | None
    status: str
    created_at: datetime
    closed_at: datetime | None
    total_votes: int
    options: list[OptionOut]
    frame_origins: list[str] = Field(
        description="Sites that may frame the embed page (none: no site may)."
    )


class CreatedPollOut(PollOut):
    webhook_secret: str = Field(
        description="Signs webhook deliveries. Shown only in this response: store it now."
    )


class VoteReceiptOut(BaseModel):
    poll_id: int
    received: int
    recorded: int


class RowProblem(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class CsvResultOut(BaseModel):
    poll_id: int
    rows: int
    recorded: int
    applied: bool


class EmbedOption(BaseModel):
    id: int
    label: str


class EmbedPollOut(BaseModel):
    slug: str
    question: str
    options: list[EmbedOption]
    respondent_token: str = Field(
        description="Send it with the vote. The `respondent_token` query parameter, when it "
                    "is one this server signed, is given back; otherwise a new one."
    )


class EmbedVoteIn(Strict):
    option: StrictInt | text(200, min_length=1)
    respondent: text(200, min_length=1) = Field(
        description="A respondent_token from GET /polls/{slug}/embed."
    )


class EmbedVoteOut(BaseModel):
    slug: str
    option_id: int
    answered_at: datetime


def _poll_out(summary: PollSummary) -> dict:
    return {
        "id": summary.id,
        "slug": summary.slug,
        "published": summary.published,
        "embed_path": f"{EMBED_PATH}/{summary.slug}",
        "question": summary.question,
        "brand": summary.brand,
        "status": summary.status,
        "created_at": summary.created_at,
        "closed_at": summary.closed_at,
        "total_votes": summary.total_votes,
        "options": [
            OptionOut(
                id=o.id, label=o.label, brand=o.brand, product=o.product, size=o.size,
                colour=o.colour, category=o.category, signal=o.signal, votes=o.votes,
                share=round(o.share, 6),
            )
            for o in summary.options
        ],
        "frame_origins": list(summary.frame_origins),
    }


@router.post("/polls", response_model=CreatedPollOut, status_code=201)
def create_poll(body: CreatePoll, secret: ApiSecret) -> CreatedPollOut:
    """Create an open poll. The response carries its webhook secret, once."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.POLLS_WRITE)
        created = create_poll_domain(
            session,
            body.question,
            [o.model_dump() for o in body.options],
            actor=holder.actor,
            brand_code=body.brand,
            brand_scope=holder.brand_id,
            published=body.published,
            frame_origins=body.frame_origins,
        )
    return CreatedPollOut(**_poll_out(created.poll), webhook_secret=created.webhook_secret)


@router.get("/polls/{poll_id}", response_model=PollOut)
def get_poll(poll_id: PollId, secret: ApiSecret) -> PollOut:
    """The poll with its vote counts per option (never its secret)."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.POLLS_WRITE)
        summary = poll_summary(session, poll_id, brand_scope=holder.brand_id)
    return PollOut(**_poll_out(summary))


@router.patch("/polls/{poll_id}", response_model=PollOut)
def change_poll(poll_id: PollId, body: ChangePoll, secret: ApiSecret) -> PollOut:
    """Publish or unpublish a poll, open or close it, list the sites that may frame its
    embed page (any of these at once)."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.POLLS_WRITE)
        summary = poll_summary(session, poll_id, brand_scope=holder.brand_id)
        if body.published is not None:
            summary = set_poll_published(session, poll_id, body.published,
                                         brand_scope=holder.brand_id)
        if body.status is not None:
            summary = set_poll_status(session, poll_id, body.status, brand_scope=holder.brand_id)
        if body.frame_origins is not None:
            summary = set_poll_frame_origins(session, poll_id, body.frame_origins,
                                             brand_scope=holder.brand_id)
    return PollOut(**_poll_out(summary))


def _record_webhook(poll_id: int, header: str | None, body: bytes) -> VoteReceiptOut:
    with transaction() as session:
        receipt = receive_webhook(session, poll_id, header, body)
    return VoteReceiptOut(poll_id=poll_id, received=receipt.received, recorded=receipt.recorded)


@router.post(
    "/polls/{poll_id}/responses",
    response_model=VoteReceiptOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {
                "description": 'One vote {"option": label or id, "respondent": text, '
                               '"answered_at": ISO time} or a list of them.'
            }}},
        }
    },
)
async def poll_webhook(poll_id: PollId, request: Request) -> VoteReceiptOut:
    """Votes from a survey tool, signed `X-Rackroom-Signature: t=UNIX_SECONDS,v1=HEX`.

    HEX is HMAC-SHA256 of `"{t}.{raw body}"` under the poll's webhook secret. Refused:
    a bad signature (401 invalid_signature), one more than 5 minutes off (401
    signature_expired), a signature used before (401 signature_reused), an option of
    another poll (422 invalid_vote). All votes of a delivery are recorded, or none.
    """
    body = await request.body()
    header = request.headers.get(SIGNATURE_HEADER)
    return await run_in_threadpool(_record_webhook, poll_id, header, body)


def _import_csv(poll_id: int, secret: str, body: bytes) -> JSONResponse | CsvResultOut:
    with transaction() as session:
        holder = authorize(session, secret, Scope.POLLS_WRITE)
        result = import_votes_csv(session, poll_id, body, brand_scope=holder.brand_id)
    if result.errors:
        problems = [
            RowProblem(row=e.row, column=e.column, value=e.value, reason=e.reason).model_dump()
            for e in result.errors
        ]
        return error_response(422, "invalid_rows", result.message,
                              {"rows": result.rows, "errors": problems})
    return CsvResultOut(poll_id=poll_id, rows=result.rows, recorded=result.recorded,
                        applied=result.applied)


@router.post(
    "/polls/{poll_id}/responses/csv",
    response_model=CsvResultOut,
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {}}}},
)
async def poll_csv(poll_id: PollId, request: Request, secret: ApiSecret):
    """A survey tool's CSV export as the body: every row is recorded, or none.

    Unknown options come back as 422 invalid_rows with each row number.
    """
    body = await request.body()
    return await run_in_threadpool(_import_csv, poll_id, secret, body)


@router.get("/polls/{slug}/embed", response_model=EmbedPollOut)
def get_embed_poll(slug: str, respondent_token: str | None = None) -> EmbedPollOut:
    """Public: the question and options the embed page shows (no counts), and a signed
    respondent token. 404 not_found, always the same, unless the poll is published and
    open (an id in place of the slug is a 404 too)."""
    with transaction() as session:
        poll = embed_poll(session, slug)
    token = respondent_token if is_respondent_token(respondent_token) else None
    return EmbedPollOut(
        slug=poll.slug, question=poll.question,
        options=[EmbedOption(id=i, label=label) for i, label in poll.options],
        respondent_token=token or issue_respondent_token(),
    )


@router.post("/polls/{slug}/embed/votes", response_model=EmbedVoteOut, status_code=201)
def embed_vote(slug: str, body: EmbedVoteIn, request: Request):
    """Public: one shopper's vote, `respondent` being a token from the GET above (403
    invalid_respondent for any other). One per respondent per poll (409 already_voted);
    at most 20 a minute per client address and 5 per respondent, and per UTC day
    `RACKROOM_POLL_DAILY_VOTES_PER_ADDRESS` per address and `RACKROOM_POLL_DAILY_VOTES`
    per poll (429 rate_limited with Retry-After and a message saying which)."""
    client_ip = request.client.host if request.client else "unknown"
    try:
        vote = submit_embed_vote(slug, body.option, respondent_token=body.respondent,
                                 client_ip=client_ip)
    except RateLimited as limited:
        return error_response(429, limited.code, limited.message, limited.details,
                              headers={"Retry-After": str(limited.retry_after)})
    return EmbedVoteOut(slug=slug, option_id=vote.option_id, answered_at=vote.answered_at)
