"""Customer demand: polls whose options signal a brand, style, size, colour or category.

Votes arrive three ways, each recorded with its `source`:

* webhook — a survey tool POSTs signed JSON; the signature is
  ``X-Rackroom-Signature: t=UNIX_SECONDS,v1=HEX`` with HEX = HMAC-SHA256 of
  ``"{t}.{raw body}"`` under the poll's own secret. Signatures older (or further in
  the future) than five minutes are refused, and each signature is accepted once: the
  replay table remembers it until its timestamp would be refused anyway.
* csv — a survey tool's export, all-or-nothing, with row numbers for what is wrong.
* embed — the public poll page, by the poll's random slug and only while it is
  published and open: one vote per server-signed respondent token per poll, capped
  per minute and per day (`models.polls.embed`, `models.polls.respondents`).

A respondent has one current answer per poll and source (unique key): a webhook
retry or a re-uploaded export changes nothing, and a later answer replaces an earlier
one. The poll's secret must be usable to check HMACs, so it is stored Fernet-encrypted
(`models.secrets`, column webhook_secret_enc) and returned only by `create_poll`.
"""

from models.polls.csv_votes import CsvRefused, CsvVoteResult, VoteRowError, import_votes_csv
from models.polls.embed import (
    EmbedLimits,
    EmbedPoll,
    embed_poll,
    embed_vote,
    hit_rate_limit,
    public_poll,
    submit_embed_vote,
)
from models.polls.frames import (
    MAX_FRAME_ORIGINS,
    frame_ancestors,
    frame_origins_of,
    parse_frame_origins,
    set_poll_frame_origins,
)
from models.polls.manage import (
    CreatedPoll,
    OptionCount,
    OptionSpec,
    PollSummary,
    brand_scope_check,
    create_poll,
    describe_signal,
    list_polls,
    new_slug,
    poll_summary,
    set_poll_published,
    set_poll_status,
)
from models.polls.respondents import is_respondent_token, issue_respondent_token, respondent_of
from models.polls.signals import demand_by_variant, match_options_to_variants, option_signals
from models.polls.tables import (
    EMBED_LIMIT_PER_IP,
    EMBED_LIMIT_PER_RESPONDENT,
    MAX_CSV_ROWS,
    MAX_OPTIONS,
    MAX_VOTES_PER_REQUEST,
    RATE_WINDOW,
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE,
    AlreadyVoted,
    InvalidRespondent,
    InvalidSignature,
    InvalidVote,
    Poll,
    PollClosed,
    PollOption,
    PollRateLimit,
    PollSignatureUse,
    PollStatus,
    PollVote,
    RateLimited,
    SignatureExpired,
    SignatureReused,
    VoteSource,
)
from models.polls.votes import Vote, VoteReceipt
from models.polls.webhook import CheckedSignature, receive_webhook, sign, verify_signature

__all__ = [
    "EMBED_LIMIT_PER_IP",
    "EMBED_LIMIT_PER_RESPONDENT",
    "MAX_CSV_ROWS",
    "MAX_FRAME_ORIGINS",
    "MAX_OPTIONS",
    "MAX_VOTES_PER_REQUEST",
    "RATE_WINDOW",
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "AlreadyVoted",
    "CheckedSignature",
    "CreatedPoll",
    "CsvRefused",
    "CsvVoteResult",
    "EmbedLimits",
    "EmbedPoll",
    "InvalidRespondent",
    "InvalidSignature",
    "InvalidVote",
    "OptionCount",
    "OptionSpec",
    "Poll",
    "PollClosed",
    "PollOption",
    "PollRateLimit",
    "PollSignatureUse",
    "PollStatus",
    "PollSummary",
    "PollVote",
    "RateLimited",
    "SignatureExpired",
    "SignatureReused",
    "Vote",
    "VoteReceipt",
    "VoteRowError",
    "VoteSource",
    "brand_scope_check",
    "create_poll",
    "demand_by_variant",
    "describe_signal",
    "embed_poll",
    "embed_vote",
    "frame_ancestors",
    "frame_origins_of",
    "hit_rate_limit",
    "import_votes_csv",
    "is_respondent_token",
    "issue_respondent_token",
    "list_polls",
    "match_options_to_variants",
    "new_slug",
    "option_signals",
    "parse_frame_origins",
    "poll_summary",
    "public_poll",
    "receive_webhook",
    "respondent_of",
    "set_poll_frame_origins",
    "set_poll_published",
    "set_poll_status",
    "sign",
    "submit_embed_vote",
    "verify_signature",
]
