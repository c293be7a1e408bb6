"""The public poll page (`/embed/poll/{id}`): no login, made to sit in a storefront iframe.

Nobody signs in here, so there is no role to check: what protects the poll is the
domain's rule of one vote per respondent per poll and its rate limit per client
address and per respondent (`models.polls.submit_embed_vote`, counted in the
database so every backend worker shares it). The respondent id is a random token kept
in the browser's localStorage (it survives reloads; it is not an identity); a
respondent who clears it is still capped by the per-address limit. The page shows
the question and options only: no counts, no secrets.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import AsyncIterator

import reflex as rx

from dashboard.states.listing import Choice
from models.db import read_session
from models.errors import NotFound
from models.polls import (
    AlreadyVoted,
    EmbedPoll,
    InvalidVote,
    PollClosed,
    PollStatus,
    RateLimited,
    embed_poll,
    submit_embed_vote,
)

log = logging.getLogger(__name__)

ROUTE = "/embed/poll/[poll_id]"
#: Polls this browser voted in, remembered so a revisit says so before any click.
MAX_REMEMBERED = 50


def read_embed_poll(poll_id: int) -> EmbedPoll:
    with read_session() as session:
        return embed_poll(session, poll_id)


class EmbedState(rx.State):
    """One visitor's view of one public poll."""

    respondent: str = rx.LocalStorage("", name="rackroom_poll_respondent")
    voted_polls: str = rx.LocalStorage("", name="rackroom_polls_voted")

    #: "loading", "ready", "thanks", "already", "limited", "closed", "missing", "error".
    status: str = "loading"
    message: str = ""
    question: str = ""
    options: list[Choice] = []
    choice: str = ""
    sending: bool = False
    embed_poll_id: int = 0

    def _poll_param(self) -> int:
        """The poll id at the end of the path (/embed/poll/12)."""
        raw = str(self.router.url.path or "").rstrip("/").rsplit("/", 1)[-1]
        return int(raw) if raw.isdigit() and len(raw) < 10 else 0

    def _remembered(self) -> list[str]:
        return [p for p in self.voted_polls.split(",") if p]

    def _remember(self, poll_id: int) -> None:
        kept = [p for p in self._remembered() if p != str(poll_id)]
        self.voted_polls = ",".join([*kept, str(poll_id)][-MAX_REMEMBERED:])

    @rx.event
    async def load(self) -> None:
        """on_load (no login): the question and options, or why there is nothing to vote."""
        self.status, self.message, self.choice, self.sending = "loading", "", "", False
        poll_id = self._poll_param()
        self.embed_poll_id = poll_id
        if not self.respondent:
            self.respondent = "r_" + secrets.token_urlsafe(18)
        if not poll_id:
            self.status = "missing"
            return
        try:
            poll = await rx.run_in_thread(functools.partial(read_embed_poll, poll_id))
        except NotFound:
            self.status = "missing"
            return
        except Exception:
            log.exception("embed: reading poll %s failed", poll_id)
            self.status = "error"
            self.message = "The poll could not be loaded. Try again in a moment."
            return
        self.question = poll.question
        self.options = [Choice(str(option_id), label) for option_id, label in poll.options]
        if poll.status != PollStatus.OPEN.value:
            self.status = "closed"
        elif str(poll_id) in self._remembered():
            self.status = "already"
        else:
            self.status = "ready"

    @rx.event
    def pick(self, value: str) -> None:
        """The answer chosen (nothing is recorded until Vote)."""
        self.choice = value if any(o.value == value for o in self.options) else ""

    @rx.event
    async def vote(self, form: dict[str, str]) -> AsyncIterator[None]:
        """Record the vote: refused (and said why) when already voted, closed or too many
        attempts from here."""
        if self.sending or self.status not in ("ready", "error"):
            return
        option = str(form.get("option", "") or self.choice)
        if not option.isdigit():
            self.message = "Pick one of the answers first."
            return
        poll_id = self._poll_param()
        self.sending, self.message = True, ""
        yield
        try:
            await rx.run_in_thread(functools.partial(
                submit_embed_vote,
                poll_id,
                int(option),
                respondent=self.respondent or "anonymous",
                client_ip=self.router.session.client_ip or "unknown",
            ))
        except AlreadyVoted:
            self._remember(poll_id)
            self.status = "already"
        except RateLimited as limited:
            self.status = "limited"
            self.message = (
                f"Too many attempts from here. Please try again in {limited.retry_after} s."
            )
        except PollClosed:
            self.status = "closed"
        except InvalidVote:
            self.message = "That answer is not part of this poll any more. Reload the page."
        except NotFound:
            self.status = "missing"
        except Exception:
            log.exception("embed: recording a vote in poll %s failed", poll_id)
            self.status = "error"
            self.message = "Your vote could not be recorded. Please try again."
        else:
            self._remember(poll_id)
            self.status = "thanks"
        self.sending = False

    @rx.event
    def try_again(self) -> None:
        """After "too many attempts": back to the options (the limit still applies)."""
        if self.status == "limited":
            self.status, self.message = "ready", ""
