"""`/polls`: customer-demand polls, their signed webhook, CSV exports and the public embed vote.

Creating and reading polls takes an API key with `polls:write` (a brand-bound key sees
and creates only its brand's polls). The webhook is authenticated by the poll's own
HMAC signature instead of a key, and the embed endpoints are public (rate-limited),
since a storefront puts the poll page in an iframe for anonymous shoppers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from dashboard.api.errors import error_response
from dashboard.api.schemas import Strict
from dashboard.api.security import ApiSecret, authorize
from models.api_keys import Scope
from models.db import transaction
from models.polls import (
    MAX_OPTIONS,
    SIGNATURE_HEADER,
    PollSummary,
    RateLimited,
    embed_poll,
    import_votes_csv,
    poll_summary,
    receive_webhook,
    submit_embed_vote,
)
from models.polls import create_poll as create_poll_domain

router = APIRouter(tags=["polls"])
PollId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Signal = Annotated[StrictStr, Field(min_length=1, max_length=100)]


class OptionIn(Strict):
    label: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    brand: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None
    product: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = Field(
        None, description="A style code."
    )
    size: Annotated[StrictStr, Field(min_length=1, max_length=30)] | None = None
    colour: Annotated[StrictStr, Field(min_length=1, max_length=60)] | None = None
    category: Signal | None = None


class CreatePoll(Strict):
    question: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    brand: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None
    options: Annotated[list[OptionIn], Field(min_length=1, max_length=MAX_OPTIONS)]


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
    question: str
    brand: str | None
    status: str
    created_at: datetime
    closed_at: datetime | None
    total_votes: int
    options: list[OptionOut]


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
    id: int
    question: str
    status: str
    options: list[EmbedOption]


class EmbedVoteIn(Strict):
    option: StrictInt | Annotated[StrictStr, Field(min_length=1, max_length=200)]
    respondent: Annotated[StrictStr, Field(min_length=1, max_length=200)]


class EmbedVoteOut(BaseModel):
    poll_id: int
    option_id: int
    answered_at: datetime


def _poll_out(summary: PollSummary) -> dict:
    return {
        "id": summary.id,
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
        )
    return CreatedPollOut(**_poll_out(created.poll), webhook_secret=created.webhook_secret)


@router.get("/polls/{poll_id}", response_model=PollOut)
def get_poll(poll_id: PollId, secret: ApiSecret) -> PollOut:
    """The poll with its vote counts per option (never its secret)."""
    with transaction() as session:
        holder = authorize(session, secret, Scope.POLLS_WRITE)
        summary = poll_summary(session, poll_id, brand_scope=holder.brand_id)
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


@router.get("/polls/{poll_id}/embed", response_model=EmbedPollOut)
def get_embed_poll(poll_id: PollId) -> EmbedPollOut:
    """Public: the question and options the embed page shows (no counts)."""
    with transaction() as session:
        poll = embed_poll(session, poll_id)
    return EmbedPollOut(
        id=poll.id, question=poll.question, status=poll.status,
        options=[EmbedOption(id=i, label=label) for i, label in poll.options],
    )


@router.post("/polls/{poll_id}/embed/votes", response_model=EmbedVoteOut, status_code=201)
def embed_vote(poll_id: PollId, body: EmbedVoteIn, request: Request):
    """Public: one shopper's vote. One per respondent per poll (409 already_voted);
    rate-limited per client address and respondent (429 with Retry-After)."""
    client_ip = request.client.host if request.client else "unknown"
    try:
        vote = submit_embed_vote(
            poll_id, body.option, respondent=body.respondent, client_ip=client_ip
        )
    except RateLimited as limited:
        return error_response(429, limited.code, limited.message, limited.details,
                              headers={"Retry-After": str(limited.retry_after)})
    return EmbedVoteOut(poll_id=poll_id, option_id=vote.option_id, answered_at=vote.answered_at)
